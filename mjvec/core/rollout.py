"""Batched open-loop rollouts: T steps of N envs from recorded fields, evaluated at once.

A backend records, after each of the T steps, the MjData fields the task reads
(``qpos``, ``qvel`` and ``task.fields``) in one call; ``evaluate`` then runs the task's
functions once over the ``N * T`` rows and applies the rules of T steps in DISABLED
mode: the time limit, termination, divergence. The numbers are those of T calls of
``step``: the same functions on the same fields.

After an env's episode ends inside a rollout (terminated, truncated or diverged), its
simulation goes on with the given actions, as MuJoCo's rollout does, but those steps
belong to no episode: ``valid`` is False for them, their reward is 0 and their
observation the episode's last. The env is left ended, as after ``step`` in DISABLED
mode, until ``reset(options={"reset_mask": ...})``.
"""

from __future__ import annotations

import types
from typing import Any, NamedTuple

import numpy as np

from mjvec.core.tree import tree_map

__all__ = ["RolloutResult", "evaluate"]


class RolloutResult(NamedTuple):
    """What ``env.rollout`` returns; every array is ``(N, T, ...)``."""

    obs: Any  # a pytree, as the env's observations
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    valid: np.ndarray  # the steps that belong to the episode running when the rollout started
    info: dict  # the task's per-step values, {key: (N, T, ...)}, and "diverged" (N, T)
    states: np.ndarray | None  # (N, T, state_size) physics states after each step, when asked


def _rows(records: dict[str, np.ndarray]) -> types.SimpleNamespace:
    """``(N, T, ...)`` records as a batch of ``N * T`` rows, as a task reads ``data``."""
    return types.SimpleNamespace(**{f: r.reshape(-1, *r.shape[2:]) for f, r in records.items()})


def evaluate(task, actions: np.ndarray, first: dict[str, np.ndarray], records: dict[str, np.ndarray],
             elapsed: np.ndarray, max_episode_steps: int | None, diverged_at: np.ndarray, last_obs: Any) -> tuple:
    """``(obs, reward, terminated, truncated, valid, info, ended)`` of a recorded rollout.

    ``first``: the fields before the first step, ``(N, ...)``; ``records``: after each step,
    ``(N, T, ...)``; ``elapsed``: each env's steps in its episode before the rollout;
    ``diverged_at``: ``(N,)`` the step at which each env's simulation diverged, or ``T``;
    ``last_obs``: the observations before the rollout (a diverged first step shows them).
    """
    n, t = actions.shape[:2]
    before_fields = {f: np.concatenate((first[f][:, None], r[:, :-1]), axis=1) for f, r in records.items()}
    before = task.before_step(np, _rows(before_fields))
    data = _rows(records)
    flat_actions = actions.reshape(n * t, *actions.shape[2:])
    obs = tree_map(lambda x: x.reshape(n, t, *x.shape[1:]), task.observe(np, data))
    reward, terminated, info = task.evaluate(np, data, flat_actions, before)
    reward = np.asarray(reward, dtype=np.float64).reshape(n, t)
    terminated = np.asarray(terminated, dtype=np.bool_).reshape(n, t)
    info = {k: np.asarray(v).reshape(n, t, *np.shape(v)[1:]) for k, v in info.items()}
    steps = elapsed[:, None] + np.arange(1, t + 1)[None]
    truncated = np.zeros((n, t), dtype=np.bool_) if max_episode_steps is None else steps >= max_episode_steps
    diverged = np.arange(t)[None] == diverged_at[:, None]
    terminated &= ~diverged
    truncated |= diverged
    # the first end of each env's episode; the steps after it belong to no episode
    done = terminated | truncated
    first_end = np.where(done.any(axis=1), done.argmax(axis=1), t)
    valid = np.arange(t)[None] <= first_end[:, None]
    after = ~valid
    terminated &= valid
    truncated &= valid
    reward = np.where(valid & ~diverged, reward, 0.0)
    last = np.minimum(first_end, t - 1)
    # a diverged step shows the episode's last finite observation (the one before it)
    shown = np.where(diverged_at < t, np.maximum(diverged_at - 1, -1), last)

    def hold(x, before):
        x = np.array(x)
        for i in np.flatnonzero(after.any(axis=1) | (diverged_at < t)):
            j = shown[i]
            x[i, j + 1 :] = x[i, j] if j >= 0 else before[i]
        return x

    obs = tree_map(hold, obs, last_obs)
    info["diverged"] = diverged
    ended = first_end < t
    return obs, reward, terminated, truncated, valid, info, ended
