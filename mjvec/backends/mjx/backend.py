"""MJX backend: the batch as one jitted computation (``mujoco.mjx`` on JAX).

``MjVecEnv`` hands each whole vector step to this backend (``vector_step``): the
actions, ``frame_skip`` substeps of the vmapped ``mjx.step``, the task's
observation, reward and termination (the same functions as on the CPU, with
``xp = jax.numpy``), the time limit, divergence and autoreset run as one XLA
computation (``mjvec.backends.mjx.program``); the simulations stay on the device.

Outputs are NumPy by default, in the CPU backend's dtypes (one device-to-host
copy per step), or JAX arrays with ``array_type="jax"``. The model is not
changed: a feature MJX lacks is an ``UnsupportedFeatureError``. Compiled programs
are cached per (task, num_envs, options), in memory and, unless turned off, on
disk (``MJVEC_JAX_CACHE``; see docs/mjx.md).
"""

from __future__ import annotations

import copy
import importlib.metadata
import inspect
import os
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from gymnasium.vector import AutoresetMode

from mjvec import validation
from mjvec.actions import BoundActions
from mjvec.backends.mjx.program import (
    FAULT_KINDS,
    DataView,
    EnvState,
    Program,
    has_field,
    mjx,
    vector_reset,
    vector_step,
)
from mjvec.backends.mjx.random import MAX_TRIES, entropy_seeds, seed_keys
from mjvec.backends.mjx.randomize import check_randomization, nominal_params

__all__ = [
    "MjxBackend", "UnsupportedFeatureError", "ARRAY_TYPES", "put_model", "configure_compilation_cache", "env_sharding",
    "local_devices",
]

ARRAY_TYPES = ("numpy", "jax")


class UnsupportedFeatureError(NotImplementedError):
    """The task's model uses a feature that MJX does not implement.

    ``feature`` names it (e.g. ``"mjtSolver.mjSOL_PGS"``).
    """

    def __init__(self, message: str, feature: str):
        super().__init__(message)
        self.feature = feature


def configure_compilation_cache() -> str | None:
    """Point JAX's persistent compilation cache at ``MJVEC_JAX_CACHE``, by default
    ``$XDG_CACHE_HOME/mjvec/jax`` (``~/.cache/mjvec/jax``); returns the folder, or None.

    A recompile of the same program then takes about a second instead of tens. A
    cache folder the user configured in JAX is kept; ``MJVEC_JAX_CACHE=0`` turns
    this off. JAX reads it at its first compilation in the process.
    """
    setting = os.environ.get("MJVEC_JAX_CACHE")
    if setting is not None and setting.strip().lower() in ("", "0", "off", "false", "none"):
        return None
    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    if not setting:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        setting = os.path.join(base, "mjvec", "jax")
    jax.config.update("jax_compilation_cache_dir", setting)
    return setting


configure_compilation_cache()


def _registered_name(task) -> str | None:
    from mjvec.registration import TASKS

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


def _host_info(dense: dict) -> dict:
    """Gymnasium's info from dense ``{key: (value, mask)}``: the keys some env wrote."""
    info = {}
    for key, (value, mask) in dense.items():
        if mask.any():
            info[key], info[f"_{key}"] = _host(value), mask
    return info


def _jax_info(dense: dict) -> dict:
    info = {}
    for key, (value, mask) in dense.items():
        info[key], info[f"_{key}"] = value, mask
    return info


def local_devices(devices: Any = None) -> list:
    """The local JAX devices ``devices`` names: None for all, a count (the first ``k``), or a list."""
    local = jax.local_devices()
    if devices is None:
        return local
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, (bool, np.bool_)):
        k = validation.check_positive_int(devices, "devices")
        if k > len(local):
            raise ValueError(f"`devices`={k}, but this process has {len(local)} local JAX devices: {local}")
        return local[:k]
    if isinstance(devices, jax.Device):
        devices = [devices]
    if isinstance(devices, (str, bytes)) or not hasattr(devices, "__iter__"):
        raise TypeError(
            f"`devices` must be None, a device count or a sequence of jax.Device, got {type(devices).__name__}"
        )
    devices = list(devices)
    if not devices:
        raise ValueError("`devices` is empty: give None for every local device, or at least one device")
    for d in devices:
        if not isinstance(d, jax.Device):
            raise TypeError(f"`devices` must hold jax.Device objects (jax.local_devices()), got {type(d).__name__}")
        if d not in local:
            raise ValueError(f"`devices`: {d} is not a local device of this process; local devices: {local}")
    if len(set(devices)) != len(devices):
        raise ValueError(f"`devices` names a device more than once: {devices}")
    return devices


def env_sharding(num_envs: int, devices: Any = None):
    """A ``NamedSharding`` that splits the env axis over ``devices`` (all local ones by default), or None.

    None (JAX's default device) when ``devices`` is None and there is one local device,
    and, with a warning, when ``num_envs`` is not a multiple of the local device count:
    the batch then runs on the first device. Devices chosen by the caller must divide
    ``num_envs``.
    """
    chosen = local_devices(devices)
    if devices is None and len(chosen) < 2:
        return None
    if num_envs % len(chosen):
        if devices is not None:
            raise ValueError(
                f"num_envs={num_envs} is not a multiple of the {len(chosen)} devices in `devices`: each device"
                " steps an equal share of the envs"
            )
        warnings.warn(
            f"num_envs={num_envs} is not a multiple of the {len(chosen)} local JAX devices: the MJX batch runs"
            f" on {chosen[0]} alone; make num_envs a multiple of {len(chosen)} to use them all"
            " (or pick devices with `devices=`)",
            stacklevel=4,
        )
        return None
    mesh = jax.sharding.Mesh(np.array(chosen), ("envs",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("envs"))


#: envs per JAX CPU device above which ``_warn_cpu_lapack`` warns (docs/mjx.md#jaxs-cpu)
CPU_LAPACK_SAFE_BATCH = 512


def _warn_cpu_lapack(task, per_device: int) -> None:
    """Warn of jaxlib's batched-Cholesky deadlock on JAX's CPU for large batches (Newton solver).

    The batch is on the default backend's devices: ``local_devices`` accepts no others.
    """
    if per_device <= CPU_LAPACK_SAFE_BATCH or task.model.opt.solver != mujoco.mjtSolver.mjSOL_NEWTON:
        return
    if jax.default_backend() != "cpu":
        return
    warnings.warn(
        f"backend='mjx' on JAX's CPU with {per_device} envs per device: jaxlib's batched LAPACK Cholesky (MJX's"
        " Newton solver) can deadlock at this size on a machine with few cores; it was seen with 1024 envs on"
        f" 2 cores, jaxlib 0.10.2 (docs/mjx.md#jaxs-cpu). Keep <= {CPU_LAPACK_SAFE_BATCH} envs per CPU device"
        " (or split them over host devices, XLA_FLAGS=--xla_force_host_platform_device_count=k), or use"
        " backend='cpu', the fast path on CPUs",
        stacklevel=4,
    )


class MjxBackend:
    """``num_envs`` copies of ``task`` as one jitted MJX batch.

    Args:
      task: the ``Task``.
      num_envs: number of environments.
      autoreset_mode: the ``MjVecEnv``'s mode; the backend runs it inside the step.
      max_episode_steps: truncation limit, or None.
      array_type: ``"numpy"`` (host arrays in the CPU backend's dtypes) or ``"jax"``
        (device arrays in JAX's dtypes, float32 unless ``jax_enable_x64``; no host
        copy, no sync).
      devices: the local JAX devices to split the env axis over: None for all of them,
        a count ``k`` for the first ``k``, or a sequence of ``jax.Device``.

    Raises:
      UnsupportedFeatureError: the model uses a feature MJX lacks.
    """

    xp = jnp
    fused = True

    def __init__(
        self,
        task,
        num_envs: int,
        *,
        autoreset_mode: AutoresetMode | None = None,
        max_episode_steps: int | None = None,
        array_type: str = "numpy",
        nthread: int | None = None,
        actions: BoundActions | None = None,
        randomization: Any = None,
        variants: Any = None,
        devices: Any = None,
    ):
        if nthread is not None:
            raise ValueError(
                "`nthread` sets the CPU backend's threads; backend='mjx' runs on JAX's devices,"
                f" got nthread={nthread!r}"
            )
        if variants is not None:
            raise ValueError(
                "`variants` (per-env compiled models) are not available on backend='mjx': vary model parameters"
                " with `randomize=`, or use backend='cpu'"
            )
        if not isinstance(array_type, str):
            raise TypeError(f"`array_type` must be a str, got {type(array_type).__name__}")
        if array_type not in ARRAY_TYPES:
            raise ValueError(
                f"`array_type` must be one of {ARRAY_TYPES}, got {array_type!r}"
                f"{validation.did_you_mean(array_type, ARRAY_TYPES)}"
            )
        self.task = task
        self.num_envs = num_envs
        self.array_type = array_type
        self.model = put_model(task)
        self._template = mjx.make_data(self.model)  # the state mj_resetData makes
        missing = [f for f in task.fields if not has_field(self._template, f)]
        if missing:
            raise ValueError(f"{type(task).__name__} reads fields that mjx.Data does not have: {missing}")
        self.actions = actions if actions is not None else task.default_actions().bind(task.model)
        missing = [f for f in self.actions.fields if not has_field(self._template, f)]
        if missing:
            raise ValueError(f"`actions` drive fields that mjx.Data does not have: {missing}")
        self.randomization = randomization
        derived = () if randomization is None else check_randomization(randomization, self.model, task.model)
        mode = AutoresetMode.NEXT_STEP if autoreset_mode is None else autoreset_mode
        self._program = Program(task, num_envs, mode, max_episode_steps, self.actions, randomization, derived)
        # resets do not depend on the episode rules: one compiled reset for every mode
        self._reset_program = Program(task, num_envs, None, None, self.actions, randomization, derived)
        # envs whose parameters were drawn since they were last seeded (resample="once")
        self._randomized = np.zeros(num_envs, dtype=np.bool_)
        self._obs_dtype = task.single_observation_space.dtype
        self._seeded = np.zeros(num_envs, dtype=np.bool_)
        n = num_envs
        self._state = EnvState(
            data=jax.tree.map(lambda x: jnp.array(jnp.broadcast_to(x, (n, *x.shape))), self._template),
            keys=seed_keys([0] * n),
            elapsed=jnp.zeros(n, dtype=jnp.int32),
            ended=jnp.zeros(n, dtype=bool),
            last_obs=jnp.zeros((n, *task.single_observation_space.shape), dtype=jnp.result_type(float)),
            faults={kind: jnp.zeros(n, dtype=jnp.int32) for kind in FAULT_KINDS},
            params={} if randomization is None else nominal_params(self.model, randomization, derived, n),
        )
        # several local devices (GPUs), or those in `devices`: the env axis is split over them,
        # the model replicated
        self.sharding = env_sharding(n, devices)
        _warn_cpu_lapack(task, n if self.sharding is None else n // self.sharding.mesh.size)
        if self.sharding is not None:
            replicated = jax.sharding.NamedSharding(self.sharding.mesh, jax.sharding.PartitionSpec())
            self.model, self._template = jax.device_put((self.model, self._template), replicated)
            self._state = jax.device_put(self._state, self.sharding)

    @property
    def data(self) -> DataView:
        """The batched ``mjx.Data`` of the current state, fields as attributes."""
        return DataView(self._state.data)

    # -- what MjVecEnv calls --------------------------------------------------------
    def check_actions(self, actions: Any, shape: tuple[int, ...]):
        """``actions`` checked as on the CPU; JAX arrays by shape and dtype only (no sync)."""
        if isinstance(actions, jax.Array):
            if not jnp.issubdtype(actions.dtype, jnp.number) or jnp.issubdtype(actions.dtype, jnp.complexfloating):
                raise TypeError(f"`actions` must have a real numeric dtype (float or int), got {actions.dtype}")
            if actions.shape != shape:
                raise ValueError(f"`actions` must have shape {shape} (num_envs, action size), got {actions.shape}")
            return actions
        actions = validation.check_actions(actions, shape)
        self.actions.check(actions)
        return actions

    def vector_reset(self, mask: np.ndarray, seeds) -> tuple[Any, dict]:
        """Reset the masked envs, env ``i`` reseeded with ``seeds[i]`` when not None.

        An env never seeded gets a seed from the OS. Returns ``(obs, info)`` as
        ``MjVecEnv.reset``: the other envs' observations are their last ones.
        """
        reseed = mask & np.array([s is not None for s in seeds], dtype=np.bool_)
        fresh = mask & ~reseed & ~self._seeded
        values = [0 if s is None else s for s in seeds]
        if fresh.any():
            for i, s in zip(np.flatnonzero(fresh), entropy_seeds(int(fresh.sum()))):
                values[i] = s
        reseed |= fresh
        draw = mask.copy()
        if self.randomization is not None and self.randomization.resample == "once":
            draw &= reseed | ~self._randomized
        self._state, out = vector_reset(
            self._reset_program, self._state, self.model, self._template,
            *self._put(mask, seed_keys(values), reseed, draw),
        )
        self._seeded |= mask
        self._randomized |= draw
        if self.array_type == "jax":
            return out.obs, _jax_info(out.info)
        out = jax.device_get(out)
        self._check_exhausted(out.exhausted)
        return out.obs.astype(self._obs_dtype), _host_info(out.info)

    def vector_step(self, actions) -> tuple[Any, Any, Any, Any, dict]:
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
        out = jax.device_get(out)  # the one host copy
        self._check_exhausted(out.exhausted)
        obs = out.obs.astype(self._obs_dtype)
        info = _host_info(out.info)
        if out.final is not None and out.final[1].any():
            final_obs, mask, final_info = out.final
            objects = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(mask):
                objects[i] = final_obs[i].astype(self._obs_dtype)
            info["final_obs"], info["_final_obs"] = objects, mask.copy()
            info["final_info"], info["_final_info"] = _host_info(final_info), mask.copy()
        return obs, out.reward.astype(np.float64), out.terminated, out.truncated, info

    def _put(self, *arrays):
        """Per-env inputs on the device(s), split as the state is."""
        if self.sharding is None:
            return tuple(jnp.asarray(a) for a in arrays)
        return tuple(jax.device_put(a, self.sharding) for a in arrays)

    def _check_exhausted(self, exhausted: np.ndarray) -> None:
        if exhausted.any():
            raise RuntimeError(
                f"{type(self.task).__name__}.reset_state: `rng.uniform_until` accepted none of {MAX_TRIES}"
                f" candidates for environments {np.flatnonzero(exhausted)[:10].tolist()}; their reset state"
                " is the last rejected candidate. Check the `accept` function (or draw a likelier candidate)"
            )

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
        from mjvec.render import RenderState

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
        counts = self._final_faults if self._state is None else jax.device_get(self._state.faults)
        return {kind: c.astype(np.int64) for kind, c in counts.items() if c.any()}

    def close(self) -> None:
        if self._state is not None:  # diagnostics() still answers after close()
            self._final_faults = jax.device_get(self._state.faults)
        self._state = None
