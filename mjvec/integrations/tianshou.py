"""TianshouVectorEnv: an ``MjVecEnv`` as a Tianshou 2 vector env (the ``tianshou`` extra).

    import mjvec
    from mjvec.tianshou import TianshouVectorEnv

    train_envs = TianshouVectorEnv(mjvec.make("InvertedPendulum-v5", 8, autoreset_mode="disabled"))
    collector = tianshou.data.Collector(algorithm, train_envs, buffer)

Tianshou's collectors do not take a Gymnasium ``VectorEnv``: they call ``len(env)``,
``step(action, id)`` for the envs still collecting, and ``reset(env_id=ids)`` for the envs
whose episodes ended, and they want one info dict per env. They reset ended envs
themselves, right after the step that ended them, and store that step's observation as
``obs_next``: Gymnasium's DISABLED mode, which the adapter requires, so the terminal
observation is the stored one and no reset step exists.

``step(action, id)`` with a subset of the envs (Tianshou's ``n_episode`` collection drops
the envs it needs no more episodes from) steps the whole batch, the other envs with zero
actions, and sets those back to the physics state they had (``set_state``): their
simulations are unchanged, but their episode clocks (``max_episode_steps``) advance by one.
Tianshou 2.0.1 resets every env at the end of such a collection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from mjvec.integrations.extras import require_extra

try:
    from tianshou.env import BaseVectorEnv
except ModuleNotFoundError as e:  # pragma: no cover - exercised only without the extra
    require_extra(e, ("tianshou", "torch"), "mjvec.tianshou", "Tianshou", "tianshou")

from mjvec import validation

__all__ = ["TianshouVectorEnv"]


class TianshouVectorEnv(BaseVectorEnv):
    """A Tianshou ``BaseVectorEnv`` over an ``MjVecEnv`` in ``autoreset_mode="disabled"``.

    Args:
      env: the ``MjVecEnv`` to adapt (made with ``autoreset_mode="disabled"``); the adapter
        owns it from then on (``close()`` closes it).

    ``action_space`` and ``observation_space`` are lists of the single-env spaces, one per
    env, as Tianshou's own vector envs give them. Each step's info dicts hold the env's
    ``info`` keys where their ``_key`` mask is set, and ``env_id``.
    """

    def __init__(self, env: Any):
        mode = getattr(env, "metadata", {}).get("autoreset_mode")
        if not hasattr(env, "set_state") or not hasattr(env, "single_action_space"):
            raise TypeError(f"`env` must be an mjvec.MjVecEnv, got {type(env).__name__}")
        if mode is not AutoresetMode.DISABLED:
            raise ValueError(
                "`env` must be made with autoreset_mode=\"disabled\" (Tianshou resets ended envs itself),"
                f" got {getattr(mode, 'value', mode)!r}"
            )
        # BaseVectorEnv's __init__ builds worker processes; the batch needs none
        self.env = env
        self.env_num = env.num_envs
        self.is_async = False
        self.wait_num = self.env_num
        self.timeout = None
        self.waiting_id: list[int] = []
        self.ready_id = list(range(self.env_num))
        self.is_closed = False
        self._seed: Any = None

    def get_env_attr(self, key: str, id: Any = None) -> list[Any]:
        ids = self._ids(id)
        if key == "action_space":
            return [self.env.single_action_space] * ids.size
        if key == "observation_space":
            return [self.env.single_observation_space] * ids.size
        if key in ("metadata", "spec", "reward_range"):
            return [getattr(self.env, key, None)] * ids.size
        values = self.env.get_attr(key)
        return [values[i] for i in ids]

    def set_env_attr(self, key: str, value: Any, id: Any = None) -> None:
        ids = self._ids(id)
        if ids.size != self.env_num:
            raise ValueError(f"`id` must name every env: the task's attributes are shared, got {ids.tolist()}")
        self.env.set_attr(key, value)

    def reset(self, env_id: Any = None, **kwargs: Any) -> tuple[Any, np.ndarray]:
        """Reset the envs ``env_id`` (all by default): their first observations and info dicts."""
        self._assert_is_not_closed()
        ids = self._ids(env_id)
        if ids.size == self.env_num and env_id is None:
            seed = kwargs.pop("seed", self._seed)
            self._seed = None
            obs, info = self.env.reset(seed=seed, **kwargs)
        else:
            mask = np.zeros(self.env_num, dtype=bool)
            mask[ids] = True
            options = dict(kwargs.pop("options", None) or {}, reset_mask=mask)
            obs, info = self.env.reset(options=options, **kwargs)
        return _rows(obs, ids), _info_dicts(info, ids)

    def step(self, action: Any, id: Any = None) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step the envs ``id`` (all by default) with one row of ``action`` each."""
        self._assert_is_not_closed()
        if action is None:
            raise ValueError("`action` must not be None: the batch is not asynchronous")
        ids = self._ids(id)
        action = np.asarray(action)
        if action.shape[:1] != (ids.size,):
            raise ValueError(f"`action` must have one row per env in `id` ({ids.size}), got shape {action.shape}")
        full = np.zeros((self.env_num, *action.shape[1:]), dtype=action.dtype)
        full[ids] = action
        others = np.setdiff1d(np.arange(self.env_num), ids)
        held = self.env.get_state(others) if others.size else None
        obs, reward, terminated, truncated, info = self.env.step(full)
        if others.size:
            self.env.set_state(held, others)
        return (_rows(obs, ids), reward[ids], terminated[ids], truncated[ids], _info_dicts(info, ids))

    def seed(self, seed: int | list[int] | None = None) -> list[Any]:
        """Seed the next full ``reset()``: an int ``s`` seeds env ``i`` with ``s + i``, as ``MjVecEnv.reset``."""
        self._seed = seed
        return [None if seed is None else (seed + i if np.isscalar(seed) else seed[i]) for i in range(self.env_num)]

    def render(self, **kwargs: Any) -> list[Any]:
        return list(self.env.call("render"))

    def close(self) -> None:
        if not self.is_closed:
            self.env.close()
            self.is_closed = True

    def _ids(self, id: Any) -> np.ndarray:
        return validation.check_env_ids(id, self.env_num, "id")


def _rows(obs: Any, ids: np.ndarray) -> Any:
    if isinstance(obs, dict):
        return {key: value[ids] for key, value in obs.items()}
    return obs[ids]


def _info_dicts(info: dict, ids: np.ndarray) -> np.ndarray:
    """Gymnasium's vector ``info`` (arrays with ``_key`` masks) as one dict per env in ``ids``."""
    dicts = np.empty(ids.size, dtype=object)
    for row, i in enumerate(ids):
        one = {"env_id": int(i)}
        for key, value in info.items():
            if key.startswith("_") or not isinstance(value, np.ndarray):
                continue
            mask = info.get(f"_{key}")
            if mask is None or mask[i]:
                one[key] = value[i]
        dicts[row] = one
    return dicts
