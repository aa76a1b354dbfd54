"""Stacker: the Control Suite's planar arm stacking boxes, as dm_control's ``suite/stacker.py``.

## Description
Manipulator's planar arm and hand with ``n`` boxes (2 or 4, each on x, z slides and a hinge)
and a ghost target box; 0.001 s steps (elliptic cones), 10 physics steps per env step (0.01 s).
The task: put a box at the target, the hand away from it. The model is dm_control's file
without the unused boxes, as its ``make_model`` removes them (``MjSpec`` here; the compiled
models are equal).

## Action Space
``Box((5,))``: root, shoulder, elbow, wrist motors and the grasp, in their ctrlranges.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``arm_pos`` | (8, 2) | sin and cos of the arm's and hand's 8 joints |
| ``arm_vel`` | (8,) | their velocities |
| ``touch`` | (5,) | ``log1p`` of the touch sensors |
| ``hand_pos`` | (4,) | the hand's x, z and quaternion w, y |
| ``box_pos`` | (n, 4) | each box's, as ``hand_pos`` |
| ``box_vel`` | (3 n,) | each box's x, angle, z velocities (dm_control's order: its joints ``_x``, ``_y``, ``_z``) |
| ``target_pos`` | (2,) | the target's x, z |

## Rewards
``tolerance(min_box |box - target|, margin=2 s) * tolerance(|grasp - target|, (0.1, inf), margin=0.01)``,
``s`` the target's half size, distances between sites.

## Starting State
As dm_control, repeated until the simulated state has no contact: the arm's joints uniform in
their ranges (unlimited: ``[-pi, pi]``), the finger equal to the thumb; the target at height
``s (2 k + 1)``, ``k`` uniform in ``0..n-1``, and x ``U(-0.37, 0.37)``, a per-env model value
(``body_pos``); each box at x ``U(0.1, 0.3)``, z ``U(0, 0.7)``, angle ``U(0, 2 pi)``. Each env draws
from its own stream and judges contacts on a scratch copy of the model (CPU only; MJX refuses the
task by name).

## Episode End
Never terminated; truncated after 1000 steps (10 s).

## Arguments
``n_boxes`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``stacker`` stack_2, stack_4.
"""

from __future__ import annotations

import math

import numpy as np

from mjvec.envs.dm_control.base import ControlSuiteTask
from mjvec.envs.dm_control.rewards import tolerance
from mjvec.envs.dm_control.scratch import ContactFreeCandidates, eager_reset_error
from mjvec.task import norm

__all__ = ["Stacker"]

_CLOSE = 0.01
_ARM_JOINTS = ("arm_root", "arm_shoulder", "arm_elbow", "arm_wrist", "finger", "fingertip", "thumb", "thumbtip")


class Stacker(ControlSuiteTask):
    model_file = "stacker.xml"
    control_timestep = 0.01
    fields = ("xpos", "xquat", "site_xpos", "sensordata")
    reset_model_fields = ("body_pos",)

    def __init__(self, n_boxes: int = 2, *, flat_observation: bool = False, action_repeat: int = 1):
        if isinstance(n_boxes, bool) or not isinstance(n_boxes, (int, np.integer)) or not 1 <= n_boxes <= 4:
            raise ValueError(f"`n_boxes` must be an int from 1 to 4 (stacker.xml's boxes), got {n_boxes!r}")
        self.n_boxes = int(n_boxes)
        self._drawn = None  # the states reset_model drew with the target, for reset_state
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        for b in range(self.n_boxes, 4):
            spec.delete(spec.body(f"box{b}"))

    def find_ids(self, model):
        joint = model.joint
        self._arm_qpos = [int(joint(j).qposadr[0]) for j in _ARM_JOINTS]
        self._arm_dof = [int(joint(j).dofadr[0]) for j in _ARM_JOINTS]
        self._finger, self._thumb = int(joint("finger").qposadr[0]), int(joint("thumb").qposadr[0])
        boxes = [f"box{b}" for b in range(self.n_boxes)]
        self._boxes = [int(model.body(b).id) for b in boxes]
        self._box_dof = [int(joint(f"{b}_{d}").dofadr[0]) for b in boxes for d in "xyz"]
        self._box_qpos = [[int(joint(f"{b}_{d}").qposadr[0]) for d in "xzy"] for b in boxes]
        self._box_sites = [int(model.site(b).id) for b in boxes]
        self._hand, self._target = int(model.body("hand").id), int(model.body("target").id)
        self._target_site, self._grasp = int(model.site("target").id), int(model.site("grasp").id)
        self._box_size = float(model.geom_size[model.geom("target").id, 0])
        ids = [joint(j).id for j in _ARM_JOINTS]
        limited = model.jnt_limited[ids].astype(bool)
        self._low = np.where(limited, model.jnt_range[ids, 0], -np.pi)
        self._high = np.where(limited, model.jnt_range[ids, 1], np.pi)

    def mjx_model(self):
        raise eager_reset_error(self, "draws its target, arm and boxes until no contact")

    # -- observation and reward --------------------------------------------------------
    def observation(self, xp, data):
        arm = data.qpos[:, self._arm_qpos]
        boxes = xp.concatenate((data.xpos[:, self._boxes][..., [0, 2]], data.xquat[:, self._boxes][..., [0, 2]]), axis=-1)
        return {
            "arm_pos": xp.stack((xp.sin(arm), xp.cos(arm)), axis=-1),
            "arm_vel": data.qvel[:, self._arm_dof],
            "touch": xp.log1p(data.sensordata),
            "hand_pos": xp.concatenate((data.xpos[:, self._hand][:, [0, 2]], data.xquat[:, self._hand][:, [0, 2]]), axis=-1),
            "box_pos": boxes,
            "box_vel": data.qvel[:, self._box_dof],
            "target_pos": data.xpos[:, self._target][:, [0, 2]],
        }

    def reward(self, xp, data):
        target = data.site_xpos[:, self._target_site]
        distances = xp.stack([norm(xp, data.site_xpos[:, s] - target) for s in self._box_sites], axis=-1)
        box_is_close = tolerance(xp, xp.min(distances, axis=-1), margin=2 * self._box_size)
        hand_is_far = tolerance(xp, norm(xp, data.site_xpos[:, self._grasp] - target), bounds=(0.1, float("inf")),
                                margin=_CLOSE)
        return box_is_close * hand_is_far

    # -- the starting state: dm_control's loop, per env ---------------------------------------
    def reset_model(self, xp, rng):
        candidates = _Candidates(self)
        drawn = rng.uniform_until(candidates.draw, candidates.accept)
        nq = self.model.nq
        self._drawn = drawn[:, :nq]
        body_pos = np.repeat(self.model.body_pos[None], len(drawn), axis=0)
        body_pos[:, self._target, 0], body_pos[:, self._target, 2] = drawn[:, nq], drawn[:, nq + 1]
        return {"body_pos": body_pos}

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        if self._drawn is None or len(self._drawn) != rng.num_envs:
            raise RuntimeError("Stacker.reset_state takes the states its reset_model drew, which must come first")
        qpos, self._drawn = self._drawn, None
        return qpos, np.zeros((len(qpos), self.model.nv))


class _Candidates(ContactFreeCandidates):
    """One iteration of dm_control's loop per ``draw``. A candidate row: qpos, target (x, z), ncon."""

    def draw(self, one):
        task, model, data = self.begin()
        data.qpos[task._arm_qpos] = one.uniform(task._low, task._high, len(task._low))[0]
        data.qpos[task._finger] = data.qpos[task._thumb]
        level = math.floor(float(one.uniform(0.0, 1.0, 1)[0, 0]) * task.n_boxes)  # randint(n_boxes)
        target_z = task._box_size * (2 * level + 1)
        target_x = float(one.uniform(-0.37, 0.37, 1)[0, 0])
        model.body_pos[task._target, 2], model.body_pos[task._target, 0] = target_z, target_x
        for x, z, angle in task._box_qpos:
            data.qpos[x] = one.uniform(0.1, 0.3, 1)[0, 0]
            data.qpos[z] = one.uniform(0.0, 0.7, 1)[0, 0]
            data.qpos[angle] = one.uniform(0.0, 2 * np.pi, 1)[0, 0]
        self.scratch.after_reset()
        return np.concatenate((data.qpos, [target_x, target_z, data.ncon]))[None]
