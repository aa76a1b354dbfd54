"""dm_control's ``randomizers.randomize_limited_and_rotational_joints``, over ``xp`` and per-env streams.

Joint by joint, in the model's order: a limited hinge or slide uniform in its range; a
limited ball a uniform rotation of at most its range's upper bound about a uniform random
axis; an unlimited hinge uniform in ``[-pi, pi]``; an unlimited ball a normalised
``N(0, 1)`` quaternion; a free joint's quaternion a normalised ``U(0, 1)`` one (dm_control's
own choice, kept), its position untouched.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

__all__ = ["limited_and_rotational_joints", "broadcast"]

_HINGE, _SLIDE = int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)
_BALL, _FREE = int(mujoco.mjtJoint.mjJNT_BALL), int(mujoco.mjtJoint.mjJNT_FREE)


def _normalised(xp, q):
    return q / xp.sqrt(xp.sum(q * q, axis=-1, keepdims=True))


def limited_and_rotational_joints(xp, rng, model: mujoco.MjModel, qpos):
    """``(n, nq)``: ``qpos`` (``(n, nq)``) with every joint of ``model`` drawn as dm_control draws it."""
    n = qpos.shape[0]
    parts = []  # (qpos address, (n, k) values), in joint order
    for j in range(model.njnt):
        kind, adr = int(model.jnt_type[j]), int(model.jnt_qposadr[j])
        low, high = (float(v) for v in model.jnt_range[j])
        if model.jnt_limited[j]:
            if kind in (_HINGE, _SLIDE):
                parts.append((adr, rng.uniform(low, high, 1)))
            elif kind == _BALL:
                axis = _normalised(xp, rng.standard_normal(3))
                angle = rng.uniform(0.0, high, 1)
                parts.append((adr, xp.concatenate((xp.cos(angle / 2), xp.sin(angle / 2) * axis), axis=-1)))
        elif kind == _HINGE:
            parts.append((adr, rng.uniform(-math.pi, math.pi, 1)))
        elif kind == _BALL:
            parts.append((adr, _normalised(xp, rng.standard_normal(4))))
        elif kind == _FREE:
            parts.append((adr + 3, _normalised(xp, rng.uniform(0.0, 1.0, 4))))
    columns = [qpos[:, i : i + 1] for i in range(model.nq)]
    for adr, values in parts:
        for k in range(values.shape[1]):
            columns[adr + k] = values[:, k : k + 1]
    return xp.concatenate(columns, axis=-1) if columns else qpos


def broadcast(xp, values: np.ndarray, n: int):
    """``(n, k)`` copies of one env's ``values``."""
    return xp.broadcast_to(xp.asarray(values), (n, len(values)))
