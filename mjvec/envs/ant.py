"""Ant-v5, as Gymnasium's ``AntEnv`` (v5), written once over batches.

## Description
A quadruped: a torso with four legs of two links each; the goal is to move
forward (+x) by applying torques to the 8 hinges.

## Action Space
``Box(-1, 1, (8,), float32)``: torques of the hip and ankle of each leg.

## Observation Space
| index | observation | field |
|---|---|---|
| 0 | z of the torso | ``qpos[2]`` |
| 1-4 | orientation of the torso (w, x, y, z) | ``qpos[3:7]`` |
| 5-12 | hip and ankle angles | ``qpos[7:15]`` |
| 13-18 | torso linear and angular velocity | ``qvel[0:6]`` |
| 19-26 | hip and ankle angular velocities | ``qvel[6:14]`` |
| 27-104 | external contact wrench of bodies 1..13, clipped to ``contact_force_range`` | ``cfrc_ext[1:]`` |
With ``exclude_current_positions_from_observation=False`` x and y (``qpos[0:2]``)
come first; with ``include_cfrc_ext_in_observation=False`` the last 78 are absent.

## Rewards
``reward = healthy_reward + forward_reward_weight * dx/dt
- ctrl_cost_weight * sum(action**2) - contact_cost_weight * sum(clip(cfrc_ext)**2)``,
``dx/dt`` from the main body's ``xpos``. ``info``: ``reward_forward``,
``reward_ctrl``, ``reward_contact``, ``reward_survive``, ``x_position``,
``y_position``, ``distance_from_origin``, ``x_velocity``, ``y_velocity``.

## Starting State
``qpos0 + U(-s, s)`` and ``N(0, 1) * s`` velocities, ``s = reset_noise_scale``.

## Episode End
Terminated when unhealthy (state not finite, or torso z outside
``healthy_z_range``) if ``terminate_when_unhealthy``; truncated after 1000 steps.

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``forward_reward_weight``, ``ctrl_cost_weight``, ``contact_cost_weight``,
``healthy_reward``, ``main_body``, ``terminate_when_unhealthy``,
``healthy_z_range``, ``contact_force_range``, ``reset_noise_scale``,
``exclude_current_positions_from_observation``, ``include_cfrc_ext_in_observation``.

## Version History
v5: Gymnasium's Ant-v5, number for number except what comes from ``cfrc_ext`` (its
observation entries, ``reward_contact`` and so the reward): see docs/parity.md.
"""

from __future__ import annotations

from mjvec.task import Task, norm


class Ant(Task):
    velocity_noise = "normal"
    fields = ("xpos", "cfrc_ext")

    def __init__(
        self,
        xml_file: str = "ant.xml",
        frame_skip: int = 5,
        default_camera_config: dict | None = None,
        forward_reward_weight: float = 1,
        ctrl_cost_weight: float = 0.5,
        contact_cost_weight: float = 5e-4,
        healthy_reward: float = 1.0,
        main_body: int | str = 1,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        contact_force_range: tuple[float, float] = (-1.0, 1.0),
        reset_noise_scale: float = 0.1,
        exclude_current_positions_from_observation: bool = True,
        include_cfrc_ext_in_observation: bool = True,
    ):
        self.default_camera_config = default_camera_config or {"distance": 4.0}
        self._forward_reward_weight = forward_reward_weight
        self._ctrl_cost_weight = ctrl_cost_weight
        self._contact_cost_weight = contact_cost_weight
        self._healthy_reward = healthy_reward
        self._terminate_when_unhealthy = terminate_when_unhealthy
        self._healthy_z_range = healthy_z_range
        self._contact_force_range = contact_force_range
        self.reset_noise_scale = reset_noise_scale
        self._skip = 2 if exclude_current_positions_from_observation else 0
        self._include_cfrc_ext = include_cfrc_ext_in_observation
        super().__init__(self.load_xml(xml_file), frame_skip)
        m = self.model
        self._main_body = main_body if not isinstance(main_body, str) else m.body(main_body).id
        if not 0 <= self._main_body < m.nbody:
            raise ValueError(f"`main_body` must be a body of the model (0..{m.nbody - 1}), got {main_body!r}")
        size = m.nq + m.nv - self._skip + (m.nbody - 1) * 6 * include_cfrc_ext_in_observation
        self.single_observation_space = self.observation_box(size)

    def _contact_forces(self, xp, data):
        low, high = self._contact_force_range
        return xp.clip(data.cfrc_ext, low, high)

    def _is_healthy(self, xp, data):
        low, high = self._healthy_z_range
        z = data.qpos[:, 2]
        finite = xp.all(xp.isfinite(data.qpos), axis=-1) & xp.all(xp.isfinite(data.qvel), axis=-1)
        return finite & (low <= z) & (z <= high)

    def before_step(self, xp, data):
        return {"xy": data.xpos[:, self._main_body, :2]}

    def observe(self, xp, data):
        parts = [data.qpos[:, self._skip :], data.qvel]
        if self._include_cfrc_ext:
            forces = self._contact_forces(xp, data)[:, 1:]
            parts.append(xp.reshape(forces, (forces.shape[0], -1)))
        return xp.concatenate(parts, axis=-1)

    def evaluate(self, xp, data, action, before):
        xy_velocity = (data.xpos[:, self._main_body, :2] - before["xy"]) / self.step_dt(data)[:, None]
        x_velocity, y_velocity = xy_velocity[:, 0], xy_velocity[:, 1]
        healthy = self._is_healthy(xp, data)

        forward_reward = x_velocity * self._forward_reward_weight
        healthy_reward = healthy * self._healthy_reward
        rewards = forward_reward + healthy_reward
        ctrl_cost = self._ctrl_cost_weight * xp.sum(xp.square(action), axis=-1)
        forces = self._contact_forces(xp, data)
        n = forces.shape[0]
        contact_cost = self._contact_cost_weight * xp.sum(xp.square(xp.reshape(forces, (n, -1))), axis=-1)
        costs = ctrl_cost + contact_cost
        reward = rewards - costs

        terminated = ~healthy if self._terminate_when_unhealthy else xp.zeros_like(healthy)
        info = {
            **self.reset_info(xp, data),
            "x_velocity": x_velocity,
            "y_velocity": y_velocity,
            "reward_forward": forward_reward,
            "reward_ctrl": -ctrl_cost,
            "reward_contact": -contact_cost,
            "reward_survive": healthy_reward,
        }
        return reward, terminated, info

    def reset_info(self, xp, data):
        return {
            "x_position": data.qpos[:, 0],
            "y_position": data.qpos[:, 1],
            "distance_from_origin": norm(xp, data.qpos[:, 0:2]),
        }
