"""dm_control's reward vocabulary, ``rewards.tolerance`` and its sigmoids, written again over ``xp``.

The same definitions as ``dm_control.utils.rewards`` (the same expressions in the same
order, so that NumPy gives its numbers bit for bit), over batched arrays and an array
namespace: ``numpy`` on the CPU backend, ``jax.numpy`` traced inside the MJX step.

``tolerance(xp, x, bounds, margin, sigmoid, value_at_margin)`` is 1 where ``x`` lies in
``[lower, upper]`` and falls off with the distance ``d`` to the nearest bound, in units
of ``margin``: ``sigmoid(d)`` is 1 at ``d = 0`` and ``value_at_margin`` at ``d = 1``.
With ``margin = 0`` it is 0 outside the bounds.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["tolerance", "sigmoid", "SIGMOIDS", "DEFAULT_VALUE_AT_MARGIN"]

DEFAULT_VALUE_AT_MARGIN = 0.1

#: the sigmoids whose value at 1 may be 0 (they reach 0 at a finite distance)
_FINITE = ("cosine", "linear", "quadratic")
SIGMOIDS = ("gaussian", "hyperbolic", "long_tail", "reciprocal", "cosine", "linear", "quadratic", "tanh_squared")


def _scale(kind: str, value_at_1: float) -> float:
    """The factor on ``x`` that makes ``kind`` equal ``value_at_1`` at ``x = 1`` (a Python float:
    weakly typed in JAX, so a float32 batch stays float32)."""
    if kind == "gaussian":
        return float(np.sqrt(-2 * np.log(value_at_1)))
    if kind == "hyperbolic":
        return float(np.arccosh(1 / value_at_1))
    if kind == "long_tail":
        return float(np.sqrt(1 / value_at_1 - 1))
    if kind == "reciprocal":
        return float(1 / value_at_1 - 1)
    if kind == "cosine":
        return float(np.arccos(2 * value_at_1 - 1) / np.pi)
    if kind == "linear":
        return float(1 - value_at_1)
    if kind == "quadratic":
        return float(np.sqrt(1 - value_at_1))
    return float(np.arctanh(np.sqrt(1 - value_at_1)))  # tanh_squared


def _check(kind, value_at_1) -> None:
    if not isinstance(kind, str):
        raise TypeError(f"`sigmoid` must be a str, one of {SIGMOIDS}, got {type(kind).__name__}")
    if kind not in SIGMOIDS:
        from mjvec.validation import did_you_mean

        raise ValueError(f"`sigmoid` {kind!r} is not one of {SIGMOIDS}{did_you_mean(kind, SIGMOIDS)}")
    if kind in _FINITE:
        if not 0 <= value_at_1 < 1:
            raise ValueError(f"`value_at_margin` must be in [0, 1) for the {kind} sigmoid, got {value_at_1}")
    elif not 0 < value_at_1 < 1:
        raise ValueError(f"`value_at_margin` must be strictly between 0 and 1 for the {kind} sigmoid, got {value_at_1}")


def sigmoid(xp, x, value_at_1: float, kind: str):
    """1 at ``x = 0``, ``value_at_1`` at ``|x| = 1``, between 0 and 1 elsewhere (dm_control's ``_sigmoids``)."""
    _check(kind, value_at_1)
    scale = _scale(kind, value_at_1)
    if kind == "gaussian":
        return xp.exp(-0.5 * (x * scale) ** 2)
    if kind == "hyperbolic":
        return 1 / xp.cosh(x * scale)
    if kind == "long_tail":
        return 1 / ((x * scale) ** 2 + 1)
    if kind == "reciprocal":
        return 1 / (xp.abs(x) * scale + 1)
    if kind == "cosine":
        scaled = x * scale
        return xp.where(xp.abs(scaled) < 1, (1 + xp.cos(math.pi * scaled)) / 2, 0.0)
    if kind == "linear":
        scaled = x * scale
        return xp.where(xp.abs(scaled) < 1, 1 - scaled, 0.0)
    if kind == "quadratic":
        scaled = x * scale
        return xp.where(xp.abs(scaled) < 1, 1 - scaled**2, 0.0)
    return 1 - xp.tanh(x * scale) ** 2  # tanh_squared


def tolerance(xp, x, bounds=(0.0, 0.0), margin: float = 0.0, sigmoid: str = "gaussian",
              value_at_margin: float = DEFAULT_VALUE_AT_MARGIN):
    """1 where ``lower <= x <= upper``, else ``sigmoid(distance to the nearest bound / margin)``.

    ``x`` is any batched array; the result has its shape (float). ``bounds`` may be
    infinite; ``margin = 0`` gives 0 outside them.
    """
    lower, upper = bounds
    if lower > upper:
        raise ValueError(f"`bounds` must be (lower, upper) with lower <= upper, got {bounds}")
    if margin < 0:
        raise ValueError(f"`margin` must be >= 0, got {margin}")
    in_bounds = xp.logical_and(lower <= x, x <= upper)
    if margin == 0:
        return xp.where(in_bounds, 1.0, 0.0)
    d = xp.where(x < lower, lower - x, x - upper) / margin
    return xp.where(in_bounds, 1.0, _sigmoid(xp, d, value_at_margin, sigmoid))


_sigmoid = sigmoid
