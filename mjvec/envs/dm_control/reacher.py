"""Reacher: the Control Suite's planar two-link reacher, as dm_control's ``suite/reacher.py``.

## Description
A two-link arm (shoulder, wrist hinges) whose fingertip must reach a target placed at
random in the plane; 0.02 s steps, one per env step.

## Action Space
``Box(-1, 1, (2,))``: shoulder and wrist motors.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``position`` | (2,) | ``qpos`` |
| ``to_target`` | (2,) | target minus finger (geom x, y) |
| ``velocity`` | (2,) | ``qvel`` |

## Rewards
1 where the finger-target distance is at most the sum of their radii, else 0.

## Starting State
Joints by ``randomize_limited_and_rotational_joints``, at rest; the target geom at radius
``U(0.05, 0.2)`` and angle ``U(0, 2 pi)`` (``x = r sin a``, ``y = r cos a``), a per-env model
value drawn at every reset (``reset_model``). The target's radius is 0.05 (easy) or 0.015 (hard).

## Episode End
Never terminated; truncated after 1000 steps (20 s).

## Arguments
``target_size`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``reacher`` easy, hard.
"""

from __future__ import annotations

import math

import numpy as np

from mjvec.envs.dm_control.base import ControlSuiteTask
from mjvec.envs.dm_control.randomizers import broadcast, limited_and_rotational_joints
from mjvec.envs.dm_control.rewards import tolerance
from mjvec.task import norm

__all__ = ["Reacher"]


class Reacher(ControlSuiteTask):
    model_file = "reacher.xml"
    fields = ("geom_xpos",)
    reset_model_fields = ("geom_pos",)

    def __init__(self, target_size: float = 0.05, *, flat_observation: bool = False, action_repeat: int = 1):
        self.target_size = float(target_size)
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        spec.geom("target").size[0] = self.target_size

    def find_ids(self, model):
        self._target, self._finger = int(model.geom("target").id), int(model.geom("finger").id)
        self._radii = float(model.geom_size[self._target, 0] + model.geom_size[self._finger, 0])
        self._is_target = (np.arange(model.ngeom) == self._target)[None, :, None]

    def observation(self, xp, data):
        to_target = data.geom_xpos[:, self._target, :2] - data.geom_xpos[:, self._finger, :2]
        return {"position": data.qpos, "to_target": to_target, "velocity": data.qvel}

    def reward(self, xp, data):
        distance = norm(xp, data.geom_xpos[:, self._target, :2] - data.geom_xpos[:, self._finger, :2])
        return tolerance(xp, distance, (0, self._radii))

    def reset_model(self, xp, rng):
        angle = rng.uniform(0.0, 2 * math.pi, 1)
        radius = rng.uniform(0.05, 0.20, 1)
        nominal = xp.asarray(self.model.geom_pos)
        z = xp.broadcast_to(nominal[self._target, 2], angle.shape)
        row = xp.concatenate((radius * xp.sin(angle), radius * xp.cos(angle), z), axis=-1)
        return {"geom_pos": xp.where(self._is_target, row[:, None, :], nominal[None])}

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        return limited_and_rotational_joints(xp, rng, self.model, broadcast(xp, init_qpos, n)), broadcast(xp, init_qvel, n)
