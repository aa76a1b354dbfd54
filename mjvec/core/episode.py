"""The episode rules of ``MjVecEnv``, written once for every backend.

``step`` and ``reset`` run eagerly over NumPy on the CPU backend and traced over
``jax.numpy`` inside the MJX backend's one jitted step: the same lines, with the
differences confined to ``ops`` (``mjvec.core.ops.NumpyOps``, the MJX backend's
``JaxOps``) and to the ``Simulation`` a backend hands in, which only advances and
resets its simulations (``mjvec.backends.base.Simulation``).

The rules, as Gymnasium's vector envs have them:

- Time limit: an episode is truncated after ``max_episode_steps`` steps, as
  ``TimeLimit``.
- NEXT_STEP: an env that ended is reset at the next step; its action is ignored,
  reward 0, terminated and truncated False, and ``info`` holds its reset info.
- SAME_STEP: an env that ends is reset in the same step; the observation returned is
  the reset one, ``info["final_obs"]``/``info["final_info"]`` hold the terminal ones.
- DISABLED: nothing is reset but by ``reset(options={"reset_mask": ...})``.
- Divergence: a simulation the backend flags, or whose observation or reward is not
  finite, ends its episode truncated, with reward 0, at its last finite observation,
  with ``info["diverged"]``, and is reset as any ended episode; ``faults`` counts it.
- Non-finite reset observations: a reset (by ``reset`` or an autoreset) whose
  observation is not finite is the task's fault, not the simulation's: the env's last
  observation stands in for it, ``faults`` counts it ("nonfinite_reset_observation")
  and the outputs mark it (``nonfinite_reset``) so that the backend's edge raises.
- Seeding: ``reset(seed=s)`` seeds env ``i`` with ``s + i``; an env keeps its own
  stream across autoresets; model parameters (``randomize=``) are drawn from it
  before the reset state, at every reset or only when the env is seeded.

Observations are pytrees (one array or a dict of arrays) throughout. ``info`` is
built dense, ``{key: (value, mask)}`` with zeros outside the mask, as Gymnasium's
``VectorEnv._add_info`` fills it; ``mjvec.core.outputs`` turns it into Gymnasium's
``info`` at the backend's edge.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from gymnasium.vector import AutoresetMode

from mjvec.core.random import MAX_TRIES

__all__ = ["Rules", "Episodes", "Faults", "StepOut", "ResetOut", "Seeding", "step", "reset"]


class Rules(NamedTuple):
    """What the rules depend on besides arrays (static under ``jit``)."""

    task: Any  # mjvec.Task
    mode: AutoresetMode | None  # None for a program that only resets
    max_episode_steps: int | None
    randomization: Any = None  # mjvec.randomize.BoundRandomization, or None


class Episodes(NamedTuple):
    """Per-env episode state (a pytree under ``jit``)."""

    elapsed: Any  # (n,) int: steps since the env's reset
    ended: Any  # (n,) bool: terminated or truncated, not yet reset
    last_obs: Any  # pytree of (n, ...): the observations last returned
    streams: Any  # random streams: a list of Generators (NumPy), (n,) keys (JAX)
    faults: dict  # {kind: (n,) int}: occurrences per env


class Faults(NamedTuple):
    """What a simulation reports after advancing: which diverged, and counts per kind."""

    diverged: Any  # (n,) bool
    counts: dict  # {kind: (n,) int}, e.g. "badqvel", "simulation_error"


class StepOut(NamedTuple):
    obs: Any
    reward: Any
    terminated: Any
    truncated: Any
    info: dict  # {key: (value, mask)}
    final: tuple | None  # SAME_STEP: (obs before the reset, mask, final_info {key: (value, mask)})
    exhausted: Any  # (n,) envs whose reset_state's rejection sampling gave up, or None
    nonfinite_reset: Any = None  # (n,) envs reset in this step whose observation was not finite, or None


class ResetOut(NamedTuple):
    obs: Any
    info: dict
    exhausted: Any
    nonfinite_reset: Any = None  # (n,) reset envs whose observation was not finite, or None


def _and_not(a, b):
    return a if b is None else a & ~b


def _merge(ops, info: dict, values: dict, mask) -> None:
    """Dense ``_add_info``: ``info[key] = (value, mask)``, zero outside the union of masks."""
    mask = ops.some(mask)
    if mask is None:
        return
    xp = ops.xp
    for key, value in values.items():
        value = xp.asarray(value)
        if key in info:
            old, old_mask = info[key]
            info[key] = (ops.where(mask, value.astype(old.dtype), old), old_mask | mask)
        else:
            info[key] = (ops.masked(mask, value), mask)


def _reset_simulations(ops, rules: Rules, ep: Episodes, sim, mask, draw, states=None) -> tuple[Episodes, Any]:
    """Reset the envs in ``mask``: new model parameters for those in ``draw`` (or None),
    then the task's reset state, each from the env's own stream, or the given ``states``
    (physics states, one row per reset env: their streams are not drawn from)."""
    xp, task = ops.xp, rules.task
    streams = ep.streams
    if draw is not None:
        rng = ops.random(streams, draw)
        sim.set_params(draw, rules.randomization.sample(xp, rng))
        streams = ops.commit(streams, rng, draw)
    exhausted = None
    if states is None and getattr(task, "reset_model_fields", ()):
        # the model parameters the task itself draws each episode (dm_control's reacher target)
        rng = ops.random(streams, mask)
        sim.set_params(mask, task.reset_model(xp, rng))
        streams = ops.commit(streams, rng, mask)
    if states is None:
        rng = ops.random(streams, mask)
        sim.reset(mask, *_reset_state(task, xp, rng))
        streams = ops.commit(streams, rng, mask)
        exhausted = ops.exhausted(rng, mask)
        if getattr(task, "rejects_reset", False):
            streams, exhausted = _redraw_rejected(ops, task, sim, streams, mask, exhausted)
    else:
        sim.reset_to(mask, states)
    faults = ep.faults
    if exhausted is not None:
        faults = ops.add_counts(faults, {"reset_sampling_exhausted": exhausted})
    ep = ep._replace(
        elapsed=ops.where(mask, 0, ep.elapsed), ended=_and_not(ep.ended, mask), streams=streams, faults=faults
    )
    return ep, exhausted


def _reset_state(task, xp, rng) -> tuple:
    """``task.reset_state``'s ``(qpos, qvel)``, or ``(qpos, qvel, act)`` where it sets the activations."""
    state = task.reset_state(xp, rng, task.init_qpos, task.init_qvel)
    if not isinstance(state, (tuple, list)) or len(state) not in (2, 3):
        got = f"{len(state)} values" if isinstance(state, (tuple, list)) else type(state).__name__
        raise TypeError(f"{type(task).__name__}.reset_state must return (qpos, qvel) or (qpos, qvel, act), got {got}")
    return state


def _redraw_rejected(ops, task, sim, streams, mask, exhausted):
    """Draw again, from its own stream, each env whose reset state the task rejects once simulated
    (``Task.reset_rejected``: dm_control's "while physics.data.ncon > 0" loops), up to ``MAX_TRIES``.

    A Python loop over eager values: the MJX backend refuses such tasks (``make_backend``).
    """
    xp = ops.xp
    for _ in range(MAX_TRIES):
        bad = ops.some(mask & task.reset_rejected(xp, sim.data))
        if bad is None:
            return streams, exhausted
        rng = ops.random(streams, bad)
        sim.reset(bad, *_reset_state(task, xp, rng))
        streams = ops.commit(streams, rng, bad)
    return streams, bad if exhausted is None else exhausted | bad


def _count_faults(ops, ep: Episodes, faults: Faults | None, bad_obs, reward, stepping) -> tuple[Any, Episodes]:
    """The stepped envs that diverged in this step (None if none), and the counts updated.

    ``bad_obs``: ``ops.nonfinite`` of the step's observations (None: none).
    """
    bad_reward = ops.nonfinite(reward)  # one reduction over (n,) on NumPy when all is finite
    if faults is None and bad_obs is None and bad_reward is None:
        return None, ep
    flagged = ops.nobody if faults is None else faults.diverged
    bad_obs = ops.nobody if bad_obs is None else bad_obs
    bad_reward = ops.nobody if bad_reward is None else bad_reward
    diverged = (flagged | bad_obs | bad_reward) & stepping
    # where no check of the engine fired, the non-finite value is the evidence
    unflagged = ~flagged & stepping
    counts = {"diverged": diverged, "nonfinite_observation": bad_obs & unflagged,
              "nonfinite_reward": bad_reward & unflagged}
    if faults is not None:
        counts.update({kind: c * stepping for kind, c in faults.counts.items()})
    return ops.some(diverged), ep._replace(faults=ops.add_counts(ep.faults, counts))


def _check_reset_obs(ops, ep: Episodes, obs, last, mask, bad_obs=False) -> tuple[Episodes, Any, Any]:
    """``(ep, obs, bad)``: the envs in ``mask`` whose reset observation is not finite (None if
    none) counted, and their observation replaced by ``last`` (the env's last observation).

    ``bad_obs``: ``ops.nonfinite(obs)`` when the caller has it already (False: compute it).
    """
    bad = ops.nonfinite(obs) if bad_obs is False else bad_obs
    if bad is None:
        return ep, obs, None
    bad = ops.some(bad & mask)
    if bad is None:
        return ep, obs, None
    ep = ep._replace(faults=ops.add_counts(ep.faults, {"nonfinite_reset_observation": bad}))
    return ep, ops.where(bad, last, obs), bad


def _observe(ops, task, data, last, fresh):
    """The task's observation. A task that stacks frames (``stack_observation``: camera
    observations with ``stack=k``) puts them onto ``last``'s, and the envs in ``fresh`` (new
    episodes; None: none) start with their first frame repeated."""
    obs = ops.own(task.observe(ops.xp, data))
    stack = getattr(task, "stack_observation", None)
    return obs if stack is None else stack(ops, obs, last, fresh)


def reset(ops, rules: Rules, ep: Episodes, sim, mask, draw, states=None) -> tuple[Episodes, ResetOut]:
    """Reset the envs in ``mask`` (their streams already seeded); the others keep their
    state and last observation. ``draw``: the envs that get new model parameters, or None;
    ``states``: the physics states to start from instead of the task's reset states."""
    ep, exhausted = _reset_simulations(ops, rules, ep, sim, mask, draw, states)
    task, xp = rules.task, ops.xp
    obs = ops.where(mask, _observe(ops, task, sim.data, ep.last_obs, ops.everyone), ep.last_obs)
    ep, obs, bad = _check_reset_obs(ops, ep, obs, ep.last_obs, mask)
    info: dict = {}
    _merge(ops, info, task.reset_info(xp, sim.data), mask)
    return ep._replace(last_obs=obs), ResetOut(obs, info, exhausted, bad)


def step(ops, rules: Rules, ep: Episodes, sim, action) -> tuple[Episodes, StepOut]:
    """One vector step of every env, autoreset included, in ``rules.mode``'s semantics."""
    xp, task, mode, n = ops.xp, rules.task, rules.mode, ops.num_envs
    redraw = rules.randomization is not None and rules.randomization.resample == "reset"
    before = sim.detach(task.before_step(xp, sim.data))
    # NEXT_STEP: the envs that ended last step are reset now, their actions ignored
    resetting = ops.some(ep.ended) if mode is AutoresetMode.NEXT_STEP else None
    stepping = ops.everyone if resetting is None else ~resetting
    faults = sim.advance(action, None if resetting is None else stepping)
    ep = ep._replace(elapsed=ep.elapsed + 1)
    exhausted = None
    if resetting is not None:
        ep, exhausted = _reset_simulations(ops, rules, ep, sim, resetting, resetting if redraw else None)

    data = sim.data
    obs = _observe(ops, task, data, ep.last_obs, resetting)
    reward, terminated, step_info = task.evaluate(xp, data, action, before)
    reward = ops.values(reward, float, "reward")
    terminated = ops.values(terminated, bool, "terminated")
    if rules.max_episode_steps is None:
        truncated = xp.zeros(n, dtype=bool)
    else:
        truncated = ep.elapsed >= rules.max_episode_steps

    info: dict = {}
    bad_obs = ops.nonfinite(obs)
    diverged, ep = _count_faults(ops, ep, faults, bad_obs, reward, stepping)
    bad_reset = None
    valid = stepping  # the envs whose step info is meaningful
    if diverged is not None:
        # the step's state is garbage: the episode ends, truncated, at its last finite
        # observation, with no reward, and is reset as any ended episode
        obs = ops.where(diverged, ep.last_obs, obs)
        reward = ops.where(diverged, 0.0, reward)
        terminated = _and_not(terminated, diverged)
        truncated = truncated | diverged
        valid = _and_not(stepping, diverged)
        _merge(ops, info, {"diverged": diverged}, diverged)

    final = None
    if resetting is not None:
        ep, obs, bad_reset = _check_reset_obs(ops, ep, obs, ep.last_obs, resetting, bad_obs)
        reward = ops.where(resetting, 0.0, reward)
        terminated = terminated & stepping
        truncated = truncated & stepping
        _merge(ops, info, step_info, valid)
        _merge(ops, info, task.reset_info(xp, data), resetting)
        ended = terminated | truncated
    elif mode is AutoresetMode.SAME_STEP:
        done = ops.some(terminated | truncated)
        if done is None:
            _merge(ops, info, step_info, valid)
        else:
            # the terminal observation and info go to final_obs/final_info
            final_info: dict = {}
            _merge(ops, final_info, step_info, done & valid)
            if diverged is not None:  # the ended step's own flag: in final_info too
                _merge(ops, final_info, {"diverged": diverged}, diverged)
            final = (obs, done, final_info)
            ep, exhausted = _reset_simulations(ops, rules, ep, sim, done, done if redraw else None)
            fresh = _observe(ops, task, sim.data, obs, ops.everyone)
            # a non-finite reset observation gives way to the terminal one (finite by now)
            ep, fresh, bad_reset = _check_reset_obs(ops, ep, fresh, obs, done)
            obs = ops.where(done, fresh, obs)
            _merge(ops, info, step_info, ~done)
            _merge(ops, info, task.reset_info(xp, sim.data), done)
        ended = xp.zeros(n, dtype=bool)
    else:  # NEXT_STEP with no env to reset, or DISABLED
        _merge(ops, info, step_info, valid)
        ended = terminated | truncated
    ep = ep._replace(ended=ended, last_obs=obs)
    return ep, StepOut(obs, reward, terminated, truncated, info, final, exhausted, bad_reset)


class Seeding:
    """Which envs a reset seeds anew, and which draw new model parameters (host side).

    An env reset with a seed, or never seeded, gets a new stream (from its seed, or
    from the OS); with ``resample="once"`` only those draw model parameters, with
    ``"reset"`` every reset env does.
    """

    def __init__(self, num_envs: int, resample: str | None):
        self.resample = resample
        self.seeded = np.zeros(num_envs, dtype=np.bool_)
        self.randomized = np.zeros(num_envs, dtype=np.bool_)

    def plan(self, mask: np.ndarray, seeds) -> tuple[np.ndarray, np.ndarray | None]:
        """``(reseed, draw)`` for a reset of the envs in ``mask`` with ``seeds`` (one per env)."""
        given = np.fromiter((s is not None for s in seeds), dtype=np.bool_, count=len(seeds))
        reseed = mask & (given | ~self.seeded)
        self.seeded |= mask
        if self.resample is None:
            return reseed, None
        draw = mask if self.resample == "reset" else mask & (reseed | ~self.randomized)
        self.randomized |= draw
        return reseed, draw
