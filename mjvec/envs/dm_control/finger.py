"""Finger: the Control Suite's finger spinning and turning a body on a hinge, as dm_control's ``suite/finger.py``.

## Description
A planar two-joint finger (proximal, distal) and a free-spinning body on a hinge; 0.01 s
steps (elliptic cones), 2 physics steps per env step (0.02 s). Every observation is a sensor.

## Action Space
``Box(-1, 1, (2,))``: proximal and distal motors.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``position`` | (4,) | proximal and distal angles, the tip's x, z relative to the spinner |
| ``velocity`` | (3,) | proximal, distal and hinge velocities |
| ``touch`` | (2,) | ``log1p`` of the touch sensors at the tip's top and bottom |
| ``target_position`` | (2,) | turn only: the target's x, z relative to the spinner |
| ``dist_to_target`` | () | turn only: the tip-target distance minus the target's radius |

## Rewards
Spin: 1 while the hinge turns at -15 rad/s or faster, else 0. Turn: 1 where
``dist_to_target <= 0``, else 0.

## Starting State
Every joint by ``randomize_limited_and_rotational_joints``, drawn again while the simulated
state has contacts (``reset_rejected``), at rest. Turn: first the target, on the circle of
the spinner's length (``cap1``'s size summed) around the hinge at an angle ``U(-pi, pi)``, a
per-env model value (``site_pos``, ``reset_model``). Spin: the hinge's damping is 0.03 and the
target and tip sites are invisible; turn: the target's radius is 0.07 (easy) or 0.03 (hard),
as dm_control sets them each episode.

## Episode End
Never terminated; truncated after 1000 steps (20 s).

## Arguments
``turn``, ``target_radius`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``finger`` spin, turn_easy, turn_hard.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from mjvec.envs.dm_control.base import ControlSuiteTask
from mjvec.envs.dm_control.randomizers import broadcast, limited_and_rotational_joints
from mjvec.task import norm

__all__ = ["Finger"]

_SPIN_VELOCITY = 15.0


class Finger(ControlSuiteTask):
    model_file = "finger.xml"
    control_timestep = 0.02
    fields = ("sensordata", "ncon")
    rejects_reset = True

    def __init__(self, turn: bool = False, target_radius: float = 0.07, *, flat_observation: bool = False, action_repeat: int = 1):
        self.turn = bool(turn)
        self.target_radius = float(target_radius)
        self.reset_model_fields = ("site_pos",) if self.turn else ()
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        if self.turn:
            spec.site("target").size[0] = self.target_radius
            return
        spec.site("target").rgba[3] = 0
        spec.site("tip").rgba[3] = 0
        hinge = spec.joint("hinge")
        if isinstance(hinge.damping, np.ndarray):  # MuJoCo 4.0: an array; 3.17: a float
            hinge.damping[0] = 0.03
        else:
            hinge.damping = 0.03

    def find_ids(self, model):
        def adr(name, k=0):
            return int(model.sensor(name).adr[0]) + k

        self._position = [adr("proximal"), adr("distal")]
        self._velocity = [adr("proximal_velocity"), adr("distal_velocity"), adr("hinge_velocity")]
        self._touch = [adr("touchtop"), adr("touchbottom")]
        self._tip, self._target_xz, self._spinner = ([adr(n), adr(n, 2)] for n in ("tip", "target", "spinner"))
        self._hinge_velocity = adr("hinge_velocity")
        self._target = int(model.site("target").id)
        self._target_size = float(model.site_size[self._target, 0])
        data = mujoco.MjData(model)
        mujoco.mj_kinematics(model, data)  # the hinge's anchor does not move
        self._anchor = data.xanchor[model.joint("hinge").id, [0, 2]].copy()
        self._arm = float(model.geom_size[model.geom("cap1").id].sum())
        self._is_target = (np.arange(model.nsite) == self._target)[None, :, None]

    def _tip_position(self, data):
        return data.sensordata[:, self._tip] - data.sensordata[:, self._spinner]

    def _target_position(self, data):
        return data.sensordata[:, self._target_xz] - data.sensordata[:, self._spinner]

    def _dist_to_target(self, xp, data):
        return norm(xp, self._target_position(data) - self._tip_position(data)) - self._target_size

    def observation(self, xp, data):
        s = data.sensordata
        obs = {
            "position": xp.concatenate((s[:, self._position], self._tip_position(data)), axis=-1),
            "velocity": s[:, self._velocity],
            "touch": xp.log1p(s[:, self._touch]),
        }
        if self.turn:
            obs["target_position"] = self._target_position(data)
            obs["dist_to_target"] = self._dist_to_target(xp, data)
        return obs

    def reward(self, xp, data):
        if self.turn:
            return (self._dist_to_target(xp, data) <= 0).astype(float)
        return (data.sensordata[:, self._hinge_velocity] <= -_SPIN_VELOCITY).astype(float)

    def reset_model(self, xp, rng):
        angle = rng.uniform(-math.pi, math.pi, 1)
        nominal = xp.asarray(self.model.site_pos)
        y = xp.broadcast_to(nominal[self._target, 1], angle.shape)
        row = xp.concatenate((self._anchor[0] + self._arm * xp.sin(angle), y,
                              self._anchor[1] + self._arm * xp.cos(angle)), axis=-1)
        return {"site_pos": xp.where(self._is_target, row[:, None, :], nominal[None])}

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        return limited_and_rotational_joints(xp, rng, self.model, broadcast(xp, init_qpos, n)), broadcast(xp, init_qvel, n)

    def reset_rejected(self, xp, data):
        return data.ncon > 0
