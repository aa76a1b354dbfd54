"""Manipulator: the Control Suite's planar arm bringing a ball or a peg, as dm_control's ``suite/manipulator.py``.

## Description
A planar arm (root, shoulder, elbow, wrist) with a two-finger hand, and a prop (a ball or a
peg on x, z slides and a hinge) to bring to a target (a ghost, no contacts); insert tasks add a
receptacle (a cup or a slot) at the target. 0.001 s steps (elliptic cones), 10 physics steps
per env step (0.01 s). The model is dm_control's file without the other props, as its
``make_model`` removes them (``MjSpec`` here; the compiled models are equal).

## Action Space
``Box((5,))``: root, shoulder, elbow, wrist motors and the grasp tendon, in their ctrlranges.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``arm_pos`` | (8, 2) | sin and cos of the arm's and hand's 8 joints |
| ``arm_vel`` | (8,) | their velocities |
| ``touch`` | (5,) | ``log1p`` of the palm, finger, thumb, fingertip, thumbtip touch sensors |
| ``hand_pos`` | (4,) | the hand's x, z and quaternion w, y |
| ``object_pos`` | (4,) | the prop's, as ``hand_pos`` |
| ``object_vel`` | (3,) | the prop's x, z, angle velocities |
| ``target_pos`` | (4,) | the target's, as ``hand_pos`` |

## Rewards
``close(d) = tolerance(d, (0, 0.01), margin=0.02)`` of site distances. Ball: ``close(ball, target)``.
Peg: ``max((close(peg, target) + close(tips)) / 2, (close(grasp) + close(pinch)) / 6)``.

## Starting State
As dm_control, repeated until the simulated state has no contact: the arm's joints uniform in
their ranges (unlimited: ``[-pi, pi]``), the finger equal to the thumb; the target at
``U(-0.4, 0.4)``, ``U(0.1, 0.4)`` in x, z at an angle ``U(-pi, pi)`` (insert: ``U(-pi/3, pi/3)``,
the receptacle there too), per-env model values (``body_pos``, ``body_quat``); the prop in the
hand (p = 0.1: at the grasp site, along the hand), in the target (p = 0.1), or else uniform in
``[-0.5, 0.5] x [0, 0.7]`` at an angle in ``[0, 2 pi]`` with an x velocity ``U(-5, 5)``. Each env
draws from its own stream and judges contacts on a scratch copy of the model (CPU only; MJX
refuses the task by name, as for every per-env model value drawn at reset).

## Episode End
Never terminated; truncated after 1000 steps (10 s).

## Arguments
``use_peg``, ``insert`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``manipulator`` bring_ball, bring_peg, insert_ball, insert_peg.
"""

from __future__ import annotations

import math

import numpy as np

from mjvec.envs.dm_control.base import ControlSuiteTask
from mjvec.envs.dm_control.rewards import tolerance
from mjvec.envs.dm_control.scratch import ContactFreeCandidates, eager_reset_error
from mjvec.task import norm

__all__ = ["Manipulator"]

_CLOSE = 0.01
_P_IN_HAND, _P_IN_TARGET = 0.1, 0.1
_ARM_JOINTS = ("arm_root", "arm_shoulder", "arm_elbow", "arm_wrist", "finger", "fingertip", "thumb", "thumbtip")
_PROPS = ("ball", "target_ball", "cup", "peg", "target_peg", "slot")
_TOUCH = ("palm_touch", "finger_touch", "thumb_touch", "fingertip_touch", "thumbtip_touch")


class Manipulator(ControlSuiteTask):
    model_file = "manipulator.xml"
    control_timestep = 0.01
    fields = ("xpos", "xquat", "site_xpos", "sensordata")
    reset_model_fields = ("body_pos", "body_quat")

    def __init__(self, use_peg: bool = False, insert: bool = False, *, flat_observation: bool = False, action_repeat: int = 1):
        self.use_peg, self.insert = bool(use_peg), bool(insert)
        self._object = "peg" if self.use_peg else "ball"
        self._target_name = "target_peg" if self.use_peg else "target_ball"
        self._receptacle_name = "slot" if self.use_peg else "cup"
        self._drawn = None  # the states reset_model drew with the model values, for reset_state
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        keep = {self._object, self._target_name} | ({self._receptacle_name} if self.insert else set())
        for name in _PROPS:
            if name not in keep:
                spec.delete(spec.body(name))

    def find_ids(self, model):
        self._arm_qpos = [int(model.joint(j).qposadr[0]) for j in _ARM_JOINTS]
        self._arm_dof = [int(model.joint(j).dofadr[0]) for j in _ARM_JOINTS]
        self._finger, self._thumb = (int(model.joint(j).qposadr[0]) for j in ("finger", "thumb"))
        joints = [f"{self._object}_{axis}" for axis in "xzy"]
        self._object_qpos = [int(model.joint(j).qposadr[0]) for j in joints]
        self._object_dof = [int(model.joint(j).dofadr[0]) for j in joints]
        self._touch = [int(model.sensor(s).adr[0]) for s in _TOUCH]
        self._hand, self._object_body = int(model.body("hand").id), int(model.body(self._object).id)
        self._target = int(model.body(self._target_name).id)
        self._moved = [self._target] + ([int(model.body(self._receptacle_name).id)] if self.insert else [])
        self._grasp = int(model.site("grasp").id)
        site = {name: int(model.site(name).id) for name in ("grasp", "pinch")}
        if self.use_peg:
            site.update({n: int(model.site(n).id) for n in ("peg_grasp", "peg_pinch", "peg", "target_peg",
                                                              "target_peg_tip", "peg_tip")})
        else:
            site.update({n: int(model.site(n).id) for n in ("ball", "target_ball")})
        self._site = site
        limited = model.jnt_limited[[model.joint(j).id for j in _ARM_JOINTS]].astype(bool)
        ranges = model.jnt_range[[model.joint(j).id for j in _ARM_JOINTS]]
        self._low = np.where(limited, ranges[:, 0], -np.pi)
        self._high = np.where(limited, ranges[:, 1], np.pi)

    def mjx_model(self):
        raise eager_reset_error(self, "draws its target, arm and prop until no contact")

    # -- observation and reward --------------------------------------------------------
    def _pose(self, xp, data, body):
        return xp.concatenate((data.xpos[:, body][:, [0, 2]], data.xquat[:, body][:, [0, 2]]), axis=-1)

    def observation(self, xp, data):
        arm = data.qpos[:, self._arm_qpos]
        return {
            "arm_pos": xp.stack((xp.sin(arm), xp.cos(arm)), axis=-1),
            "arm_vel": data.qvel[:, self._arm_dof],
            "touch": xp.log1p(data.sensordata[:, self._touch]),
            "hand_pos": self._pose(xp, data, self._hand),
            "object_pos": self._pose(xp, data, self._object_body),
            "object_vel": data.qvel[:, self._object_dof],
            "target_pos": self._pose(xp, data, self._target),
        }

    def _close(self, xp, data, a, b):
        distance = norm(xp, data.site_xpos[:, self._site[a]] - data.site_xpos[:, self._site[b]])
        return tolerance(xp, distance, (0.0, _CLOSE), _CLOSE * 2)

    def reward(self, xp, data):
        if not self.use_peg:
            return self._close(xp, data, "ball", "target_ball")
        grasping = (self._close(xp, data, "peg_grasp", "grasp") + self._close(xp, data, "peg_pinch", "pinch")) / 2
        bringing = (self._close(xp, data, "peg", "target_peg") + self._close(xp, data, "target_peg_tip", "peg_tip")) / 2
        return xp.maximum(bringing, grasping / 3)

    # -- the starting state: dm_control's loop, per env ---------------------------------------
    def reset_model(self, xp, rng):
        candidates = _Candidates(self)
        drawn = rng.uniform_until(candidates.draw, candidates.accept)
        nq, nv = self.model.nq, self.model.nv
        qpos, qvel, target = drawn[:, :nq], drawn[:, nq:nq + nv], drawn[:, nq + nv:nq + nv + 3]
        self._drawn = (qpos, qvel)
        body_pos = np.repeat(self.model.body_pos[None], len(drawn), axis=0)
        body_quat = np.repeat(self.model.body_quat[None], len(drawn), axis=0)
        for body in self._moved:
            body_pos[:, body, 0], body_pos[:, body, 2] = target[:, 0], target[:, 1]
            body_quat[:, body, 0], body_quat[:, body, 2] = np.cos(target[:, 2] / 2), np.sin(target[:, 2] / 2)
        return {"body_pos": body_pos, "body_quat": body_quat}

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        if self._drawn is None or len(self._drawn[0]) != rng.num_envs:
            raise RuntimeError("Manipulator.reset_state takes the states its reset_model drew, which must come first")
        qpos, qvel = self._drawn
        self._drawn = None
        return qpos, qvel


class _Candidates(ContactFreeCandidates):
    """One iteration of dm_control's ``initialize_episode`` loop per ``draw``. A candidate row: qpos,
    qvel, target (x, z, angle), ncon."""

    def draw(self, one):
        task, model, data = self.begin()
        data.qpos[task._arm_qpos] = one.uniform(task._low, task._high, len(task._low))[0]
        data.qpos[task._finger] = data.qpos[task._thumb]
        target_x = float(one.uniform(-0.4, 0.4, 1)[0, 0])
        target_z = float(one.uniform(0.1, 0.4, 1)[0, 0])
        bound = math.pi / 3 if task.insert else math.pi
        target_angle = float(one.uniform(-bound, bound, 1)[0, 0])
        for body in task._moved:
            model.body_pos[body, [0, 2]] = target_x, target_z
            model.body_quat[body, [0, 2]] = np.cos(target_angle / 2), np.sin(target_angle / 2)
        kind = float(one.uniform(0.0, 1.0, 1)[0, 0])
        if kind < _P_IN_HAND:
            self.scratch.after_reset()
            object_x, object_z = data.site_xpos[task._grasp, [0, 2]]
            xx, zx = data.site_xmat[task._grasp, [0, 6]]
            object_angle = np.pi - np.arctan2(zx, xx)
        elif kind < _P_IN_HAND + _P_IN_TARGET:
            object_x, object_z, object_angle = target_x, target_z, target_angle
        else:
            object_x = one.uniform(-0.5, 0.5, 1)[0, 0]
            object_z = one.uniform(0.0, 0.7, 1)[0, 0]
            object_angle = one.uniform(0.0, 2 * np.pi, 1)[0, 0]
            data.qvel[task._object_dof[0]] = one.uniform(-5.0, 5.0, 1)[0, 0]
        data.qpos[task._object_qpos] = object_x, object_z, object_angle
        self.scratch.after_reset()
        row = np.concatenate((data.qpos, data.qvel, [target_x, target_z, target_angle, data.ncon]))
        return row[None]
