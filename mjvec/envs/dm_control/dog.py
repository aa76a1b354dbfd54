"""Dog: the Control Suite's dog, as dm_control's ``suite/dog.py``.

## Description
A dog (a free root, 73 hinges, 38 tendon- and joint-driven actuators with first-order filter
activations, a skinned mesh body) on a plane; 0.005 s steps, 3 physics steps per env step
(0.015 s). Stand: stand up and stay upright. Walk, trot, run: also move forward at 1, 3 or
9 m/s. Fetch: bring a thrown ball to the target, in an arena with walls. The model is
dm_control's file (its meshes and skin from the package's ``dog_assets/``) edited as its
``make_model`` edits it (``MjSpec`` here; the compiled models are equal): the floor's half size
15 s x the task's speed (stand: walk's; fetch: 10 m as in the file), and but in fetch the ball,
the target, the walls and the ``ball`` and ``head`` cameras removed.

## Action Space
``Box(-1, 1, (38,))``: the actuators' controls, each filtered into its activation (``act``).

## Observation Space
A Dict, in dm_control's order (``joint_velocites`` is dm_control's spelling):
| key | shape | value |
|---|---|---|
| ``joint_angles`` | (73,) | the hinges' ``qpos`` |
| ``joint_velocites`` | (73,) | the hinges' ``qvel`` |
| ``torso_pelvis_height`` | (2,) | the torso's and the pelvis's z |
| ``z_projection`` | (9,) | the skull's, torso's and pelvis's ``xmat`` zx, zy, zz |
| ``torso_com_velocity`` | (3,) | sensor ``torso_linvel`` (the torso subtree's velocity) in the torso's frame |
| ``inertial_sensors`` | (9,) | accelerometer, velocimeter, gyro |
| ``foot_forces`` | (12,) | the force sensors ``foot_L``, ``foot_R``, ``hand_L``, ``hand_R`` |
| ``touch_sensors`` | (4,) | the touch sensors ``palm_L``, ``palm_R``, ``sole_L``, ``sole_R`` |
| ``actuator_state`` | (38,) | ``act`` |
| ``ball_state`` | (6,) | fetch only: the ball's position and linear velocity relative to the ``head`` site's, in its frame |
| ``target_position`` | (3,) | fetch only: the target relative to the ``head`` site, in its frame |

## Rewards
The product of the factors. Standing: ``tolerance(h, (s, inf), margin=s)`` (gaussian) of the
torso's and of the pelvis's height, ``s`` 0.9 of its height at the default pose (``qpos0``);
``tolerance(zz, (cos 30deg, inf), margin=cos 30deg + 1, sigmoid="linear", value_at_margin=0)``
of the skull's, torso's and pelvis's uprightness; ``tolerance(touch, (w, inf), margin=w,
sigmoid="linear", value_at_margin=0.9)`` of the touch sensors' sum, ``w`` the body weight
(gravity x the torso subtree's mass). Walk, trot, run: also ``(4 f + 1) / 5``, ``f`` the torso
frame's forward velocity's ``tolerance(v, (s, 2 s), margin=max(1, s), sigmoid="linear",
value_at_margin=0)``. Fetch: also ``(6 r + 1) / 7`` (1 once the ball is within twice the
target's radius of it), ``r`` the reciprocal tolerance (margin 2) of the mean distance of the
ball to the two bite sites, within the upper one's radius, and ``(t + 1) / 2``, ``t`` the
reciprocal tolerance (margin the floor's half size) of the ball's distance to the target,
within its radius.

## Starting State
The default pose (``qpos0``), turned to a yaw ``U(0, 2 pi)``; the root's x, y and yaw
velocities ``2 N(0, 1)``; each actuator's activation ``U`` in its ctrlrange (``act``, which
``reset_state`` sets). Fetch: then the ball 7.5 m from the centre at an azimuth ``U(0, 2 pi)``,
0.05 m up, thrown towards the centre (direction noise ``0.05 N(0, 1)``) at ``U(0, 5)`` m/s,
upwards as from a fall of ``U(0, 3)`` m. As dm_control, the reset's forward pass runs with
actuation disabled (``reset_without_actuation``), so the reset observation's accelerometer,
force and touch readings have no actuator forces in them.

## Episode End
Never terminated; truncated after 1000 steps (15 s).

## Arguments
``move_speed``, ``fetch`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``dog`` stand, walk, trot, run, fetch.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from mjvec.envs.dm_control.base import ControlSuiteTask, rows9
from mjvec.envs.dm_control.geometry import in_frame
from mjvec.envs.dm_control.randomizers import broadcast
from mjvec.envs.dm_control.rewards import tolerance
from mjvec.task import norm

__all__ = ["Dog"]

_TIME_LIMIT = 15
_WALK_SPEED = 1
_MIN_UPRIGHT_COSINE = float(np.cos(np.deg2rad(30)))
_STAND_HEIGHT_FRACTION = 0.9
_Z = slice(6, 9)  # zx, zy, zz of a row-major orientation matrix
_WALLS = ("wall_px", "wall_py", "wall_nx", "wall_ny")


def _with_columns(xp, rows, start: int, values):
    """``rows`` (``(n, k)``) with columns ``start:start + values.shape[1]`` replaced by ``values``."""
    return xp.concatenate((rows[:, :start], values, rows[:, start + values.shape[1]:]), axis=-1)


class Dog(ControlSuiteTask):
    model_file = "dog.xml"
    control_timestep = 0.015

    def __init__(self, move_speed: float = 0.0, fetch: bool = False, *, flat_observation: bool = False,
                 action_repeat: int = 1):
        self.move_speed, self.fetch = float(move_speed), bool(fetch)
        self.fields = ("xpos", "xmat", "sensordata", "act")
        if self.fetch:
            self.fields += ("site_xpos", "site_xmat", "geom_xpos", "cvel", "subtree_com")
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        if self.fetch:
            return  # dm_control's default floor (10 m, the file's) and every prop
        size = _TIME_LIMIT * (self.move_speed or _WALK_SPEED)  # stand's floor is walk's
        spec.geom("floor").size = [size, size, 0.1]
        spec.delete(spec.body("ball"))
        spec.delete(spec.geom("target"))
        for camera in ("ball", "head"):
            spec.delete(spec.camera(camera))
        for wall in _WALLS:
            spec.delete(spec.geom(wall))

    def find_ids(self, model):
        hinges = np.flatnonzero(model.jnt_type == mujoco.mjtJoint.mjJNT_HINGE)
        self._hinge_qpos, self._hinge_dof = model.jnt_qposadr[hinges].tolist(), model.jnt_dofadr[hinges].tolist()
        self._root = int(model.joint("root").qposadr[0])
        self._torso, self._pelvis, self._skull = (int(model.body(b).id) for b in ("torso", "pelvis", "skull"))

        def rows(*names):
            return [int(model.sensor(s).adr[0]) + k for s in names for k in range(int(model.sensor(s).dim[0]))]

        self._com_velocity = rows("torso_linvel")
        self._inertial = rows("accelerometer", "velocimeter", "gyro")
        self._foot_forces = rows("foot_L", "foot_R", "hand_L", "hand_R")
        self._touch = rows("palm_L", "palm_R", "sole_L", "sole_R")
        # dm_control measures these in every initialize_episode, from the default pose: the same each time
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        self._stand_height = data.xpos[[self._torso, self._pelvis], 2] * _STAND_HEIGHT_FRACTION
        self._body_weight = float(-model.opt.gravity[2] * model.body_subtreemass[self._torso])
        self._ctrlrange = model.actuator_ctrlrange.copy()
        self._floor = float(model.geom_size[model.geom("floor").id, 0])
        if self.fetch:
            self._ball, self._target = int(model.geom("ball").id), int(model.geom("target").id)
            self._head = int(model.site("head").id)
            self._bites = int(model.site("upper_bite").id), int(model.site("lower_bite").id)
            self._bite_radius = float(model.site_size[self._bites[0], 0])
            self._target_radius = float(model.geom_size[self._target, 0])
            self._ball_qpos = int(model.joint("ball_root").qposadr[0])
            self._ball_dof = int(model.joint("ball_root").dofadr[0])
            # mj_objectVelocity's bodies: the site's and the geom's, and their subtrees' roots
            self._head_body = int(model.site_bodyid[self._head])
            self._ball_body = int(model.geom_bodyid[self._ball])
            self._head_root = int(model.body_rootid[self._head_body])
            self._ball_root = int(model.body_rootid[self._ball_body])

    # -- observation and reward --------------------------------------------------------
    def observation(self, xp, data):
        xmat = rows9(xp, data.xmat)
        torso_frame = xmat[:, self._torso]
        obs = {
            "joint_angles": data.qpos[:, self._hinge_qpos],
            "joint_velocites": data.qvel[:, self._hinge_dof],
            "torso_pelvis_height": data.xpos[:, [self._torso, self._pelvis], 2],
            "z_projection": xp.concatenate(
                (xmat[:, self._skull, _Z], torso_frame[:, _Z], xmat[:, self._pelvis, _Z]), axis=-1),
            "torso_com_velocity": in_frame(xp, data.sensordata[:, self._com_velocity], torso_frame),
            "inertial_sensors": data.sensordata[:, self._inertial],
            "foot_forces": data.sensordata[:, self._foot_forces],
            "touch_sensors": data.sensordata[:, self._touch],
            "actuator_state": data.act,
        }
        if self.fetch:
            head_frame = rows9(xp, data.site_xmat)[:, self._head]
            head = data.site_xpos[:, self._head]
            velocity = (self._object_velocity(xp, data, data.geom_xpos[:, self._ball], self._ball_body, self._ball_root)
                        - self._object_velocity(xp, data, head, self._head_body, self._head_root))
            obs["ball_state"] = xp.concatenate(
                (in_frame(xp, data.geom_xpos[:, self._ball] - head, head_frame), in_frame(xp, velocity, head_frame)),
                axis=-1)
            obs["target_position"] = in_frame(xp, data.geom_xpos[:, self._target] - head, head_frame)
        return obs

    @staticmethod
    def _object_velocity(xp, data, pos, body: int, root: int):
        """``(n, 3)``: the linear velocity at ``pos`` of ``body``, in world axes, as ``mj_objectVelocity``
        (``mju_transformSpatial`` of ``cvel`` from the subtree's centre of mass: ``v - (pos - com) x w``)."""
        cvel = data.cvel[:, body]
        w, v = cvel[:, 0:3], cvel[:, 3:6]
        d = pos - data.subtree_com[:, root]
        cross = xp.stack((d[:, 1] * w[:, 2] - d[:, 2] * w[:, 1],
                          d[:, 2] * w[:, 0] - d[:, 0] * w[:, 2],
                          d[:, 0] * w[:, 1] - d[:, 1] * w[:, 0]), axis=-1)
        return v - cross

    def reward(self, xp, data):
        height = data.xpos[:, [self._torso, self._pelvis], 2]
        torso = tolerance(xp, height[:, 0], bounds=(self._stand_height[0], float("inf")), margin=self._stand_height[0])
        pelvis = tolerance(xp, height[:, 1], bounds=(self._stand_height[1], float("inf")), margin=self._stand_height[1])
        xmat = rows9(xp, data.xmat)
        upright = xp.stack([xmat[:, b, 8] for b in (self._skull, self._torso, self._pelvis)], axis=-1)
        upright = tolerance(xp, upright, bounds=(_MIN_UPRIGHT_COSINE, float("inf")), sigmoid="linear",
                            margin=_MIN_UPRIGHT_COSINE + 1, value_at_margin=0)
        touch = data.sensordata[:, self._touch]
        touch = ((touch[:, 0] + touch[:, 1]) + touch[:, 2]) + touch[:, 3]  # NumPy's sum of 4, in its order
        touch = tolerance(xp, touch, bounds=(self._body_weight, float("inf")), margin=self._body_weight,
                          sigmoid="linear", value_at_margin=0.9)
        factors = [torso, pelvis, upright[:, 0], upright[:, 1], upright[:, 2], touch]
        if self.move_speed:
            forward = in_frame(xp, data.sensordata[:, self._com_velocity], xmat[:, self._torso])[:, 0]
            forward = tolerance(xp, forward, bounds=(self.move_speed, 2 * self.move_speed),
                                margin=max(1.0, self.move_speed), value_at_margin=0, sigmoid="linear")
            factors.append((4 * forward + 1) / 5)
        if self.fetch:
            ball = data.geom_xpos[:, self._ball]
            mouth = 0.5 * (norm(xp, ball - data.site_xpos[:, self._bites[0]])
                           + norm(xp, ball - data.site_xpos[:, self._bites[1]]))
            reach = tolerance(xp, mouth, bounds=(0, self._bite_radius), sigmoid="reciprocal", margin=2)
            reach = (6 * reach + 1) / 7
            to_target = norm(xp, ball - data.geom_xpos[:, self._target])
            near = tolerance(xp, to_target, bounds=(0, self._target_radius), sigmoid="reciprocal", margin=self._floor)
            # let go of the ball once it is fetched
            factors += [xp.where(to_target < 2 * self._target_radius, 1.0, reach), (near + 1) / 2]
        reward = factors[0]
        for factor in factors[1:]:  # np.prod's order
            reward = reward * factor
        return reward

    # -- the starting state ---------------------------------------------------------------
    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n, r = rng.num_envs, self._root
        azimuth = rng.uniform(0.0, 2 * math.pi, 1)
        root_velocity = 2 * rng.standard_normal(3)  # x, y and yaw: qvel[0], qvel[1], qvel[5]
        act = rng.uniform(self._ctrlrange[:, 0], self._ctrlrange[:, 1], self.model.nu)
        zeros = xp.zeros((n, 1))
        quat = xp.concatenate((xp.cos(azimuth / 2), zeros, zeros, xp.sin(azimuth / 2)), axis=-1)
        qpos = _with_columns(xp, broadcast(xp, init_qpos, n), r + 3, quat)
        qvel = broadcast(xp, init_qvel, n)
        qvel = _with_columns(xp, qvel, 0, root_velocity[:, 0:2])
        qvel = _with_columns(xp, qvel, 5, root_velocity[:, 2:3])
        if self.fetch:  # the ball, thrown towards the centre at an upward angle
            radius = 0.75 * self._floor
            azimuth = rng.uniform(0.0, 2 * math.pi, 1)
            height, speed = rng.uniform(0.0, 3.0, 1), rng.uniform(0.0, 5.0, 1)
            noise = 0.05 * rng.standard_normal(2)
            position = xp.concatenate((radius * xp.sin(azimuth), radius * xp.cos(azimuth), 0.05 + zeros), axis=-1)
            qpos = _with_columns(xp, qpos, self._ball_qpos, position)
            direction = xp.concatenate((-xp.sin(azimuth), -xp.cos(azimuth)), axis=-1) + noise
            vertical = xp.sqrt(2 * -float(self.model.opt.gravity[2]) * height)
            qvel = _with_columns(xp, qvel, self._ball_dof, xp.concatenate((speed * direction, vertical), axis=-1))
        return qpos, qvel, act
