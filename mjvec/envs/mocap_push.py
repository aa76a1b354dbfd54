"""MocapPush-v0: a hand welded to a mocap target pushes a puck to a goal on a table.

## Description
A sphere "hand" hovers over a walled table, held by a weld equality to a mocap
body (the hand target), as a robot arm under operational-space control is; the
action moves the target, the weld drags the hand after it, and the hand pushes
a puck (a cylinder with a free joint) across the table onto a goal drawn at
every reset. The goal is a non-colliding marker on two slide joints, so it is
part of ``qpos`` and every batched function (and the MJX backend) reads it from
the simulation state.

## Action Space
``Box(low=(-d, -d, 0), high=(d, d, 0), (3,), float32)``, ``d = max_delta``: a
displacement of the hand target (``ActionSpec(mocap={"hand_target": "delta_pos"})``),
clipped to the workspace box over the table, whose z range is one height (so
the z entry moves nothing and its bounds are 0)::

    index  kind   name         component  field
    0:3    mocap  hand_target  delta_pos  mocap_pos

## Observation Space
| index | observation | field |
|---|---|---|
| 0-2 | x, y, z of the hand | ``qpos`` of joint ``hand`` |
| 3-4 | x, y of the hand target | ``mocap_pos`` |
| 5-7 | x, y, z of the puck | ``qpos`` of joint ``object`` |
| 8-10 | linear velocity of the puck | ``qvel`` of joint ``object`` |
| 11-12 | x, y of the goal | ``qpos`` of ``goal_x``, ``goal_y`` |
| 13-14 | puck minus hand, x, y | |
| 15-16 | goal minus puck, x, y | |

## Rewards
``reward = reward_dist + reward_near`` with
``reward_dist = -reward_dist_weight * |puck_xy - goal_xy|`` and
``reward_near = -reward_near_weight * |puck_xy - hand_xy|`` (a shaping term that
brings the hand to the puck); ``info`` holds both, the distance ``goal_distance``
and ``is_success`` (``goal_distance < success_radius``).

## Starting State
Hand and hand target at (-0.25, 0), at rest. Puck at rest in ``U(-0.15, 0.15)``
squared; goal at ``r (cos a, sin a)`` from the puck, ``r ~ U(0.1, 0.2)``,
``a ~ U(-pi, pi)``, clipped to the table (draws in that order from each env's
stream).

## Episode End
Never terminates (walls keep the puck on the table); truncated after 100
steps (``max_episode_steps``).

## Arguments
``frame_skip`` (8; 0.04 s per step), ``max_delta`` (0.03 m per step),
``reward_dist_weight`` (1.0), ``reward_near_weight`` (0.5), ``success_radius``
(0.05 m).

## Version History
v0: initial version.
"""

from __future__ import annotations

import mujoco
import numpy as np

from mjvec.actions import ActionSpec
from mjvec.task import Task, norm

__all__ = ["MocapPush"]

MOCAP_PUSH_XML = """
<mujoco model="mocap_push">
  <option timestep="0.005"/>
  <default>
    <geom friction="0.5 0.005 0.0001" rgba="0.7 0.7 0.7 1"/>
    <default class="wall"><geom type="plane" rgba="0.5 0.5 0.5 1"/></default>
  </default>
  <visual><global offwidth="640" offheight="480"/></visual>
  <worldbody>
    <light pos="0 0 1.5" dir="0 0 -1"/>
    <camera name="top" pos="0 -0.6 0.9" xyaxes="1 0 0 0 0.83 0.56"/>
    <geom name="table" type="plane" size="0.35 0.35 0.01" rgba="0.9 0.9 0.85 1"/>
    <!-- walls are planes facing inwards: MJX collides cylinders with planes, not with boxes -->
    <geom name="wall_east" class="wall" pos="0.35 0 0.03" zaxis="-1 0 0" size="0.03 0.35 0.01"/>
    <geom name="wall_west" class="wall" pos="-0.35 0 0.03" zaxis="1 0 0" size="0.03 0.35 0.01"/>
    <geom name="wall_north" class="wall" pos="0 0.35 0.03" zaxis="0 -1 0" size="0.35 0.03 0.01"/>
    <geom name="wall_south" class="wall" pos="0 -0.35 0.03" zaxis="0 1 0" size="0.35 0.03 0.01"/>
    <body name="hand_target" mocap="true" pos="-0.25 0 0.03">
      <geom type="sphere" size="0.008" contype="0" conaffinity="0" rgba="0.2 0.8 0.2 0.5"/>
    </body>
    <!-- gravcomp: the weld holds the hand's pose, not its weight -->
    <body name="hand" pos="-0.25 0 0.03" gravcomp="1">
      <freejoint name="hand"/>
      <geom name="hand" type="sphere" size="0.025" mass="0.5" rgba="0.2 0.4 0.9 1"/>
    </body>
    <body name="object" pos="0 0 0.025">
      <freejoint name="object"/>
      <geom name="object" type="cylinder" size="0.04 0.025" mass="0.2" rgba="0.9 0.5 0.1 1"/>
    </body>
    <body name="goal" pos="0 0 0.001">
      <joint name="goal_x" type="slide" axis="1 0 0"/>
      <joint name="goal_y" type="slide" axis="0 1 0"/>
      <geom name="goal" type="cylinder" size="0.05 0.001" mass="0.01" contype="0" conaffinity="0"
            rgba="0.9 0.1 0.1 0.4"/>
    </body>
  </worldbody>
  <equality>
    <weld name="hand_weld" body1="hand_target" body2="hand"/>
  </equality>
</mujoco>
"""

HAND_START = (-0.25, 0.0)
HAND_HEIGHT = 0.03
# the hand's center stays this far inside the walls' inner faces (0.35): its radius
WORKSPACE_HALF = 0.325
# puck centers stay a puck radius inside the walls
TABLE_HALF = 0.31
OBJECT_RANGE = 0.15
GOAL_DISTANCE = (0.1, 0.2)


class MocapPush(Task):
    fields = ("mocap_pos",)

    def __init__(
        self,
        frame_skip: int = 8,
        max_delta: float = 0.03,
        reward_dist_weight: float = 1.0,
        reward_near_weight: float = 0.5,
        success_radius: float = 0.05,
    ):
        for name, value in (
            ("max_delta", max_delta),
            ("success_radius", success_radius),
            ("reward_dist_weight", reward_dist_weight),
            ("reward_near_weight", reward_near_weight),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
            if name in ("max_delta", "success_radius") and not value > 0:
                raise ValueError(f"`{name}` must be > 0, got {value}")
        self.max_delta = float(max_delta)
        self._reward_dist_weight = float(reward_dist_weight)
        self._reward_near_weight = float(reward_near_weight)
        self.success_radius = float(success_radius)
        super().__init__(mujoco.MjSpec.from_string(MOCAP_PUSH_XML), frame_skip)
        model = self.model
        joint = {n: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in ("hand", "object", "goal_x")}
        self._hand = int(model.jnt_qposadr[joint["hand"]])
        self._object = int(model.jnt_qposadr[joint["object"]])
        self._object_dof = int(model.jnt_dofadr[joint["object"]])
        self._goal = int(model.jnt_qposadr[joint["goal_x"]])  # goal_y follows it
        goal_body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "goal")
        self._goal_origin = model.body_pos[goal_body, :2].copy()
        self.single_observation_space = self.observation_box(17)

    def default_actions(self) -> ActionSpec:
        """A bounded displacement of the hand target, clipped to the workspace over the table."""
        d = self.max_delta
        w = WORKSPACE_HALF
        return ActionSpec(
            ctrl=None,
            mocap={"hand_target": "delta_pos"},
            bounds={"mocap:hand_target": ((-d, -d, 0.0), (d, d, 0.0))},
            workspace={"hand_target": ((-w, -w, HAND_HEIGHT), (w, w, HAND_HEIGHT))},
        )

    def _positions(self, data):
        hand = data.qpos[:, self._hand : self._hand + 3]
        obj = data.qpos[:, self._object : self._object + 3]
        goal = data.qpos[:, self._goal : self._goal + 2] + self._goal_origin
        return hand, obj, goal

    def observe(self, xp, data):
        hand, obj, goal = self._positions(data)
        return xp.concatenate(
            (
                hand,
                data.mocap_pos[:, 0, :2],
                obj,
                data.qvel[:, self._object_dof : self._object_dof + 3],
                goal,
                obj[:, :2] - hand[:, :2],
                goal - obj[:, :2],
            ),
            axis=-1,
        )

    def evaluate(self, xp, data, action, before):
        hand, obj, goal = self._positions(data)
        goal_distance = norm(xp, obj[:, :2] - goal)
        reward_dist = -self._reward_dist_weight * goal_distance
        reward_near = -self._reward_near_weight * norm(xp, obj[:, :2] - hand[:, :2])
        info = {
            "reward_dist": reward_dist,
            "reward_near": reward_near,
            "goal_distance": goal_distance,
            "is_success": goal_distance < self.success_radius,
        }
        return reward_dist + reward_near, xp.zeros(goal_distance.shape, dtype=bool), info

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        obj = rng.uniform(low=-OBJECT_RANGE, high=OBJECT_RANGE, size=2)
        r = rng.uniform(low=GOAL_DISTANCE[0], high=GOAL_DISTANCE[1], size=1)
        a = rng.uniform(low=-np.pi, high=np.pi, size=1)
        goal = xp.clip(obj + r * xp.concatenate((xp.cos(a), xp.sin(a)), axis=-1), -TABLE_HALF, TABLE_HALF)
        n = obj.shape[0]
        pieces = (
            xp.broadcast_to(init_qpos[: self._object], (n, self._object)),
            obj,
            xp.broadcast_to(init_qpos[self._object + 2 : self._goal], (n, self._goal - self._object - 2)),
            goal - self._goal_origin,
            xp.broadcast_to(init_qpos[self._goal + 2 :], (n, self.model.nq - self._goal - 2)),
        )
        qpos = xp.concatenate(pieces, axis=-1)
        qvel = xp.broadcast_to(init_qvel, (n, self.model.nv))
        return qpos, qvel

    def reset_info(self, xp, data):
        _, obj, goal = self._positions(data)
        return {"goal_distance": norm(xp, obj[:, :2] - goal)}
