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

__all__ = ["RolloutResult", "evaluate", "episode_view", "last_observation"]


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
    reward = np.where(diverged, 0.0, reward)

    def last_finite(x, before):  # a diverged step shows the episode's last finite observation
        x = np.array(x)
        for i in np.flatnonzero(diverged_at < t):
            j = diverged_at[i]
            x[i, j] = x[i, j - 1] if j > 0 else before[i]
        return x

    obs = tree_map(last_finite, obs, last_obs)
    obs, reward, terminated, truncated, valid, ended = episode_view(obs, reward, terminated, truncated)
    info["diverged"] = diverged & valid
    return obs, reward, terminated, truncated, valid, info, ended


def episode_view(obs: Any, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray) -> tuple:
    """``(obs, reward, terminated, truncated, valid, ended)``: T steps seen as the episode running at the start.

    The steps after each env's first end belong to no episode: ``valid`` False, reward 0,
    no end reported, the observation held at the episode's last; ``ended`` marks the envs
    whose episode ended inside.
    """
    t = reward.shape[1]
    done = terminated | truncated
    first_end = np.where(done.any(axis=1), done.argmax(axis=1), t)
    valid = np.arange(t)[None] <= first_end[:, None]
    ended = first_end < t

    def hold(x):
        x = np.array(x)
        for i in np.flatnonzero(ended):
            x[i, first_end[i] + 1 :] = x[i, first_end[i]]
        return x

    return tree_map(hold, obs), np.where(valid, reward, 0.0), terminated & valid, truncated & valid, valid, ended


def last_observation(obs: Any, valid: np.ndarray) -> Any:
    """Each env's observation at the last step of its episode in the rollout: the env's ``last_obs`` after it."""
    last = valid.sum(axis=1) - 1  # step 0 is always the running episode's
    return tree_map(lambda x: x[np.arange(len(last)), last], obs)
