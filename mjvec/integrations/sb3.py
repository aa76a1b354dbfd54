"""SB3VecEnv: an ``MjVecEnv`` as a Stable-Baselines3 ``VecEnv``.

    from stable_baselines3 import PPO
    import mjvec
    from mjvec.sb3 import SB3VecEnv

    venv = SB3VecEnv(mjvec.make("InvertedPendulum-v5", num_envs=8))
    PPO("MlpPolicy", venv).learn(100_000)

A Gymnasium ``VectorEnv`` is not an SB3 ``VecEnv``: SB3 wants ``reset()`` to
return the observation only, ``step()`` to return ``(obs, reward, done, infos)``
with one info dict per environment, the episode already reset in the same step,
the terminal observation in ``infos[i]["terminal_observation"]``, and a
time-limit truncation (not a true termination) flagged by
``infos[i]["TimeLimit.truncated"]``, which SB3 uses to bootstrap the value of the
terminal observation. This adapter gives exactly what SB3's ``DummyVecEnv`` gives.

The wrapped env may have any autoreset mode; the adapter always hands SB3
same-step semantics:

- ``same_step``: the env already returns the reset observation and puts the
  terminal one in ``info["final_obs"]``; the adapter only reshapes ``info``.
- ``next_step`` and ``disabled``: after a step in which environments ended, the
  adapter resets exactly those with ``env.reset(options={"reset_mask": done})``
  and returns the reset observations. That is the reset the env would have made
  on its own next step (same random stream), so a ``next_step`` env and a
  ``same_step`` env seeded alike give SB3 the same numbers.

The ``num_envs`` environments are one batched object, so ``get_attr`` returns
that object's attribute once per requested index, while ``set_attr`` and
``env_method`` act on the whole batch and refuse a subset of indices.
Stable-Baselines3 is an extra (``pip install "mjvec[sb3]"``): ``import mjvec``
never imports it or torch.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from copy import deepcopy
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from mjvec.integrations.extras import require_extra

try:
    from stable_baselines3.common.vec_env import VecEnv
    from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn
except ModuleNotFoundError as e:  # pragma: no cover - exercised only without the extra
    require_extra(e, ("stable_baselines3", "torch"), "mjvec.sb3", "Stable-Baselines3", "sb3")

from mjvec.core.tree import tree_map
from mjvec.vector_env import MjVecEnv

__all__ = ["SB3VecEnv"]


class SB3VecEnv(VecEnv):
    """A Stable-Baselines3 ``VecEnv`` over an ``MjVecEnv`` (either autoreset mode).

    Args:
      env: the ``MjVecEnv`` to adapt; the adapter owns it from then on (``close()``
        closes it) and calls its ``reset`` and ``step`` itself.

    ``observation_space`` and ``action_space`` are the env's single-environment
    spaces, as SB3 expects. Rewards are float32 and ``done = terminated |
    truncated``, as in SB3's ``DummyVecEnv``.
    """

    def __init__(self, env: MjVecEnv):
        if not _is_mjvec_env(env):
            raise TypeError(
                f"`env` must be an mjvec.MjVecEnv (or mjvec.distributed.RayVecEnv), got {type(env).__name__};"
                " wrap the SB3VecEnv in SB3's VecEnv wrappers (VecNormalize, VecMonitor, ...) rather than"
                " wrapping the MjVecEnv first"
            )
        self.env = env
        self._autoreset_mode = env.metadata["autoreset_mode"]
        self._actions: np.ndarray | None = None
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)

    # -- the VecEnv API -------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        """Reset every environment with the seeds of ``seed()`` and options of ``set_options()``."""
        seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
        obs, info = self.env.reset(seed=seeds, options=self._reset_options_for_env())
        self.reset_infos = _unbatch_info(info, self.num_envs)
        # as DummyVecEnv: seeds and options are used once
        self._reset_seeds()
        self._reset_options()
        self._actions = None
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("`step_wait()` was called without a `step_async(actions)` before it")
        actions, self._actions = self._actions, None
        obs, reward, terminated, truncated, info = self.env.step(actions)
        done = terminated | truncated

        if self._autoreset_mode is AutoresetMode.SAME_STEP and done.any():
            final_obs, final_info = info["final_obs"], info["final_info"]
            step_info = {k: v for k, v in info.items() if k.lstrip("_") not in ("final_obs", "final_info")}
            # for ended envs, `info` holds their reset entries (and the step's "diverged", also in
            # `final_info`); their step's info is `final_info`
            infos = _unbatch_info(step_info, self.num_envs, ~done)
            ended_infos = _unbatch_info(final_info, self.num_envs, done)
            reset_info = {k: v for k, v in step_info.items() if k.lstrip("_") != "diverged"}
            reset_infos = _unbatch_info(reset_info, self.num_envs, done)
            for i in np.flatnonzero(done):
                infos[i] = ended_infos[i]
                infos[i]["terminal_observation"] = final_obs[i]
                self.reset_infos[i] = reset_infos[i]
        else:
            infos = _unbatch_info(info, self.num_envs)
            if done.any():
                # NEXT_STEP or DISABLED: reset the ended envs now, as SB3 expects
                for i in np.flatnonzero(done):
                    infos[i]["terminal_observation"] = tree_map(lambda x, i=i: x[i].copy(), obs)
                obs, info = self.env.reset(options={"reset_mask": done})
                reset_infos = _unbatch_info(info, self.num_envs, done)
                for i in np.flatnonzero(done):
                    self.reset_infos[i] = reset_infos[i]
        timeout = truncated & ~terminated
        for i in range(self.num_envs):
            infos[i]["TimeLimit.truncated"] = bool(timeout[i])
        return obs, reward.astype(np.float32), done, infos

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The ``MjVecEnv``'s attribute, once per requested index (the envs are one object)."""
        value = getattr(self.env, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute of the ``MjVecEnv``; ``indices`` must be None or every env."""
        self._check_all_indices(indices, "set_attr")
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        """Call a method of the ``MjVecEnv`` once; its result is repeated once per env."""
        self._check_all_indices(indices, "env_method")
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result for _ in range(self.num_envs)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """Always False: an ``MjVecEnv``'s environments are not ``gymnasium.Wrapper`` chains."""
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        """One RGB frame per env, when the ``MjVecEnv`` has ``render_mode="rgb_array"``.

        As SB3's ``DummyVecEnv``: with another render mode, a warning and ``None`` per env.
        """
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"The render mode is {self.render_mode}, but this method assumes it is `rgb_array` to obtain images."
                " Create the env with `render_mode='rgb_array'`."
            )
            return [None for _ in range(self.num_envs)]
        return [np.asarray(frame) for frame in self.env.render()]

    def render(self, mode: str | None = None) -> np.ndarray | None:
        """The frames of ``get_images()`` tiled into one image (SB3's ``VecEnv.render``)."""
        return super().render(mode=mode)

    # -- helpers ---------------------------------------------------------------
    def _reset_options_for_env(self) -> dict | None:
        # SB3 keeps one options dict per env; an MjVecEnv resets with one for all
        first = self._options[0]
        if any(o != first for o in self._options[1:]):
            raise ValueError(
                "`set_options()` must give every environment the same options (an MjVecEnv resets all"
                f" environments with one options dict), got {self._options}"
            )
        return deepcopy(first) if first else None

    def _check_all_indices(self, indices: VecEnvIndices, method: str) -> None:
        if indices is None:
            return
        chosen = sorted({int(i) for i in self._get_indices(indices)})
        if chosen != list(range(self.num_envs)):
            raise ValueError(
                f"`{method}` with `indices` must name every environment (0..{self.num_envs - 1}): the"
                f" {self.num_envs} environments of an MjVecEnv are one object, got indices={indices!r}"
            )

    def __repr__(self) -> str:
        return f"SB3VecEnv({self.env!r})"


def _is_mjvec_env(env: Any) -> bool:
    """An ``MjVecEnv``, or a ``RayVecEnv`` of them (same API; looked up without importing Ray)."""
    if isinstance(env, MjVecEnv):
        return True
    distributed = sys.modules.get("mjvec.distributed")
    return distributed is not None and isinstance(env, distributed.RayVecEnv)


def _unbatch_info(info: dict[str, Any], num_envs: int, envs: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Gymnasium's vector ``info`` (arrays with ``_key`` masks) as one dict per env.

    Only the environments in the boolean mask ``envs`` (None: all) are filled in;
    a key goes into env ``i``'s dict only where its ``_key`` mask is set.
    """
    out: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    rows = range(num_envs) if envs is None else np.flatnonzero(envs)
    for key, value in info.items():
        if key.startswith("_") and key[1:] in info:
            continue  # a mask
        mask = info.get(f"_{key}")
        if isinstance(value, dict):
            nested = _unbatch_info(value, num_envs, envs)
            for i in rows:
                if mask is None or mask[i]:
                    out[i][key] = nested[i]
            continue
        for i in rows:
            if mask is None or mask[i]:
                out[i][key] = value[i]
    return out
