"""Task: a MuJoCo model and its RL functions, written once over batched fields.

A task's functions take ``xp`` (an array namespace: ``numpy`` on the CPU backend,
``jax.numpy`` on MJX) and ``data``, an object whose attributes are batched MjData
fields shaped ``(num_envs, ...)`` (``data.qpos``, ``data.xpos``, ``data.cfrc_ext``...),
and ``data.timestep``, ``(num_envs,)``: each env's own ``opt.timestep`` (which
``randomize=`` or ``variants=`` may vary; ``task.dt`` is the nominal value).
They never loop over environments and never mutate ``data``.

A backend calls them in this order for one vector step::

    before = task.before_step(xp, data)            # values read before stepping
    <write action, advance frame_skip substeps>
    obs = task.observe(xp, data)
    reward, terminated, info = task.evaluate(xp, data, action, before)

and, for the environments being reset::

    qpos, qvel[, act] = task.reset_state(xp, rng, init_qpos, init_qvel)
    <write qpos, qvel (and act); mj_forward (without actuation if reset_without_actuation)>
    obs, info = task.observe(xp, data), task.reset_info(xp, data)
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import mujoco
import numpy as np
from gymnasium import spaces

from mjvec.actions import ActionSpec
from mjvec.core.random import NumpyRandom
from mjvec.task_checks import probe
from mjvec.validation import check_positive_int

__all__ = [
    "Task", "CustomTask", "ObservationTerm", "NumpyRandom", "gymnasium_asset", "norm", "load_model_source",
]


def gymnasium_asset(xml_file: str) -> str:
    """Resolve ``xml_file`` as Gymnasium's MuJoCo envs do (`expand_model_path`).

    Relative names without a leading ``.`` or ``/`` are files in the assets folder
    that the installed ``gymnasium`` package ships; other paths are used as given.
    """
    if xml_file.startswith((".", "/")):
        return xml_file
    if xml_file.startswith("~"):
        return os.path.expanduser(xml_file)
    # found, not imported: gymnasium.envs.mujoco imports its renderer (imageio) on import
    spec = importlib.util.find_spec("gymnasium")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("gymnasium is not installed: it ships the MJCF files of the v5 tasks")
    assets = os.path.join(spec.submodule_search_locations[0], "envs", "mujoco", "assets")
    path = os.path.join(assets, xml_file)
    if not os.path.exists(path):
        raise OSError(f"`xml_file` {xml_file!r} does not exist (looked for {path})")
    return path


def norm(xp, v):
    """``np.linalg.norm`` of each row of ``v``, bit for bit as Gymnasium computes it on one row.

    ``np.linalg.norm`` of a 1-D array is ``sqrt(v.dot(v))``, a BLAS dot whose
    rounding (fused multiply-adds) ``sqrt(sum(v * v))`` does not reproduce;
    ``vecdot`` takes the same dot per row.
    """
    return xp.sqrt(xp.vecdot(v, v))


class ObservationTerm(NamedTuple):
    """A named observation of a task (``Task.observation_terms``), for ``observations=``."""

    observe: Callable[[Any, Any], Any]  # f(xp, data) -> (n, ...) batched values
    space: spaces.Space  # one env's
    fields: tuple[str, ...] = ()  # the MjData fields it reads besides qpos and qvel


class Task:
    """A task: the model, its spaces, and batched observation/reward/termination.

    Subclasses set ``fields`` (the MjData fields their functions read besides
    ``qpos`` and ``qvel``, so the CPU backend binds only those), build the model in
    ``__init__`` through ``Task.__init__``, set ``single_observation_space``, and
    implement ``observe`` and ``evaluate``; ``before_step``, ``reset_info`` and
    ``reset_state`` (by default Gymnasium's reset noise) are optional.

    Attributes:
      model: the compiled ``mujoco.MjModel`` (shared by all environments).
      spec: the ``mujoco.MjSpec`` it was compiled from, or None.
      frame_skip: MuJoCo substeps per environment step.
      dt: ``model.opt.timestep * frame_skip``, the nominal seconds per environment step;
        a reward reads each env's own with ``step_dt(data)``.
      init_qpos, init_qvel: the model's initial state (``qpos0`` and zeros).
      single_observation_space, single_action_space: one environment's spaces.
    """

    #: MjData fields the task reads besides ``qpos`` and ``qvel``.
    fields: tuple[str, ...] = ()
    #: Scale of the default ``reset_state``'s noise.
    reset_noise_scale: float = 0.0
    #: Distribution of the default ``reset_state``'s velocity noise: "uniform" or "normal".
    velocity_noise: str = "uniform"
    #: The forward stages computed at the new state after each step (``mujoco.mjtStage``).
    #: ``mjSTAGE_NONE``: the derived fields are the last substep's, as after ``mj_step``
    #: (Gymnasium's envs); ``mjSTAGE_VEL``: position- and velocity-dependent ones are the new
    #: state's, as after dm_control's ``legacy_step`` (``mj_step1`` after the step).
    step_stage = mujoco.mjtStage.mjSTAGE_NONE
    #: Physics steps run with zero controls after the reset state is written (then ``time = 0``
    #: and ``mj_forward``): dm_control's cheetah lets its drawn pose settle for 200 steps.
    settle_steps: int = 0
    #: Whether the reset's ``mj_forward`` runs with actuation disabled (``mjDSBL_ACTUATION``), as
    #: dm_control's ``physics.reset()`` and ``after_reset()``: the reset state's derived fields
    #: (accelerations, contact forces, acceleration sensors) then have no actuator forces in them,
    #: which matters where a reset sets ``act`` or actuators have bias forces. Resets to given
    #: states (``reset(options={"state": ...})``) too; ``set_state`` keeps the actuators.
    reset_without_actuation: bool = False
    #: Whether ``reset_rejected`` judges each simulated reset state (CPU backend only).
    rejects_reset: bool = False
    #: Control steps one env step holds its action for: ``frame_skip`` is that
    #: many times a control step's substeps, and the backend sums the task's ``reward(xp, data)``
    #: after each control step but the last into ``data.repeat_reward`` (the Control Suite's
    #: DrQ-v2-style action repeat).
    action_repeat: int = 1
    #: Model fields ``reset_model`` draws per env at every reset.
    reset_model_fields: tuple[str, ...] = ()

    def __init__(
        self,
        model: mujoco.MjSpec | mujoco.MjModel,
        frame_skip: int,
    ):
        frame_skip = check_positive_int(frame_skip, "frame_skip")
        # the spec is kept so that a backend can add what it needs (a sensor)
        self.spec = model if isinstance(model, mujoco.MjSpec) else None
        self.model = model.compile() if self.spec is not None else model
        model = self.model
        self.frame_skip = int(frame_skip)
        self.dt = model.opt.timestep * self.frame_skip
        self.init_qpos = model.qpos0.copy()
        self.init_qvel = np.zeros(model.nv)
        self.single_observation_space: spaces.Box | None = None  # set by the subclass
        self._single_action_space: spaces.Box | None = None

    @property
    def single_action_space(self) -> spaces.Box:
        """One environment's action space: the Box of ``default_actions()`` bound to the model.

        Made on first use, so a subclass may set what ``default_actions`` reads after
        ``Task.__init__``.
        """
        if self._single_action_space is None:
            self._single_action_space = self.default_actions().bind(self.model).space
        return self._single_action_space

    @classmethod
    def from_xml(cls, xml: str | os.PathLike, frame_skip: int = 1, **kwargs: Any) -> "Task":
        """A task from any MJCF model (a string of MJCF or a path to a file).

        Observation ``qpos`` then ``qvel`` (``sensordata=True`` appends the sensors),
        reward 0 and never terminated unless ``observe``, ``reward``,
        ``terminated`` functions are given; see ``CustomTask``
        for every keyword and docs/custom_tasks.md for examples.
        """
        return CustomTask(load_model_source(xml), frame_skip, **kwargs)

    @classmethod
    def from_spec(cls, spec: mujoco.MjSpec, frame_skip: int = 1, **kwargs: Any) -> "Task":
        """A task from a ``mujoco.MjSpec``, as ``from_xml`` (the spec is copied)."""
        if not isinstance(spec, mujoco.MjSpec):
            raise TypeError(f"`spec` must be a mujoco.MjSpec, got {type(spec).__name__}")
        return CustomTask(spec.copy(), frame_skip, **kwargs)

    @staticmethod
    def observation_box(size: int) -> spaces.Box:
        """An unbounded float64 Box of ``size`` entries, as Gymnasium's MuJoCo envs."""
        return spaces.Box(low=-np.inf, high=np.inf, shape=(size,), dtype=np.float64)

    @staticmethod
    def load_xml(xml_file: str) -> mujoco.MjSpec:
        """Parse an MJCF file, resolving names as Gymnasium does."""
        return mujoco.MjSpec.from_file(gymnasium_asset(xml_file))

    def mjx_model(self) -> mujoco.MjModel:
        """The model the MJX backend puts on the device: ``model``, unless a task has a reason to
        differ there in what does not change its physics (``ControlSuiteTask``: no energy)."""
        return self.model

    def step_dt(self, data):
        """``(num_envs,)`` seconds per env step, each env's own: ``data.timestep * frame_skip``.

        Bit for bit ``dt`` where ``opt.timestep`` is not varied.
        """
        return data.timestep * self.frame_skip

    # -- the batched functions ------------------------------------------------
    def before_step(self, xp, data) -> dict[str, Any]:
        """Values the reward needs from before the step (e.g. the x position)."""
        return {}

    def observe(self, xp, data):
        """``(n, obs_size)`` observations."""
        raise NotImplementedError

    def evaluate(self, xp, data, action, before: Mapping[str, Any]):
        """``reward (n,), terminated (n,) bool, info {key: (n, ...)}`` after a step.

        ``info`` holds the reward terms (``reward_forward``, ``reward_ctrl``...) and
        the task's other per-step values, as the Gymnasium env's ``info``.
        """
        raise NotImplementedError

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        """``(qpos (n, nq), qvel (n, nv))`` of the environments being reset, or
        ``(qpos, qvel, act (n, na))`` for a task that also sets the actuators' activations
        (dm_control's dog draws each one in its ctrlrange); without it ``act`` is
        ``mj_resetData``'s (``0``).

        By default Gymnasium's MuJoCo reset noise: ``qpos0 + U(-s, s)`` and
        ``U(-s, s)`` velocities, or ``s * N(0, 1)`` with ``velocity_noise = "normal"``,
        ``s = reset_noise_scale``, drawn in that order from each env's stream.
        """
        s = self.reset_noise_scale
        qpos = init_qpos + rng.uniform(low=-s, high=s, size=self.model.nq)
        if self.velocity_noise == "normal":
            qvel = init_qvel + s * rng.standard_normal(self.model.nv)
        else:
            qvel = init_qvel + rng.uniform(low=-s, high=s, size=self.model.nv)
        return qpos, qvel

    def reset_model(self, xp, rng) -> dict[str, Any]:
        """``{field: (m, *field shape)}``, with ``reset_model_fields``: each reset env's model values,
        drawn before its state (dm_control's reacher moves its target geom every episode)."""
        raise NotImplementedError

    def reset_rejected(self, xp, data):
        """``(n,)`` bool, with ``rejects_reset = True``: the reset states (written, ``mj_forward`` run)
        to draw again from the env's own stream, e.g. ``data.ncon > 0`` for a pose that penetrates."""
        raise NotImplementedError

    def default_actions(self) -> ActionSpec:
        """The inputs an action drives unless ``actions=`` says otherwise: every actuator."""
        return ActionSpec(ctrl="all")

    def reset_info(self, xp, data) -> dict[str, Any]:
        """``info`` after a reset, as the Gymnasium env's ``_get_reset_info``."""
        return {}

    def observation_terms(self) -> dict[str, ObservationTerm]:
        """The named observations ``observations=`` can pick: ``"state"`` (``observe``, the task's
        own) and ``"privileged"`` (``privileged``); a subclass may add its own."""
        model = self.model
        contacts = "cfrc_ext" in self.fields
        size = model.nq + model.nv + contacts * 6 * (model.nbody - 1)
        return {
            "state": ObservationTerm(self.observe, self.single_observation_space, tuple(self.fields)),
            "privileged": ObservationTerm(self.privileged, self.observation_box(size), ("cfrc_ext",) * contacts),
        }

    def privileged(self, xp, data):
        """The whole physics state, ``qpos`` then ``qvel`` (the positions ``observe`` may leave out
        included), then for a task that reads contact forces every body's ``cfrc_ext`` but the
        world's, unclipped: a critic's input in asymmetric actor-critic."""
        parts = [data.qpos, data.qvel]
        if "cfrc_ext" in self.fields:
            parts.append(xp.reshape(data.cfrc_ext[:, 1:], (data.cfrc_ext.shape[0], -1)))
        return xp.concatenate(parts, axis=-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(frame_skip={self.frame_skip})"


# -- tasks made from any MJCF model: Task.from_xml and Task.from_spec ------------------
# The functions a user passes are written as the built-in tasks' are: over batched
# fields (``data.qpos`` is ``(num_envs, nq)``) and an array namespace ``xp``, without
# in-place writes, so they run on both backends. The MjData fields they read, and the
# observation size, are found by calling them on a few envs (mjvec.task_checks.probe).


def load_model_source(xml: str | os.PathLike) -> mujoco.MjSpec:
    """An MjSpec from an MJCF string or a path to an MJCF file."""
    if isinstance(xml, os.PathLike):
        xml = os.fspath(xml)
    if not isinstance(xml, str):
        raise TypeError(f"`xml` must be an MJCF string or a path, got {type(xml).__name__}")
    if xml.lstrip().startswith("<"):
        return mujoco.MjSpec.from_string(xml)
    if not os.path.exists(xml):
        raise ValueError(f"`xml` is neither MJCF text (it does not start with '<') nor an existing file: {xml!r}")
    return mujoco.MjSpec.from_file(xml)


class CustomTask(Task):
    """A task over any model: default observation ``qpos, qvel`` (and ``sensordata``), reward 0.

    Args:
      spec: the ``mujoco.MjSpec``.
      frame_skip: MuJoCo substeps per env step.
      observe: ``f(xp, data) -> (n, k)``; by default ``qpos`` then ``qvel``.
      reward: ``f(xp, data, action) -> (n,)`` (with ``before_step``:
        ``f(xp, data, action, before)``); may return ``(reward, info dict)``. 0 by default.
      terminated: ``f(xp, data) -> (n,) bool``; never by default.
      before_step: ``f(xp, data) -> dict`` of values read before a step.
      sensordata: append ``sensordata`` to the default observation.
      reset_noise_scale: ``qpos0 + U(-s, s)`` and ``U(-s, s)`` velocities at reset.
      actions: the default ``ActionSpec``; every actuator's ``ctrl`` if None.
      fields: MjData fields the functions read, besides those found by calling them.
    """

    def __init__(
        self,
        spec: mujoco.MjSpec,
        frame_skip: int = 1,
        *,
        observe: Callable | None = None,
        reward: Callable | None = None,
        terminated: Callable | None = None,
        before_step: Callable | None = None,
        sensordata: bool = False,
        reset_noise_scale: float = 0.0,
        actions: ActionSpec | None = None,
        fields: Sequence[str] = (),
    ):
        if not isinstance(spec, mujoco.MjSpec):
            raise TypeError(f"`spec` must be a mujoco.MjSpec, got {type(spec).__name__}")
        for name, fn in (("observe", observe), ("reward", reward), ("terminated", terminated),
                         ("before_step", before_step)):
            if fn is not None and not callable(fn):
                raise TypeError(f"`{name}` must be a function, got {type(fn).__name__}")
        if actions is not None and not isinstance(actions, ActionSpec):
            raise TypeError(f"`actions` must be an mjvec.ActionSpec or None, got {type(actions).__name__}")
        check_positive_int(frame_skip, "frame_skip")  # before compiling: its error is not the model's
        try:
            super().__init__(spec, frame_skip)
        except ValueError as e:
            raise ValueError(f"the model does not compile: {e}") from None
        self._observe_fn, self._reward_fn, self._terminated_fn = observe, reward, terminated
        self._before_fn = before_step
        self._sensordata = bool(sensordata)
        self.reset_noise_scale = float(reset_noise_scale)
        self._actions = actions
        self._cast = False
        size, read, dtype = probe(self)
        self.fields = tuple(dict.fromkeys((*fields, *(f for f in read if f not in ("qpos", "qvel")))))
        # a float32 observe makes a float32 space; other dtypes (bool, int, float16) become float64
        self._cast = dtype not in (np.float32, np.float64)
        box = self.observation_box(size)
        self.single_observation_space = box if dtype != np.float32 else spaces.Box(-np.inf, np.inf, (size,), np.float32)

    def default_actions(self) -> ActionSpec:
        return self._actions if self._actions is not None else ActionSpec(ctrl="all")

    def before_step(self, xp, data):
        return {} if self._before_fn is None else self._before_fn(xp, data)

    def observe(self, xp, data):
        if self._observe_fn is not None:
            obs = self._observe_fn(xp, data)
            return xp.asarray(obs, dtype=float) if self._cast else obs
        parts = (data.qpos, data.qvel, data.sensordata) if self._sensordata else (data.qpos, data.qvel)
        return xp.concatenate(parts, axis=-1)

    def evaluate(self, xp, data, action, before):
        n = data.qpos.shape[0]
        info: dict[str, Any] = {}
        if self._reward_fn is None:
            reward = xp.zeros(n)
        else:
            args = (xp, data, action, before) if self._before_fn is not None else (xp, data, action)
            reward = self._reward_fn(*args)
            if isinstance(reward, tuple):
                reward, info = reward
        if self._terminated_fn is None:
            terminated = xp.zeros(n, dtype=bool)
        else:
            terminated = self._terminated_fn(xp, data)
        return reward, terminated, info

    def __repr__(self) -> str:
        return f"CustomTask(frame_skip={self.frame_skip}, nq={self.model.nq}, nv={self.model.nv})"
