"""``NumpyRandom``: batched random draws from one ``numpy.random.Generator`` per env.

The MJX backend's ``JaxRandom`` has the same methods over JAX keys, so a task's
``reset_state`` and a randomization's ``sample`` are written once.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["NumpyRandom", "MAX_TRIES"]

#: Candidates ``uniform_until`` draws per environment before it gives up (both backends).
MAX_TRIES = 10_000


class NumpyRandom:
    """Batched random draws from one ``numpy.random.Generator`` per environment.

    Row ``i`` of every draw comes from ``generators[i]`` with exactly the call a
    single Gymnasium env makes, so environment ``i``'s stream matches Gymnasium's.
    ``exhausted`` is None, or marks (one entry per generator) the envs for which
    ``uniform_until`` found no accepted candidate within ``max_tries``.
    """

    def __init__(self, generators: Sequence[np.random.Generator], max_tries: int = MAX_TRIES):
        self.generators = generators
        self.max_tries = max_tries
        self.exhausted: np.ndarray | None = None

    @property
    def num_envs(self) -> int:
        """The rows every draw has: the envs being reset."""
        return len(self.generators)

    def uniform(self, low: float, high: float, size: int) -> np.ndarray:
        """``(n, size)`` draws of ``Generator.uniform(low=low, high=high, size=size)``."""
        return np.stack([g.uniform(low=low, high=high, size=size) for g in self.generators])

    def standard_normal(self, size: int) -> np.ndarray:
        """``(n, size)`` draws of ``Generator.standard_normal(size)``."""
        return np.stack([g.standard_normal(size) for g in self.generators])

    def uniform_until(
        self,
        draw: Callable[[Any], np.ndarray],
        accept: Callable[[Any, np.ndarray], Any],
    ) -> np.ndarray:
        """Rejection sampling: per environment, ``draw`` until ``accept`` holds.

        ``draw(rng)`` makes one candidate from a single-environment random source
        (this class over one generator); ``accept(xp, sample)`` says whether to keep it.
        An env that reaches ``max_tries`` keeps its last candidate and is marked in
        ``exhausted`` (the backend raises; with an acceptance rate above 0.1% it does
        not happen).
        """
        out = []
        for k, g in enumerate(self.generators):
            one = NumpyRandom((g,))
            for _ in range(self.max_tries):
                sample = draw(one)[0]
                if bool(accept(np, sample)):
                    break
            else:
                if self.exhausted is None:
                    self.exhausted = np.zeros(len(self.generators), dtype=np.bool_)
                self.exhausted[k] = True
            out.append(sample)
        return np.stack(out)
