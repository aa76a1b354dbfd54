"""SpinTop-v0: spin a top up to a target rate and keep it upright with a torque on its body.

## Description
A top (a disc on a stem, 1.3 kg, standing on a rounded tip on a floor with a
free joint) is driven by a torque applied to its body in the world frame
(``xfrc_applied``), as a reaction-wheel or a hand would apply it. The goal is to
spin it up to ``target_spin`` about its own axis and keep it standing: at rest
the top falls over within a second, and once it spins, a horizontal torque no
longer simply tilts it but makes it precess (the gyroscopic effect), so
steering it upright means torquing at right angles to the tilt.

## Action Space
``Box(-max_torque, max_torque, (3,), float32)``: the torque on the top's body,
x, y, z in the world frame, in N m (``ActionSpec(xfrc={"top": "torque"})``)::

    index  kind  name  component  field
    0:3    xfrc  top   torque     xfrc_applied

## Observation Space
| index | observation | field |
|---|---|---|
| 0-2 | the top's axis (its body z) in the world frame | from ``qpos`` (quaternion) |
| 3-5 | angular velocity, world frame | from ``qvel`` (body frame) and ``qpos`` |
| 6 | spin rate: angular velocity about the top's axis | ``qvel[5]`` |
| 7-9 | linear velocity of the tip point | ``qvel[0:3]`` |

## Rewards
``reward = reward_survive + reward_spin + reward_ctrl`` with
``reward_survive = healthy_reward``,
``reward_spin = -spin_cost_weight * |spin - target_spin| / target_spin`` and
``reward_ctrl = -ctrl_cost_weight * sum((action / max_torque)**2)``; with the
defaults a standing top spinning the right way at up to twice the target
earns at least 0.2 per step, so falling early does not pay. ``info`` holds the
three terms, ``spin`` and ``tilt`` (the axis' angle from vertical, radians).

## Starting State
Standing on its tip at the origin, its orientation the identity quaternion plus
``U(-s, s)`` on each component, normalized (a tilt of at most about ``3 s`` rad),
angular velocity ``U(-s, s)`` rad/s per axis, ``s = reset_noise_scale``.

## Episode End
Terminates when ``tilt > max_tilt`` (the top has fallen); truncated after 500
steps (10 s, ``max_episode_steps``).

## Arguments
``frame_skip`` (10; 0.02 s per step), ``target_spin`` (25 rad/s),
``max_torque`` (0.5 N m), ``healthy_reward`` (1.0), ``spin_cost_weight``
(0.5), ``ctrl_cost_weight`` (0.1), ``max_tilt`` (0.6 rad), ``reset_noise_scale``
(0.05).

## Version History
v0: initial version.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from mjvec.actions import ActionSpec
from mjvec.task import Task

__all__ = ["SpinTop"]

# The body frame's origin is the bottom of the tip, so at rest qpos[0:3] = 0.
SPIN_TOP_XML = """
<mujoco model="spin_top">
  <option timestep="0.002" integrator="implicitfast"/>
  <visual><global offwidth="640" offheight="480"/></visual>
  <worldbody>
    <light pos="0 0 1.5" dir="0 0 -1"/>
    <camera name="side" pos="0 -0.6 0.3" xyaxes="1 0 0 0 0.45 0.9"/>
    <geom name="floor" type="plane" size="1 1 0.01" rgba="0.9 0.9 0.85 1"/>
    <body name="top">
      <freejoint name="top"/>
      <geom name="tip" type="sphere" size="0.01" pos="0 0 0.01" friction="0.3" rgba="0.3 0.3 0.3 1"/>
      <geom name="stem" type="capsule" fromto="0 0 0.01 0 0 0.2" size="0.008" rgba="0.3 0.3 0.3 1"/>
      <geom name="disc" type="cylinder" size="0.1 0.02" pos="0 0 0.12" rgba="0.8 0.2 0.2 1"/>
      <geom name="mark" type="box" size="0.09 0.01 0.001" pos="0 0 0.141" contype="0" conaffinity="0"
            mass="0" rgba="1 1 1 1"/>
    </body>
  </worldbody>
</mujoco>
"""


def _number(name: str, value, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    if positive and not value > 0:
        raise ValueError(f"`{name}` must be > 0, got {value}")
    return float(value)


def _rotate(xp, q, v):
    """``v`` rotated by the unit quaternions ``q`` (w, x, y, z), row by row."""
    w, u = q[:, :1], q[:, 1:]
    t = 2.0 * xp.cross(u, v)
    return v + w * t + xp.cross(u, t)


class SpinTop(Task):
    fields = ()

    def __init__(
        self,
        frame_skip: int = 10,
        target_spin: float = 25.0,
        max_torque: float = 0.5,
        healthy_reward: float = 1.0,
        spin_cost_weight: float = 0.5,
        ctrl_cost_weight: float = 0.1,
        max_tilt: float = 0.6,
        reset_noise_scale: float = 0.05,
    ):
        self.target_spin = _number("target_spin", target_spin)
        self.max_torque = _number("max_torque", max_torque)
        self.max_tilt = _number("max_tilt", max_tilt)
        if self.max_tilt >= math.pi:
            raise ValueError(f"`max_tilt` must be < pi (radians), got {max_tilt}")
        self._healthy_reward = _number("healthy_reward", healthy_reward, positive=False)
        self._spin_cost_weight = _number("spin_cost_weight", spin_cost_weight, positive=False)
        self._ctrl_cost_weight = _number("ctrl_cost_weight", ctrl_cost_weight, positive=False)
        self.reset_noise_scale = _number("reset_noise_scale", reset_noise_scale, positive=False)
        super().__init__(mujoco.MjSpec.from_string(SPIN_TOP_XML), frame_skip)
        self.single_observation_space = self.observation_box(10)

    def default_actions(self) -> ActionSpec:
        """A world-frame torque on the top, bounded by ``max_torque`` per axis."""
        return ActionSpec(ctrl=None, xfrc={"top": "torque"}, bounds={"xfrc:top": (-self.max_torque, self.max_torque)})

    @staticmethod
    def _axis_and_omega(xp, data):
        quat = data.qpos[:, 3:7]
        n = quat.shape[0]
        axis = _rotate(xp, quat, xp.broadcast_to(xp.asarray([0.0, 0.0, 1.0]), (n, 3)))
        # a free joint's angular velocity is in the body frame
        omega = _rotate(xp, quat, data.qvel[:, 3:6])
        return axis, omega

    def observe(self, xp, data):
        axis, omega = self._axis_and_omega(xp, data)
        return xp.concatenate((axis, omega, data.qvel[:, 5:6], data.qvel[:, 0:3]), axis=-1)

    def evaluate(self, xp, data, action, before):
        axis, _ = self._axis_and_omega(xp, data)
        spin = data.qvel[:, 5]
        tilt = xp.arccos(xp.clip(axis[:, 2], -1.0, 1.0))
        reward_survive = xp.full(spin.shape, self._healthy_reward)
        reward_spin = -self._spin_cost_weight * xp.abs(spin - self.target_spin) / self.target_spin
        scaled = xp.asarray(action, dtype=spin.dtype) / self.max_torque
        reward_ctrl = -self._ctrl_cost_weight * xp.sum(xp.square(scaled), axis=-1)
        reward = reward_survive + reward_spin + reward_ctrl
        info = {
            "reward_survive": reward_survive,
            "reward_spin": reward_spin,
            "reward_ctrl": reward_ctrl,
            "spin": spin,
            "tilt": tilt,
        }
        return reward, tilt > self.max_tilt, info

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        s = self.reset_noise_scale
        quat = init_qpos[3:7] + rng.uniform(low=-s, high=s, size=4)
        quat = quat / xp.sqrt(xp.vecdot(quat, quat))[:, None]
        omega = rng.uniform(low=-s, high=s, size=3)
        n = quat.shape[0]
        # tilting about the origin (the bottom of the tip) sinks the tip's sphere by at most
        # r (1 - cos tilt), a tenth of a millimeter, which the first substeps' contact settles
        qpos = xp.concatenate((xp.broadcast_to(init_qpos[:3], (n, 3)), quat), axis=-1)
        qvel = xp.concatenate((xp.broadcast_to(init_qvel[:3], (n, 3)), omega), axis=-1)
        return qpos, qvel

    def reset_info(self, xp, data):
        axis, _ = self._axis_and_omega(xp, data)
        return {"spin": data.qvel[:, 5], "tilt": xp.arccos(xp.clip(axis[:, 2], -1.0, 1.0))}
