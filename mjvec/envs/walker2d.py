"""Walker2d-v5, as Gymnasium's ``Walker2dEnv`` (v5), written once over batches.

## Description
A planar two-legged robot (torso, then thigh, leg and foot on each side; 6
actuated hinges); the goal is to walk forward (+x) without falling. v5's model
``walker2d_v5.xml`` gives both feet the same friction.

## Action Space
``Box(-1, 1, (6,), float32)``: torques of thigh, leg, foot (right), then thigh,
leg, foot (left).

## Observation Space
| index | observation | field |
|---|---|---|
| 0 | z of the torso | ``qpos[1]`` |
| 1 | angle of the torso | ``qpos[2]`` |
| 2-4 | right joint angles (thigh, leg, foot) | ``qpos[3:6]`` |
| 5-7 | left joint angles (thigh, leg, foot) | ``qpos[6:9]`` |
| 8-16 | velocities (rootx, rootz, rooty, joints), clipped to [-10, 10] | ``qvel`` |
With ``exclude_current_positions_from_observation=False`` the x position
``qpos[0]`` comes first (18 entries).

## Rewards
``reward = healthy_reward * is_healthy + forward_reward_weight * dx/dt
- ctrl_cost_weight * sum(action**2)``; ``info`` holds ``reward_forward``,
``reward_ctrl``, ``reward_survive``, ``x_position``, ``z_distance_from_origin``
(``qpos[1] - init_qpos[1]``), ``x_velocity``.

## Starting State
``qpos0 + U(-s, s)`` and ``U(-s, s)`` velocities, ``s = reset_noise_scale``.

## Episode End
Terminated when unhealthy (if ``terminate_when_unhealthy``): healthy means the z
``qpos[1]`` strictly inside ``healthy_z_range`` and the angle ``qpos[2]`` inside
``healthy_angle_range``. Truncated after 1000 steps (``max_episode_steps``).

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``forward_reward_weight``, ``ctrl_cost_weight``, ``healthy_reward``,
``terminate_when_unhealthy``, ``healthy_z_range``, ``healthy_angle_range``,
``reset_noise_scale``, ``exclude_current_positions_from_observation``.

## Version History
v5: Gymnasium's Walker2d-v5, number for number.
"""

from __future__ import annotations

import numpy as np

from mjvec.envs.hopper import Hopper

DEFAULT_CAMERA_CONFIG = {
    "trackbodyid": 2,
    "distance": 4.0,
    "lookat": np.array((0.0, 0.0, 1.15)),
    "elevation": -20.0,
}


class Walker2d(Hopper):
    """Hopper's task on a two-legged walker: its healthy test has no state range."""

    def __init__(
        self,
        xml_file: str = "walker2d_v5.xml",
        frame_skip: int = 4,
        default_camera_config: dict[str, float | np.ndarray] = DEFAULT_CAMERA_CONFIG,
        forward_reward_weight: float = 1.0,
        ctrl_cost_weight: float = 1e-3,
        healthy_reward: float = 1.0,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.8, 2.0),
        healthy_angle_range: tuple[float, float] = (-1.0, 1.0),
        reset_noise_scale: float = 5e-3,
        exclude_current_positions_from_observation: bool = True,
    ):
        super().__init__(
            xml_file=xml_file,
            frame_skip=frame_skip,
            default_camera_config=default_camera_config,
            forward_reward_weight=forward_reward_weight,
            ctrl_cost_weight=ctrl_cost_weight,
            healthy_reward=healthy_reward,
            terminate_when_unhealthy=terminate_when_unhealthy,
            healthy_state_range=None,
            healthy_z_range=healthy_z_range,
            healthy_angle_range=healthy_angle_range,
            reset_noise_scale=reset_noise_scale,
            exclude_current_positions_from_observation=exclude_current_positions_from_observation,
        )
