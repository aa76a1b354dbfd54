"""Swimmer: the Control Suite's n-link swimmer, as dm_control's ``suite/swimmer.py``.

## Description
A planar chain of ``n`` capsules (a head with root x, y and yaw, then ``n - 1`` hinged
segments) in a viscous fluid, without contacts; 0.002 s steps, 15 physics steps per env
step (0.03 s). The task: bring the nose to a target. The model is built at make time as
dm_control builds it: ``swimmer.xml``'s head, then the segments, each with a hinge of range
``+-360 / n`` degrees, a motor, a velocimeter and a gyro; the tracking cameras moved away by
``n / 6`` (``MjSpec`` here, where dm_control edits the XML; the compiled models are equal).

## Action Space
``Box(-1, 1, (n - 1,))``: the joints' motors.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``joints`` | (n - 1,) | the segments' hinge angles |
| ``to_target`` | (2,) | nose to target, x and y in the head's frame |
| ``body_velocities`` | (3 n,) | per body (head first): local x, y velocity and z angular velocity |

## Rewards
``tolerance(|to_target|, (0, r), margin=5 r, sigmoid="long_tail")``, ``r`` = 0.1 the target's radius.

## Starting State
Every joint by ``randomize_limited_and_rotational_joints`` (the yaw in ``[-pi, pi]``, each hinge
in its range), at rest. First the target, a per-env model value (``geom_pos`` and its light's
``light_pos``, ``reset_model``): with probability 0.2 ``U(-0.3, 0.3)`` in x and y, else ``U(-2, 2)``.

## Episode End
Never terminated; truncated after 1000 steps (30 s).

## Arguments
``n_links`` (set by the registered id: 6 or 15), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``swimmer`` swimmer6, swimmer15.
"""

from __future__ import annotations

import mujoco
import numpy as np

from mjvec.envs.dm_control.base import ControlSuiteTask, rows9
from mjvec.envs.dm_control.geometry import in_frame
from mjvec.envs.dm_control.randomizers import broadcast, limited_and_rotational_joints
from mjvec.envs.dm_control.rewards import tolerance
from mjvec.task import norm

__all__ = ["Swimmer"]

_P_CLOSE, _CLOSE_BOX, _FAR_BOX = 0.2, 0.3, 2.0
#: sensordata of the head's own sensors (nose and target frame positions, head axes) before the
#: per-body velocimeter and gyro pairs
_BODY_SENSORS = 12


class Swimmer(ControlSuiteTask):
    model_file = "swimmer.xml"
    control_timestep = 0.03
    fields = ("xmat", "geom_xpos", "sensordata")
    reset_model_fields = ("geom_pos", "light_pos")

    def __init__(self, n_links: int = 6, *, flat_observation: bool = False, action_repeat: int = 1):
        if isinstance(n_links, bool) or not isinstance(n_links, (int, np.integer)) or n_links < 3:
            raise ValueError(f"`n_links` must be an int >= 3 (dm_control's swimmer needs 3 bodies), got {n_links!r}")
        self.n_links = int(n_links)
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        n = self.n_links
        head = spec.body("head")
        visual, inertial = spec.find_default("visual"), spec.find_default("inertial")
        parent = head
        for i in range(n - 1):  # as dm_control's _make_model, in its order
            body = parent.add_body(name=f"segment_{i}", pos=[0, 0.1, 0])
            body.add_geom(name=f"visual_{i}", default=visual)
            body.add_geom(name=f"inertial_{i}", default=inertial)
            body.add_site(name=f"site_{i}")
            body.add_joint(name=f"joint_{i}", range=[-360.0 / n, 360.0 / n])  # degrees, as the file's
            spec.add_actuator(name=f"motor_{i}", target=f"joint_{i}", trntype=mujoco.mjtTrn.mjTRN_JOINT)
            for kind, name in ((mujoco.mjtSensor.mjSENS_VELOCIMETER, "velocimeter"), (mujoco.mjtSensor.mjSENS_GYRO, "gyro")):
                spec.add_sensor(name=f"{name}_{i}", type=kind, objtype=mujoco.mjtObj.mjOBJ_SITE, objname=f"site_{i}")
            parent = body
        for camera in head.cameras:
            if camera.mode == mujoco.mjtCamLight.mjCAMLIGHT_TRACKCOM:
                camera.pos = np.asarray(camera.pos) * (n / 6.0)

    def find_ids(self, model):
        self._head = int(model.body("head").id)
        self._nose, self._target = int(model.geom("nose").id), int(model.geom("target").id)
        self._light = int(model.light("target_light").id)
        self._target_size = float(model.geom_size[self._target, 0])
        nbody = (model.nsensordata - _BODY_SENSORS) // 6
        self._velocities = [_BODY_SENSORS + 6 * b + k for b in range(nbody) for k in (0, 1, 5)]
        self._is_target = (np.arange(model.ngeom) == self._target)[None, :, None]
        self._is_light = (np.arange(model.nlight) == self._light)[None, :, None]
        self._xy = (np.arange(3) < 2)[None, None, :]

    def _nose_to_target(self, xp, data):
        to_target = data.geom_xpos[:, self._target] - data.geom_xpos[:, self._nose]
        return in_frame(xp, to_target, rows9(xp, data.xmat)[:, self._head])[:, :2]

    def observation(self, xp, data):
        return {"joints": data.qpos[:, 3:], "to_target": self._nose_to_target(xp, data),
                "body_velocities": data.sensordata[:, self._velocities]}

    def reward(self, xp, data):
        distance = norm(xp, self._nose_to_target(xp, data))
        return tolerance(xp, distance, bounds=(0.0, self._target_size), margin=5 * self._target_size,
                         sigmoid="long_tail")

    def reset_model(self, xp, rng):
        close = rng.uniform(0.0, 1.0, 1) < _P_CLOSE
        box = xp.where(close, _CLOSE_BOX, _FAR_BOX)
        xy = rng.uniform(-1.0, 1.0, 2) * box
        n = xy.shape[0]
        xyz = xp.concatenate((xy, xp.zeros((n, 1))), axis=-1)[:, None, :]
        geoms, lights = xp.asarray(self.model.geom_pos)[None], xp.asarray(self.model.light_pos)[None]
        return {"geom_pos": xp.where(self._is_target & self._xy, xyz, geoms),
                "light_pos": xp.where(self._is_light & self._xy, xyz, lights)}

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        return limited_and_rotational_joints(xp, rng, self.model, broadcast(xp, init_qpos, n)), broadcast(xp, init_qvel, n)
