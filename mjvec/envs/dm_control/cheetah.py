"""Cheetah: the Control Suite's planar running cheetah, as dm_control's ``suite/cheetah.py``.

## Description
A planar biped-like cheetah (root x, z, pitch and 6 limited hinges); 0.01 s Euler steps,
one physics step per env step.

## Action Space
``Box(-1, 1, (6,))``: bthigh, bshin, bfoot, fthigh, fshin, ffoot motors.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``position`` | (8,) | ``qpos[1:]`` (all but the x position) |
| ``velocity`` | (9,) | ``qvel`` |

## Rewards
``tolerance(speed, bounds=(10, inf), margin=10, value_at_margin=0, sigmoid="linear")``, where
``speed`` is the torso's subtree linear velocity along x (sensor ``torso_subtreelinvel``).

## Starting State
Each limited joint uniform in its range, then 200 physics steps with zero controls to
settle (``settle_steps``), the clock reset to 0.

## Episode End
Never terminated; truncated after 1000 steps (10 s).

## Arguments
``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``cheetah`` run.
"""

from __future__ import annotations

import numpy as np

from mjvec.envs.dm_control.base import ControlSuiteTask
from mjvec.envs.dm_control.rewards import tolerance

__all__ = ["Cheetah"]

_RUN_SPEED = 10.0


class Cheetah(ControlSuiteTask):
    model_file = "cheetah.xml"
    fields = ("sensordata",)
    settle_steps = 200

    def find_ids(self, model):
        self._speed = int(model.sensor("torso_subtreelinvel").adr[0])
        if model.nq != model.njnt:
            raise ValueError("the cheetah model must have one-dof joints")
        limited = model.jnt_limited == 1
        self._limited = np.flatnonzero(limited)
        self._free = np.flatnonzero(~limited)
        self._lower, self._upper = model.jnt_range[limited].T.copy()

    def observation(self, xp, data):
        return {"position": data.qpos[:, 1:], "velocity": data.qvel}

    def reward(self, xp, data):
        speed = data.sensordata[:, self._speed]
        return tolerance(xp, speed, bounds=(_RUN_SPEED, float("inf")), margin=_RUN_SPEED, value_at_margin=0,
                         sigmoid="linear")

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        drawn = rng.uniform(self._lower, self._upper, len(self._limited))
        n = rng.num_envs
        # the unlimited root joints keep qpos0; the limited ones are drawn, in joint order
        qpos = xp.concatenate((xp.broadcast_to(xp.asarray(init_qpos[self._free]), (n, len(self._free))), drawn),
                              axis=-1)
        order = np.argsort(np.concatenate((self._free, self._limited)))
        return qpos[:, order], xp.broadcast_to(xp.asarray(init_qvel), (n, self.model.nv))
