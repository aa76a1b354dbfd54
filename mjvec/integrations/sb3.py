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

``get_attr``, ``set_attr`` and ``env_method`` answer per env with SB3's ``indices=``, as
``MjVecEnv.get_attr``/``set_attr``/``call`` resolve a name (one env's spaces, env ``i``'s
model, the task's attributes, each env's frame); ``env_method("reset", indices=...)``
resets those envs only. The envs share one task, so ``set_attr`` on some envs refuses a
value the others do not have.
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
        """Env ``i``'s attribute for each requested index, as ``MjVecEnv.get_attr`` resolves it.

        One env's spaces, ``render_mode``, ``metadata``, env ``i``'s ``model``, the task's
        attributes (``frame_skip``, ``dt``, ...); a name only the batch has
        (``max_episode_steps``, ``autoreset_mode``, ``num_envs``) is its one value, once per index.
        """
        ids = self._indices(indices)
        try:
            values = self.env.get_attr(attr_name)
        except AttributeError:
            if not _batch_attribute(self.env, attr_name):
                raise
            value = getattr(self.env, attr_name)
            return [value for _ in ids]
        return [values[i] for i in ids]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set the task's attribute ``attr_name`` to ``value`` for the envs in ``indices`` (None: all).

        As ``MjVecEnv.set_attr``: the envs share one task, so the other envs keep their value
        and a value that would differ between envs is refused (``ValueError``), as are names
        fixed when the env was made (``AttributeError``).
        """
        ids = self._indices(indices)
        if _batch_attribute(self.env, attr_name) and not _has_task_attribute(self.env, attr_name):
            raise AttributeError(
                f"`set_attr({attr_name!r}, ...)`: {attr_name!r} is the MjVecEnv's own (one for the batch), fixed"
                " when it is made; make a new env to change it"
            )
        chosen = set(ids)
        current = self.env.get_attr(attr_name) if len(chosen) < self.num_envs else [value] * self.num_envs
        self.env.set_attr(attr_name, [value if i in chosen else current[i] for i in range(self.num_envs)])

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        """Env ``i``'s ``method_name(*method_args, **method_kwargs)`` for each requested index.

        ``render`` gives each env's frame and ``reset`` resets the requested envs only (each
        with ``seed``, as ``DummyVecEnv`` passes one seed to every env) and returns their
        ``(obs, info)``; other names are ``MjVecEnv.call``'s (the task's values; its batched
        functions are refused). The batch's own methods (``step``, ``close``, ...) are refused:
        call them on ``venv.env``.
        """
        ids = self._indices(indices)
        if method_name == "reset":
            return self._reset_some(ids, *method_args, **method_kwargs)
        batch_method = _batch_attribute(self.env, method_name) and callable(getattr(self.env, method_name))
        if method_name != "render" and batch_method and not _has_task_attribute(self.env, method_name):
            raise TypeError(
                f"`env_method({method_name!r})`: MjVecEnv.{method_name} acts on the whole batch, not on one env;"
                f" call `venv.env.{method_name}(...)`"
            )
        values = self.env.call(method_name, *method_args, **method_kwargs)
        return [values[i] for i in ids]

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

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        """SB3's ``indices`` (None, an int or an iterable of ints) as a list of env ids, each checked."""
        ids = list(self._get_indices(indices))
        for i in ids:
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
                raise TypeError(f"`indices` must be None, an int or ints, got {indices!r}")
            if not 0 <= i < self.num_envs:
                raise ValueError(f"`indices` must be env ids in 0..{self.num_envs - 1}, got {indices!r}")
        return [int(i) for i in ids]

    def _reset_some(self, ids: list[int], seed: int | None = None, options: dict | None = None) -> list[Any]:
        """``reset(seed, options)`` of the envs ``ids`` only: their ``(obs, info)``, as DummyVecEnv's env_method."""
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"`options` must be a dict or None, got {type(options).__name__}")
        mask = np.zeros(self.num_envs, dtype=np.bool_)
        mask[ids] = True
        seeds = None if seed is None else [seed if mask[i] else None for i in range(self.num_envs)]
        obs, info = self.env.reset(seed=seeds, options={**(options or {}), "reset_mask": mask})
        infos = _unbatch_info(info, self.num_envs, mask)
        return [(tree_map(lambda x, i=i: x[i].copy(), obs), infos[i]) for i in ids]

    def __repr__(self) -> str:
        return f"SB3VecEnv({self.env!r})"


def _is_mjvec_env(env: Any) -> bool:
    """An ``MjVecEnv``, or a ``RayVecEnv`` of them (same API; looked up without importing Ray)."""
    if isinstance(env, MjVecEnv):
        return True
    distributed = sys.modules.get("mjvec.distributed")
    return distributed is not None and isinstance(env, distributed.RayVecEnv)


def _batch_attribute(env: Any, name: str) -> bool:
    """``name`` is an attribute of the ``MjVecEnv`` object itself (public, not one env's)."""
    if not isinstance(name, str) or name.startswith("_"):
        return False
    return hasattr(type(env), name) or name in vars(env)


def _has_task_attribute(env: Any, name: str) -> bool:
    task = getattr(env, "task", None)
    return task is not None and hasattr(task, name)


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
