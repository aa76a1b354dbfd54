"""Hopper: the Control Suite's planar one-legged hopper, as dm_control's ``suite/hopper.py``.

## Description
A planar hopper (root x, z, pitch; waist, hip, knee, ankle hinges) with touch sensors on
the toe and heel; 0.005 s steps, 4 physics steps per env step (0.02 s).

## Action Space
``Box(-1, 1, (4,))``: waist, hip, knee, ankle motors.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``position`` | (6,) | ``qpos[1:]`` |
| ``velocity`` | (7,) | ``qvel`` |
| ``touch`` | (2,) | ``log1p`` of the toe and heel touch sensors |

## Rewards
``standing = tolerance(torso z - foot z (xipos), (0.6, 2))``. Stand: ``standing *
(mean(tolerance(u, margin=1, value_at_margin=0, quadratic)) + 4) / 5``; hop: ``standing *
tolerance(speed, (2, inf), margin=1, value_at_margin=0.5, sigmoid="linear")``, ``speed`` the
torso's subtree linear velocity along x.

## Starting State
Every joint drawn by dm_control's ``randomize_limited_and_rotational_joints``, at rest.

## Episode End
Never terminated; truncated after 1000 steps (20 s).

## Arguments
``hopping`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``hopper`` stand, hop.
"""

from __future__ import annotations

from mjvec.envs.dm_control.base import ControlSuiteTask
from mjvec.envs.dm_control.randomizers import broadcast, limited_and_rotational_joints
from mjvec.envs.dm_control.rewards import tolerance

__all__ = ["Hopper"]

_STAND_HEIGHT = 0.6
_HOP_SPEED = 2.0


class Hopper(ControlSuiteTask):
    model_file = "hopper.xml"
    control_timestep = 0.02
    fields = ("xipos", "sensordata", "ctrl")

    def __init__(self, hopping: bool = False, *, flat_observation: bool = False, action_repeat: int = 1):
        self.hopping = bool(hopping)
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def find_ids(self, model):
        self._torso, self._foot = int(model.body("torso").id), int(model.body("foot").id)
        self._speed = int(model.sensor("torso_subtreelinvel").adr[0])
        self._touch = [int(model.sensor(name).adr[0]) for name in ("touch_toe", "touch_heel")]

    def observation(self, xp, data):
        return {"position": data.qpos[:, 1:], "velocity": data.qvel, "touch": xp.log1p(data.sensordata[:, self._touch])}

    def reward(self, xp, data):
        height = data.xipos[:, self._torso, 2] - data.xipos[:, self._foot, 2]
        standing = tolerance(xp, height, (_STAND_HEIGHT, 2))
        if self.hopping:
            hopping = tolerance(xp, data.sensordata[:, self._speed], bounds=(_HOP_SPEED, float("inf")),
                                margin=_HOP_SPEED / 2, value_at_margin=0.5, sigmoid="linear")
            return standing * hopping
        small_control = xp.mean(tolerance(xp, data.ctrl, margin=1, value_at_margin=0, sigmoid="quadratic"), axis=-1)
        return standing * ((small_control + 4) / 5)

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        return limited_and_rotational_joints(xp, rng, self.model, broadcast(xp, init_qpos, n)), broadcast(xp, init_qvel, n)
