"""Humanoid-v5, as Gymnasium's ``HumanoidEnv`` (v5), written once over batches.

## Description
A 3D bipedal robot (torso, abdomen, two arms, two legs: 14 bodies, 17 hinge
joints on a free root); the goal is to walk forward (+x) as fast as possible
without falling over.

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
``reward = healthy_reward + forward_reward_weight * vx - ctrl_cost - contact_cost``
with ``vx`` the x velocity of the center of mass over the step,
``ctrl_cost = ctrl_cost_weight * sum(ctrl**2)`` and
``contact_cost = clip(contact_cost_weight * sum(cfrc_ext**2), *contact_cost_range)``;
``healthy_reward`` is paid while healthy. ``info`` holds ``reward_survive``,
``reward_forward``, ``reward_ctrl``, ``reward_contact``, ``x_position``,
``y_position``, ``distance_from_origin``, ``x_velocity``, ``y_velocity``,
``tendon_length`` and ``tendon_velocity``.

## Starting State
``qpos0 + U(-s, s)`` and ``U(-s, s)`` velocities, ``s = reset_noise_scale``
(standing, torso at z = 1.4).

## Episode End
Terminates when the torso's z leaves ``healthy_z_range`` (if
``terminate_when_unhealthy``); truncated after 1000 steps (``max_episode_steps``).

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``forward_reward_weight``, ``ctrl_cost_weight``, ``contact_cost_weight``,
``contact_cost_range``, ``healthy_reward``, ``terminate_when_unhealthy``,
``healthy_z_range``, ``reset_noise_scale``,
``exclude_current_positions_from_observation``, ``include_cinert_in_observation``,
``include_cvel_in_observation``, ``include_qfrc_actuator_in_observation``,
``include_cfrc_ext_in_observation``. mjvec adds ``solver``: ``None`` (the MJCF's PGS
solver, as Gymnasium), ``"newton"`` or ``"cg"``. MJX does not implement PGS, so
``solver="newton"`` is the explicit MJX variant (``backend="mjx"``): other physics
than Gymnasium's, on either backend (docs/mjx.md).

## Version History
v5: Gymnasium's Humanoid-v5, number for number except what comes from ``cfrc_ext``
(its observation entries, ``reward_contact`` and so the reward). Gymnasium computes
cfrc_ext from the last Runge-Kutta stage of each step; the CPU backend computes it with
an ``mj_forward`` at the step's final state (zero after a reset, as Gymnasium's): see
docs/parity.md for the measured bounds.
"""

from __future__ import annotations

import mujoco
import numpy as np

from mjvec.task import Task, norm

__all__ = [
    "Humanoid", "humanoid_observation", "humanoid_observation_size", "included_parts", "load_with_solver",
    "squared_sum",
]

SOLVERS = {"pgs": mujoco.mjtSolver.mjSOL_PGS, "cg": mujoco.mjtSolver.mjSOL_CG, "newton": mujoco.mjtSolver.mjSOL_NEWTON}

DEFAULT_CAMERA_CONFIG = {
    "trackbodyid": 1,
    "distance": 4.0,
    "lookat": np.array((0.0, 0.0, 2.0)),
    "elevation": -20.0,
}


def included_parts(cinert, cvel, qfrc_actuator, cfrc_ext) -> tuple[bool, bool, bool, bool]:
    """Which optional parts the observation has; as Gymnasium's ``is True`` test, only True counts."""
    return tuple(flag is True for flag in (cinert, cvel, qfrc_actuator, cfrc_ext))


def humanoid_observation_size(model, skip: int, include: tuple[bool, bool, bool, bool]) -> int:
    """Entries of ``humanoid_observation`` for ``model``; ``include`` as there."""
    cinert, cvel, qfrc_actuator, cfrc_ext = include
    size = model.nq - skip + model.nv
    size += (model.nbody - 1) * 10 * cinert
    size += (model.nbody - 1) * 6 * cvel
    size += (model.nv - 6) * qfrc_actuator
    size += (model.nbody - 1) * 6 * cfrc_ext
    return size


def humanoid_observation(xp, data, skip: int, include: tuple[bool, bool, bool, bool]):
    """``(n, size)``: qpos[skip:], qvel and, per ``include``, the bodies' cinert,
    cvel, cfrc_ext (world body left out) and the joints' qfrc_actuator, in that order."""
    n = data.qpos.shape[0]
    parts = [data.qpos[:, skip:], data.qvel]
    cinert, cvel, qfrc_actuator, cfrc_ext = include
    if cinert:
        parts.append(xp.reshape(data.cinert[:, 1:], (n, -1)))
    if cvel:
        parts.append(xp.reshape(data.cvel[:, 1:], (n, -1)))
    if qfrc_actuator:
        parts.append(data.qfrc_actuator[:, 6:])
    if cfrc_ext:
        parts.append(xp.reshape(data.cfrc_ext[:, 1:], (n, -1)))
    return xp.concatenate(parts, axis=-1)


def load_with_solver(xml_file: str, solver: str | None) -> mujoco.MjSpec:
    """The MJCF's spec, with its constraint solver replaced when ``solver`` is given."""
    if solver is not None and solver not in SOLVERS:
        raise ValueError(f"`solver` must be None or one of {list(SOLVERS)}, got {solver!r}")
    spec = Task.load_xml(xml_file)
    if solver is not None:
        spec.option.solver = SOLVERS[solver]
    return spec


def squared_sum(xp, x):
    """``sum(x**2)`` over all but the batch axis, as ``np.sum(np.square(x))`` of one row."""
    return xp.sum(xp.reshape(xp.square(x), (x.shape[0], -1)), axis=-1)


class Humanoid(Task):
    fields = ("xipos", "cinert", "cvel", "qfrc_actuator", "cfrc_ext", "ten_length", "ten_velocity", "ctrl")

    def __init__(
        self,
        xml_file: str = "humanoid.xml",
        frame_skip: int = 5,
        default_camera_config: dict = DEFAULT_CAMERA_CONFIG,
        forward_reward_weight: float = 1.25,
        ctrl_cost_weight: float = 0.1,
        contact_cost_weight: float = 5e-7,
        contact_cost_range: tuple[float, float] = (-np.inf, 10.0),
        healthy_reward: float = 5.0,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (1.0, 2.0),
        reset_noise_scale: float = 1e-2,
        exclude_current_positions_from_observation: bool = True,
        include_cinert_in_observation: bool = True,
        include_cvel_in_observation: bool = True,
        include_qfrc_actuator_in_observation: bool = True,
        include_cfrc_ext_in_observation: bool = True,
        solver: str | None = None,
    ):
        self.default_camera_config = default_camera_config
        self._forward_reward_weight = forward_reward_weight
        self._ctrl_cost_weight = ctrl_cost_weight
        self._contact_cost_weight = contact_cost_weight
        self._contact_cost_range = contact_cost_range
        self._healthy_reward = healthy_reward
        self._terminate_when_unhealthy = terminate_when_unhealthy
        self._healthy_z_range = healthy_z_range
        self.reset_noise_scale = reset_noise_scale
        self._skip = 2 if exclude_current_positions_from_observation else 0
        self._include = included_parts(
            include_cinert_in_observation,
            include_cvel_in_observation,
            include_qfrc_actuator_in_observation,
            include_cfrc_ext_in_observation,
        )
        super().__init__(load_with_solver(xml_file, solver), frame_skip)
        self._body_mass = self.model.body_mass.copy()
        self._total_mass = self._body_mass.sum()
        self.single_observation_space = self.observation_box(
            humanoid_observation_size(self.model, self._skip, self._include)
        )

    def _mass_center(self, xp, data):
        # Gymnasium's mass_center: this einsum sums over bodies in the same order
        return (xp.einsum("b,nbj->nj", self._body_mass, data.xipos) / self._total_mass)[:, 0:2]

    def before_step(self, xp, data):
        return {"xy_position": self._mass_center(xp, data)}

    def observe(self, xp, data):
        return humanoid_observation(xp, data, self._skip, self._include)

    def evaluate(self, xp, data, action, before):
        xy_velocity = (self._mass_center(xp, data) - before["xy_position"]) / self.step_dt(data)[:, None]
        x_velocity, y_velocity = xy_velocity[:, 0], xy_velocity[:, 1]

        min_z, max_z = self._healthy_z_range
        z = data.qpos[:, 2]
        is_healthy = (min_z < z) & (z < max_z)
        healthy_reward = is_healthy * self._healthy_reward
        forward_reward = self._forward_reward_weight * x_velocity
        # the applied control (float64), not the float32 action
        ctrl_cost = self._ctrl_cost_weight * squared_sum(xp, data.ctrl)
        contact_cost = xp.clip(self._contact_cost_weight * squared_sum(xp, data.cfrc_ext), *self._contact_cost_range)
        reward = (forward_reward + healthy_reward) - (ctrl_cost + contact_cost)
        terminated = ~is_healthy & self._terminate_when_unhealthy

        info = {
            **self.reset_info(xp, data),
            "x_velocity": x_velocity,
            "y_velocity": y_velocity,
            "reward_survive": healthy_reward,
            "reward_forward": forward_reward,
            "reward_ctrl": -ctrl_cost,
            "reward_contact": -contact_cost,
        }
        return reward, terminated, info

    def reset_info(self, xp, data):
        return {
            "x_position": data.qpos[:, 0],
            "y_position": data.qpos[:, 1],
            "tendon_length": data.ten_length,
            "tendon_velocity": data.ten_velocity,
            "distance_from_origin": norm(xp, data.qpos[:, 0:2]),
        }
