"""The jitted programs of the MJX backend: a whole vector step, and a reset.

``vector_step`` does in one XLA computation what ``MjVecEnv.step`` does around the
CPU backend: write the actions, ``lax.scan`` over ``frame_skip`` substeps of the
vmapped ``mjx.step``, the task's observation, reward and termination, the time
limit, divergence detection and autoreset with fresh random states, in the
autoreset mode's semantics (NEXT_STEP, SAME_STEP, DISABLED; see
``mjvec/vector_env.py``). ``info`` is built dense: every key is a ``(value,
mask)`` pair whose value is zero outside the mask, as ``MjVecEnv``'s ``_add_info``
fills it; the backend drops the keys no env wrote when it returns NumPy.

Everything a program depends on besides its arrays is in ``Program``, jit's static
argument: two envs of the same task, size and options share the compiled code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from jax import lax

from mjvec.backends.mjx.random import JaxRandom

with contextlib.redirect_stdout(io.StringIO()):
    # without MuJoCo Warp installed, mjx prints "Failed to import warp" twice
    from mujoco import mjx

__all__ = [
    "EnvState", "StepOut", "ResetOut", "Program", "DataView", "FAULT_KINDS", "ON_DEMAND_FIELDS", "mjx",
    "vector_step", "vector_reset",
]

# what the backend counts per env, as the CPU backend's diagnostics() kinds
FAULT_KINDS = ("diverged", "badqpos", "badqvel", "badqacc", "nonfinite_observation", "reset_sampling_exhausted")
# computed only by mj_rnePostConstraint, as on the CPU (mjvec.backends.cpu)
ON_DEMAND_FIELDS = ("cacc", "cfrc_int", "cfrc_ext")
# MuJoCo's mj_isBad: a state entry beyond this (or NaN) fails mj_checkPos/Vel/Acc
MAXVAL = float(getattr(mujoco, "mjMAXVAL", 1e10))


class EnvState(NamedTuple):
    """Everything that changes between steps, on the device."""

    data: Any  # mjx.Data, batched: fields shaped (num_envs, ...)
    keys: jax.Array  # (num_envs,) PRNG keys, one stream per env
    elapsed: jax.Array  # (num_envs,) int32 steps since the env's reset
    ended: jax.Array  # (num_envs,) bool: terminated or truncated, not yet reset
    last_obs: jax.Array  # (num_envs, obs size): the final observation of an env that diverges
    faults: dict  # {kind: (num_envs,) int32 occurrences}, kinds of FAULT_KINDS
    params: dict  # randomize=: {model field: (num_envs, ...) values}, drawn fields and derived constants


class StepOut(NamedTuple):
    """What a vector step returns besides the state (on the device)."""

    obs: jax.Array
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: dict  # {key: (value, mask)}
    final: tuple | None  # SAME_STEP: (final_obs, mask, final_info {key: (value, mask)})
    exhausted: jax.Array  # (n,) envs whose reset_state's rejection sampling gave up


class ResetOut(NamedTuple):
    obs: jax.Array
    info: dict
    exhausted: jax.Array


class DataView:
    """A batched ``mjx.Data`` read as tasks read MjData: every field an attribute.

    MJX keeps some fields (``cinert``, ``cfrc_ext``, ``ten_velocity``...) in
    ``data._impl`` and warns when they are read from ``data``.
    """

    __slots__ = ("_data",)
    _public = None

    def __init__(self, data):
        self._data = data

    def __getattr__(self, name: str):
        data = self._data
        if DataView._public is None:
            DataView._public = frozenset(f.name for f in dataclasses.fields(type(data)))
        return getattr(data, name) if name in DataView._public else getattr(data._impl, name)


def has_field(data, name: str) -> bool:
    public = {f.name for f in dataclasses.fields(type(data))}
    return name in public or hasattr(data._impl, name)


class Program:
    """The static part of a compiled step: task, sizes, episode rules.

    Hashed by the task's fingerprint (its class and every attribute, the model by
    content), so equal tasks share one compiled function and different ones never do.
    """

    def __init__(
        self, task, num_envs: int, mode: AutoresetMode | None, max_episode_steps: int | None, actions,
        randomization=None, derived: tuple[str, ...] = (),
    ):
        self.task = task
        self.actions = actions  # mjvec.actions.BoundActions
        self.randomization = randomization  # mjvec.randomize.BoundRandomization or None
        self.derived = derived  # the constants recomputed from drawn fields
        self.num_envs = num_envs
        self.mode = mode
        self.max_episode_steps = max_episode_steps
        self.frame_skip = task.frame_skip
        self.on_demand = any(f in ON_DEMAND_FIELDS for f in task.fields)
        # a task that reads only qpos and qvel needs no mj_forward after a reset: the next
        # mjx.step starts with one, and a forward changes no state (a smaller program)
        self.forward_at_reset = bool(task.fields)
        self.key = (
            task_fingerprint(task), fingerprint(actions), fingerprint(randomization), derived, num_envs,
            mode and mode.name, max_episode_steps,
            jax.config.jax_enable_x64,
        )
        self._hash = hash(self.key)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        return self is other or (isinstance(other, Program) and self._hash == other._hash and self.key == other.key)


# -- the task's fingerprint -----------------------------------------------------------
class _Identity:
    """An object compared by identity, kept alive so that its id is never reused."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj


def _digest(buffer) -> str:
    return hashlib.sha1(buffer).hexdigest()


def fingerprint(obj: Any, depth: int = 0) -> Any:
    """A hashable value equal for objects that make the same program.

    Models by their binary content, arrays by their bytes, plain values by value,
    objects by their attributes; anything else by identity (never shared wrongly).
    """
    if obj is None or isinstance(obj, (bool, int, str, bytes)):
        return obj
    if isinstance(obj, float):
        return ("float", repr(obj))  # repr: nan equals nan
    if isinstance(obj, np.generic):
        return fingerprint(obj.item(), depth)
    if isinstance(obj, mujoco.MjModel):
        buffer = np.zeros(mujoco.mj_sizeModel(obj), dtype=np.uint8)
        mujoco.mj_saveModel(obj, None, buffer)
        return ("MjModel", _digest(buffer))
    if isinstance(obj, mujoco.MjSpec):
        return ("MjSpec",)  # the model compiled from it speaks for it
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.shape, _digest(np.ascontiguousarray(obj).tobytes()))
    if isinstance(obj, spaces.Space):
        return ("space", type(obj).__name__, obj.shape, str(obj.dtype))  # derived from the model
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(fingerprint(x, depth + 1) for x in obj))
    if isinstance(obj, dict):
        return ("dict", tuple(sorted((repr(k), fingerprint(v, depth + 1)) for k, v in obj.items())))
    if hasattr(obj, "__dict__") and depth < 4 and not callable(obj):
        return (type(obj).__module__, type(obj).__qualname__, fingerprint(vars(obj), depth + 1))
    return _Identity(obj)  # functions, classes, deep or opaque objects


def task_fingerprint(task) -> Any:
    return (type(task).__module__, type(task).__qualname__, fingerprint(vars(task), 1))


# -- pieces ---------------------------------------------------------------------------
def _expand(mask: jax.Array, ndim: int) -> jax.Array:
    return mask.reshape(mask.shape + (1,) * (ndim - 1))


def _where(mask: jax.Array, a, b):
    """Per env: ``a`` where ``mask``, else ``b``; over pytrees of batched arrays."""
    return jax.tree.map(lambda x, y: jnp.where(_expand(mask, jnp.ndim(x)), x, y), a, b)


def _bad(x: jax.Array) -> jax.Array:
    """``(n,)``: a NaN, an inf or an entry beyond mjMAXVAL, as MuJoCo's checks."""
    return jnp.logical_not(jnp.all(jnp.abs(x) <= MAXVAL, axis=-1))


def _merge(info: dict, values: dict, mask: jax.Array) -> None:
    """Dense ``_add_info``: ``info[key] = (value, mask)``, zero outside the union of masks."""
    for key, value in values.items():
        value = jnp.asarray(value)
        m = _expand(mask, value.ndim)
        if key in info:
            old, old_mask = info[key]
            info[key] = (jnp.where(m, value.astype(old.dtype), old), old_mask | mask)
        else:
            info[key] = (jnp.where(m, value, jnp.zeros_like(value)), mask)


def _with_on_demand(data, fields: dict):
    return data.replace(_impl=data._impl.replace(**fields))


def _batched(fn, model, params: dict):
    """``fn(model, d)`` vmapped over data, with each env's ``params`` swapped into ``model``."""
    if not params:
        return jax.vmap(fn, in_axes=(None, 0))
    from mjvec.backends.mjx.randomize import with_params

    return lambda m, data: jax.vmap(lambda p, d: fn(with_params(m, p), d))(params, data)


def _simulate(program: Program, model, data, action, params: dict):
    """Write ``action``, run ``frame_skip`` substeps; ``(data, bad (3, n) substep counts)``."""
    actions = program.actions
    if actions.passthrough:
        data = data.replace(ctrl=action.astype(data.ctrl.dtype))
    else:
        data = data.replace(**actions.write(jnp, action, {f: getattr(data, f) for f in actions.fields}))
    step = _batched(mjx.step, model, params)

    def substep(d, _):
        d = step(model, d)
        return d, jnp.stack((_bad(d.qpos), _bad(d.qvel), _bad(d.qacc)))

    data, bad = lax.scan(substep, data, None, length=program.frame_skip)
    if program.on_demand:
        # as the CPU backend: cfrc_ext (cacc, cfrc_int) from a forward at the new state;
        # the other derived fields stay the last substep's
        def post(m, d):
            f = mjx.rne_postconstraint(m, mjx.forward(m, d))
            return {k: getattr(f._impl, k) for k in ON_DEMAND_FIELDS}

        data = _with_on_demand(data, _batched(post, model, params)(model, data))
    return data, jnp.sum(bad, axis=0, dtype=jnp.int32)


def _fresh(program: Program, model, template, keys, params: dict, draw):
    """Fresh reset states for every env: ``(data, keys, exhausted, params)``.

    Gymnasium's order: ``mj_resetData`` (the template), the task's ``reset_state``,
    ``mj_forward`` (if the task reads derived fields); on-demand fields are zero after
    a reset, as in Gymnasium. With ``randomize=``, the envs in ``draw`` first get new
    model parameters from their stream (the CPU backend's order); the others keep
    theirs and their stream.
    """
    task, n = program.task, program.num_envs
    rng = JaxRandom(keys)
    if program.randomization is not None:
        from mjvec.backends.mjx.randomize import derived_constants

        drawn = program.randomization.sample(jnp, rng)
        if program.derived:
            drawn.update(jax.vmap(lambda p: derived_constants(model, task.model, p))(drawn))
        drawn = {k: jnp.asarray(v, params[k].dtype) for k, v in drawn.items()}
        params = _where(draw, drawn, params)
        rng.keys = _where(draw, rng.keys, keys)
    qpos, qvel = task.reset_state(jnp, rng, task.init_qpos, task.init_qvel)
    data = jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), template)
    data = data.replace(qpos=jnp.asarray(qpos, data.qpos.dtype), qvel=jnp.asarray(qvel, data.qvel.dtype))
    if program.forward_at_reset:
        data = _batched(mjx.forward, model, params)(model, data)
    if program.on_demand:
        data = _with_on_demand(data, {k: jnp.zeros_like(getattr(data._impl, k)) for k in ON_DEMAND_FIELDS})
    return data, rng.keys, rng.exhausted, params


def _reset_where(program: Program, model, template, data, keys, params, mask, draw):
    """Reset the masked envs (computed only if there are any); ``(data, keys, exhausted, params)``."""

    def keep():
        return data, keys, jnp.zeros_like(mask), params

    fresh, fresh_keys, exhausted, params = lax.cond(
        jnp.any(mask), lambda: _fresh(program, model, template, keys, params, draw & mask), keep
    )
    return _where(mask, fresh, data), _where(mask, fresh_keys, keys), exhausted & mask, params


def _add_faults(faults: dict, **counts) -> dict:
    return {k: v + counts[k].astype(v.dtype) if k in counts else v for k, v in faults.items()}


# -- the programs ---------------------------------------------------------------------
@functools.partial(jax.jit, static_argnums=0, donate_argnums=1)
def vector_step(program: Program, state: EnvState, model, template, action):
    """One vector step: ``(state, StepOut)``."""
    task, mode, n = program.task, program.mode, program.num_envs
    before = task.before_step(jnp, DataView(state.data))
    # NEXT_STEP: the envs that ended last step are reset now, their actions ignored
    resetting = state.ended if mode is AutoresetMode.NEXT_STEP else jnp.zeros(n, dtype=bool)
    stepping = jnp.logical_not(resetting)
    params = state.params
    data, bad = _simulate(program, model, state.data, action, params)
    view = DataView(data)
    obs = task.observe(jnp, view)
    reward, terminated, step_info = task.evaluate(jnp, view, action, before)
    reward = jnp.broadcast_to(jnp.asarray(reward).astype(jnp.result_type(float)), (n,))
    terminated = jnp.broadcast_to(jnp.asarray(terminated, dtype=bool), (n,))
    elapsed = state.elapsed + 1
    if program.max_episode_steps is None:
        truncated = jnp.zeros(n, dtype=bool)
    else:
        truncated = elapsed >= program.max_episode_steps

    # divergence: the step's state is garbage; the episode ends, truncated, at its last
    # finite observation, with no reward, and is reset as any ended episode
    flagged = jnp.any(bad > 0, axis=0)
    nonfinite = jnp.logical_not(jnp.all(jnp.isfinite(obs.reshape(n, -1)), axis=1))
    diverged = (flagged | nonfinite) & stepping
    faults = _add_faults(
        state.faults,
        diverged=diverged,
        badqpos=bad[0] * stepping,
        badqvel=bad[1] * stepping,
        badqacc=bad[2] * stepping,
        nonfinite_observation=nonfinite & jnp.logical_not(flagged) & stepping,
    )
    obs = _where(diverged, state.last_obs, obs)
    reward = jnp.where(diverged, 0.0, reward)
    terminated = terminated & jnp.logical_not(diverged)
    truncated = truncated | diverged
    valid = stepping & jnp.logical_not(diverged)  # the envs whose step info is meaningful
    info: dict = {}
    _merge(info, {"diverged": diverged}, diverged)

    final = None
    keys = state.keys
    exhausted = jnp.zeros(n, dtype=bool)
    if mode is AutoresetMode.DISABLED:
        _merge(info, step_info, valid)
        ended = terminated | truncated
    else:
        if mode is AutoresetMode.NEXT_STEP:
            reset_mask = resetting
        else:  # SAME_STEP: the terminal observation and info go to final_obs/final_info
            reset_mask = terminated | truncated
            final_info: dict = {}
            _merge(final_info, step_info, reset_mask & valid)
            final = (_where(reset_mask, obs, jnp.zeros_like(obs)), reset_mask, final_info)
        # randomize= with resample="once": parameters are drawn only when an env is seeded
        once = program.randomization is not None and program.randomization.resample == "once"
        draw = jnp.zeros_like(reset_mask) if once else reset_mask
        data, keys, exhausted, params = _reset_where(
            program, model, template, data, keys, params, reset_mask, draw
        )
        faults = _add_faults(faults, reset_sampling_exhausted=exhausted)
        view = DataView(data)
        obs = _where(reset_mask, task.observe(jnp, view), obs)
        elapsed = jnp.where(reset_mask, 0, elapsed)
        if mode is AutoresetMode.NEXT_STEP:
            reward = jnp.where(resetting, 0.0, reward)
            terminated = terminated & stepping
            truncated = truncated & stepping
            _merge(info, step_info, valid)
            ended = terminated | truncated
        else:
            _merge(info, step_info, jnp.logical_not(reset_mask))
            ended = jnp.zeros(n, dtype=bool)
        _merge(info, task.reset_info(jnp, view), reset_mask)

    state = EnvState(data, keys, elapsed, ended, obs, faults, params)
    return state, StepOut(obs, reward, terminated, truncated, info, final, exhausted)


@functools.partial(jax.jit, static_argnums=0, donate_argnums=1)
def vector_reset(program: Program, state: EnvState, model, template, mask, new_keys, reseed, draw):
    """Reset the masked envs, reseeding those in ``reseed``: ``(state, ResetOut)``.

    The other envs keep their state and their last observation; those in ``draw`` get
    new model parameters (``randomize=``).
    """
    task = program.task
    keys = _where(reseed, new_keys, state.keys)
    fresh, fresh_keys, exhausted, params = _fresh(program, model, template, keys, state.params, draw & mask)
    exhausted = exhausted & mask
    data = _where(mask, fresh, state.data)
    view = DataView(data)
    obs = _where(mask, task.observe(jnp, view), state.last_obs)
    info: dict = {}
    _merge(info, task.reset_info(jnp, view), mask)
    state = EnvState(
        data,
        _where(mask, fresh_keys, keys),
        jnp.where(mask, 0, state.elapsed),
        state.ended & jnp.logical_not(mask),
        obs,
        _add_faults(state.faults, reset_sampling_exhausted=exhausted),
        params,
    )
    return state, ResetOut(obs, info, exhausted)
