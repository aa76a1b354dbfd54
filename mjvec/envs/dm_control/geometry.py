"""Small batched geometry the Control Suite's domains share (fish, swimmer, humanoid)."""

from __future__ import annotations

__all__ = ["in_frame", "rows_in_frame"]


def in_frame(xp, v, mat):
    """``(n, 3)``: each row of ``v`` (``(n, 3)``, world axes) in the frame whose orientation matrix
    is ``mat`` (``(n, 9)`` row-major, as ``rows9`` gives it): dm_control's ``v.dot(mat.reshape(3, 3))``,
    summed in its order (bit for bit NumPy's ``dot`` of a 3-vector and a 3x3 matrix)."""
    return v[:, 0:1] * mat[:, 0:3] + v[:, 1:2] * mat[:, 3:6] + v[:, 2:3] * mat[:, 6:9]


def rows_in_frame(xp, rows, mat):
    """``(n, k, 3)``: each of the ``k`` rows of ``rows`` (``(n, k, 3)``) in the frame of ``mat`` (``(n, 9)``):
    dm_control's ``matrix.dot(frame)`` of a ``k x 3`` matrix, through ``matmul`` (NumPy's is the same
    BLAS product, bit for bit; ``in_frame``'s sum of a 3-vector is not, for a matrix)."""
    return xp.matmul(rows, xp.reshape(mat, (mat.shape[0], 3, 3)))
