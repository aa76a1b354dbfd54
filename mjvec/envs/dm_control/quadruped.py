"""Quadruped: the Control Suite's four-legged walker, as dm_control's ``suite/quadruped.py``.

## Description
A quadruped (a free torso, four legs with yaw, lift and extend, filtered position actuators);
0.005 s steps, 4 physics steps per env step (0.02 s). Walk and run: move forward at 0.5 or 5
m/s or faster, upright. Fetch: bring a ball to the target in an arena with walls. Escape
(``QuadrupedEscape``): climb out of a bowl of random bumps, a heightfield drawn per env at every
reset. The model is dm_control's file edited as its ``make_model`` edits it (``MjSpec`` here; the
compiled models are equal): the floor's size (walk 10, run 100, escape 40), the walls, ball and
target removed but in fetch, the terrain and the rangefinders removed but in escape.

## Action Space
``Box((12,))``: yaw, lift, extend of each leg, in their ctrlranges.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``egocentric_state`` | (44,) | the hinges' ``qpos``, their ``qvel``, the actuators' ``act`` |
| ``torso_velocity`` | (3,) | the velocimeter |
| ``torso_upright`` | () | the torso's ``xmat`` zz |
| ``imu`` | (6,) | accelerometer, gyro |
| ``force_torque`` | (24,) | ``arcsinh`` of the toes' force and torque sensors |
| ``ball_state`` | (9,) | fetch only: the ball's position, velocity (relative to the torso's) and angular velocity, in the torso's frame |
| ``target_position`` | (3,) | fetch only: the target in the torso's frame |
| ``origin`` | (3,) | escape only: the world's origin in the torso's frame |
| ``rangefinder`` | (20,) | escape only: ``tanh`` of the 20 rangefinders' distances, 1 where one hits nothing |

## Rewards
``upright = tolerance(zz, (1, inf), margin=2, sigmoid="linear", value_at_margin=0)``. Walk and run:
``upright * tolerance(torso_velocity[0], (s, inf), margin=s, sigmoid="linear", value_at_margin=0.5)``.
Fetch: ``upright * reach * (0.5 + 0.5 * fetch)``, ``reach`` and ``fetch`` linear tolerances (margin
the arena's radius) of the workspace-ball and ball-target distances in x, y. Escape:
``upright_20 * tolerance(|workspace|, (30, inf), margin=30, sigmoid="linear", value_at_margin=0)``,
``upright_20`` full within 20 degrees of upright (``bounds=(cos 20°, inf)``, ``margin=1 + cos 20°``),
``|workspace|`` the workspace site's distance from the origin, 30 m the heightfield's half side.

## Starting State
The torso's orientation: a normalised ``N(0, 1)`` quaternion (walk, run) or a yaw ``U(0, 2 pi)`` at
``U(-r, r)`` in x and y, ``r`` 0.9 of the floor's half size (fetch); then, as dm_control, its height
raised from 0 in 1 cm steps until the simulated state has no contact (on a scratch copy of the
model, one env at a time: CPU only, refused on MJX by name). Fetch: then the ball at ``U(-r, r)`` in
x and y, 2 m up, with ``5 N(0, 1)`` x, y velocities. Escape: first the terrain, a model value
(``hfield_data``, ``reset_model``): 30 x 30 bumps ``U(0.15, 1)`` smoothed to 201 x 201 points by
SciPy's ``ndimage.zoom`` (needed by this task only: ``pip install 'mjvec[dm_control]'``), times a
bowl ``(1 - cos(2 pi r)) / 2`` of the radius ``r`` (clipped to [0.04, 1]); then the orientation
(as walk) and the height search on that env's terrain. On the CPU each env runs on a model of
its own holding its terrain (docs/dm_control.md).

## Episode End
Never terminated; truncated after 1000 steps (20 s).

## Arguments
``desired_speed``, ``fetch`` (set by the registered id; escape has none), ``flat_observation``, ``action_repeat``
(docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``quadruped`` walk, run, fetch, escape.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from mjvec.envs.dm_control.base import ControlSuiteTask, rows9
from mjvec.envs.dm_control.geometry import in_frame, rows_in_frame
from mjvec.envs.dm_control.randomizers import broadcast
from mjvec.envs.dm_control.rewards import tolerance
from mjvec.envs.dm_control.scratch import Scratch, eager_reset_error
from mjvec.task import norm

__all__ = ["Quadruped", "QuadrupedEscape"]

_WALLS = ("wall_px", "wall_py", "wall_nx", "wall_ny")
_ZZ = 8
_MAX_ATTEMPTS = 10_000  # dm_control's limit on the height search


class Quadruped(ControlSuiteTask):
    model_file = "quadruped.xml"
    control_timestep = 0.02
    fields = ("xmat", "xpos", "site_xpos", "sensordata", "act")

    def __init__(self, desired_speed: float = 0.5, fetch: bool = False, *, flat_observation: bool = False, action_repeat: int = 1):
        self.desired_speed, self.fetch = float(desired_speed), bool(fetch)
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        if not self.fetch:  # dm_control's floor is time limit x speed: 20 s x 0.5 or 5 m/s
            self._edit_arena(spec, 20 * self.desired_speed)
        spec.delete(spec.geom("terrain"))
        for sensor in [s for s in spec.sensors if s.type == mujoco.mjtSensor.mjSENS_RANGEFINDER]:
            spec.delete(sensor)

    @staticmethod
    def _edit_arena(spec, floor_size: float) -> None:
        """dm_control's ``make_model`` without ``walls_and_ball``: the floor's size, no walls, ball, target."""
        spec.geom("floor").size = [floor_size, floor_size, 0.5]
        for wall in _WALLS:
            spec.delete(spec.geom(wall))
        spec.delete(spec.body("ball"))
        spec.delete(spec.site("target"))

    def find_ids(self, model):
        hinges = np.flatnonzero(model.jnt_type == mujoco.mjtJoint.mjJNT_HINGE)
        self._hinge_qpos, self._hinge_dof = model.jnt_qposadr[hinges].tolist(), model.jnt_dofadr[hinges].tolist()
        self._root = int(model.joint("root").qposadr[0])
        self._torso = int(model.body("torso").id)

        def rows(*kinds):
            ids = np.flatnonzero(np.isin(model.sensor_type, kinds))
            return [int(model.sensor_adr[i]) + k for i in ids for k in range(int(model.sensor_dim[i]))]

        S = mujoco.mjtSensor
        self._imu = rows(S.mjSENS_GYRO, S.mjSENS_ACCELEROMETER)
        self._force_torque = rows(S.mjSENS_FORCE, S.mjSENS_TORQUE)
        adr = int(model.sensor("velocimeter").adr[0])
        self._velocity = [adr, adr + 1, adr + 2]
        self._floor = float(model.geom_size[model.geom("floor").id, 0])
        if self.fetch:
            self._ball = int(model.body("ball").id)
            self._ball_qpos = int(model.joint("ball_root").qposadr[0])
            self._ball_dof, self._root_dof = int(model.joint("ball_root").dofadr[0]), int(model.joint("root").dofadr[0])
            self._target, self._workspace = int(model.site("target").id), int(model.site("workspace").id)
            self._arena = self._floor * np.sqrt(2)
            self._reach = float(model.site_size[self._workspace, 0] + model.geom_size[model.geom("ball").id, 0])
            self._target_radius = float(model.site_size[self._target, 0])

    def mjx_model(self):
        raise eager_reset_error(self, "finds each reset's contact-free height")

    # -- observation and reward --------------------------------------------------------
    def observation(self, xp, data):
        obs = {
            "egocentric_state": xp.concatenate((data.qpos[:, self._hinge_qpos], data.qvel[:, self._hinge_dof], data.act),
                                               axis=-1),
            "torso_velocity": data.sensordata[:, self._velocity],
            "torso_upright": rows9(xp, data.xmat)[:, self._torso, _ZZ],
            "imu": data.sensordata[:, self._imu],
            "force_torque": xp.arcsinh(data.sensordata[:, self._force_torque]),
        }
        if self.fetch:
            frame = rows9(xp, data.xmat)[:, self._torso]
            torso = data.xpos[:, self._torso]
            ball_velocity = data.qvel[:, self._ball_dof:self._ball_dof + 3] - data.qvel[:, self._root_dof:self._root_dof + 3]
            parts = xp.stack((data.xpos[:, self._ball] - torso, ball_velocity,
                              data.qvel[:, self._ball_dof + 3:self._ball_dof + 6]), axis=1)
            obs["ball_state"] = xp.reshape(rows_in_frame(xp, parts, frame), (parts.shape[0], 9))
            obs["target_position"] = in_frame(xp, data.site_xpos[:, self._target] - torso, frame)
        return obs

    def _upright(self, xp, data, deviation: float = 1.0):
        """dm_control's ``_upright_reward``; ``deviation`` is the cosine of its ``deviation_angle``."""
        return tolerance(xp, rows9(xp, data.xmat)[:, self._torso, _ZZ], bounds=(deviation, float("inf")),
                         sigmoid="linear", margin=1 + deviation, value_at_margin=0)

    def reward(self, xp, data):
        if not self.fetch:
            move = tolerance(xp, data.sensordata[:, self._velocity[0]], bounds=(self.desired_speed, float("inf")),
                             margin=self.desired_speed, value_at_margin=0.5, sigmoid="linear")
            return self._upright(xp, data) * move
        ball = data.xpos[:, self._ball]
        reach = tolerance(xp, norm(xp, (data.site_xpos[:, self._workspace] - ball)[:, :2]), bounds=(0, self._reach),
                          sigmoid="linear", margin=self._arena, value_at_margin=0)
        fetch = tolerance(xp, norm(xp, (data.site_xpos[:, self._target] - ball)[:, :2]),
                          bounds=(0, self._target_radius), sigmoid="linear", margin=self._arena, value_at_margin=0)
        return self._upright(xp, data) * (reach * (0.5 + 0.5 * fetch))

    # -- the starting state ---------------------------------------------------------------
    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        if self.fetch:
            azimuth = rng.uniform(0.0, 2 * math.pi, 1)[:, 0]
            zeros = np.zeros(n)
            orientation = np.stack((np.cos(azimuth / 2), zeros, zeros, np.sin(azimuth / 2)), axis=-1)
            spawn = 0.9 * self._floor
            xy = rng.uniform(-spawn, spawn, 2)
        else:
            orientation = rng.standard_normal(4)
            orientation = orientation / norm(np, orientation)[:, None]
            xy = np.zeros((n, 2))
        scratch = Scratch(self.model)
        qpos = np.array(broadcast(np, init_qpos, n))
        for i in range(n):
            qpos[i] = self._contact_free(scratch, orientation[i], xy[i])
        qvel = np.array(broadcast(np, init_qvel, n))
        if self.fetch:
            qpos[:, self._ball_qpos:self._ball_qpos + 2] = rng.uniform(-spawn, spawn, 2)
            qpos[:, self._ball_qpos + 2] = 2
            qvel[:, self._ball_dof:self._ball_dof + 2] = 5 * rng.standard_normal(2)
        return qpos, qvel

    def _contact_free(self, scratch, orientation, xy):
        """dm_control's ``_find_non_contacting_height``: the state at the lowest height, from 0 in 1 cm
        steps, whose simulation has no contact."""
        z = 0.0
        for _ in range(_MAX_ATTEMPTS + 1):
            scratch.reset()
            scratch.data.qpos[self._root:self._root + 3] = xy[0], xy[1], z
            scratch.data.qpos[self._root + 3:self._root + 7] = orientation
            scratch.after_reset()
            if scratch.data.ncon == 0:
                return scratch.data.qpos.copy()
            z += 0.01
        raise RuntimeError(f"Quadruped: no contact-free height found in {_MAX_ATTEMPTS} attempts, as dm_control gives up")


# -- escape: out of a bowl of bumps, a terrain drawn every episode ---------------------------
_ESCAPE_FLOOR = 40  # dm_control's make_model(floor_size=40, terrain=True, rangefinders=True)
_SMOOTHNESS = 0.15  # the bumps' heights: U(0.15, 1), times the bowl's
_BUMP_SCALE = 2  # metres between bumps
_DEVIATION = float(np.cos(np.deg2rad(20)))  # the escape's upright reward: full within 20 degrees


def _ndimage_zoom():
    """SciPy's ``ndimage.zoom``, which smooths the bumps (dm_control's own call), or a clear error."""
    try:
        from scipy import ndimage
    except ImportError as e:
        raise ModuleNotFoundError(
            "QuadrupedEscape-v0 smooths its random terrain with SciPy's `ndimage.zoom`, as dm_control does; SciPy"
            " is not installed: pip install 'mjvec[dm_control]' (or pip install scipy)"
        ) from e
    return ndimage.zoom


class QuadrupedEscape(Quadruped):
    """dm_control's ``quadruped/escape``: a heightfield 60 m a side on a floor 80 m a side, a bowl whose bumps
    are drawn per env at every reset (``hfield_data``, ``reset_model``), and 20 rangefinders that read it."""

    reset_model_fields = ("hfield_data",)

    def __init__(self, *, flat_observation: bool = False, action_repeat: int = 1):
        self._zoom = _ndimage_zoom()  # before anything is built: a missing SciPy is refused at make
        self._terrains = None  # the terrains reset_model drew, for reset_state's height search
        super().__init__(0.0, False, flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        self._edit_arena(spec, _ESCAPE_FLOOR)  # the terrain and the rangefinders stay

    def mjx_model(self):
        raise eager_reset_error(self, "draws its terrain per env at every reset (`hfield_data`, which MJX keeps"
                                      " static) and finds each reset's contact-free height on it")

    def find_ids(self, model):
        super().find_ids(model)
        if model.nhfield != 1 or model.hfield_nrow[0] != model.hfield_ncol[0]:
            raise ValueError(f"QuadrupedEscape expects dm_control's one square heightfield, got {model.nhfield}")
        self._res = int(model.hfield_nrow[0])
        self._hfield = slice(int(model.hfield_adr[0]), int(model.hfield_adr[0]) + self._res ** 2)
        self._terrain_size = float(model.hfield_size[0, 0])  # the half side: 30 m
        self._bump_res = int(2 * self._terrain_size / _BUMP_SCALE)
        # the bowl, (1 - cos(2 pi r)) / 2 of the radius: 0 at the centre (r clipped to 0.04) and at the edge
        # (r = 1), 1 halfway
        row, col = np.ogrid[-1:1:self._res * 1j, -1:1:self._res * 1j]
        radius = np.clip(np.sqrt(col ** 2 + row ** 2), 0.04, 1)
        self._bowl = 0.5 - np.cos(2 * np.pi * radius) / 2
        self._workspace = int(model.site("workspace").id)
        rangefinders = np.flatnonzero(model.sensor_type == mujoco.mjtSensor.mjSENS_RANGEFINDER)
        self._rangefinders = model.sensor_adr[rangefinders].tolist()

    def terrain(self, bumps: np.ndarray) -> np.ndarray:
        """``(res, res)`` heights of the heightfield (in units of its 5 m height; the spline may overshoot 1):
        the bowl times ``bumps`` (``(b, b)``, drawn in ``U(0.15, 1)``) smoothed to the heightfield's
        resolution by ``ndimage.zoom``'s cubic spline."""
        return self._bowl * self._zoom(bumps, self._res / float(self._bump_res))

    def observation(self, xp, data):
        obs = super().observation(xp, data)
        frame = rows9(xp, data.xmat)[:, self._torso]
        obs["origin"] = -in_frame(xp, data.xpos[:, self._torso], frame)
        readings = data.sensordata[:, self._rangefinders]
        obs["rangefinder"] = xp.where(readings == -1.0, 1.0, xp.tanh(readings))  # -1: no surface within reach
        return obs

    def reward(self, xp, data):
        distance = norm(xp, data.site_xpos[:, self._workspace])
        escape = tolerance(xp, distance, bounds=(self._terrain_size, float("inf")), margin=self._terrain_size,
                           value_at_margin=0, sigmoid="linear")
        return self._upright(xp, data, _DEVIATION) * escape

    # -- the starting state: the terrain, then the orientation, then the height on that terrain ----------
    def reset_model(self, xp, rng):
        b = self._bump_res
        bumps = rng.uniform(_SMOOTHNESS, 1.0, b * b)
        terrains = np.stack([self.terrain(row.reshape(b, b)).ravel() for row in bumps])
        self._terrains = terrains
        values = np.repeat(self.model.hfield_data[None], len(bumps), axis=0)
        values[:, self._hfield] = terrains  # float32, as dm_control's write into hfield_data
        return {"hfield_data": values}

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        if self._terrains is None or len(self._terrains) != n:
            raise RuntimeError("QuadrupedEscape.reset_state searches heights on the terrains its reset_model drew,"
                               " which must come first")
        terrains, self._terrains = self._terrains, None
        orientation = rng.standard_normal(4)
        orientation = orientation / norm(np, orientation)[:, None]
        scratch = Scratch(self.model)
        qpos = np.array(broadcast(np, init_qpos, n))
        for i in range(n):
            scratch.model.hfield_data[self._hfield] = terrains[i]
            qpos[i] = self._contact_free(scratch, orientation[i], (0.0, 0.0))
        return qpos, np.array(broadcast(np, init_qvel, n))
