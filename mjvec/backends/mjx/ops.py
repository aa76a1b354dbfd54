"""``JaxOps``: the episode rules' primitives traced over ``jax.numpy`` (``mjvec.core.ops``'s twin).

Masks stay arrays (``some`` never answers None), selects are ``jnp.where``, and random
draws are made for every env with the new keys kept only where marked (dense rows).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from mjvec.backends.mjx.random import JaxRandom
from mjvec.core.tree import leaves, tree_map

__all__ = ["JaxOps", "where"]


def _expand(mask: jax.Array, ndim: int) -> jax.Array:
    return mask.reshape(mask.shape + (1,) * (ndim - 1))


def where(mask: jax.Array, a: Any, b: Any) -> Any:
    """Per env: ``a`` where ``mask``, else ``b``; over pytrees of batched arrays (``a`` may be a scalar)."""
    if isinstance(a, (bool, int, float)) or (isinstance(a, jax.Array) and a.ndim == 0):
        return tree_map(lambda y: jnp.where(_expand(mask, jnp.ndim(y)), jnp.asarray(a, y.dtype), y), b)
    return jax.tree.map(lambda x, y: jnp.where(_expand(mask, jnp.ndim(x)), x, y), a, b)


class JaxOps:
    """The episode rules' primitives under ``jit``, for ``num_envs`` envs."""

    xp = jnp
    compact = False

    def __init__(self, num_envs: int):
        self.num_envs = num_envs
        self.everyone = jnp.ones(num_envs, dtype=bool)
        self.nobody = jnp.zeros(num_envs, dtype=bool)

    def some(self, mask):
        return mask

    where = staticmethod(where)

    def masked(self, mask, value: jax.Array) -> jax.Array:
        return jnp.where(_expand(mask, value.ndim), value, jnp.zeros_like(value))

    def nonfinite(self, tree: Any) -> jax.Array:
        out = self.nobody
        for x in leaves(tree):
            if jnp.issubdtype(x.dtype, jnp.inexact):
                out = out | jnp.logical_not(jnp.all(jnp.isfinite(x.reshape(self.num_envs, -1)), axis=1))
        return out

    def random(self, streams: jax.Array, mask) -> JaxRandom:
        return JaxRandom(streams)

    def commit(self, streams: jax.Array, rng: JaxRandom, mask) -> jax.Array:
        return where(mask, rng.keys, streams)

    def exhausted(self, rng: JaxRandom, mask) -> jax.Array:
        return rng.exhausted & mask

    def add_counts(self, faults: dict, counts: dict) -> dict:
        """The counts added; every kind the backend can count is in ``faults`` from the start."""
        unknown = set(counts) - set(faults)
        if unknown:
            raise KeyError(f"fault kinds {sorted(unknown)} are not counted on the MJX backend")
        return {k: v + counts[k].astype(v.dtype) if k in counts else v for k, v in faults.items()}

    def values(self, x: Any, dtype: Any, name: str) -> jax.Array:
        dtype = jnp.result_type(float) if dtype is float else dtype
        x = jnp.asarray(x).astype(dtype)
        if x.shape != (self.num_envs,):
            if x.ndim:
                raise ValueError(f"the task's `{name}` must have shape ({self.num_envs},), got {x.shape}")
            return jnp.broadcast_to(x, (self.num_envs,))
        return x

    def own(self, tree: Any) -> Any:
        return tree  # JAX arrays are immutable
