"""What the caller gets, made at a backend's edge from the episode rules' outputs.

Gymnasium's ``info`` (keys some env wrote, each with its ``_key`` mask), SAME_STEP's
``final_obs`` as an object array of per-env observations, the error for a reset
whose rejection sampling gave up, and the caller's own copies of every array, the
observations in the caller's dtypes (``obs_dtype=``: ``as_obs_dtype`` makes the
space, ``obs_dtypes`` the dtypes every backend casts to). Host (NumPy) arrays only: a
backend whose arrays live elsewhere copies them here first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space

from mjvec.core.random import MAX_TRIES
from mjvec.core.tree import tree_map

__all__ = [
    "gym_info", "step_result", "reset_result", "check_exhausted", "check_reset_observations", "zeros_of", "as_obs_dtype",
    "obs_dtypes", "batched_space",
]


def _same(x: np.ndarray) -> np.ndarray:
    return x


def gym_info(dense: dict, cast: Callable[[np.ndarray], np.ndarray] = _same) -> dict[str, Any]:
    """Gymnasium's ``info`` from dense ``{key: (value, mask)}``: the keys some env wrote."""
    info: dict[str, Any] = {}
    for key, (value, mask) in dense.items():
        if np.count_nonzero(mask):
            info[key] = cast(value)
            info[f"_{key}"] = np.array(mask)
    return info


def check_exhausted(task: Any, exhausted: np.ndarray | None) -> None:
    if exhausted is not None and exhausted.any():
        raise RuntimeError(
            f"{type(task).__name__}.reset_state: `rng.uniform_until` accepted none of {MAX_TRIES}"
            f" candidates for environments {np.flatnonzero(exhausted)[:10].tolist()}; their reset state"
            " is the last rejected candidate. Check the `accept` function (or draw a likelier candidate)"
        )


def check_reset_observations(task: Any, bad: np.ndarray | None) -> None:
    """Raise if a reset gave some env a non-finite observation: the task's fault, named."""
    if bad is None or not bad.any():
        return
    name = type(task).__name__
    raise RuntimeError(
        f"{name}: the observation after resetting environments {np.flatnonzero(bad)[:10].tolist()} is not finite"
        f" (NaN or inf). Check the state `{name}.reset_state` draws, the `{name}.observe` function (for"
        " Task.from_xml, your `observe`) and any `randomize=` values. The observation was not returned: those"
        " envs keep their last observation, counted as 'nonfinite_reset_observation' in env.diagnostics()"
    )


def _own_obs(obs: Any, dtypes: Any, index: Any = ...) -> Any:
    """The caller's own copy of ``obs[index]``, leaf by leaf in ``dtypes`` (a tree of dtypes, or None)."""
    if dtypes is None:
        return tree_map(lambda x: np.array(x[index]), obs)
    return tree_map(lambda x, dtype: np.array(x[index], dtype=dtype), obs, dtypes)


def step_result(task: Any, out, obs_dtypes: Any = None, cast: Callable = _same) -> tuple:
    """``(obs, reward, terminated, truncated, info)`` for the caller from a host ``StepOut``.

    Observation leaves are the caller's own copies, in ``obs_dtypes`` where given (a
    tree of dtypes shaped as the observation); ``cast`` converts the other values (a
    backend's dtypes to the CPU's).
    """
    check_exhausted(task, out.exhausted)
    check_reset_observations(task, out.nonfinite_reset)
    info = gym_info(out.info, cast)
    if out.final is not None:
        final_obs, mask, final_info = out.final
        if mask.any():
            objects = np.full(mask.shape[0], None, dtype=object)
            for i in np.flatnonzero(mask):
                objects[i] = _own_obs(final_obs, obs_dtypes, i)
            info["final_obs"], info["_final_obs"] = objects, np.array(mask)
            info["final_info"], info["_final_info"] = gym_info(final_info, cast), np.array(mask)
    return _own_obs(out.obs, obs_dtypes), cast(out.reward), out.terminated, out.truncated, info


def reset_result(task: Any, out, obs_dtypes: Any = None, cast: Callable = _same) -> tuple:
    """``(obs, info)`` for the caller from a host ``ResetOut``."""
    check_exhausted(task, out.exhausted)
    check_reset_observations(task, out.nonfinite_reset)
    return _own_obs(out.obs, obs_dtypes), gym_info(out.info, cast)


def zeros_of(space: spaces.Space) -> Any:
    """Zeros shaped and typed as a batched observation space (a Box, or a Dict of them)."""
    if isinstance(space, spaces.Dict):
        return {key: zeros_of(sub) for key, sub in space.spaces.items()}
    return np.zeros(space.shape, dtype=space.dtype)


def as_obs_dtype(space: spaces.Space, dtype: np.dtype | None) -> spaces.Space:
    """``space`` with its float Boxes in ``dtype`` (None: ``space`` itself); other leaves (images) kept."""
    if dtype is None:
        return space
    if isinstance(space, spaces.Dict):
        return spaces.Dict({key: as_obs_dtype(sub, dtype) for key, sub in space.spaces.items()})
    if isinstance(space, spaces.Box) and space.dtype.kind == "f" and space.dtype != dtype:
        return spaces.Box(space.low.astype(dtype), space.high.astype(dtype), space.shape, dtype)
    return space


def batched_space(space: spaces.Space, num_envs: int) -> spaces.Space:
    """Gymnasium's ``batch_space``, a Dict's keys kept in their order (``batch_space`` sorts them)."""
    if isinstance(space, spaces.Dict):
        return spaces.Dict(OrderedDict((key, batched_space(sub, num_envs)) for key, sub in space.spaces.items()))
    return batch_space(space, num_envs)


def obs_dtypes(space: spaces.Space) -> Any:
    """The dtype of each leaf of a (batched) observation space, shaped as its observations."""
    return tree_map(lambda z: z.dtype, zeros_of(space))
