"""What the episode rules need from an array namespace beyond ``xp``: ``NumpyOps``.

The rules in ``mjvec.core.episode`` are one text for both backends. Where eager
NumPy and traced JAX must differ, they differ here, behind the same methods (the MJX
backend's ``JaxOps`` is the other implementation):

- ``some(mask)``: NumPy answers None when no env is marked, so the rules skip the
  work for the common case (no env ended, none diverged); under ``jit`` the mask
  stays an array and the same lines run as selects.
- ``where``: a select over pytrees; NumPy copies only the marked rows.
- ``random``/``commit``: the random source of the marked envs. NumPy draws only for
  them (compact rows, one ``Generator`` per env, as Gymnasium's envs); JAX draws for
  every env and keeps the new keys only where marked (dense rows).
- ``nonfinite``: which envs have a NaN or inf in a leaf (observations, rewards).

Masks are ``(num_envs,)`` bool arrays; ``None`` means "no env".
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from mjvec.core.random import NumpyRandom
from mjvec.core.tree import leaves, tree_map

__all__ = ["NumpyOps"]


def _rows(mask: np.ndarray, ndim: int) -> np.ndarray:
    """``mask`` shaped to select whole rows of an ``ndim``-dimensional batched array."""
    return mask.reshape(mask.shape + (1,) * (ndim - 1)) if ndim > 1 else mask


class NumpyOps:
    """The episode rules' primitives on eager NumPy, for ``num_envs`` envs."""

    xp = np
    #: reset states and parameter draws come one row per *marked* env
    compact = True

    def __init__(self, num_envs: int):
        self.num_envs = num_envs
        self.everyone = np.ones(num_envs, dtype=np.bool_)
        self.everyone.flags.writeable = False
        self.nobody = np.zeros(num_envs, dtype=np.bool_)
        self.nobody.flags.writeable = False

    def some(self, mask: np.ndarray | None) -> np.ndarray | None:
        """``mask``, or None when it marks no env."""
        if mask is None or mask is self.everyone:
            return mask
        return mask if np.count_nonzero(mask) else None  # count_nonzero: a quarter of any()'s cost

    def where(self, mask: np.ndarray, a: Any, b: Any) -> Any:
        """Per env, ``a``'s row where ``mask``, else ``b``'s; over pytrees; new arrays.

        ``a`` may be a scalar (every marked row takes it).
        """
        if mask is self.everyone:
            return tree_map(np.array, a) if not np.isscalar(a) else tree_map(lambda y: np.full_like(y, a), b)
        if np.isscalar(a):
            return tree_map(lambda y: np.where(_rows(mask, y.ndim), y.dtype.type(a), y), b)
        return tree_map(lambda x, y: np.where(_rows(mask, y.ndim), x, y), a, b)

    def masked(self, mask: np.ndarray, value: np.ndarray) -> np.ndarray:
        """A new array: ``value``'s rows where ``mask``, zeros elsewhere (one array, not a tree)."""
        if mask is self.everyone:
            return value if value.base is None else value.copy()
        return np.where(_rows(mask, value.ndim), value, value.dtype.type(0))

    def nonfinite(self, tree: Any) -> np.ndarray | None:
        """``(n,)``: the envs with a NaN or inf in some float leaf of ``tree``; None if none."""
        out = None
        for x in leaves(tree):
            if x.dtype.kind not in "fc" or np.isfinite(x).all():
                continue  # one reduction: the common case costs a microsecond
            bad = ~np.isfinite(x.reshape(self.num_envs, -1)).all(axis=1)
            out = bad if out is None else out | bad
        return out

    def random(self, streams: Sequence[np.random.Generator], mask: np.ndarray) -> NumpyRandom:
        """The random source of the marked envs: each row from that env's own ``Generator``."""
        return NumpyRandom([streams[i] for i in np.flatnonzero(mask)])

    def commit(self, streams: list, rng: NumpyRandom, mask: np.ndarray) -> list:
        """The streams after ``rng``'s draws: a ``Generator`` advances in place."""
        return streams

    def exhausted(self, rng: NumpyRandom, mask: np.ndarray) -> np.ndarray | None:
        """``(n,)``: the marked envs whose rejection sampling gave up; None if none."""
        if rng.exhausted is None:
            return None
        out = np.zeros(self.num_envs, dtype=np.bool_)
        out[np.flatnonzero(mask)[rng.exhausted]] = True
        return out

    def add_counts(self, faults: dict[str, np.ndarray], counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``faults`` plus this step's ``counts`` per kind; a kind appears once it occurred."""
        out = dict(faults)
        for kind, c in counts.items():
            if c.any():
                out[kind] = out[kind] + c if kind in out else c.astype(np.int64)
        return out

    def values(self, x: Any, dtype: Any, name: str) -> np.ndarray:
        """A task's per-env result as a new ``(num_envs,)`` array of ``dtype``; a scalar is broadcast."""
        x = np.asarray(x, dtype=dtype)
        if x.shape != (self.num_envs,):
            if x.ndim:
                raise ValueError(f"the task's `{name}` must have shape ({self.num_envs},), got {x.shape}")
            return np.full(self.num_envs, x)
        return x if x.base is None else x.copy()

    def own(self, tree: Any) -> Any:
        """``tree`` with no leaf that is a view of another array (the simulation's buffers).

        Every field a simulation exposes is a view (``base`` set), so an array that owns its
        memory is a task's fresh result and is not copied.
        """
        return tree_map(lambda x: x if isinstance(x, np.ndarray) and x.base is None else np.array(x), tree)
