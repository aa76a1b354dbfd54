"""MjEnv: one mjvec environment behind Gymnasium's ``gym.Env``, what ``gym.make("mjvec/...")`` gives.

Libraries that take single envs (RL Zoo, TorchRL's ``GymEnv``, SB3's ``make_vec_env``,
``SyncVectorEnv`` of ``gym.make``) get mjvec's task, never a different env: an
``MjVecEnv`` of one environment, unbatched at the edge. Its spaces are the single
ones; ``reset``/``step`` take and return one env's values; ``info`` holds the keys
the env wrote (no ``_key`` masks). It never autoresets (Gymnasium's ``TimeLimit``,
applied by ``gym.make`` with the registered ``max_episode_steps``, truncates), and
stepping after an episode ended raises until ``reset()``.

For many envs use ``gym.make_vec("mjvec/...", num_envs)`` or ``mjvec.make``: one
native batch, not ``num_envs`` of these.
"""

from __future__ import annotations



import gymnasium as gym
import numpy as np

from mjvec.core.tree import tree_map
from mjvec.render import RENDER_MODES
from mjvec.vector_env import MjVecEnv

__all__ = ["MjEnv", "unbatch_info"]


def unbatch_info(info: dict, i: int = 0) -> dict:
    """Env ``i``'s ``info`` from a vector ``info``: the keys whose ``_key`` mask holds ``i``."""
    out = {}
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info.get(f"_{key}")
        if mask is not None and not mask[i]:
            continue
        out[key] = unbatch_info(value, i) if isinstance(value, dict) else value[i]
    return out


class MjEnv(gym.Env):
    """One environment of an ``MjVecEnv`` (``num_envs=1``, ``autoreset_mode="disabled"``) as a ``gym.Env``.

    Args:
      vector_env: the ``MjVecEnv`` of one env it steps; closed with this env. Made by
        ``gym.make("mjvec/<task>", **kwargs)``, whose ``kwargs`` are ``mjvec.make``'s
        and the task's (``nthread`` defaults to 1 here).

    Attributes:
      vector_env: that ``MjVecEnv``; task: its ``Task``.
    """

    metadata = {"render_modes": list(RENDER_MODES)}

    def __init__(self, vector_env: MjVecEnv):
        if not isinstance(vector_env, MjVecEnv):
            raise TypeError(f"`vector_env` must be an mjvec.MjVecEnv, got {type(vector_env).__name__}")
        if vector_env.num_envs != 1 or vector_env.max_episode_steps is not None:
            raise ValueError(
                "`vector_env` must hold one env with no time limit of its own (gym.make's TimeLimit truncates),"
                f" got num_envs={vector_env.num_envs}, max_episode_steps={vector_env.max_episode_steps}"
            )
        if vector_env.autoreset_mode is not gym.vector.AutoresetMode.DISABLED:
            raise ValueError(f"`vector_env` must not autoreset, got autoreset_mode={vector_env.autoreset_mode}")
        self.vector_env = vector_env
        self.task = vector_env.task
        self.observation_space = vector_env.single_observation_space
        self.action_space = vector_env.single_action_space
        self.render_mode = vector_env.render_mode
        self.metadata = {**type(self).metadata, "render_fps": vector_env.metadata["render_fps"]}
        self._ended = False

    @property
    def dt(self) -> float:
        """Seconds per step (``model.opt.timestep * frame_skip``), as Gymnasium's MuJoCo envs."""
        return self.task.dt

    @property
    def frame_skip(self) -> int:
        return self.task.frame_skip

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """As Gymnasium's MuJoCo envs: ``seed`` starts the env's random stream, None continues it."""
        super().reset(seed=seed)
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"`seed` must be an int or None, got {type(seed).__name__}")
        obs, info = self.vector_env.reset(seed=seed, options=options)
        self._ended = False
        return tree_map(lambda x: x[0], obs), unbatch_info(info)

    def step(self, action):
        """One step with ``action`` (shape ``action_space.shape``): ``(obs, reward, terminated, truncated, info)``."""
        if self._ended:
            raise RuntimeError("`step()` was called after the episode ended: call `reset()` first")
        action = np.asarray(action)
        if action.shape != self.action_space.shape:
            raise ValueError(f"`action` must have shape {self.action_space.shape}, got {action.shape}")
        obs, reward, terminated, truncated, info = self.vector_env.step(action[None])
        self._ended = bool(terminated[0] or truncated[0])
        return tree_map(lambda x: x[0], obs), float(reward[0]), bool(terminated[0]), bool(truncated[0]), \
            unbatch_info(info)

    def render(self):
        """The env's ``(height, width, 3)`` uint8 frame; needs ``render_mode="rgb_array"``."""
        if self.render_mode is None:
            raise RuntimeError(
                "`render()` needs a render mode: make the env with"
                " `gym.make(env_id, render_mode='rgb_array')` (width=, height=, camera_name= as mjvec.make)"
            )
        return self.vector_env.render()[0]

    def close(self) -> None:
        self.vector_env.close()

    def __repr__(self) -> str:
        return f"MjEnv({type(self.task).__name__}, backend={self.vector_env.backend_name!r})"
