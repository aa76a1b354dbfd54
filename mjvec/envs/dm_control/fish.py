"""Fish: the Control Suite's fish in a fluid, as dm_control's ``suite/fish.py``.

## Description
A fish (a free body with a two-hinge tail and two two-hinge fins) in a viscous fluid
without gravity; 0.004 s steps, 10 physics steps per env step (0.04 s). Upright: turn the
torso upright. Swim: bring the mouth into a target sphere.

## Action Space
``Box(-1, 1, (5,))``: tail, tail twist, fin flap, left and right fin pitch (position servos).

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``joint_angles`` | (7,) | the tail and fin hinges (``tail1``, ``tail_twist``, ``tail2``, fins' roll and pitch) |
| ``upright`` | () | the torso's ``xmat`` zz |
| ``target`` | (3,) | swim only: mouth to target in the mouth's frame |
| ``velocity`` | (13,) | ``qvel`` |

## Rewards
Upright: ``tolerance(upright, (1, 1), margin=1)``. Swim: ``(7 * in_target + (upright + 1) / 2) / 8``,
``in_target = tolerance(|target|, (0, r), margin=2 r)``, ``r`` the mouth's and the target's radii.

## Starting State
The torso's orientation a normalised ``N(0, 1)`` quaternion, each tail and fin hinge
``U(-0.2, 0.2)``, at rest. Swim: first the target's position, ``U(-0.4, 0.4)`` in x and y and
``U(0.1, 0.3)`` in z, a per-env model value (``geom_pos``, ``reset_model``). Upright: the
target is invisible, as dm_control sets it each episode.

## Episode End
Never terminated; truncated after 1000 steps (40 s).

## Arguments
``swim`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``fish`` upright, swim.
"""

from __future__ import annotations

import numpy as np

from mjvec.envs.dm_control.base import ControlSuiteTask, rows9
from mjvec.envs.dm_control.geometry import in_frame
from mjvec.envs.dm_control.randomizers import broadcast
from mjvec.envs.dm_control.rewards import tolerance
from mjvec.task import norm

__all__ = ["Fish"]

_JOINTS = ("tail1", "tail_twist", "tail2", "finright_roll", "finright_pitch", "finleft_roll", "finleft_pitch")
_ZZ = 8


class Fish(ControlSuiteTask):
    model_file = "fish.xml"
    control_timestep = 0.04
    fields = ("xmat", "geom_xpos", "geom_xmat")

    def __init__(self, swim: bool = False, *, flat_observation: bool = False, action_repeat: int = 1):
        self.swim = bool(swim)
        self.reset_model_fields = ("geom_pos",) if self.swim else ()
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        if not self.swim:
            spec.geom("target").rgba[3] = 0

    def find_ids(self, model):
        self._joints = [int(model.joint(j).qposadr[0]) for j in _JOINTS]
        self._root = int(model.joint("root").qposadr[0])
        self._torso = int(model.body("torso").id)
        self._mouth, self._target = int(model.geom("mouth").id), int(model.geom("target").id)
        self._radii = float(model.geom_size[[self._mouth, self._target], 0].sum())
        self._is_target = (np.arange(model.ngeom) == self._target)[None, :, None]

    def _upright(self, xp, data):
        return rows9(xp, data.xmat)[:, self._torso, _ZZ]

    def _mouth_to_target(self, xp, data):
        to_target = data.geom_xpos[:, self._target] - data.geom_xpos[:, self._mouth]
        return in_frame(xp, to_target, rows9(xp, data.geom_xmat)[:, self._mouth])

    def observation(self, xp, data):
        obs = {"joint_angles": data.qpos[:, self._joints], "upright": self._upright(xp, data)}
        if self.swim:
            obs["target"] = self._mouth_to_target(xp, data)
        obs["velocity"] = data.qvel
        return obs

    def reward(self, xp, data):
        upright = self._upright(xp, data)
        if not self.swim:
            return tolerance(xp, upright, bounds=(1.0, 1.0), margin=1.0)
        distance = norm(xp, self._mouth_to_target(xp, data))
        in_target = tolerance(xp, distance, bounds=(0.0, self._radii), margin=2 * self._radii)
        return (7 * in_target + 0.5 * (upright + 1)) / 8

    def reset_model(self, xp, rng):
        xy = rng.uniform(-0.4, 0.4, 2)
        z = rng.uniform(0.1, 0.3, 1)
        nominal = xp.asarray(self.model.geom_pos)
        row = xp.concatenate((xy, z), axis=-1)
        return {"geom_pos": xp.where(self._is_target, row[:, None, :], nominal[None])}

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        quat = rng.standard_normal(4)
        quat = quat / norm(xp, quat)[:, None]
        angles = rng.uniform(-0.2, 0.2, len(_JOINTS))
        qpos = broadcast(xp, init_qpos, n)
        columns = [qpos[:, i : i + 1] for i in range(self.model.nq)]
        for k in range(4):
            columns[self._root + 3 + k] = quat[:, k : k + 1]
        for k, adr in enumerate(self._joints):
            columns[adr] = angles[:, k : k + 1]
        return xp.concatenate(columns, axis=-1), broadcast(xp, init_qvel, n)
