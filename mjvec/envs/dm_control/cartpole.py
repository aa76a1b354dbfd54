"""Cartpole: the Control Suite's cart-pole swing-up and balance, as dm_control's ``suite/cartpole.py``.

## Description
A cart on a rail (``slider``) carries a pole on a hinge (``hinge_1``); RK4, 0.01 s steps,
one physics step per env step. ``num_poles=n`` chains ``n`` poles (``pole_k`` on ``hinge_k``, each
1 m above the last), the floor lowered and the cameras moved back as dm_control's ``_make_model``
does (``MjSpec`` here; the compiled models are equal).

## Action Space
``Box(-1, 1, (1,))``: the force on the cart (``ctrl``).

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``position`` | (1 + 2n,) | the cart's x, then each pole's ``xmat`` zz and xz (cos and sin of its angle) |
| ``velocity`` | (1 + n,) | ``qvel`` |

## Rewards
Smooth (``sparse=False``): ``upright * small_control * small_velocity * centered``, with
``upright = (cos + 1) / 2``, ``centered = (1 + tolerance(x, margin=2)) / 2``,
``small_control = (4 + tolerance(u, margin=1, value_at_margin=0, quadratic)) / 5``,
``small_velocity = (1 + tolerance(angular velocity, margin=5)) / 2`` (with n poles: ``upright``
averaged over them, ``small_velocity`` their least). Sparse: 1 where ``|x| <= 0.25`` and every
``cos >= 0.995``, else 0.

## Starting State
Swing-up: cart at ``0.01 N(0,1)``, the pole down at ``pi + 0.01 N(0,1)`` (the further poles'
hinges ``0.1 N(0,1)``). Balance: cart
``U(-0.1, 0.1)``, pole ``U(-0.034, 0.034)``. Velocities ``0.01 N(0,1)``.

## Episode End
Never terminated; truncated after 1000 steps (10 s).

## Arguments
``swing_up``, ``sparse``, ``num_poles`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``cartpole`` balance, balance_sparse, swingup, swingup_sparse, two_poles,
three_poles (swing-up with 2 and 3 poles; dm_control's ``three_poles`` takes ``num_poles`` and
``sparse`` keywords too, and so does ``CartpoleThreePoles-v0``).
"""

from __future__ import annotations

import math

from mjvec.envs.dm_control.base import ControlSuiteTask, rows9
from mjvec.validation import check_positive_int
from mjvec.envs.dm_control.rewards import tolerance

__all__ = ["Cartpole"]

_CART_RANGE = (-0.25, 0.25)
_ANGLE_COSINE_RANGE = (0.995, 1.0)
# row-major indices of zz and xz in a body's xmat
_ZZ, _XZ = 8, 2


class Cartpole(ControlSuiteTask):
    model_file = "cartpole.xml"
    fields = ("xmat", "ctrl")

    def __init__(self, swing_up: bool = True, sparse: bool = False, num_poles: int = 1, *,
                 flat_observation: bool = False, action_repeat: int = 1):
        self.swing_up = bool(swing_up)
        self.sparse = bool(sparse)
        self.num_poles = check_positive_int(num_poles, "num_poles")
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def edit_spec(self, spec):
        n = self.num_poles
        if n == 1:
            return
        pole = spec.find_default("pole")
        parent = spec.body("pole_1")
        for k in range(2, n + 1):  # a chain, as dm_control's _make_model
            body = parent.add_body(name=f"pole_{k}", pos=[0, 0, 1], childclass="pole")
            body.add_joint(name=f"hinge_{k}", default=pole)
            body.add_geom(name=f"pole_{k}", default=pole)
            parent = body
        spec.geom("floor").pos = [0, 0, 1 - n - 0.05]
        cameras = spec.worldbody.cameras
        cameras[0].pos = [0, -1 - 2 * n, 1]
        cameras[1].pos = [0, -2 * n, 2]

    def observation(self, xp, data):
        xmat = rows9(xp, data.xmat)
        angles = xp.reshape(xmat[:, 2:][:, :, [_ZZ, _XZ]], (xmat.shape[0], -1))  # zz, xz of each pole in turn
        position = xp.concatenate((data.qpos[:, :1], angles), axis=-1)
        return {"position": position, "velocity": data.qvel}

    def reward(self, xp, data):
        cart = data.qpos[:, 0]
        cosine = rows9(xp, data.xmat)[:, 2:, _ZZ]
        if self.sparse:
            cart_in_bounds = tolerance(xp, cart, _CART_RANGE)
            angle_in_bounds = xp.prod(tolerance(xp, cosine, _ANGLE_COSINE_RANGE), axis=-1)
            return cart_in_bounds * angle_in_bounds
        upright = (cosine + 1) / 2
        centered = (1 + tolerance(xp, cart, margin=2)) / 2
        small_control = tolerance(xp, data.ctrl, margin=1, value_at_margin=0, sigmoid="quadratic")[:, 0]
        small_control = (4 + small_control) / 5
        small_velocity = xp.min(tolerance(xp, data.qvel[:, 1:], margin=5), axis=-1)
        small_velocity = (1 + small_velocity) / 2
        return xp.mean(upright, axis=-1) * small_control * small_velocity * centered

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        nv = self.model.nv
        if self.swing_up:
            parts = [0.01 * rng.standard_normal(1), math.pi + 0.01 * rng.standard_normal(1)]
            if nv > 2:
                parts.append(0.1 * rng.standard_normal(nv - 2))
        else:
            parts = [rng.uniform(-0.1, 0.1, 1), rng.uniform(-0.034, 0.034, nv - 1)]
        qpos = xp.concatenate(parts, axis=-1)
        qvel = 0.01 * rng.standard_normal(nv)
        return qpos, qvel
