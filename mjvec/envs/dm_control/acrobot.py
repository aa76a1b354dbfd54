"""Acrobot: the Control Suite's two-link acrobot swing-up, as dm_control's ``suite/acrobot.py``.

## Description
Two links on hinges (shoulder passive, elbow actuated), swung up to put the tip on a target
above; RK4, 0.01 s steps, one per env step.

## Action Space
``Box(-1, 1, (1,))``: the elbow torque.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``orientations`` | (4,) | the upper and lower arm's ``xmat`` xz, then their zz |
| ``velocity`` | (2,) | ``qvel`` |

## Rewards
``tolerance(|target - tip|, (0, r), margin=1)`` (``swingup``) or ``margin=0``
(``swingup_sparse``), ``r`` the target site's radius.

## Starting State
Shoulder and elbow uniform in ``[-pi, pi)``, at rest.

## Episode End
Never terminated; truncated after 1000 steps (10 s).

## Arguments
``sparse`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``acrobot`` swingup, swingup_sparse.
"""

from __future__ import annotations

import math

from mjvec.envs.dm_control.base import ControlSuiteTask, rows9
from mjvec.envs.dm_control.randomizers import broadcast
from mjvec.envs.dm_control.rewards import tolerance
from mjvec.task import norm

__all__ = ["Acrobot"]

_XZ, _ZZ = 2, 8


class Acrobot(ControlSuiteTask):
    model_file = "acrobot.xml"
    fields = ("xmat", "site_xpos")

    def __init__(self, sparse: bool = False, *, flat_observation: bool = False, action_repeat: int = 1):
        self.sparse = bool(sparse)
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def find_ids(self, model):
        self._arms = [int(model.body(name).id) for name in ("upper_arm", "lower_arm")]
        self._target, self._tip = int(model.site("target").id), int(model.site("tip").id)
        self._radius = float(model.site_size[self._target, 0])
        self._joints = [int(model.jnt_qposadr[model.joint(name).id]) for name in ("shoulder", "elbow")]

    def observation(self, xp, data):
        xmat = rows9(xp, data.xmat)[:, self._arms]
        return {"orientations": xp.concatenate((xmat[:, :, _XZ], xmat[:, :, _ZZ]), axis=-1), "velocity": data.qvel}

    def reward(self, xp, data):
        distance = norm(xp, data.site_xpos[:, self._target] - data.site_xpos[:, self._tip])
        return tolerance(xp, distance, bounds=(0, self._radius), margin=0 if self.sparse else 1)

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        angles = rng.uniform(-math.pi, math.pi, 2)
        columns = [broadcast(xp, init_qpos, n)[:, i : i + 1] for i in range(self.model.nq)]
        for k, adr in enumerate(self._joints):
            columns[adr] = angles[:, k : k + 1]
        return xp.concatenate(columns, axis=-1), broadcast(xp, init_qvel, n)
