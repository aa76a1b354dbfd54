"""Swimmer-v5, as Gymnasium's ``SwimmerEnv`` (v5), written once over batches.

## Description
A three-segment swimmer in a viscous fluid, moving in the plane; the goal is to
swim forward (+x) by applying torques to its 2 rotors.

## Action Space
``Box(-1, 1, (2,), float32)``: torques of motor1_rot, motor2_rot.

## Observation Space
| index | observation | field |
|---|---|---|
| 0 | angle of the front tip | ``qpos[2]`` |
| 1-2 | rotor angles | ``qpos[3:5]`` |
| 3-7 | velocities (slider1, slider2, free_body_rot, rotors) | ``qvel`` |
With ``exclude_current_positions_from_observation=False`` the x and y positions
``qpos[0:2]`` come first (10 entries).

## Rewards
``reward = forward_reward_weight * dx/dt - ctrl_cost_weight * sum(action**2)``;
``info`` holds ``reward_forward``, ``reward_ctrl``, ``x_position``, ``y_position``,
``distance_from_origin`` (the norm of ``qpos[0:2]``), ``x_velocity``, ``y_velocity``.

## Starting State
``qpos0 + U(-s, s)`` and ``U(-s, s)`` velocities, ``s = reset_noise_scale``.

## Episode End
Never terminates; truncated after 1000 steps (``max_episode_steps``).

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``forward_reward_weight``, ``ctrl_cost_weight``, ``reset_noise_scale``,
``exclude_current_positions_from_observation``.

## Version History
v5: Gymnasium's Swimmer-v5, number for number.
"""

from __future__ import annotations

from mjvec.task import Task, norm


class Swimmer(Task):
    fields = ()

    def __init__(
        self,
        xml_file: str = "swimmer.xml",
        frame_skip: int = 4,
        default_camera_config: dict[str, float] | None = None,
        forward_reward_weight: float = 1.0,
        ctrl_cost_weight: float = 1e-4,
        reset_noise_scale: float = 0.1,
        exclude_current_positions_from_observation: bool = True,
    ):
        self.default_camera_config = default_camera_config
        self._forward_reward_weight = forward_reward_weight
        self._ctrl_cost_weight = ctrl_cost_weight
        self.reset_noise_scale = reset_noise_scale
        self._skip = 2 if exclude_current_positions_from_observation else 0
        super().__init__(self.load_xml(xml_file), frame_skip)
        self.single_observation_space = self.observation_box(self.model.nq + self.model.nv - self._skip)

    def before_step(self, xp, data):
        return {"xy_position": data.qpos[:, 0:2]}

    def observe(self, xp, data):
        return xp.concatenate((data.qpos[:, self._skip :], data.qvel), axis=-1)

    def evaluate(self, xp, data, action, before):
        xy_position = data.qpos[:, 0:2]
        xy_velocity = (xy_position - before["xy_position"]) / self.step_dt(data)[:, None]
        x_velocity, y_velocity = xy_velocity[:, 0], xy_velocity[:, 1]
        forward_reward = self._forward_reward_weight * x_velocity
        ctrl_cost = self._ctrl_cost_weight * xp.sum(xp.square(action), axis=-1)
        reward = forward_reward - ctrl_cost
        info = {
            "x_position": xy_position[:, 0],
            "y_position": xy_position[:, 1],
            "distance_from_origin": norm(xp, xy_position),
            "x_velocity": x_velocity,
            "y_velocity": y_velocity,
            "reward_forward": forward_reward,
            "reward_ctrl": -ctrl_cost,
        }
        return reward, xp.zeros(x_velocity.shape, dtype=bool), info

    def reset_info(self, xp, data):
        return {
            "x_position": data.qpos[:, 0],
            "y_position": data.qpos[:, 1],
            "distance_from_origin": norm(xp, data.qpos[:, 0:2]),
        }
