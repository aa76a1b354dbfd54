"""LQR: the Control Suite's chain of springs, as dm_control's ``suite/lqr.py``.

## Description
``n`` bodies on y slides in a chain, each joint a spring of stiffness drawn in ``U(15, 25)``
(damping 0), the first ``m`` driven by unlimited motors; no constraints, 0.03 s steps, one physics
step per env step. The model is built at make time as dm_control's ``_make_model`` builds it
(``MjSpec`` here, from ``lqr.xml``; the compiled models are equal): its stiffnesses come from
``np.random.RandomState(model_seed)`` in dm_control's order, so ``model_seed=s`` is dm_control's
model for ``random=s``. All envs share that one model.

## Action Space
``Box(-1e10, 1e10, (m,))``: the motors, unlimited in the model; the bounds are dm_control's
(``mjMAXVAL``, as its ``action_spec`` gives unlimited actuators), finite as SB3 needs them. Nothing
is clipped.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``position`` | (n,) | ``qpos`` |
| ``velocity`` | (n,) | ``qvel`` |

## Rewards
``1 - (0.5 qpos . qpos + 0.1 * 0.5 ctrl . ctrl)``.

## Starting State
``qpos = sqrt(2) u / |u|``, ``u ~ N(0, 1)``: a point on the sphere of radius sqrt(2); at rest.

## Episode End
Terminated (discount 0) once ``|(qpos, qvel)| < 1e-6``; never truncated: dm_control's time limit is
infinite (``max_episode_steps`` is None).

## Arguments
``n_bodies``, ``n_actuators`` (set by the registered id), ``model_seed`` (default 0),
``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``lqr`` lqr_2_1, lqr_6_2.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from mjvec.actions import ActionSpec
from mjvec.envs.dm_control.base import ControlSuiteTask
from mjvec.task import norm

__all__ = ["Lqr"]

_CONTROL_COST = 0.1
_STIFFNESS, _DAMPING = (15.0, 25.0), (0.0, 0.0)
_TERMINAL_TOL = 1e-6


def _int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"`{name}` must be an int >= {low}, got {value!r}")
    return int(value)


class Lqr(ControlSuiteTask):
    model_file = "lqr.xml"
    fields = ("ctrl",)
    termination_discount = 0.0

    def __init__(self, n_bodies: int = 2, n_actuators: int = 1, model_seed: int = 0, *,
                 flat_observation: bool = False, action_repeat: int = 1):
        self.n_bodies = _int(n_bodies, "n_bodies", 1)
        self.n_actuators = _int(n_actuators, "n_actuators", 1)
        if self.n_actuators > self.n_bodies:
            raise ValueError(f"`n_actuators` ({n_actuators}) must be at most `n_bodies` ({n_bodies}): one motor a body")
        self.model_seed = _int(model_seed, "model_seed", 0)
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        random = np.random.RandomState(self.model_seed)  # dm_control's draws, in its order
        parent = spec.worldbody
        for i in range(self.n_bodies):
            body = parent.add_body(name=f"body_{i}", pos=[0.25, 0, 0.1 if i == 0 else 0])
            joint = body.add_joint(name=f"joint_{i}")
            for attr, (low, high) in (("stiffness", _STIFFNESS), ("damping", _DAMPING)):
                value = float(random.uniform(low, high))
                if isinstance(getattr(joint, attr), np.ndarray):  # MuJoCo 4.0: an array; 3.17: a float
                    getattr(joint, attr)[0] = value
                else:
                    setattr(joint, attr, value)
            body.add_geom(name=f"geom_{i}")
            body.add_site(name=f"site_{i}")
            if i < self.n_actuators:
                spec.add_actuator(name=f"motor_{i}", target=f"joint_{i}", trntype=mujoco.mjtTrn.mjTRN_JOINT)
            parent = body
        for i in range(self.n_bodies - 1):  # dm_control's tendons, for the picture only
            tendon = spec.add_tendon(name=f"tendon_{i}")
            tendon.wrap_site(f"site_{i}")
            tendon.wrap_site(f"site_{i + 1}")

    def default_actions(self) -> ActionSpec:
        """Every motor, bounded by dm_control's +-mjMAXVAL (1e10) for unlimited actuators."""
        return ActionSpec(ctrl="all", bounds={"ctrl": (-mujoco.mjMAXVAL, mujoco.mjMAXVAL)})

    def observation(self, xp, data):
        return {"position": data.qpos, "velocity": data.qvel}

    def reward(self, xp, data):
        state_cost = 0.5 * xp.vecdot(data.qpos, data.qpos)
        control = 0.5 * xp.vecdot(data.ctrl, data.ctrl)
        return 1 - (state_cost + control * _CONTROL_COST)

    def terminated(self, xp, data):
        return norm(xp, xp.concatenate((data.qpos, data.qvel), axis=-1)) < _TERMINAL_TOL

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        unit = rng.standard_normal(self.model.nq)
        qpos = math.sqrt(2) * unit / norm(xp, unit)[:, None]
        return qpos, xp.zeros((rng.num_envs, self.model.nv))
