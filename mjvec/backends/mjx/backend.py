"""MJX backend: the episode rules and the simulations as one jitted computation (``mujoco.mjx``).

Each vector step is one call of ``mjvec.backends.mjx.program.vector_step``: the
actions, ``frame_skip`` substeps of the vmapped ``mjx.step``, the task's
observation, reward and termination (the same functions as on the CPU, with
``xp = jax.numpy``) and the episode rules (``mjvec.core.episode``, the CPU
backend's own) run as one XLA computation; the simulations stay on the device.
This module is the backend's edge: seeds and inputs go to the device, outputs come
back as NumPy in the CPU backend's dtypes (one device-to-host copy per step), or
stay JAX arrays with ``array_type="jax"``.

The model is not changed: a feature MJX lacks is an ``UnsupportedFeatureError``.
Compiled programs are cached per (task, num_envs, options), in memory and, unless
turned off, on disk (``MJVEC_JAX_CACHE``; see docs/mjx.md).
"""

from __future__ import annotations

import copy
import importlib.metadata
import inspect
from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from mjvec import validation
from mjvec.backends.mjx.devices import env_sharding, warn_cpu_lapack
from mjvec.backends.mjx.engine import has_field, mjx
from mjvec.backends.mjx.program import MjxState, Program, vector_reset, vector_step
from mjvec.backends.mjx.random import entropy_seeds, seed_keys
from mjvec.backends.mjx.randomize import check_randomization, nominal_params
from mjvec.backends.mjx.simulation import BAD_KINDS
from mjvec.core import outputs
from mjvec.core.episode import Episodes, Rules, Seeding
from mjvec.core.tree import tree_map
from mjvec.envs import TASKS
from mjvec.render import RenderState

__all__ = ["MjxBackend", "UnsupportedFeatureError", "put_model", "FAULT_KINDS"]

#: what the backend counts per env, as the CPU backend's diagnostics() kinds
FAULT_KINDS = ("diverged", *BAD_KINDS, "nonfinite_observation", "nonfinite_reward", "nonfinite_reset_observation",
               "reset_sampling_exhausted")


class UnsupportedFeatureError(NotImplementedError):
    """The task's model uses a feature that MJX does not implement.

    ``feature`` names it (e.g. ``"mjtSolver.mjSOL_PGS"``).
    """

    def __init__(self, message: str, feature: str):
        super().__init__(message)
        self.feature = feature


def _registered_name(task) -> str | None:
    path = f"{type(task).__module__}:{type(task).__qualname__}"
    return next((entry.name for entry in TASKS if entry.task == path), None)


def _unsupported(task, feature: str, why: str) -> UnsupportedFeatureError:
    name = type(task).__name__
    version = importlib.metadata.version("mujoco-mjx")
    message = (
        f"{name} cannot run on the MJX backend: its model uses {feature}, which MuJoCo MJX {version}"
        f" does not implement ({why}). mjvec does not change a model's physics behind your back."
    )
    if "mjtSolver" in feature and "solver" in inspect.signature(type(task)).parameters:
        env_id = _registered_name(task) or name
        message += (
            f" {name} has an explicit MJX variant with a solver MJX implements:"
            f" `mjvec.make({env_id!r}, num_envs, backend='mjx', solver='newton')` (docs/mjx.md)."
        )
    else:
        message += " Run it with backend='cpu', or change the model yourself (e.g. its MJCF <option>)."
    return UnsupportedFeatureError(message, feature)


def put_model(task) -> Any:
    """The task's model as an ``mjx.Model``, or ``UnsupportedFeatureError``."""
    model = task.model
    if model.opt.noslip_iterations > 0:  # MJX would silently skip the noslip solver
        raise _unsupported(task, "the noslip solver (opt.noslip_iterations > 0)", "MJX has no noslip solver")
    try:
        return mjx.put_model(model, impl="jax")
    except NotImplementedError as e:
        raise _unsupported(task, str(e), "mujoco.mjx.put_model raised NotImplementedError") from e



def _host(x: np.ndarray) -> np.ndarray:
    """The CPU backend's dtypes: float64 floats, int64 signed ints."""
    if x.dtype.kind == "f" and x.dtype != np.float64:
        return x.astype(np.float64)
    if x.dtype.kind == "i" and x.dtype != np.int64:
        return x.astype(np.int64)
    return x


def _jax_info(dense: dict) -> dict:
    info = {}
    for key, (value, mask) in dense.items():
        info[key], info[f"_{key}"] = value, mask
    return info


def _device_dtype(dtype: np.dtype):
    """The dtype an observation leaf has on the device: JAX's default float for floats."""
    return jnp.result_type(float) if np.dtype(dtype).kind == "f" else dtype


class MjxBackend:
    """``num_envs`` copies of a task as one jitted MJX batch.

    Args:
      rules: the episode rules' static part (task, autoreset mode, time limit,
        randomization).
      num_envs: number of environments.
      observation_space: the batched observation space.
      array_type: ``"numpy"`` (host arrays in the CPU backend's dtypes) or ``"jax"``
        (device arrays in JAX's dtypes, float32 unless ``jax_enable_x64``; no host
        copy, no sync).
      actions: the bound ``ActionSpec``.
      devices: the local JAX devices to split the env axis over: None for all of them,
        a count ``k`` for the first ``k``, or a sequence of ``jax.Device``.

    Raises:
      UnsupportedFeatureError: the model uses a feature MJX lacks.
    """

    def __init__(self, rules: Rules, num_envs: int, observation_space, *, array_type: str = "numpy",
                 actions=None, devices: Any = None):
        task = rules.task
        self.rules = rules
        self.task = task
        self.num_envs = n = num_envs
        self.array_type = array_type
        self.model = put_model(task)
        self._template = mjx.make_data(self.model)  # the state mj_resetData makes
        missing = [f for f in task.fields if not has_field(self._template, f)]
        if missing:
            raise ValueError(f"{type(task).__name__} reads fields that mjx.Data does not have: {missing}")
        self.actions = actions
        missing = [f for f in actions.fields if not has_field(self._template, f)]
        if missing:
            raise ValueError(f"`actions` drive fields that mjx.Data does not have: {missing}")
        randomization = self.randomization = rules.randomization
        derived = () if randomization is None else check_randomization(randomization, self.model, task.model)
        self._program = Program(rules, n, actions, derived)
        # resets do not depend on the episode rules: one compiled reset for every mode
        self._reset_program = Program(rules._replace(mode=None, max_episode_steps=None), n, actions, derived)
        self._seeding = Seeding(n, None if randomization is None else randomization.resample)
        self._obs_dtypes = tree_map(lambda z: z.dtype, outputs.zeros_of(observation_space))
        last_obs = tree_map(lambda z: jnp.zeros(z.shape, _device_dtype(z.dtype)), outputs.zeros_of(observation_space))
        self._state = MjxState(
            data=jax.tree.map(lambda x: jnp.array(jnp.broadcast_to(x, (n, *x.shape))), self._template),
            params={} if randomization is None else nominal_params(self.model, randomization, derived, n),
            episodes=Episodes(
                elapsed=jnp.zeros(n, dtype=jnp.int32),
                ended=jnp.zeros(n, dtype=bool),
                last_obs=last_obs,
                streams=seed_keys([0] * n),
                faults={kind: jnp.zeros(n, dtype=jnp.int32) for kind in FAULT_KINDS},
            ),
        )
        # several local devices (GPUs), or those in `devices`: the env axis is split over them,
        # the model replicated
        self.sharding = env_sharding(n, devices)
        warn_cpu_lapack(task, n if self.sharding is None else n // self.sharding.mesh.size)
        if self.sharding is not None:
            replicated = jax.sharding.NamedSharding(self.sharding.mesh, jax.sharding.PartitionSpec())
            self.model, self._template = jax.device_put((self.model, self._template), replicated)
            self._state = jax.device_put(self._state, self.sharding)
        count = 1 if self.sharding is None else self.sharding.mesh.size
        self.description = {"backend": "mjx", "impl": "jax", "devices": count}

    # -- what MjVecEnv calls --------------------------------------------------------
    def check_actions(self, actions: Any):
        """``actions`` checked as on the CPU; JAX arrays by shape and dtype only (no sync)."""
        shape = (self.num_envs, *self.actions.space.shape)
        if isinstance(actions, jax.Array):
            if not jnp.issubdtype(actions.dtype, jnp.number) or jnp.issubdtype(actions.dtype, jnp.complexfloating):
                raise TypeError(f"`actions` must have a real numeric dtype (float or int), got {actions.dtype}")
            if actions.shape != shape:
                raise ValueError(f"`actions` must have shape {shape} (num_envs, action size), got {actions.shape}")
            return actions
        actions = validation.check_actions(actions, shape)
        self.actions.check(actions, jnp.result_type(float))  # the float type the jitted write computes in
        return actions

    def reset(self, mask: np.ndarray, seeds) -> tuple[Any, dict]:
        """Reset the masked envs, env ``i`` reseeded with ``seeds[i]`` when not None.

        An env never seeded gets a seed from the OS. Returns ``(obs, info)`` as
        ``MjVecEnv.reset``: the other envs' observations are their last ones.
        """
        reseed, draw = self._seeding.plan(mask, seeds)
        values = [0 if s is None else s for s in seeds]
        fresh = reseed & np.array([s is None for s in seeds], dtype=np.bool_)
        for i, s in zip(np.flatnonzero(fresh), entropy_seeds(int(fresh.sum()))):
            values[i] = s
        if draw is None:
            draw = np.zeros_like(mask)
        self._state, out = vector_reset(
            self._reset_program, self._state, self.model, self._template,
            *self._put(mask, seed_keys(values), reseed, draw),
        )
        if self.array_type == "jax":
            return out.obs, _jax_info(out.info)
        return outputs.reset_result(self.task, jax.device_get(out), self._obs_dtypes, _host)

    def step(self, actions) -> tuple[Any, Any, Any, Any, dict]:
        """One vector step: ``(obs, reward, terminated, truncated, info)`` as ``MjVecEnv.step``."""
        (actions,) = self._put(actions)
        self._state, out = vector_step(self._program, self._state, self.model, self._template, actions)
        if self.array_type == "jax":
            info = _jax_info(out.info)
            if out.final is not None:
                final_obs, mask, final_info = out.final
                info["final_obs"], info["_final_obs"] = final_obs, mask
                info["final_info"], info["_final_info"] = _jax_info(final_info), mask
            return out.obs, out.reward, out.terminated, out.truncated, info
        return outputs.step_result(self.task, jax.device_get(out), self._obs_dtypes, _host)  # the one host copy

    def _put(self, *arrays):
        """Per-env inputs on the device(s), split as the state is."""
        if self.sharding is None:
            return tuple(jnp.asarray(a) for a in arrays)
        return tuple(jax.device_put(a, self.sharding) for a in arrays)

    def get_model(self, i: int):
        """Env ``i``'s ``mujoco.MjModel`` as simulated: a copy with its drawn parameters.

        The derived constants are MuJoCo's own (``mj_setConst``), as on the CPU backend.
        """
        model = copy.copy(self.task.model)
        if self.randomization is None:
            return model
        values = jax.device_get({f: self._state.params[f][i] for f in self.randomization.fields})
        for field, value in values.items():
            if field.startswith("opt."):
                setattr(model.opt, field[4:], value.item() if value.size == 1 else value)
            else:
                getattr(model, field)[...] = value
        mujoco.mj_setConst(model, mujoco.MjData(model))
        return model

    def render_state(self, env_ids: np.ndarray):
        """The state of simulations ``env_ids`` for drawing them (``mjvec.render.RenderState``)."""
        ids = jnp.asarray(np.asarray(env_ids, dtype=np.int32))
        d = self._state.data
        model = self.task.model
        qpos, qvel, act, mocap_pos, mocap_quat = jax.device_get((
            d.qpos[ids], d.qvel[ids], d.act[ids] if model.na else None,
            d.mocap_pos[ids] if model.nmocap else None, d.mocap_quat[ids] if model.nmocap else None,
        ))
        models = None if self.randomization is None else (lambda j: self.get_model(int(env_ids[j])))
        return RenderState(model, qpos, qvel, act, mocap_pos, mocap_quat, models=models)

    def fault_counts(self) -> dict[str, np.ndarray]:
        """``{kind: (num_envs,) occurrences}`` of the kinds that occurred (one host copy)."""
        counts = self._final_faults if self._state is None else jax.device_get(self._state.episodes.faults)
        return {kind: c.astype(np.int64) for kind, c in counts.items() if c.any()}

    def fault_messages(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        if self._state is not None:  # diagnostics() still answers after close()
            self._final_faults = jax.device_get(self._state.episodes.faults)
        self._state = None
