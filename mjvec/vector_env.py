"""MjVecEnv: a Gymnasium ``VectorEnv`` over a batch of MuJoCo simulations.

The env owns spaces, seeding, episode bookkeeping (time limits, autoreset) and
``info``; the backend owns the simulations; the task owns observation, reward and
termination. Nothing here loops over environments on the step path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils.seeding import np_random
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from mjvec import validation
from mjvec.backends import make_backend
from mjvec.task import NumpyRandom, Task

__all__ = ["MjVecEnv"]


def _autoreset_mode(mode: Any) -> AutoresetMode:
    if isinstance(mode, AutoresetMode):
        return mode
    if isinstance(mode, str):
        for m in AutoresetMode:
            if mode in (m.value, m.name, m.name.lower()):
                return m
        names = [m.name.lower() for m in AutoresetMode]
        raise ValueError(
            f"`autoreset_mode` must be an AutoresetMode or one of {names},"
            f" got {mode!r}{validation.did_you_mean(mode, names)}"
        )
    raise TypeError(f"`autoreset_mode` must be an AutoresetMode or a str, got {type(mode).__name__}")


class MjVecEnv(VectorEnv):
    """``num_envs`` copies of a MuJoCo task, stepped together.

    Args:
      task: the ``Task`` (model, observation, reward, termination, reset).
      num_envs: number of environments.
      backend: ``"cpu"`` (``mujoco.batch``, MuJoCo's native thread pool).
      nthread: threads of the CPU backend; ``None`` for every CPU this process may use.
      autoreset_mode: Gymnasium's ``AutoresetMode`` (or its name): ``next_step``
        (default), ``same_step`` or ``disabled``.
      max_episode_steps: steps after which an episode is truncated, as
        Gymnasium's ``TimeLimit``; ``None`` for no limit.
      render_mode: only ``None`` for now.

    Observations, rewards, terminations and truncations are NumPy arrays with a
    leading ``num_envs`` axis; ``info`` is a dict of arrays, each with a boolean
    ``_key`` mask saying which environments it holds a value for.
    """

    def __init__(
        self,
        task: Task,
        num_envs: int,
        *,
        backend: str = "cpu",
        nthread: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
    ):
        if not isinstance(task, Task):
            raise TypeError(f"`task` must be an mjvec.Task, got {type(task).__name__}")
        self.num_envs = validation.check_num_envs(num_envs)
        if max_episode_steps is not None:
            if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, (int, np.integer)):
                raise TypeError(
                    f"`max_episode_steps` must be an int or None, got {type(max_episode_steps).__name__}"
                )
            if max_episode_steps < 1:
                raise ValueError(f"`max_episode_steps` must be >= 1 or None, got {max_episode_steps}")
        if render_mode is not None:
            raise ValueError(f"`render_mode` must be None (rendering is not available yet), got {render_mode!r}")
        self.autoreset_mode = _autoreset_mode(autoreset_mode)
        self.task = task
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.metadata = {
            "autoreset_mode": self.autoreset_mode,
            "render_modes": [],
            "render_fps": int(np.round(1.0 / task.dt)),
        }

        self.single_observation_space = task.single_observation_space
        self.single_action_space = task.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._action_shape = self.action_space.shape

        self.backend_name = backend
        self._backend = make_backend(backend, task, self.num_envs, nthread=nthread)
        self._xp = self._backend.xp
        self._generators: list[np.random.Generator | None] = [None] * self.num_envs
        self._elapsed = np.zeros(self.num_envs, dtype=np.int64)
        self._ended = np.zeros(self.num_envs, dtype=np.bool_)  # terminated or truncated, not yet reset
        self._needs_reset = True
        self.closed = False

    # -- Gymnasium API -------------------------------------------------------------
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset all environments, or those in ``options["reset_mask"]``.

        Seeds as Gymnasium's ``SyncVectorEnv``: an int ``s`` seeds environment ``i``
        with ``s + i``; each environment keeps its own random stream afterwards.
        """
        self._check_open()
        options = validation.check_options(options)
        seeds = validation.check_seeds(seed, self.num_envs)
        if "reset_mask" in options:
            if self._needs_reset:
                raise RuntimeError("`options['reset_mask']` needs a first `reset()` of all environments")
            mask = validation.check_reset_mask(options["reset_mask"], self.num_envs)
        else:
            mask = np.ones(self.num_envs, dtype=np.bool_)
        for i in np.flatnonzero(mask):
            if seeds[i] is not None or self._generators[i] is None:
                self._generators[i], _ = np_random(seeds[i])
        self._reset_envs(mask)
        self._needs_reset = False
        obs = np.asarray(self.task.observe(self._xp, self._backend.data))
        info: dict[str, Any] = {}
        _add_info(info, self.task.reset_info(self._xp, self._backend.data), mask)
        return obs, info

    def step(self, actions):
        """Step every environment with its row of ``actions``, shape ``(num_envs, action size)``."""
        self._check_open()
        if self._needs_reset:
            raise RuntimeError("`step()` was called before `reset()`: call `env.reset()` first")
        actions = validation.check_actions(actions, self._action_shape)
        mode = self.autoreset_mode
        ended = self._ended
        if mode is AutoresetMode.DISABLED and ended.any():
            raise RuntimeError(
                f"environments {np.flatnonzero(ended)[:10].tolist()} have ended and `autoreset_mode` is"
                " DISABLED: reset them with `env.reset(options={'reset_mask': mask})` before stepping"
            )
        xp, task, data = self._xp, self.task, self._backend.data
        # NEXT_STEP: envs that ended last step are reset now and their actions ignored
        resetting = ended if mode is AutoresetMode.NEXT_STEP and ended.any() else None
        stepping = None if resetting is None else ~resetting

        before = self._backend.snapshot(task.before_step(xp, data))
        self._backend.step(actions, stepping)
        self._elapsed += 1
        if resetting is not None:
            self._reset_envs(resetting)

        obs = np.asarray(task.observe(xp, data))
        reward, terminated, step_info = task.evaluate(xp, data, actions, before)
        reward = np.array(reward, dtype=np.float64)
        terminated = np.array(terminated, dtype=np.bool_)
        truncated = self._truncated()
        info: dict[str, Any] = {}
        if resetting is not None:
            reward[resetting] = 0.0
            terminated[resetting] = False
            truncated[resetting] = False
            _add_info(info, step_info, stepping)
            _add_info(info, task.reset_info(xp, data), resetting)
            self._ended = terminated | truncated
            return obs, reward, terminated, truncated, info

        done = terminated | truncated
        if mode is AutoresetMode.SAME_STEP and done.any():
            # the terminal observation and info go to info["final_obs"/"final_info"]
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(done):
                final_obs[i] = obs[i]
            final_info: dict[str, Any] = {}
            _add_info(final_info, step_info, done)
            self._reset_envs(done)
            obs = np.asarray(task.observe(xp, data))
            _add_info(info, step_info, ~done)
            info["final_obs"], info["_final_obs"] = final_obs, done.copy()
            info["final_info"], info["_final_info"] = final_info, done.copy()
            _add_info(info, task.reset_info(xp, data), done)
            done = np.zeros_like(done)
        else:
            _add_info(info, step_info, None)
        self._ended = done
        return obs, reward, terminated, truncated, info

    def close_extras(self, **kwargs: Any) -> None:
        self._backend.close()

    # -- helpers ---------------------------------------------------------------
    def _truncated(self) -> np.ndarray:
        if self.max_episode_steps is None:
            return np.zeros(self.num_envs, dtype=np.bool_)
        return self._elapsed >= self.max_episode_steps

    def _reset_envs(self, mask: np.ndarray) -> None:
        rng = NumpyRandom([self._generators[i] for i in np.flatnonzero(mask)])
        self._backend.reset(mask, rng)
        self._elapsed[mask] = 0
        self._ended = self._ended & ~mask

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this MjVecEnv is closed: create a new one")

    def __repr__(self) -> str:
        return (
            f"MjVecEnv({type(self.task).__name__}, num_envs={self.num_envs},"
            f" backend={self.backend_name!r}, autoreset_mode={self.autoreset_mode.name})"
        )


def _add_info(info: dict[str, Any], values: dict[str, Any], mask: np.ndarray | None) -> None:
    """Merge batched ``values`` into ``info`` for the masked environments (None: all).

    As Gymnasium's ``VectorEnv._add_info``: each key gets a ``_key`` boolean mask,
    and entries of environments that did not write the key are zero.
    """
    if mask is not None and not mask.any():
        return
    for key, value in values.items():
        value = np.asarray(value)
        if key not in info:
            info[key] = np.zeros_like(value)
            info[f"_{key}"] = np.zeros(value.shape[0], dtype=np.bool_)
        if mask is None:
            info[key][...] = value
            info[f"_{key}"][:] = True
        else:
            info[key][mask] = value[mask]
            info[f"_{key}"] |= mask
