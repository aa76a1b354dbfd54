"""Small batched geometry the Control Suite's domains share (fish, swimmer, humanoid)."""

from __future__ import annotations

__all__ = ["in_frame"]


def in_frame(xp, v, mat):
    """``(n, 3)``: each row of ``v`` (``(n, 3)``, world axes) in the frame whose orientation matrix
    is ``mat`` (``(n, 9)`` row-major, as ``rows9`` gives it): dm_control's ``v.dot(mat.reshape(3, 3))``,
    summed in its order (bit for bit NumPy's ``dot`` of a 3-vector and a 3x3 matrix)."""
    return v[:, 0:1] * mat[:, 0:3] + v[:, 1:2] * mat[:, 3:6] + v[:, 2:3] * mat[:, 6:9]
