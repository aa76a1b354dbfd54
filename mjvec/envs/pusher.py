"""Pusher-v5, as Gymnasium's ``PusherEnv`` (v5), written once over batches.

## Description
A 7-joint robot arm (shoulder, elbow, forearm, wrist) on a table; the goal is
to push a cylinder (the object) with its fingertip onto a fixed goal position.

## Action Space
``Box(-2, 2, (7,), float32)``: torques of the shoulder pan, shoulder lift,
upper-arm roll, elbow flex, forearm roll, wrist flex and wrist roll joints.

## Observation Space
| index | observation | field |
|---|---|---|
| 0-6 | arm joint angles | ``qpos[0:7]`` |
| 7-13 | arm joint velocities | ``qvel[0:7]`` |
| 14-16 | x, y, z of the fingertip | ``xpos[tips_arm]`` |
| 17-19 | x, y, z of the object | ``xpos[object]`` |
| 20-22 | x, y, z of the goal | ``xpos[goal]`` |

## Rewards
``reward = reward_dist + reward_ctrl + reward_near`` with
``reward_dist = -|xpos[object] - xpos[goal]| * reward_dist_weight``,
``reward_ctrl = -sum(action**2) * reward_control_weight`` and
``reward_near = -|xpos[object] - xpos[tips_arm]| * reward_near_weight``;
``info`` holds the three terms.

## Starting State
Arm at ``qpos0``; the object's (x, y) is drawn from ``U(-0.3, 0) x U(-0.2, 0.2)``
until it is farther than 0.17 from the origin (rejection sampling, one stream
per env as Gymnasium's); the goal's slide joints at 0; arm velocities
``U(-0.005, 0.005)``, object and goal velocities 0.

## Episode End
Never terminates; truncated after 100 steps (``max_episode_steps``).

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``reward_near_weight``, ``reward_dist_weight``, ``reward_control_weight``.

## Version History
v5: Gymnasium's Pusher-v5, number for number.
"""

from __future__ import annotations

import mujoco

from mjvec.task import Task, norm

DEFAULT_CAMERA_CONFIG = {"trackbodyid": -1, "distance": 4.0}


class Pusher(Task):
    fields = ("xpos",)

    def __init__(
        self,
        xml_file: str = "pusher_v5.xml",
        frame_skip: int = 5,
        default_camera_config: dict | None = None,
        reward_near_weight: float = 0.5,
        reward_dist_weight: float = 1,
        reward_control_weight: float = 0.1,
    ):
        self.default_camera_config = (
            dict(DEFAULT_CAMERA_CONFIG) if default_camera_config is None else default_camera_config
        )
        self._reward_near_weight = reward_near_weight
        self._reward_dist_weight = reward_dist_weight
        self._reward_control_weight = reward_control_weight
        super().__init__(self.load_xml(xml_file), frame_skip)
        self._tips_arm, self._object, self._goal = (
            mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)
            for name in ("tips_arm", "object", "goal")
        )
        self.single_observation_space = self.observation_box(23)

    def observe(self, xp, data):
        return xp.concatenate(
            (
                data.qpos[:, :7],
                data.qvel[:, :7],
                data.xpos[:, self._tips_arm],
                data.xpos[:, self._object],
                data.xpos[:, self._goal],
            ),
            axis=-1,
        )

    def evaluate(self, xp, data, action, before):
        obj = data.xpos[:, self._object]
        reward_near = -norm(xp, obj - data.xpos[:, self._tips_arm]) * self._reward_near_weight
        reward_dist = -norm(xp, obj - data.xpos[:, self._goal]) * self._reward_dist_weight
        # in the action's dtype (float32), as Gymnasium's `-np.square(action).sum() * w`
        reward_ctrl = -xp.sum(xp.square(action), axis=-1) * self._reward_control_weight
        reward = reward_dist + reward_ctrl + reward_near
        info = {"reward_dist": reward_dist, "reward_ctrl": reward_ctrl, "reward_near": reward_near}
        return reward, xp.zeros(reward.shape, dtype=bool), info

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        # Gymnasium writes the object and goal into `self.init_qpos` itself; every
        # reset overwrites exactly those entries, so the state is qpos0[:-4] + these.
        cylinder = rng.uniform_until(
            lambda one: xp.concatenate(
                (one.uniform(low=-0.3, high=0, size=1), one.uniform(low=-0.2, high=0.2, size=1)), axis=-1
            ),
            # distance to the goal slide position (0, 0)
            lambda xp_, cylinder: norm(xp_, cylinder) > 0.17,
        )
        qvel = init_qvel + rng.uniform(low=-0.005, high=0.005, size=self.model.nv)
        n = cylinder.shape[0]
        arm = xp.broadcast_to(init_qpos[:-4], (n, self.model.nq - 4))
        zeros = xp.zeros((n, 2), dtype=qvel.dtype)
        qpos = xp.concatenate((arm, cylinder, zeros), axis=-1)
        qvel = xp.concatenate((qvel[:, :-4], zeros, zeros), axis=-1)
        return qpos, qvel
