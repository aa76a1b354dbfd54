"""Point mass: the Control Suite's 2-D point mass reaching a target, as dm_control's ``suite/point_mass.py``.

## Description
A mass on two slide joints in a walled arena, driven through two tendons; 0.02 s steps,
one per env step. The target sits at the arena's centre.

## Action Space
``Box(-1, 1, (2,))``: the two tendon motors.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``position`` | (2,) | ``qpos`` |
| ``velocity`` | (2,) | ``qvel`` |

## Rewards
``near * (mean(tolerance(u, margin=1, value_at_margin=0, quadratic)) + 4) / 5`` with
``near = tolerance(|target - mass|, (0, r), margin=r)``, ``r`` the target's radius.

## Starting State
Each joint uniform in its range (``randomize_limited_and_rotational_joints``), at rest.

## Episode End
Never terminated; truncated after 1000 steps (20 s).

## Arguments
``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``point_mass`` easy. Not ported: ``hard``, whose random
actuator gains (``wrap_prm`` drawn per episode) are a per-env model change at reset.
"""

from __future__ import annotations

from mjvec.envs.dm_control.base import ControlSuiteTask
from mjvec.envs.dm_control.randomizers import broadcast, limited_and_rotational_joints
from mjvec.envs.dm_control.rewards import tolerance
from mjvec.task import norm

__all__ = ["PointMass"]


class PointMass(ControlSuiteTask):
    model_file = "point_mass.xml"
    fields = ("geom_xpos", "ctrl")

    def find_ids(self, model):
        self._target = int(model.geom("target").id)
        self._mass = int(model.geom("pointmass").id)
        self._target_size = float(model.geom_size[self._target, 0])

    def observation(self, xp, data):
        return {"position": data.qpos, "velocity": data.qvel}

    def reward(self, xp, data):
        r = self._target_size
        distance = norm(xp, data.geom_xpos[:, self._target] - data.geom_xpos[:, self._mass])
        near_target = tolerance(xp, distance, bounds=(0, r), margin=r)
        control_reward = xp.mean(tolerance(xp, data.ctrl, margin=1, value_at_margin=0, sigmoid="quadratic"), axis=-1)
        return near_target * ((control_reward + 4) / 5)

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        return limited_and_rotational_joints(xp, rng, self.model, broadcast(xp, init_qpos, n)), broadcast(xp, init_qvel, n)
