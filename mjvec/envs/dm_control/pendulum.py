"""Pendulum: the Control Suite's pendulum swing-up, as dm_control's ``suite/pendulum.py``.

## Description
A pole on a hinge, torque-limited so that it must swing up; 0.02 s steps, one per env step.

## Action Space
``Box(-1, 1, (1,))``: the hinge torque.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``orientation`` | (2,) | the pole's ``xmat`` zz and xz |
| ``velocity`` | (1,) | the hinge's velocity |

## Rewards
``tolerance(zz, (cos(8 deg), 1))``: 1 within 8 degrees of upright, else 0.

## Starting State
The hinge uniform in ``[-pi, pi)``, at rest.

## Episode End
Never terminated; truncated after 1000 steps (20 s).

## Arguments
``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``pendulum`` swingup.
"""

from __future__ import annotations

import math

import numpy as np

from mjvec.envs.dm_control.base import ControlSuiteTask, rows9
from mjvec.envs.dm_control.randomizers import broadcast
from mjvec.envs.dm_control.rewards import tolerance

__all__ = ["Pendulum"]

_COSINE_BOUND = float(np.cos(np.deg2rad(8)))
_ZZ, _XZ = 8, 2


class Pendulum(ControlSuiteTask):
    model_file = "pendulum.xml"
    fields = ("xmat",)

    def find_ids(self, model):
        self._pole = int(model.body("pole").id)
        self._hinge = int(model.jnt_qposadr[model.joint("hinge").id])
        self._hinge_dof = int(model.jnt_dofadr[model.joint("hinge").id])

    def observation(self, xp, data):
        xmat = rows9(xp, data.xmat)[:, self._pole]
        orientation = xp.stack((xmat[:, _ZZ], xmat[:, _XZ]), axis=-1)
        return {"orientation": orientation, "velocity": data.qvel[:, self._hinge_dof : self._hinge_dof + 1]}

    def reward(self, xp, data):
        return tolerance(xp, rows9(xp, data.xmat)[:, self._pole, _ZZ], (_COSINE_BOUND, 1))

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        hinge = rng.uniform(-math.pi, math.pi, 1)
        qpos = broadcast(xp, init_qpos, n)
        qpos = xp.concatenate((qpos[:, : self._hinge], hinge, qpos[:, self._hinge + 1 :]), axis=-1)
        return qpos, broadcast(xp, init_qvel, n)
