"""HumanoidStandup-v5, as Gymnasium's ``HumanoidStandupEnv`` (v5), written once over batches.

## Description
Humanoid-v5's robot starts lying on its back; the goal is to stand up and stay up,
rewarded for the height of its torso.

## Action Space
``Box(-0.4, 0.4, (17,), float32)``: torques of the abdomen (y, z, x), right hip
(x, z, y), right knee, left hip (x, z, y), left knee, right shoulder (1, 2),
right elbow, left shoulder (1, 2), left elbow.

## Observation Space
| index | observation | field |
|---|---|---|
| 0-21 | torso z, orientation quaternion, joint angles | ``qpos[2:24]`` |
| 22-44 | torso linear/angular velocity, joint velocities | ``qvel`` |
| 45-174 | com-based inertia of the 13 bodies (10 each) | ``cinert[1:]`` |
| 175-252 | com-based velocity of the 13 bodies (6 each) | ``cvel[1:]`` |
| 253-269 | actuator forces on the 17 joints | ``qfrc_actuator[6:]`` |
| 270-347 | com-based external (contact) forces of the 13 bodies (6 each) | ``cfrc_ext[1:]`` |
With ``exclude_current_positions_from_observation=False`` the torso's x and y
``qpos[0:2]`` come first; each ``include_*_in_observation=False`` drops its row.

## Rewards
``reward = uph_cost - ctrl_cost - impact_cost + 1`` with
``uph_cost = z / timestep`` (the torso's height over the env's own physics step,
not over ``dt``), ``ctrl_cost = ctrl_cost_weight * sum(ctrl**2)`` and
``impact_cost = clip(impact_cost_weight * sum(cfrc_ext**2), *impact_cost_range)``.
As in Gymnasium, ``uph_cost_weight`` is accepted but not used. ``info`` holds
``reward_linup``, ``reward_quadctrl``, ``reward_impact``, ``x_position``,
``y_position``, ``z_distance_from_origin``, ``tendon_length`` and ``tendon_velocity``.

## Starting State
``qpos0 + U(-s, s)`` and ``U(-s, s)`` velocities, ``s = reset_noise_scale``
(lying down, torso at z = 0.105).

## Episode End
Never terminates; truncated after 1000 steps (``max_episode_steps``).

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``uph_cost_weight``, ``ctrl_cost_weight``, ``impact_cost_weight``,
``impact_cost_range``, ``reset_noise_scale``,
``exclude_current_positions_from_observation``, ``include_cinert_in_observation``,
``include_cvel_in_observation``, ``include_qfrc_actuator_in_observation``,
``include_cfrc_ext_in_observation``. mjvec adds ``solver``: ``None`` (the MJCF's PGS
solver, as Gymnasium), ``"newton"`` or ``"cg"``; ``solver="newton"`` is the explicit
MJX variant, as Humanoid's (docs/mjx.md).

## Version History
v5: Gymnasium's HumanoidStandup-v5, number for number except what comes from ``cfrc_ext``
(its observation entries, ``reward_impact`` and so the reward). Gymnasium computes
cfrc_ext from the last Runge-Kutta stage of each step; the CPU backend computes it with
an ``mj_forward`` at the step's final state (zero after a reset, as Gymnasium's): see
docs/parity.md for the measured bounds.
"""

from __future__ import annotations

import numpy as np

from mjvec.envs.humanoid import (
    humanoid_observation,
    humanoid_observation_size,
    included_parts,
    load_with_solver,
    squared_sum,
)
from mjvec.task import Task

__all__ = ["HumanoidStandup"]

DEFAULT_CAMERA_CONFIG = {
    "trackbodyid": 1,
    "distance": 4.0,
    "lookat": np.array((0.0, 0.0, 0.8925)),
    "elevation": -20.0,
}


class HumanoidStandup(Task):
    fields = ("cinert", "cvel", "qfrc_actuator", "cfrc_ext", "ten_length", "ten_velocity", "ctrl")

    def __init__(
        self,
        xml_file: str = "humanoidstandup.xml",
        frame_skip: int = 5,
        default_camera_config: dict = DEFAULT_CAMERA_CONFIG,
        uph_cost_weight: float = 1,
        ctrl_cost_weight: float = 0.1,
        impact_cost_weight: float = 0.5e-6,
        impact_cost_range: tuple[float, float] = (-np.inf, 10.0),
        reset_noise_scale: float = 1e-2,
        exclude_current_positions_from_observation: bool = True,
        include_cinert_in_observation: bool = True,
        include_cvel_in_observation: bool = True,
        include_qfrc_actuator_in_observation: bool = True,
        include_cfrc_ext_in_observation: bool = True,
        solver: str | None = None,
    ):
        self.default_camera_config = default_camera_config
        self._uph_cost_weight = uph_cost_weight  # unused, as in Gymnasium
        self._ctrl_cost_weight = ctrl_cost_weight
        self._impact_cost_weight = impact_cost_weight
        self._impact_cost_range = impact_cost_range
        self.reset_noise_scale = reset_noise_scale
        self._skip = 2 if exclude_current_positions_from_observation else 0
        self._include = included_parts(
            include_cinert_in_observation,
            include_cvel_in_observation,
            include_qfrc_actuator_in_observation,
            include_cfrc_ext_in_observation,
        )
        super().__init__(load_with_solver(xml_file, solver), frame_skip)
        self.single_observation_space = self.observation_box(
            humanoid_observation_size(self.model, self._skip, self._include)
        )

    def observe(self, xp, data):
        return humanoid_observation(xp, data, self._skip, self._include)

    def evaluate(self, xp, data, action, before):
        uph_cost = (data.qpos[:, 2] - 0) / data.timestep
        # the applied control (float64), not the float32 action
        quad_ctrl_cost = self._ctrl_cost_weight * squared_sum(xp, data.ctrl)
        quad_impact_cost = xp.clip(
            self._impact_cost_weight * squared_sum(xp, data.cfrc_ext), *self._impact_cost_range
        )
        reward = uph_cost - quad_ctrl_cost - quad_impact_cost + 1
        info = {
            **self.reset_info(xp, data),
            "reward_linup": uph_cost,
            "reward_quadctrl": -quad_ctrl_cost,
            "reward_impact": -quad_impact_cost,
        }
        return reward, xp.zeros(uph_cost.shape, dtype=bool), info

    def reset_info(self, xp, data):
        return {
            "x_position": data.qpos[:, 0],
            "y_position": data.qpos[:, 1],
            "z_distance_from_origin": data.qpos[:, 2] - self.init_qpos[2],
            "tendon_length": data.ten_length,
            "tendon_velocity": data.ten_velocity,
        }
