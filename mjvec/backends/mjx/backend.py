"""MJX backend: the episode rules and the simulations as one jitted computation (``mujoco.mjx``).

Each vector step is one call of ``mjvec.backends.mjx.program.vector_step``: the
actions, ``frame_skip`` substeps of the vmapped ``mjx.step``, the task's
observation, reward and termination (the same functions as on the CPU, with
``xp = jax.numpy``) and the episode rules (``mjvec.core.episode``, the CPU
backend's own) run as one XLA computation; the simulations stay on the device.
This module is the backend's edge: seeds and inputs go to the device, outputs come
back as NumPy in the CPU backend's dtypes (one device-to-host copy per step), or
stay JAX arrays with ``array_type="jax"``, or become torch tensors on the same
buffers (DLPack) with ``array_type="torch"``.

The model is not changed: a feature MJX lacks is an ``UnsupportedFeatureError``.
Compiled programs are cached per (task, num_envs, options), in memory and, unless
turned off, on disk (``MJVEC_JAX_CACHE``; see docs/mjx.md).
"""

from __future__ import annotations

import copy
from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from mjvec import validation
from mjvec.backends.mjx.cameras import camera_drawer, unsupported_cameras
from mjvec.backends.mjx.devices import env_sharding, warn_cpu_lapack
from mjvec.backends.mjx.engine import has_field
from mjvec.backends.mjx.functional import FunctionalEnv
from mjvec.backends.mjx.impls import (
    UnsupportedFeatureError, unsupported_feature, batch_data, make_template, put_model, resolve_impl,
)
from mjvec.backends.mjx.program import (
    MjxState,
    Program,
    get_state,
    set_state,
    vector_reset,
    vector_rollout,
    vector_step,
)
from mjvec.backends.mjx.random import entropy_seeds, seed_keys
from mjvec.backends.mjx.randomize import check_randomization, nominal_params
from mjvec.backends.mjx.rays import ray_caster
from mjvec.backends.mjx.simulation import BAD_KINDS
from mjvec.core import outputs, rollout
from mjvec.core.episode import Episodes, Rules, Seeding
from mjvec.core.torch_arrays import TorchArrays
from mjvec.core.tree import tree_map
from mjvec.render import RenderState

__all__ = ["MjxBackend", "UnsupportedFeatureError", "put_model", "FAULT_KINDS"]

#: what the backend counts per env, as the CPU backend's diagnostics() kinds
FAULT_KINDS = ("diverged", *BAD_KINDS, "nonfinite_observation", "nonfinite_reward", "nonfinite_reset_observation",
               "reset_sampling_exhausted")


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
      observation_space: the task's batched observation space.
      array_type: ``"numpy"`` (host arrays in the CPU backend's dtypes) or ``"jax"``
        (device arrays in JAX's dtypes, float32 unless ``jax_enable_x64``; no host
        copy, no sync) or ``"torch"`` (those arrays as torch tensors, ``torch.from_dlpack``;
        one device only).
      actions: the bound ``ActionSpec``.
      devices: the local JAX devices to split the env axis over: None for all of them,
        a count ``k`` for the first ``k``, or a sequence of ``jax.Device``.
      obs_dtypes: the observations' dtypes for the caller (``obs_dtype=``, also JAX arrays
        out), or None: the task's (JAX's own with ``array_type="jax"``).

    Raises:
      UnsupportedFeatureError: the model uses a feature MJX lacks.
    """

    def __init__(self, rules: Rules, num_envs: int, observation_space, *, array_type: str = "numpy",
                 actions=None, devices: Any = None, obs_dtypes: Any = None, impl: str | None = None):
        task = rules.task
        self.rules = rules
        self.task = task
        self.num_envs = n = num_envs
        self.array_type = array_type
        self._torch = TorchArrays() if array_type == "torch" else None
        self._device_out = array_type in ("jax", "torch")  # outputs stay on the device
        # several local devices (GPUs), or those in `devices`: the env axis is split over them,
        # the model replicated
        sharding = env_sharding(n, devices)
        count = 1 if sharding is None else sharding.mesh.size
        if self._torch is not None and count > 1:
            raise ValueError(
                f"array_type='torch' needs the envs on one device (a tensor is one buffer), got {count} devices:"
                " pass `devices=1`, or use array_type='jax' (sharded arrays)"
            )
        self.impl = resolve_impl(impl, count)
        self.model = put_model(task, self.impl)
        self._check_task_model_fields()
        # the state mj_resetData makes; Warp's sized for the batch (its shared contact list)
        self._template = make_template(task.model, self.model, self.impl, n)
        missing = [f for f in task.fields if not has_field(self._template, f)]
        if missing:
            raise ValueError(f"{type(task).__name__} reads fields that mjx.Data does not have: {missing}")
        self.actions = actions
        missing = [f for f in actions.fields if not has_field(self._template, f)]
        if missing:
            raise ValueError(f"`actions` drive fields that mjx.Data does not have: {missing}")
        randomization = self.randomization = rules.randomization
        derived = () if randomization is None else check_randomization(
            randomization, self.model, task.model, self.impl)
        self._derived = derived
        self._make_programs()
        self._seeding = Seeding(n, None if randomization is None else randomization.resample)
        self._cast_jax = obs_dtypes is not None  # JAX arrays out keep JAX's dtypes unless asked
        self._obs_dtypes = outputs.obs_dtypes(observation_space) if obs_dtypes is None else obs_dtypes
        self._observation_space = observation_space
        self._state = self.initial_state()
        self.sharding = sharding
        # the device of a one-device batch (array_type="torch" has one): JAX's default, or the one in `devices`
        self._device = jax.devices()[0] if sharding is None else sharding.mesh.devices.flat[0]
        if self.impl == "jax":
            warn_cpu_lapack(task, n // count)
        if self.sharding is not None:
            replicated = jax.sharding.NamedSharding(self.sharding.mesh, jax.sharding.PartitionSpec())
            self.model, self._template = jax.device_put((self.model, self._template), replicated)
            self._state = jax.device_put(self._state, self.sharding)
        self.state_size = sum(size for _, size in self._program.state_layout)
        self.description = {"backend": "mjx", "impl": self.impl, "devices": count}

    def _nominal_params(self, n: int) -> dict:
        """Per-env model values before any draw: ``randomize=``'s fields and the task's own
        (``Task.reset_model_fields``, e.g. the reacher's target)."""
        params = {} if self.randomization is None else nominal_params(self.model, self.randomization, self._derived, n)
        for f in getattr(self.task, "reset_model_fields", ()):
            value = getattr(self.model, f)
            params[f] = jnp.array(jnp.broadcast_to(value, (n, *value.shape)))
        return params

    def _check_task_model_fields(self) -> None:
        """The fields a task draws per env at reset must be traced in MJX's model, not static there."""
        for f in getattr(self.task, "reset_model_fields", ()):
            if isinstance(getattr(self.model, f), np.ndarray):
                raise unsupported_feature(
                    self.task, f"a per-env `{f}` (drawn at every reset, Task.reset_model)",
                    f"MJX keeps `{f}` as a static NumPy array of its model, one value for every env",
                )

    def initial_state(self) -> MjxState:
        """The state before any reset: ``mj_resetData``'s data in every env, nominal parameters."""
        n, randomization = self.num_envs, self.randomization
        zeros = outputs.zeros_of(self._observation_space)
        state = MjxState(
            # copied: the state is donated to each step, the template is not (Warp's shared buffers)
            data=jax.tree.map(jnp.array, batch_data(self._template, n)),
            params=self._nominal_params(n),
            episodes=Episodes(
                elapsed=jnp.zeros(n, dtype=jnp.int32),
                ended=jnp.zeros(n, dtype=bool),
                last_obs=tree_map(lambda z: jnp.zeros(z.shape, _device_dtype(z.dtype)), zeros),
                streams=seed_keys([0] * n),
                faults={kind: jnp.zeros(n, dtype=jnp.int32) for kind in FAULT_KINDS},
            ),
        )
        sharding = getattr(self, "sharding", None)
        return state if sharding is None else jax.device_put(state, sharding)

    def functional(self) -> FunctionalEnv:
        """``FunctionalEnv``: this backend's step and reset as pure functions."""
        return FunctionalEnv(self)

    def _make_programs(self) -> None:
        """The step and reset programs, keyed by the task's fingerprint (its attributes' values)."""
        rules, n, actions, derived = self.rules, self.num_envs, self.actions, self._derived
        self._program = Program(rules, n, actions, derived, self.impl)
        # resets do not depend on the episode rules: one compiled reset for every mode
        self._reset_program = Program(rules._replace(mode=None, max_episode_steps=None), n, actions, derived,
                                      self.impl)

    # -- what MjVecEnv calls --------------------------------------------------------
    def check_actions(self, actions: Any):
        """``actions`` checked as on the CPU; JAX arrays (and GPU tensors) by shape and dtype only (no sync)."""
        shape = (self.num_envs, *self.actions.space.shape)
        if self._torch is not None:
            actions = self._torch_actions(actions)
        if isinstance(actions, jax.Array):
            if not jnp.issubdtype(actions.dtype, jnp.number) or jnp.issubdtype(actions.dtype, jnp.complexfloating):
                raise TypeError(f"`actions` must have a real numeric dtype (float or int), got {actions.dtype}")
            if actions.shape != shape:
                raise ValueError(f"`actions` must have shape {shape} (num_envs, action size), got {actions.shape}")
            return actions
        actions = validation.check_actions(actions, shape)
        self.actions.check(actions, jnp.result_type(float))  # the float type the jitted write computes in
        return actions

    def _torch_actions(self, actions: Any) -> Any:
        """A CUDA tensor taken by JAX through DLPack (no copy) when the envs are on a GPU, moved to
        their GPU if it is on another; any other tensor read through the host (``TorchArrays.actions``)."""
        device = self._device
        if device.platform != "gpu" or not isinstance(actions, self._torch.torch.Tensor) or not actions.is_cuda:
            return self._torch.actions(actions)
        x = jax.dlpack.from_dlpack(actions.detach().contiguous())
        return x if x.devices() == {device} else jax.device_put(x, device)

    def reset(self, mask: np.ndarray, seeds, states: np.ndarray | None = None) -> tuple[Any, dict]:
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
        arrays = self._put(mask, seed_keys(values), reseed, draw)
        if states is not None:
            arrays += self._put(self._dense(mask, states))
        self._state, out = vector_reset(self._reset_program, self._state, self.model, self._template, *arrays)
        if self._device_out:
            return self._device_result((self._jax_obs(out.obs), _jax_info(out.info)))
        return outputs.reset_result(self.task, jax.device_get(out), self._obs_dtypes, _host)

    def step(self, actions) -> tuple[Any, Any, Any, Any, dict]:
        """One vector step: ``(obs, reward, terminated, truncated, info)`` as ``MjVecEnv.step``."""
        (actions,) = self._put(actions)
        self._state, out = vector_step(self._program, self._state, self.model, self._template, actions)
        if self._device_out:
            info = _jax_info(out.info)
            if out.final is not None:
                final_obs, mask, final_info = out.final
                info["final_obs"], info["_final_obs"] = self._jax_obs(final_obs), mask
                info["final_info"], info["_final_info"] = _jax_info(final_info), mask
            return self._device_result((self._jax_obs(out.obs), out.reward, out.terminated, out.truncated, info))
        return outputs.step_result(self.task, jax.device_get(out), self._obs_dtypes, _host)  # the one host copy

    def rollout(self, actions, start, states: bool):
        """T steps in one jitted ``lax.scan`` of the backend's step; NumPy out (``mjvec.core.rollout``)."""
        if self._device_out:
            raise NotImplementedError(
                f"`rollout()` returns NumPy arrays; this env hands out {self.array_type} arrays: use `env.functional()`"
                " inside your own `lax.scan` to keep a rollout on the device"
            )
        if start is not None:  # new episodes from the given states, as reset(options={"state": ...})
            self.reset(np.ones(self.num_envs, dtype=np.bool_), [None] * self.num_envs, start)
        (actions,) = self._put(actions)
        self._state, record = vector_rollout(self._program, self._state, self.model, self._template, actions, states)
        record = jax.tree.map(lambda x: np.swapaxes(np.asarray(x), 0, 1), jax.device_get(record))
        obs, reward, terminated, truncated, info = record[:5]
        obs, reward, terminated, truncated, valid, ended = rollout.episode_view(obs, reward, terminated, truncated)
        info["diverged"] = info["diverged"] & valid
        episodes = self._state.episodes
        self._state = self._state._replace(episodes=episodes._replace(
            ended=self._put(ended)[0],
            last_obs=self._put(rollout.last_observation(obs, valid))[0],
        ))
        obs = tree_map(lambda x, dtype: x.astype(dtype), obs, self._obs_dtypes)
        info = {k: _host(v) for k, v in info.items()}
        state_records = np.asarray(record[5], dtype=np.float64) if states else None
        return rollout.RolloutResult(obs, _host(reward), terminated, truncated, valid, info, state_records)

    def get_state(self, env_ids: np.ndarray) -> np.ndarray:
        states = get_state(self._program, self._state.data)
        return np.asarray(jax.device_get(states[jnp.asarray(env_ids)]), dtype=np.float64)

    def set_state(self, state: np.ndarray, env_ids: np.ndarray) -> None:
        mask = np.zeros(self.num_envs, dtype=np.bool_)
        mask[env_ids] = True
        dense = np.zeros((self.num_envs, self.state_size))
        dense[env_ids] = state
        self._state = set_state(self._program, self._state, self.model, self._template, *self._put(mask, dense))

    def _dense(self, mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``(num_envs, ...)``: ``rows`` (one per masked env, in env order) scattered, zeros elsewhere."""
        dense = np.zeros((self.num_envs, *rows.shape[1:]), dtype=rows.dtype)
        dense[mask] = rows
        return dense

    def _device_result(self, result: tuple) -> tuple:
        return result if self._torch is None else self._torch.tensors(result)

    def _jax_obs(self, obs):
        """Device observations in ``obs_dtype`` when one was asked for."""
        if not self._cast_jax:
            return obs
        return tree_map(lambda x, dtype: x if x.dtype == dtype else x.astype(dtype), obs, self._obs_dtypes)

    def _put(self, *arrays):
        """Per-env inputs on the device(s), split as the state is."""
        if self.sharding is None:
            return tuple(jnp.asarray(a) for a in arrays)
        return tuple(jax.device_put(a, self.sharding) for a in arrays)

    def get_model(self, i: int):
        """Env ``i``'s ``mujoco.MjModel`` as simulated: a copy with its drawn parameters (``randomize=``'s
        and the task's own ``reset_model_fields``, e.g. reacher's target).

        The derived constants are MuJoCo's own (``mj_setConst``), as on the CPU backend.
        """
        model = copy.copy(self.task.model)
        fields = (*(() if self.randomization is None else self.randomization.fields),
                  *getattr(self.task, "reset_model_fields", ()))
        if not fields:
            return model
        values = jax.device_get({f: self._state.params[f][i] for f in fields})
        for field, value in values.items():
            if field.startswith("opt."):
                setattr(model.opt, field[4:], value.item() if value.size == 1 else value)
            else:
                getattr(model, field)[...] = value
        mujoco.mj_setConst(model, mujoco.MjData(model))
        return model

    def ray_caster(self, exclude_body: int):
        """``cast(origins, directions, data)``: ``mjx.ray`` of every env's rays, traced (``mjvec.backends.mjx.rays``)."""
        return ray_caster(self.task, self.model, exclude_body, UnsupportedFeatureError)

    def camera_drawer(self, cameras: dict):
        """``draw(data) -> {key: frames}``: MuJoCo Warp's batch renderer of the ``mjvec.Camera`` sources
        ``cameras`` (``{key: Camera}``), traced in the step (``mjvec.backends.mjx.cameras``).

        Raises ``UnsupportedFeatureError`` where they cannot be drawn (``impl="jax"``, the free camera...).
        """
        error = unsupported_cameras(self.impl)
        if error is not None:
            raise error
        return camera_drawer(self.task, self.model, self.num_envs, cameras, self.randomization)

    def render_state(self, env_ids: np.ndarray):
        """The state of simulations ``env_ids`` for drawing them (``mjvec.render.RenderState``)."""
        ids = jnp.asarray(np.asarray(env_ids, dtype=np.int32))
        d = self._state.data
        model = self.task.model
        qpos, qvel, act, mocap_pos, mocap_quat = jax.device_get((
            d.qpos[ids], d.qvel[ids], d.act[ids] if model.na else None,
            d.mocap_pos[ids] if model.nmocap else None, d.mocap_quat[ids] if model.nmocap else None,
        ))
        per_env = self.randomization is not None or getattr(self.task, "reset_model_fields", ())
        models = (lambda j: self.get_model(int(env_ids[j]))) if per_env else None
        return RenderState(model, qpos, qvel, act, mocap_pos, mocap_quat, models=models)

    def fault_counts(self) -> dict[str, np.ndarray]:
        """``{kind: (num_envs,) occurrences}`` of the kinds that occurred (one host copy)."""
        counts = self._final_faults if self._state is None else jax.device_get(self._state.episodes.faults)
        return {kind: c.astype(np.int64) for kind, c in counts.items() if c.any()}

    def fault_messages(self) -> dict[str, str]:
        return {}

    def task_changed(self) -> None:
        """A task attribute was set: new programs, compiled for its new value on the next call."""
        self._make_programs()

    def close(self) -> None:
        if self._state is not None:  # diagnostics() still answers after close()
            self._final_faults = jax.device_get(self._state.episodes.faults)
        self._state = None
