"""Walker: the Control Suite's planar walker, as dm_control's ``suite/walker.py``.

## Description
A planar biped (root x, z, pitch and two 3-hinge legs); 0.0025 s steps, 10 physics steps
per env step (0.025 s).

## Action Space
``Box(-1, 1, (6,))``: right hip, knee, ankle, left hip, knee, ankle motors.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``orientations`` | (14,) | each body's ``xmat`` xx and xz but the world's |
| ``height`` | () | the torso's z |
| ``velocity`` | (9,) | ``qvel`` |

## Rewards
``stand = (3 * tolerance(height, (1.2, inf), margin=0.6) + (1 + upright) / 2) / 4``, ``upright``
the torso's ``xmat`` zz. Stand: ``stand``; walk and run: ``stand * (5 * move + 1) / 6``,
``move = tolerance(speed, (s, inf), margin=s / 2, value_at_margin=0.5, sigmoid="linear")`` with
``s`` = 1 (walk) or 8 (run) and ``speed`` the torso's subtree linear velocity along x.

## Starting State
Every joint drawn by dm_control's ``randomize_limited_and_rotational_joints``; zero velocities.

## Episode End
Never terminated; truncated after 1000 steps (25 s).

## Arguments
``move_speed`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``walker`` stand, walk, run.
"""

from __future__ import annotations

from mjvec.envs.dm_control.base import ControlSuiteTask, rows9
from mjvec.envs.dm_control.randomizers import broadcast, limited_and_rotational_joints
from mjvec.envs.dm_control.rewards import tolerance

__all__ = ["Walker"]

_STAND_HEIGHT = 1.2
_XX, _XZ, _ZZ = 0, 2, 8


class Walker(ControlSuiteTask):
    model_file = "walker.xml"
    control_timestep = 0.025
    fields = ("xmat", "xpos", "sensordata")

    def __init__(self, move_speed: float = 0.0, *, flat_observation: bool = False, action_repeat: int = 1):
        self.move_speed = float(move_speed)
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def find_ids(self, model):
        self._torso = int(model.body("torso").id)
        self._speed = int(model.sensor("torso_subtreelinvel").adr[0])

    def observation(self, xp, data):
        xmat = rows9(xp, data.xmat)[:, 1:]
        n = xmat.shape[0]
        orientations = xp.reshape(xp.stack((xmat[:, :, _XX], xmat[:, :, _XZ]), axis=-1), (n, -1))
        return {"orientations": orientations, "height": data.xpos[:, self._torso, 2], "velocity": data.qvel}

    def reward(self, xp, data):
        standing = tolerance(xp, data.xpos[:, self._torso, 2], bounds=(_STAND_HEIGHT, float("inf")),
                             margin=_STAND_HEIGHT / 2)
        upright = (1 + rows9(xp, data.xmat)[:, self._torso, _ZZ]) / 2
        stand_reward = (3 * standing + upright) / 4
        if self.move_speed == 0:
            return stand_reward
        move_reward = tolerance(xp, data.sensordata[:, self._speed], bounds=(self.move_speed, float("inf")),
                                margin=self.move_speed / 2, value_at_margin=0.5, sigmoid="linear")
        return stand_reward * (5 * move_reward + 1) / 6

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        qpos = limited_and_rotational_joints(xp, rng, self.model, broadcast(xp, init_qpos, n))
        return qpos, broadcast(xp, init_qvel, n)
