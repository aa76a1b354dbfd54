"""Reacher-v5, as Gymnasium's ``ReacherEnv`` (v5), written once over batches.

## Description
A planar arm of two links on two hinges; the goal is to bring its fingertip
to a target placed at random in a disc of radius 0.2 around the base.

## Action Space
``Box(-1, 1, (2,), float32)``: torques of joint0 (base) and joint1 (elbow).

## Observation Space
| index | observation | field |
|---|---|---|
| 0-1 | cosines of the two arm angles | ``cos(qpos[0:2])`` |
| 2-3 | sines of the two arm angles | ``sin(qpos[0:2])`` |
| 4-5 | x, y of the target | ``qpos[2:4]`` |
| 6-7 | angular velocities of the two arm joints | ``qvel[0:2]`` |
| 8-9 | x, y of fingertip minus target | ``(xpos[fingertip] - xpos[target])[:2]`` |

## Rewards
``reward = reward_dist + reward_ctrl`` with
``reward_dist = -|xpos[fingertip] - xpos[target]| * reward_dist_weight`` and
``reward_ctrl = -sum(action**2) * reward_control_weight``; ``info`` holds
``reward_dist`` and ``reward_ctrl``.

## Starting State
Arm angles ``qpos0 + U(-0.1, 0.1)``; the target is drawn from ``U(-0.2, 0.2)^2``
until its norm is below 0.2 (rejection sampling, one stream per env as
Gymnasium's); arm velocities ``U(-0.005, 0.005)``, target velocities 0.

## Episode End
Never terminates; truncated after 50 steps (``max_episode_steps``).

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``reward_dist_weight``, ``reward_control_weight``.

## Version History
v5: Gymnasium's Reacher-v5, number for number.
"""

from __future__ import annotations

import mujoco

from mjvec.task import Task, norm

DEFAULT_CAMERA_CONFIG = {"trackbodyid": 0}


class Reacher(Task):
    fields = ("xpos",)

    def __init__(
        self,
        xml_file: str = "reacher.xml",
        frame_skip: int = 2,
        default_camera_config: dict | None = None,
        reward_dist_weight: float = 1,
        reward_control_weight: float = 1,
    ):
        self.default_camera_config = (
            dict(DEFAULT_CAMERA_CONFIG) if default_camera_config is None else default_camera_config
        )
        self._reward_dist_weight = reward_dist_weight
        self._reward_control_weight = reward_control_weight
        super().__init__(self.load_xml(xml_file), frame_skip)
        self._fingertip = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, "fingertip")
        self._target = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, "target")
        self.single_observation_space = self.observation_box(10)

    def _fingertip_to_target(self, data):
        return data.xpos[:, self._fingertip] - data.xpos[:, self._target]

    def observe(self, xp, data):
        theta = data.qpos[:, :2]
        return xp.concatenate(
            (
                xp.cos(theta),
                xp.sin(theta),
                data.qpos[:, 2:],
                data.qvel[:, :2],
                self._fingertip_to_target(data)[:, :2],
            ),
            axis=-1,
        )

    def evaluate(self, xp, data, action, before):
        reward_dist = -norm(xp, self._fingertip_to_target(data)) * self._reward_dist_weight
        # in the action's dtype (float32), as Gymnasium's `-np.square(action).sum() * w`
        reward_ctrl = -xp.sum(xp.square(action), axis=-1) * self._reward_control_weight
        reward = reward_dist + reward_ctrl
        info = {"reward_dist": reward_dist, "reward_ctrl": reward_ctrl}
        return reward, xp.zeros(reward.shape, dtype=bool), info

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        nq, nv = self.model.nq, self.model.nv
        qpos = rng.uniform(low=-0.1, high=0.1, size=nq) + init_qpos
        goal = rng.uniform_until(
            lambda one: one.uniform(low=-0.2, high=0.2, size=2),
            lambda xp_, goal: norm(xp_, goal) < 0.2,
        )
        qvel = init_qvel + rng.uniform(low=-0.005, high=0.005, size=nv)
        n = qpos.shape[0]
        qpos = xp.concatenate((qpos[:, :-2], goal), axis=-1)
        qvel = xp.concatenate((qvel[:, :-2], xp.zeros((n, 2), dtype=qvel.dtype)), axis=-1)
        return qpos, qvel
