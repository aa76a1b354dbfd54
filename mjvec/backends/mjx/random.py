"""Random numbers of the MJX backend: one JAX key per environment.

``JaxRandom`` is ``mjvec.core.random.NumpyRandom`` over JAX keys, so a task's
``reset_state`` runs unchanged inside the jitted step. Environment ``i``'s key is
``jax.random.key(seed + i)`` after ``reset(seed=seed)``; every reset of an env
splits that env's key only, so its stream does not depend on the other envs.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mjvec.core.random import MAX_TRIES

__all__ = ["JaxRandom", "seed_keys", "entropy_seeds", "MAX_TRIES"]

_MASK32 = 0xFFFFFFFF


def seed_keys(seeds: Sequence[int]) -> jax.Array:
    """``(n,)`` keys, ``jax.random.key(s)`` of each seed, built on the host in one transfer.

    With JAX's default ``threefry2x32`` a key is the seed's 64 bits as two uint32
    words (what ``jax.random.key`` makes with ``jax_enable_x64``; without it, JAX
    drops a seed's high 32 bits, which would make seeds ``2**32`` apart collide).
    """
    for s in seeds:
        if s >> 64:
            raise ValueError(f"`seed` must be < 2**64 on the MJX backend (a JAX key holds 64 bits), got {s}")
    if jax.config.jax_default_prng_impl == "threefry2x32":
        data = np.array([((s >> 32) & _MASK32, s & _MASK32) for s in seeds], dtype=np.uint32)
        return jax.random.wrap_key_data(data.reshape(len(seeds), 2))
    return jnp.stack([jax.random.key(s) for s in seeds])  # another PRNG implementation: its own seeding


def entropy_seeds(n: int) -> list[int]:
    """``n`` fresh 64-bit seeds from the OS, for envs reset without a seed."""
    return [int(w) for w in np.random.SeedSequence().generate_state(n, dtype=np.uint64)]


class JaxRandom:
    """Batched random draws from one JAX key per environment (``NumpyRandom``'s methods).

    Every draw splits each environment's key, so row ``i`` depends on env ``i``'s key
    alone. Draws are in JAX's default float dtype (float32 unless
    ``jax_enable_x64``). ``exhausted`` marks the envs for which ``uniform_until``
    found no accepted candidate within ``max_tries``.
    """

    def __init__(self, keys: jax.Array, max_tries: int = MAX_TRIES):
        self.keys = keys
        self.max_tries = max_tries
        self.exhausted = jnp.zeros(keys.shape[0], dtype=bool)

    def _subkeys(self) -> jax.Array:
        pairs = jax.vmap(jax.random.split)(self.keys)
        self.keys = pairs[:, 0]
        return pairs[:, 1]

    @property
    def num_envs(self) -> int:
        """The rows every draw has (``NumpyRandom.num_envs``)."""
        return self.keys.shape[0]

    def uniform(self, low: Any, high: Any, size: int) -> jax.Array:
        """``(n, size)`` draws, uniform in ``[low, high)``."""
        dtype = jnp.result_type(float)
        return jax.vmap(lambda k: jax.random.uniform(k, (size,), dtype, minval=low, maxval=high))(self._subkeys())

    def standard_normal(self, size: int) -> jax.Array:
        """``(n, size)`` standard normal draws."""
        dtype = jnp.result_type(float)
        return jax.vmap(lambda k: jax.random.normal(k, (size,), dtype))(self._subkeys())

    def uniform_until(
        self,
        draw: Callable[[Any], Any],
        accept: Callable[[Any, Any], Any],
    ) -> jax.Array:
        """Rejection sampling: per environment, ``draw`` until ``accept`` holds.

        As ``NumpyRandom.uniform_until``: ``draw(rng)`` makes one candidate from a
        single-environment source, ``accept(xp, sample)`` judges one sample. A
        ``lax.while_loop`` per env, bounded by ``max_tries`` candidates: an env that
        reaches it keeps its last candidate and is marked in ``exhausted`` (the
        backend reports it; with an acceptance rate above 0.1% it does not happen).
        """
        max_tries = self.max_tries

        def candidate(key):
            key, sub = jax.random.split(key)
            sample = draw(JaxRandom(sub[None], max_tries))[0]
            return key, sample, jnp.asarray(accept(jnp, sample), dtype=bool)

        def one(key):
            first = (*candidate(key), jnp.int32(1))
            key, sample, ok, _ = lax.while_loop(
                lambda c: jnp.logical_not(c[2]) & (c[3] < max_tries),
                lambda c: (*candidate(c[0]), c[3] + 1),
                first,
            )
            return sample, jnp.logical_not(ok)

        sample, failed = jax.vmap(one)(self._subkeys())
        self.exhausted = self.exhausted | failed
        return sample
