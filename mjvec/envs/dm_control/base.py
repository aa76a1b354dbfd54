"""``ControlSuiteTask``: what every task of the DeepMind Control Suite shares.

A domain file (``cartpole.py``, ``cheetah.py``...) subclasses it with the domain's model
file, control timestep and the task's batched functions over ``xp``; this class does the
rest as ``dm_control.rl.control.Environment`` does:

- the model is dm_control's own MJCF file, read from the installed ``dm-control``
  package (``suite/<domain>.xml``; its ``./common/*.xml`` includes resolve next to it).
  The package is found, not imported: its files load under any MuJoCo mjvec supports,
  while ``import dm_control`` needs a MuJoCo it was built for.
- ``frame_skip`` is dm_control's ``n_sub_steps``: ``control_timestep / opt.timestep``.
- after each step the position- and velocity-dependent fields are those of the new
  state (``step_stage = mjSTAGE_VEL``), as dm_control's default ``legacy_step`` leaves
  them (``mj_step1`` after the step); acceleration-dependent ones (touch sensors) are the
  last substep's, as there.
- the observation is a ``spaces.Dict`` of dm_control's keys in its order (float64, each
  key's own shape, ``()`` for a scalar), or with ``flat_observation=True`` one float64
  Box of them concatenated in that order (dm_control's ``flat_observation``).
- ``info["discount"]``: 1.0, or the task's termination discount where it terminates.
- the reset's ``mj_forward`` runs with actuation disabled (``reset_without_actuation``), as
  dm_control's ``physics.reset()`` and ``after_reset()``: the reset observation's accelerometer,
  force and touch readings have no actuator forces in them (dog's drawn activations).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import types
from collections import OrderedDict
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from mjvec.task import ObservationTerm, Task
from mjvec.validation import check_positive_int

__all__ = ["ControlSuiteTask", "suite_model_path", "n_sub_steps", "rows9"]


def rows9(xp, mat):
    """``(n, k, 9)``: orientation matrices (``xmat``, ``geom_xmat``, ``site_xmat``) row-major, as
    MjData holds them; MJX keeps them ``(n, k, 3, 3)``."""
    return xp.reshape(mat, (mat.shape[0], mat.shape[1], 9))


def suite_model_path(filename: str) -> str:
    """The path of ``filename`` in the installed dm_control's ``suite`` folder (no import of it)."""
    spec = importlib.util.find_spec("dm_control")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the DeepMind Control Suite tasks load their models from the `dm-control` package, which is not"
            " installed: pip install 'mjvec[dm_control]' (its files are read; it is not imported)"
        )
    path = os.path.join(spec.submodule_search_locations[0], "suite", filename)
    if not os.path.exists(path):
        raise OSError(f"dm_control's model file {filename!r} is not where the installed package keeps it: {path}")
    return path


def n_sub_steps(control_timestep: float, timestep: float, tolerance: float = 1e-8) -> int:
    """Physics steps per control step, as dm_control's ``compute_n_steps``."""
    ratio = control_timestep / timestep
    if control_timestep < timestep or abs(ratio - round(ratio)) > tolerance:
        raise ValueError(
            f"`control_timestep` {control_timestep} must be a whole multiple of the model's timestep {timestep}"
        )
    return int(round(ratio))


class ControlSuiteTask(Task):
    """A Control Suite task. Subclasses set the class attributes and implement ``observation``
    and ``reward`` (and ``reset_state``; ``terminated`` where the task ends episodes).

    Class attributes:
      model_file: dm_control's MJCF file of the domain, e.g. ``"cartpole.xml"``.
      control_timestep: seconds per env step, or None for one physics step (dm_control's default).
      fields: the MjData fields ``observation``/``reward``/``terminated`` read besides qpos, qvel.
      termination_discount: ``info["discount"]`` where ``terminated`` holds.
    """

    model_file: str = ""
    control_timestep: float | None = None
    termination_discount: float = 0.0
    step_stage = mujoco.mjtStage.mjSTAGE_VEL
    reset_without_actuation = True

    def __init__(self, *, flat_observation: bool = False, action_repeat: int = 1):
        if not isinstance(flat_observation, (bool, np.bool_)):
            raise TypeError(f"`flat_observation` must be a bool, got {type(flat_observation).__name__}")
        self.action_repeat = check_positive_int(action_repeat, "action_repeat")
        spec = self.load_spec()
        self.edit_spec(spec)
        timestep = spec.option.timestep
        steps = 1 if self.control_timestep is None else n_sub_steps(self.control_timestep, timestep)
        super().__init__(spec, steps * self.action_repeat)
        self.flat_observation = bool(flat_observation)
        self.find_ids(self.model)
        self.keys, self.shapes = self._observation_layout()
        if self.flat_observation:
            size = sum(int(np.prod(s)) for s in self.shapes.values())
            self.single_observation_space = self.observation_box(size)
        else:
            self.single_observation_space = spaces.Dict(
                OrderedDict((k, spaces.Box(-np.inf, np.inf, self.shapes[k], np.float64)) for k in self.keys)
            )

    # -- what a domain file writes ---------------------------------------------------
    def load_spec(self) -> mujoco.MjSpec:
        """The domain's model: dm_control's ``model_file`` as it is. A domain whose model dm_control
        generates in Python (swimmer's links, manipulator's objects) overrides this."""
        return mujoco.MjSpec.from_file(suite_model_path(self.model_file))

    def edit_spec(self, spec: mujoco.MjSpec) -> None:
        """Set what the task's ``initialize_episode`` sets to the same value every episode (reacher's
        target size), on the spec before it is compiled. Nothing by default."""

    def find_ids(self, model: mujoco.MjModel) -> None:
        """Resolve the names the functions index by (``model.body("torso").id``...) once, as attributes."""

    def observation(self, xp, data) -> dict[str, Any]:
        """``{key: (n, ...)}`` in dm_control's order: its ``get_observation``, batched."""
        raise NotImplementedError

    def reward(self, xp, data):
        """``(n,)``: dm_control's ``get_reward``, batched."""
        raise NotImplementedError

    def terminated(self, xp, data):
        """``(n,)`` bool: where dm_control's ``get_termination`` is not None. Never, by default."""
        return xp.zeros(data.qpos.shape[0], dtype=bool)

    # -- the Task interface --------------------------------------------------------
    def mjx_model(self) -> mujoco.MjModel:
        """The model without ``<flag energy="enable"/>``, which MJX does not implement: it only fills
        ``data.energy``, which no task here reads (cartpole, pendulum and acrobot enable it)."""
        model = copy.copy(self.model)
        model.opt.enableflags &= ~int(mujoco.mjtEnableBit.mjENBL_ENERGY)
        return model

    def observe(self, xp, data):
        obs = self.observation(xp, data)
        if not self.flat_observation:
            return obs
        n = data.qpos.shape[0]
        return xp.concatenate([xp.reshape(obs[k], (n, -1)) for k in self.keys], axis=-1)

    def evaluate(self, xp, data, action, before):
        reward = self.reward(xp, data)
        if self.action_repeat > 1:  # the earlier control steps' rewards, summed in order by the backend
            reward = reward + data.repeat_reward
        terminated = self.terminated(xp, data)
        discount = xp.where(terminated, self.termination_discount, 1.0)
        return reward, terminated, {"discount": discount}

    def reset_info(self, xp, data):
        return {"discount": xp.ones(data.qpos.shape[0])}

    def observation_terms(self) -> dict[str, ObservationTerm]:
        """``"state"`` (the observation), ``"privileged"`` (qpos, qvel) and each of dm_control's keys,
        so that ``observations={"pixels": mjvec.Camera(...), "position": "position", ...}`` works."""
        terms = super().observation_terms()
        for key in self.keys:
            space = spaces.Box(-np.inf, np.inf, self.shapes[key], np.float64)
            terms.setdefault(key, ObservationTerm(self._term(key), space, tuple(self.fields)))
        return terms

    def _term(self, key: str):
        def observe(xp, data):
            return self.observation(xp, data)[key]

        return observe

    def _observation_layout(self) -> tuple[tuple[str, ...], dict[str, tuple[int, ...]]]:
        """dm_control's keys and each one's shape, read off ``observation`` at the model's initial state."""
        data = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, data)
        view = types.SimpleNamespace(**{f: np.asarray(getattr(data, f))[None] for f in ("qpos", "qvel", *self.fields)})
        view.timestep = np.array([self.model.opt.timestep])
        obs = self.observation(np, view)
        if not isinstance(obs, dict):
            raise TypeError(f"{type(self).__name__}.observation must return a dict, got {type(obs).__name__}")
        return tuple(obs), {k: tuple(np.shape(v)[1:]) for k, v in obs.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(frame_skip={self.frame_skip}, flat_observation={self.flat_observation})"
