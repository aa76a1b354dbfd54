"""HalfCheetah-v5, as Gymnasium's ``HalfCheetahEnv`` (v5), written once over batches.

## Description
A planar cheetah of 9 links and 8 joints; the goal is to run forward (+x) by
applying torques to its 6 joints.

## Action Space
``Box(-1, 1, (6,), float32)``: torques of bthigh, bshin, bfoot, fthigh, fshin, ffoot.

## Observation Space
| index | observation | field |
|---|---|---|
| 0 | z of the front tip | ``qpos[1]`` |
| 1 | angle of the front tip | ``qpos[2]`` |
| 2-7 | joint angles | ``qpos[3:9]`` |
| 8-16 | velocities (rootx, rootz, rooty, joints) | ``qvel`` |
With ``exclude_current_positions_from_observation=False`` the x position
``qpos[0]`` comes first (18 entries).

## Rewards
``reward = forward_reward_weight * dx/dt - ctrl_cost_weight * sum(action**2)``;
``info`` holds ``reward_forward``, ``reward_ctrl``, ``x_position``, ``x_velocity``.

## Starting State
``qpos0 + U(-s, s)`` and ``N(0, 1) * s`` velocities, ``s = reset_noise_scale``.

## Episode End
Never terminates; truncated after 1000 steps (``max_episode_steps``).

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``forward_reward_weight``, ``ctrl_cost_weight``, ``reset_noise_scale``,
``exclude_current_positions_from_observation``.

## Version History
v5: Gymnasium's HalfCheetah-v5, number for number.
"""

from __future__ import annotations

from mjvec.task import Task


class HalfCheetah(Task):
    velocity_noise = "normal"
    fields = ()

    def __init__(
        self,
        xml_file: str = "half_cheetah.xml",
        frame_skip: int = 5,
        default_camera_config: dict | None = None,
        forward_reward_weight: float = 1.0,
        ctrl_cost_weight: float = 0.1,
        reset_noise_scale: float = 0.1,
        exclude_current_positions_from_observation: bool = True,
    ):
        self.default_camera_config = default_camera_config or {"distance": 4.0}
        self._forward_reward_weight = forward_reward_weight
        self._ctrl_cost_weight = ctrl_cost_weight
        self.reset_noise_scale = reset_noise_scale
        self._skip = 1 if exclude_current_positions_from_observation else 0
        super().__init__(self.load_xml(xml_file), frame_skip)
        self.single_observation_space = self.observation_box(self.model.nq + self.model.nv - self._skip)

    def before_step(self, xp, data):
        return {"x_position": data.qpos[:, 0]}

    def observe(self, xp, data):
        return xp.concatenate((data.qpos[:, self._skip :], data.qvel), axis=-1)

    def evaluate(self, xp, data, action, before):
        x_position = data.qpos[:, 0]
        x_velocity = (x_position - before["x_position"]) / self.step_dt(data)
        forward_reward = self._forward_reward_weight * x_velocity
        ctrl_cost = self._ctrl_cost_weight * xp.sum(xp.square(action), axis=-1)
        reward = forward_reward - ctrl_cost
        info = {
            "x_position": x_position,
            "x_velocity": x_velocity,
            "reward_forward": forward_reward,
            "reward_ctrl": -ctrl_cost,
        }
        return reward, xp.zeros(x_position.shape, dtype=bool), info

    def reset_info(self, xp, data):
        return {"x_position": data.qpos[:, 0]}
