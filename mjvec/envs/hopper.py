"""Hopper-v5, as Gymnasium's ``HopperEnv`` (v5), written once over batches.

## Description
A planar one-legged robot (torso, thigh, leg, foot; 4 bodies, 3 actuated hinges);
the goal is to hop forward (+x) without falling.

## Action Space
``Box(-1, 1, (3,), float32)``: torques of thigh_joint, leg_joint, foot_joint.

## Observation Space
| index | observation | field |
|---|---|---|
| 0 | z of the torso | ``qpos[1]`` |
| 1 | angle of the torso | ``qpos[2]`` |
| 2-4 | joint angles (thigh, leg, foot) | ``qpos[3:6]`` |
| 5-10 | velocities (rootx, rootz, rooty, joints), clipped to [-10, 10] | ``qvel`` |
With ``exclude_current_positions_from_observation=False`` the x position
``qpos[0]`` comes first (12 entries).

## Rewards
``reward = healthy_reward * is_healthy + forward_reward_weight * dx/dt
- ctrl_cost_weight * sum(action**2)``; ``info`` holds ``reward_forward``,
``reward_ctrl``, ``reward_survive``, ``x_position``, ``z_distance_from_origin``
(``qpos[1] - init_qpos[1]``), ``x_velocity``.

## Starting State
``qpos0 + U(-s, s)`` and ``U(-s, s)`` velocities, ``s = reset_noise_scale``.

## Episode End
Terminated when unhealthy (if ``terminate_when_unhealthy``): healthy means every
entry of ``(qpos[2:], qvel)`` strictly inside ``healthy_state_range``, the z
``qpos[1]`` inside ``healthy_z_range`` and the angle ``qpos[2]`` inside
``healthy_angle_range``. Truncated after 1000 steps (``max_episode_steps``).

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``forward_reward_weight``, ``ctrl_cost_weight``, ``healthy_reward``,
``terminate_when_unhealthy``, ``healthy_state_range``, ``healthy_z_range``,
``healthy_angle_range``, ``reset_noise_scale``,
``exclude_current_positions_from_observation``.

## Version History
v5: Gymnasium's Hopper-v5, number for number.
"""

from __future__ import annotations

import numpy as np

from mjvec.task import Task

DEFAULT_CAMERA_CONFIG = {
    "trackbodyid": 2,
    "distance": 3.0,
    "lookat": np.array((0.0, 0.0, 1.15)),
    "elevation": -20.0,
}


class Hopper(Task):
    fields = ()

    def __init__(
        self,
        xml_file: str = "hopper.xml",
        frame_skip: int = 4,
        default_camera_config: dict[str, float | np.ndarray] = DEFAULT_CAMERA_CONFIG,
        forward_reward_weight: float = 1.0,
        ctrl_cost_weight: float = 1e-3,
        healthy_reward: float = 1.0,
        terminate_when_unhealthy: bool = True,
        healthy_state_range: tuple[float, float] | None = (-100.0, 100.0),
        healthy_z_range: tuple[float, float] = (0.7, float("inf")),
        healthy_angle_range: tuple[float, float] = (-0.2, 0.2),
        reset_noise_scale: float = 5e-3,
        exclude_current_positions_from_observation: bool = True,
    ):
        self.default_camera_config = default_camera_config
        self._forward_reward_weight = forward_reward_weight
        self._ctrl_cost_weight = ctrl_cost_weight
        self._healthy_reward = healthy_reward
        self._terminate_when_unhealthy = terminate_when_unhealthy
        self._healthy_state_range = healthy_state_range
        self._healthy_z_range = healthy_z_range
        self._healthy_angle_range = healthy_angle_range
        self.reset_noise_scale = reset_noise_scale
        self._skip = 1 if exclude_current_positions_from_observation else 0
        super().__init__(self.load_xml(xml_file), frame_skip)
        self.single_observation_space = self.observation_box(self.model.nq + self.model.nv - self._skip)

    def is_healthy(self, xp, data):
        """``(n,)`` bool: state (if it has a range), z and angle inside their healthy ranges."""
        z, angle = data.qpos[:, 1], data.qpos[:, 2]
        min_z, max_z = self._healthy_z_range
        min_angle, max_angle = self._healthy_angle_range
        healthy_z = xp.logical_and(min_z < z, z < max_z)
        healthy_angle = xp.logical_and(min_angle < angle, angle < max_angle)
        if self._healthy_state_range is None:  # Walker2d
            return healthy_z & healthy_angle
        state = xp.concatenate((data.qpos[:, 2:], data.qvel), axis=-1)
        min_state, max_state = self._healthy_state_range
        healthy_state = xp.all(xp.logical_and(min_state < state, state < max_state), axis=-1)
        return healthy_state & healthy_z & healthy_angle

    def before_step(self, xp, data):
        return {"x_position": data.qpos[:, 0]}

    def observe(self, xp, data):
        return xp.concatenate((data.qpos[:, self._skip :], xp.clip(data.qvel, -10, 10)), axis=-1)

    def evaluate(self, xp, data, action, before):
        x_position = data.qpos[:, 0]
        x_velocity = (x_position - before["x_position"]) / self.step_dt(data)
        is_healthy = self.is_healthy(xp, data)
        forward_reward = self._forward_reward_weight * x_velocity
        # bool * weight: a float (or int) array, as Gymnasium's `is_healthy * w`
        healthy_reward = is_healthy * self._healthy_reward
        ctrl_cost = self._ctrl_cost_weight * xp.sum(xp.square(action), axis=-1)
        reward = forward_reward + healthy_reward - ctrl_cost
        if self._terminate_when_unhealthy:
            terminated = xp.logical_not(is_healthy)
        else:
            terminated = xp.zeros(x_position.shape, dtype=bool)
        info = {
            "x_position": x_position,
            "z_distance_from_origin": data.qpos[:, 1] - self.init_qpos[1],
            "x_velocity": x_velocity,
            "reward_forward": forward_reward,
            "reward_ctrl": -ctrl_cost,
            "reward_survive": healthy_reward,
        }
        return reward, terminated, info

    def reset_info(self, xp, data):
        return {
            "x_position": data.qpos[:, 0],
            "z_distance_from_origin": data.qpos[:, 1] - self.init_qpos[1],
        }
