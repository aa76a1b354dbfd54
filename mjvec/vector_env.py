"""MjVecEnv: a Gymnasium ``VectorEnv`` over a batch of MuJoCo simulations.

The env owns the spaces, the argument checks, the one-thread guard and rendering,
and dispatches each reset and step to its backend in one call. The episode rules
(time limits, autoreset, divergence, seeding, ``info``) are ``mjvec.core.episode``,
which every backend runs; the backend owns the simulations; the task owns
observation, reward and termination. Nothing loops over environments on the step
path, and nothing here depends on which backend runs.

Faults (docs/reliability.md): an environment whose simulation diverged ends its
episode truncated, with ``info["diverged"]``, at its last finite observation, and
is reset as any ended episode; ``diagnostics()`` counts what happened. An env is
used from one thread at a time: a call that overlaps another raises.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from mjvec import validation
from mjvec.actions import ActionSpec
from mjvec.backends import make_backend
from mjvec.core import outputs
from mjvec.backends.memory import check_memory, check_observation_memory
from mjvec.core.episode import Rules
from mjvec.env_attributes import EnvAttributes, check_settable, one_value, task_values
from mjvec.observations import ObservedTask, check_observations
from mjvec.randomize import Randomization
from mjvec.render import DEFAULT_SIZE, RENDER_MODES, BatchRenderer, check_render_call
from mjvec.task import Task
from mjvec.vector_calls import CheckedCalls, exclusive
from mjvec.vector_calls import autoreset_mode as as_autoreset_mode

__all__ = ["MjVecEnv"]


class MjVecEnv(EnvAttributes, CheckedCalls, VectorEnv):
    """``num_envs`` copies of a MuJoCo task, stepped together.

    Args:
      task: the ``Task`` (model, observation, reward, termination, reset).
      num_envs: number of environments.
      backend: ``"cpu"`` (``mujoco.batch``, MuJoCo's native thread pool) or ``"mjx"``
        (one jitted JAX computation per step, on JAX's default device; docs/mjx.md).
      nthread: threads of the CPU backend; ``None`` for every CPU this process may use
        (in a Ray actor or RLlib env runner: the CPUs Ray reserved for it).
      autoreset_mode: Gymnasium's ``AutoresetMode`` (or its name): ``next_step``
        (default), ``same_step`` or ``disabled``.
      max_episode_steps: steps after which an episode is truncated, as
        Gymnasium's ``TimeLimit``; ``None`` for no limit.
      render_mode: ``"rgb_array"`` for ``render()`` (frames of the envs), or None.
      width, height: pixels of a frame (480 x 480, as Gymnasium's MuJoCo envs).
      camera_id, camera_name: the model camera to draw from (at most one); neither:
        the free camera, set by the task's ``default_camera_config`` (docs/rendering.md).
      actions: an ``mjvec.ActionSpec`` saying which inputs (ctrl, qfrc, xfrc, mocap,
        eq) an action drives; the task's own (``ctrl`` for the v5 tasks) by default.
      randomize: per-env model parameters, ``{field: mjvec.Uniform(...)}`` or an
        ``mjvec.Randomization`` (docs/randomization.md).
      variants: ``f(spec, i)`` edits a copy of the task's ``MjSpec`` for env ``i``:
        per-env compiled models, which must share MjData's layout.
      obs_dtype: ``np.float32`` (or ``np.float64``): the observation space's float
        Boxes and every observation (reset, step, ``final_obs``) in that dtype; None
        (default) keeps the task's, bit for bit. Rewards stay float64.
      observations: ``{key: term}``: a ``spaces.Dict`` observation of the task's named
        terms (``"state"``, ``"privileged"``, ... ``Task.observation_terms``); None
        (default) keeps the task's Box, bit for bit (docs/observations.md).
      array_type: ``"numpy"`` (default) or, with ``backend="mjx"``, ``"jax"``: JAX
        arrays out (and in) with no host copy; ``info`` then has every key the step
        can write, each with its ``_key`` mask, and SAME_STEP's ``final_obs`` is one
        dense array (docs/mjx.md). ``"torch"``: torch tensors in and out, with no
        copy: on the CPU, on the NumPy outputs' memory; on MJX, the JAX outputs through
        DLPack (docs/integrations.md).
      devices: with ``backend="mjx"``, the local JAX devices the env axis is split
        over: None (default) for all of them, a count ``k`` for the first ``k``, or a
        sequence of ``jax.Device`` (docs/mjx.md#several-devices).
      impl: with ``backend="mjx"``, MJX's implementation: ``"warp"`` (MuJoCo Warp's
        kernels through JAX's FFI, the ``warp`` extra), ``"jax"``, or None (default):
        warp on one CUDA device where warp-lang loads, jax otherwise. ``repr(env)`` and
        ``env.impl`` say which runs (docs/mjx.md#two-implementations-warp-and-jax).

    Observations, rewards, terminations and truncations are NumPy arrays with a
    leading ``num_envs`` axis; ``info`` is a dict of arrays, each with a boolean
    ``_key`` mask saying which environments it holds a value for.

    ``call``, ``get_attr`` and ``set_attr`` are ``SyncVectorEnv``'s: ``call("render")``
    renders; ``get_attr(name)`` is one env's spaces, ``model`` (env ``i``'s) or the
    task's attribute, for every env; ``set_attr`` sets the task's (``mjvec.env_attributes``).

    An environment whose simulation diverges is truncated with ``info["diverged"]``
    and reset (docs/reliability.md). An env cannot be pickled: send its constructor
    (``functools.partial(mjvec.make, ...)``) to other processes instead.
    """

    def __init__(
        self,
        task: Task,
        num_envs: int,
        *,
        backend: str = "cpu",
        nthread: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        width: int = DEFAULT_SIZE,
        height: int = DEFAULT_SIZE,
        camera_id: int | None = None,
        camera_name: str | None = None,
        actions: ActionSpec | None = None,
        randomize: Randomization | Mapping[str, Any] | None = None,
        variants: Callable[[Any, int], Any] | None = None,
        obs_dtype: Any = None,
        observations: Mapping[str, str] | None = None,
        array_type: str = "numpy",
        devices: Any = None,
        impl: str | None = None,
    ):
        if not isinstance(task, Task):
            raise TypeError(f"`task` must be an mjvec.Task, got {type(task).__name__}")
        self.num_envs = validation.check_num_envs(num_envs)
        if max_episode_steps is not None:
            max_episode_steps = validation.check_positive_int(max_episode_steps, "max_episode_steps", none_ok=True)
        if render_mode not in (None, *RENDER_MODES):
            raise ValueError(f"`render_mode` must be None or one of {list(RENDER_MODES)}, got {render_mode!r}")
        # made now so bad arguments raise now; its OpenGL context comes with the first frame
        self._renderer = None if render_mode is None else BatchRenderer(
            task.model, width=width, height=height, camera_id=camera_id, camera_name=camera_name,
            default_camera_config=getattr(task, "default_camera_config", None),
        )
        self.autoreset_mode = as_autoreset_mode(autoreset_mode)
        self.task = task
        self._max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.metadata = {
            "autoreset_mode": self.autoreset_mode,
            "render_modes": list(RENDER_MODES),
            "render_fps": int(np.round(1.0 / task.dt)),
        }

        if actions is None:
            actions = task.default_actions()
        elif not isinstance(actions, ActionSpec):
            raise TypeError(f"`actions` must be an mjvec.ActionSpec or None, got {type(actions).__name__}")
        #: the action layout resolved against the model (``env.action_spec.describe()`` prints it)
        self.action_spec = actions.bind(task.model)
        randomization = Randomization.coerce(randomize)
        self._randomization = None if randomization is None else randomization.bind(task.model)
        if variants is not None and not callable(variants):
            raise TypeError(f"`variants` must be a function (spec, env index) -> None, got {type(variants).__name__}")

        obs_dtype = validation.check_obs_dtype(obs_dtype)
        # the task the episode rules run: the user's, or it observing a dict of its terms
        observed = task
        if observations is not None:
            sources = check_observations(task, observations)
            check_observation_memory(sources, self.num_envs)  # before a space allocates a frame's bounds
            observed = ObservedTask(task, sources)
        self.single_observation_space = outputs.as_obs_dtype(observed.single_observation_space, obs_dtype)
        self.single_action_space = self.action_spec.space
        check_memory(task, self.num_envs, backend, self.single_observation_space, self.single_action_space)
        self.observation_space = outputs.batched_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        rules = Rules(observed, self.autoreset_mode, max_episode_steps, self._randomization)
        self._backend = make_backend(
            backend, rules, self.num_envs, outputs.batched_space(observed.single_observation_space, self.num_envs),
            array_type=array_type, nthread=nthread, variants=variants, devices=devices, impl=impl,
            actions=self.action_spec,
            obs_dtypes=None if obs_dtype is None else outputs.obs_dtypes(self.observation_space),
        )
        if observed is not task:
            observed.attach(self._backend)
        self._observed = observed
        self.backend_name = backend
        #: MJX's implementation in use ("warp" or "jax"); None on the CPU backend
        self.impl = self._backend.description.get("impl")
        self._init_calls()
        self.closed = False

    # -- Gymnasium API -------------------------------------------------------------
    @exclusive
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset all environments, or those in ``options["reset_mask"]``.

        Seeds as Gymnasium's ``SyncVectorEnv``: an int ``s`` seeds environment ``i``
        with ``s + i``; each environment keeps its own random stream afterwards.
        """
        mask, seeds, options = self._reset_args(seed, options)
        mask = np.ones(self.num_envs, dtype=np.bool_) if mask is None else mask
        states = options.get("state")
        if states is not None:
            states = validation.check_states(states, int(mask.sum()), self.state_size, "options['state']")
        try:
            obs, info = self._backend.reset(mask, seeds, states)
        except BaseException as e:  # Ctrl-C or a task's error midway: the state may be half reset
            self._interrupted("reset", e)
            raise
        self._reset_done(None if mask.all() else mask)
        return obs, info

    @exclusive
    def step(self, actions):
        """Step every environment with its row of ``actions``, shape ``(num_envs, action size)``."""
        self._check_step()
        actions = self._backend.check_actions(actions)  # refused before anything runs: the env stays usable
        try:
            obs, reward, terminated, truncated, info = self._backend.step(actions)
            self._step_done(terminated, truncated)
        except BaseException as e:  # Ctrl-C or a task's error midway: the simulations may have advanced
            self._interrupted("step", e)
            raise
        return obs, reward, terminated, truncated, info

    @property
    def max_episode_steps(self) -> int | None:
        """The steps after which an episode is truncated (None: never), fixed when the env is made."""
        return self._max_episode_steps

    @max_episode_steps.setter
    def max_episode_steps(self, value) -> None:
        raise AttributeError("`max_episode_steps` is fixed when the env is made (the episode rules, and on MJX the"
                             f" compiled step, hold it): make a new env with mjvec.make(..., max_episode_steps={value!r})")

    @property
    def state_size(self) -> int:
        """Entries of one env's physics state: ``mujoco.mj_stateSize(model, mjSTATE_INTEGRATION)``."""
        return self._backend.state_size

    @exclusive
    def get_state(self, env_ids: Any = None) -> np.ndarray:
        """``(n, state_size)`` float64: the physics state of the envs ``env_ids`` (all by default), a copy.

        MuJoCo's ``mjSTATE_INTEGRATION`` (time, qpos, qvel, act, the constraint solver's
        warmstart, controls, applied forces, mocap poses, equality flags, user data): what
        ``mj_step`` reads, so an env set to it continues bit for bit (docs/state_and_rollouts.md). Per-env
        model parameters (``randomize=``, ``variants=``) are not part of it.
        """
        ids = validation.check_env_ids(env_ids, self.num_envs)
        return np.asarray(self._backend.get_state(ids), dtype=np.float64)

    @exclusive
    def set_state(self, state: np.ndarray, env_ids: Any = None) -> None:
        """Set the physics state of the envs ``env_ids`` (all by default), one row of ``state`` each.

        ``mj_forward`` follows, so derived quantities describe the new state; the episodes go
        on (their step counts and streams are unchanged). To start new episodes from given
        states, use ``reset(options={"state": state, "reset_mask": mask})``.
        """
        if self._needs_reset:
            raise RuntimeError("`set_state()` needs a first `reset()` of all environments")
        ids = validation.check_env_ids(env_ids, self.num_envs)
        state = validation.check_states(state, ids.size, self.state_size)
        self._backend.set_state(state, ids)

    @exclusive
    def rollout(self, actions: np.ndarray, state: np.ndarray | None = None, *, record_state: bool = False):
        """``T`` steps of every env with the given actions, ``(num_envs, T, action size)``, in one call.

        From the envs' current states, or from ``state`` (one row per env: new episodes, as
        ``reset(options={"state": state})``). The same numbers as ``T`` calls of ``step`` in
        DISABLED mode, which the env must be made with. Returns an
        ``mjvec.core.rollout.RolloutResult``: ``obs`` (a pytree), ``reward``, ``terminated``,
        ``truncated``, ``valid`` and ``info`` over ``(num_envs, T)``, and ``states``
        ``(num_envs, T, state_size)`` with ``record_state=True``. An env whose episode ends
        inside is left ended, as after ``step``. On the CPU one native call; on MJX one jitted scan
        of the backend's step (docs/state_and_rollouts.md#rollouts).
        """
        if self.autoreset_mode is not AutoresetMode.DISABLED:
            raise ValueError(
                "`rollout()` runs T steps without autoreset, as autoreset_mode='disabled' does: make the env with"
                f" autoreset_mode='disabled' (this one is {self.autoreset_mode.name})"
            )
        if getattr(self._observed, "cameras", False) or getattr(self._observed, "rays", False):
            raise ValueError(
                "`rollout()` evaluates recorded physics states, and camera and ray observations are drawn or"
                " cast in each env's current scene: use `step()` with `observations=` holding cameras or rays"
            )
        if state is None:
            self._check_step()
        elif self._needs_reset:
            raise RuntimeError("`rollout()` needs a first `reset()` of all environments")
        size = self.single_action_space.shape[0]
        if not isinstance(actions, np.ndarray):
            raise TypeError(f"`actions` must be a numpy array (num_envs, T, {size}), got {type(actions).__name__}")
        if actions.ndim != 3 or actions.shape[0] != self.num_envs or actions.shape[2] != size or not actions.shape[1]:
            raise ValueError(
                f"`actions` must have shape ({self.num_envs}, T, {size}) (num_envs, steps >= 1, action size),"
                f" got {actions.shape}"
            )
        n, t = actions.shape[:2]
        flat = validation.check_actions(actions.reshape(n * t, size), (n * t, size))
        self.action_spec.check(flat)
        actions = flat.reshape(n, t, size)
        if state is not None:
            state = validation.check_states(state, self.num_envs, self.state_size)
        result = self._backend.rollout(actions, state, bool(record_state))
        self._ended = np.asarray(result.terminated.any(axis=1) | result.truncated.any(axis=1))
        return result

    def functional(self):
        """The env's step and reset as pure JAX functions, for your own ``jit``/``scan``/``vmap`` (``backend="mjx"``).

        Returns an ``mjvec.backends.mjx.functional.FunctionalEnv`` with ``reset(key) -> (state, out)``
        and ``step(state, action) -> (state, out)``: the same jitted step ``env.step`` runs, with
        the same episode rules, the state passed explicitly. See docs/mjx.md#functional-steps.
        """
        self._check_usable()
        return self._backend.functional()

    def get_model(self, i: int):
        """Env ``i``'s ``mujoco.MjModel`` as simulated: its drawn parameters or variant.

        A copy: for inspection, rendering, or a reference loop of ``mj_step``.
        """
        i = validation.check_env_index(i, self.num_envs)
        self._check_usable()
        return self._backend.get_model(i)

    def diagnostics(self) -> dict[str, dict[str, Any]]:
        """What went wrong since the env was made, per kind of fault.

        Returns ``{kind: {"count": int, "env_ids": [int, ...]}}`` (with ``"message"``
        where the engine gave one) for the kinds that occurred: ``"diverged"``
        (episodes ended by a divergence), MuJoCo's warnings (``"badqpos"``,
        ``"badqvel"``, ``"badqacc"``, ``"badctrl"``: substeps at which the check
        fired; ``"contactfull"``, ``"cnstrfull"``, ``"inertia"``, which end no
        episode), ``"simulation_error"``, ``"nonfinite_observation"``,
        ``"nonfinite_reward"`` and ``"nonfinite_reset_observation"``.
        """
        out = {}
        messages = self._backend.fault_messages()
        for kind, counts in self._backend.fault_counts().items():
            if not counts.any():
                continue
            out[kind] = {"count": int(counts.sum()), "env_ids": np.flatnonzero(counts).tolist()}
            if kind in messages:
                out[kind]["message"] = messages[kind]
        return out

    @exclusive
    def render(self, *, env_ids: Any = None, layout: str = "frames"):
        """Frames of the environments ``env_ids`` (ints; all by default), drawn as ``layout`` says.

        Needs ``render_mode="rgb_array"``. ``layout``: ``"frames"``, a tuple of one
        ``(height, width, 3)`` uint8 frame per env (what Gymnasium's vector envs return
        and its ``RecordVideo`` reads); ``"batch"``, one ``(k, height, width, 3)``
        array; ``"tiled"``, one grid image; ``"overlay"``, one ``(height, width, 3)``
        image of all the envs in one scene. See docs/rendering.md.
        """
        self._check_usable()
        ids = check_render_call(
            self._renderer is not None, self._needs_reset, layout, env_ids, self.num_envs,
            make_call="mjvec.make(env_id, num_envs, render_mode='rgb_array')",
        )
        return self._renderer.render(self._backend.render_state(ids), layout)

    def _call_envs(self, name: str, args: tuple, kwargs: dict) -> tuple:
        if name == "model":
            if args or kwargs:
                raise TypeError("`call('model')` got arguments, but 'model' is a value, not a method")
            return tuple(self._backend.get_model(i) for i in range(self.num_envs))
        return task_values(name, self.task, self.num_envs, args, kwargs, "MjVecEnv")

    def _set_envs(self, name: str, values: list) -> None:
        check_settable(name, self.task, "MjVecEnv")
        setattr(self.task, name, one_value(name, values, "an MjVecEnv"))
        self._backend.task_changed()  # a compiled step (MJX) is rebuilt for the new value

    @exclusive
    def close_extras(self, **kwargs: Any) -> None:
        if self._renderer is not None:
            self._renderer.close()
        if self._observed is not self.task:
            self._observed.close()
        self._backend.close()

    def __getstate__(self):
        raise TypeError(
            f"an MjVecEnv cannot be pickled or copied: it holds MuJoCo's native thread pool and"
            f" {self.num_envs} live simulations. To create one in another process (multiprocessing,"
            " Ray), send its constructor instead, e.g. `functools.partial(mjvec.make, env_id, num_envs)`"
        )

    # -- helpers ---------------------------------------------------------------
    def _check_usable(self) -> None:
        if self.closed:
            raise RuntimeError("this MjVecEnv is closed: create a new one")

    def __repr__(self) -> str:
        backend = ", ".join(f"{k}={v!r}" for k, v in self._backend.description.items())
        return (
            f"MjVecEnv({type(self.task).__name__}, num_envs={self.num_envs}, {backend},"
            f" autoreset_mode={self.autoreset_mode.name})"
        )

