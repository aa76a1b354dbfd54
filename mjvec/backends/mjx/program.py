"""The jitted programs of the MJX backend: a whole vector step, and a reset.

Each runs the episode rules (``mjvec.core.episode``, the CPU backend's own text)
traced over ``jax.numpy``: ``JaxOps`` for the primitives and ``MjxSimulation`` for
the simulations (``lax.scan`` over ``frame_skip`` substeps of the vmapped
``mjx.step``), so a vector step, autoreset included, is one XLA computation whose
state stays on the device.

Everything a program depends on besides its arrays is in ``Program``, jit's static
argument: two envs of the same task, size and options share the compiled code.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from gymnasium import spaces

from mjvec.backends.mjx.engine import ON_DEMAND_FIELDS, flatten_state, mjx, state_layout
from mjvec.backends.mjx.ops import JaxOps, where
from mjvec.backends.mjx.simulation import MjxSimulation
from mjvec.core import episode
from mjvec.core.episode import Episodes, Rules

__all__ = [
    "MjxState", "Program", "step_program", "reset_program", "rollout_program", "vector_step", "vector_reset",
    "vector_rollout", "set_state", "get_state",
    "fingerprint",
]


class MjxState(NamedTuple):
    """Everything that changes between steps, on the device."""

    data: Any  # mjx.Data, batched: fields shaped (num_envs, ...)
    params: dict  # randomize=: {model field: (num_envs, ...) values}, drawn fields and derived constants
    episodes: Episodes  # the episode rules' per-env state (streams: (num_envs,) PRNG keys)


class Program:
    """The static part of a compiled step: task, sizes, episode rules.

    Hashed by the task's fingerprint (its class and every attribute, the model by
    content), so equal tasks share one compiled function and different ones never do.
    """

    def __init__(self, rules: Rules, num_envs: int, actions, derived: tuple[str, ...] = (), impl: str = "jax"):
        task = rules.task
        self.rules = rules
        self.task = task
        self.actions = actions  # mjvec.actions.BoundActions
        self.randomization = rules.randomization  # mjvec.randomize.BoundRandomization or None
        self.derived = derived  # the constants recomputed from drawn fields
        self.num_envs = num_envs
        self.impl = impl  # MJX's implementation: "jax" or "warp"
        self.frame_skip = task.frame_skip
        self.on_demand = any(f in ON_DEMAND_FIELDS for f in task.fields)
        # a task that reads only qpos and qvel needs no mj_forward after a reset: the next
        # mjx.step starts with one, and a forward changes no state (a smaller program)
        self.forward_at_reset = bool(task.fields)
        # dm_control's legacy_step: position- and velocity-dependent fields at the new state
        self.step1_after_step = int(getattr(task, "step_stage", 0)) >= int(mujoco.mjtStage.mjSTAGE_VEL)
        self.settle_steps = int(getattr(task, "settle_steps", 0))
        self.reset_without_actuation = bool(getattr(task, "reset_without_actuation", False))
        self.action_repeat = int(getattr(task, "action_repeat", 1))
        self.state_layout = state_layout(task.model)  # physics states as mj_getState's
        self.key = (
            task_fingerprint(task), fingerprint(actions), fingerprint(rules.randomization), derived, num_envs, impl,
            rules.mode and rules.mode.name, rules.max_episode_steps,
            jax.config.jax_enable_x64,
        )
        self._hash = hash(self.key)

    def __hash__(self) -> int:
        return self._hash

    def jax_model(self):
        """The task's model as an ``impl="jax"`` ``mjx.Model`` (MJX's JAX functions for derived constants)."""
        if getattr(self, "_jax_model", None) is None:
            self._jax_model = mjx.put_model(self.task.model, impl="jax")
        return self._jax_model

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



# -- the programs ---------------------------------------------------------------------
def step_program(program: Program, state: MjxState, model, template, action):
    """One vector step, autoreset included: ``(state, episode.StepOut)``.

    SAME_STEP's final observations are zero outside their mask (a dense array).
    """
    sim = MjxSimulation(program, model, template, state.data, state.params)
    ops = JaxOps(program.num_envs)
    episodes, out = episode.step(ops, program.rules, state.episodes, sim, action)
    if out.final is not None:
        final_obs, mask, final_info = out.final
        zeros = jax.tree.map(jnp.zeros_like, final_obs)
        out = out._replace(final=(where(mask, final_obs, zeros), mask, final_info))
    return MjxState(sim.raw, sim.params, episodes), out


def reset_program(program: Program, state: MjxState, model, template, mask, new_keys, reseed, draw, states=None):
    """Reset the masked envs, those in ``reseed`` with ``new_keys``: ``(state, episode.ResetOut)``.

    The other envs keep their state and their last observation; those in ``draw`` get
    new model parameters (``randomize=``; ignored without); ``states``: ``(n, nstate)``
    physics states to start from (rows of the masked envs), or None for the task's.
    """
    sim = MjxSimulation(program, model, template, state.data, state.params)
    ops = JaxOps(program.num_envs)
    episodes = state.episodes._replace(streams=where(reseed, new_keys, state.episodes.streams))
    draw = draw if program.randomization is not None else None
    episodes, out = episode.reset(ops, program.rules, episodes, sim, mask, draw, states)
    return MjxState(sim.raw, sim.params, episodes), out


def rollout_program(program: Program, state: MjxState, model, template, actions, record_state: bool):
    """``actions.shape[1]`` steps of ``step_program`` in one ``lax.scan``: ``(state, per-step outputs)``.

    The outputs are ``(T, n, ...)``: obs, reward, terminated, truncated, info values (dense),
    and the physics states after each step when ``record_state``.
    """

    def body(state, action):
        state, out = step_program(program, state, model, template, action)
        record = (out.obs, out.reward, out.terminated, out.truncated, {k: v for k, (v, _) in out.info.items()})
        if record_state:
            record += (flatten_state(state.data, program.state_layout),)
        return state, record

    return jax.lax.scan(body, state, jnp.swapaxes(actions, 0, 1))


#: the backend's compiled step, reset and rollout: the functions above under jit, the state donated
vector_step = jax.jit(step_program, static_argnums=0, donate_argnums=1)
vector_reset = jax.jit(reset_program, static_argnums=0, donate_argnums=1)
vector_rollout = jax.jit(rollout_program, static_argnums=(0, 5), donate_argnums=1)


@functools.partial(jax.jit, static_argnums=0, donate_argnums=1)
def set_state(program: Program, state: MjxState, model, template, mask, states):
    """The masked envs' physics states set from ``(n, nstate)`` ``states``, then ``mjx.forward``."""
    sim = MjxSimulation(program, model, template, state.data, state.params)
    sim.set_state(mask, states)
    return state._replace(data=sim.raw)


@functools.partial(jax.jit, static_argnums=0)
def get_state(program: Program, data):
    """``(n, nstate)``: every env's physics state, laid out as ``mj_getState``'s."""
    return flatten_state(data, program.state_layout)
