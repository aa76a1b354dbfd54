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
``randomize_gains`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``point_mass`` easy and hard (``randomize_gains``: each tendon's joint
coefficients, ``wrap_prm``, a random unit direction drawn per env at every reset, the two not
within ``|cos| > 0.9`` of each other, drawn as a pair by rejection: the same distribution as
dm_control's redraw of the second, the first being uniform on the circle).
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

    def __init__(self, randomize_gains: bool = False, *, flat_observation: bool = False, action_repeat: int = 1):
        self.randomize_gains = bool(randomize_gains)
        self.reset_model_fields = ("wrap_prm",) if self.randomize_gains else ()
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

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

    def reset_model(self, xp, rng):
        def draw(one):
            d = one.standard_normal(4)
            return xp.concatenate((d[:, :2] / norm(xp, d[:, :2])[:, None], d[:, 2:] / norm(xp, d[:, 2:])[:, None]), axis=-1)

        def accept(xp, d):
            return xp.abs(d[0] * d[2] + d[1] * d[3]) <= 0.9

        directions = rng.uniform_until(draw, accept)
        nominal = xp.asarray(self.model.wrap_prm)
        return {"wrap_prm": xp.concatenate((directions, xp.broadcast_to(nominal[4:], (rng.num_envs, nominal.shape[0] - 4))),
                                           axis=-1)}

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        return limited_and_rotational_joints(xp, rng, self.model, broadcast(xp, init_qpos, n)), broadcast(xp, init_qvel, n)
