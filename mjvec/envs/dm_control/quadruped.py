"""Quadruped: the Control Suite's four-legged walker, as dm_control's ``suite/quadruped.py``.

## Description
A quadruped (a free torso, four legs with yaw, lift and extend, filtered position actuators);
0.005 s steps, 4 physics steps per env step (0.02 s). Walk and run: move forward at 0.5 or 5
m/s or faster, upright. Fetch: bring a ball to the target in an arena with walls. The model is
dm_control's file edited as its ``make_model`` edits it (``MjSpec`` here; the compiled models
are equal): the floor's size (walk 10, run 100), the walls, ball and target removed but in
fetch, the terrain and the rangefinders removed.

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

## Rewards
``upright = tolerance(zz, (1, inf), margin=2, sigmoid="linear", value_at_margin=0)``. Walk and run:
``upright * tolerance(torso_velocity[0], (s, inf), margin=s, sigmoid="linear", value_at_margin=0.5)``.
Fetch: ``upright * reach * (0.5 + 0.5 * fetch)``, ``reach`` and ``fetch`` linear tolerances (margin
the arena's radius) of the workspace-ball and ball-target distances in x, y.

## Starting State
The torso's orientation: a normalised ``N(0, 1)`` quaternion (walk, run) or a yaw ``U(0, 2 pi)`` at
``U(-r, r)`` in x and y, ``r`` 0.9 of the floor's half size (fetch); then, as dm_control, its height
raised from 0 in 1 cm steps until the simulated state has no contact (on a scratch copy of the
model, one env at a time: CPU only, refused on MJX by name). Fetch: then the ball at ``U(-r, r)`` in
x and y, 2 m up, with ``5 N(0, 1)`` x, y velocities.

## Episode End
Never terminated; truncated after 1000 steps (20 s).

## Arguments
``desired_speed``, ``fetch`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``quadruped`` walk, run, fetch (escape is not ported: docs/dm_control.md).
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

__all__ = ["Quadruped"]

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
            size = 20 * self.desired_speed
            spec.geom("floor").size = [size, size, 0.5]
            for wall in _WALLS:
                spec.delete(spec.geom(wall))
            spec.delete(spec.body("ball"))
            spec.delete(spec.site("target"))
        spec.delete(spec.geom("terrain"))
        for sensor in [s for s in spec.sensors if s.type == mujoco.mjtSensor.mjSENS_RANGEFINDER]:
            spec.delete(sensor)

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

    def _upright(self, xp, data):
        return tolerance(xp, rows9(xp, data.xmat)[:, self._torso, _ZZ], bounds=(1.0, float("inf")), sigmoid="linear",
                         margin=2.0, value_at_margin=0)

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
