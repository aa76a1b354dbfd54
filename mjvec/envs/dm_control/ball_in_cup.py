"""Ball in cup: the Control Suite's planar ball-in-cup catch, as dm_control's ``suite/ball_in_cup.py``.

## Description
A cup moved in the x-z plane (two slides) with a ball tied to it by a string (a spatial
tendon); 0.01 s steps, 2 physics steps per env step (0.02 s).

## Action Space
``Box(-1, 1, (2,))``: the cup's x and z motors.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``position`` | (4,) | ``qpos`` (cup x, z, ball x, z) |
| ``velocity`` | (4,) | ``qvel`` |

## Rewards
1 when the ball is inside the cup's target box (each of ``|target - ball|`` in x and z below
the box's half size minus the ball's radius), else 0.

## Starting State
The ball at ``x ~ U(-0.2, 0.2)``, ``z ~ U(0.2, 0.5)``, drawn again (from the env's own stream)
while the simulated state has contacts (``data.ncon > 0``), as dm_control's loop; at rest.

## Episode End
Never terminated; truncated after 1000 steps (20 s).

## Arguments
``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``ball_in_cup`` catch.
"""

from __future__ import annotations

from mjvec.envs.dm_control.base import ControlSuiteTask
from mjvec.envs.dm_control.randomizers import broadcast

__all__ = ["BallInCup"]


class BallInCup(ControlSuiteTask):
    model_file = "ball_in_cup.xml"
    control_timestep = 0.02
    fields = ("site_xpos", "xpos", "ncon")
    rejects_reset = True

    def find_ids(self, model):
        self._target, self._ball = int(model.site("target").id), int(model.body("ball").id)
        ball_size = float(model.geom_size[model.geom("ball").id, 0])
        self._inside = (model.site_size[self._target, [0, 2]] - ball_size).copy()
        self._ball_x = int(model.jnt_qposadr[model.joint("ball_x").id])
        self._ball_z = int(model.jnt_qposadr[model.joint("ball_z").id])

    def observation(self, xp, data):
        return {"position": data.qpos, "velocity": data.qvel}

    def reward(self, xp, data):
        to_target = data.site_xpos[:, self._target][:, [0, 2]] - data.xpos[:, self._ball][:, [0, 2]]
        return xp.all(xp.abs(to_target) < self._inside, axis=-1).astype(float)

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        x, z = rng.uniform(-0.2, 0.2, 1), rng.uniform(0.2, 0.5, 1)
        columns = [broadcast(xp, init_qpos, n)[:, i : i + 1] for i in range(self.model.nq)]
        columns[self._ball_x], columns[self._ball_z] = x, z
        return xp.concatenate(columns, axis=-1), broadcast(xp, init_qvel, n)

    def reset_rejected(self, xp, data):
        return data.ncon > 0
