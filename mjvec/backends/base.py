"""The small protocol a backend implements for ``MjVecEnv``."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["Backend"]


class Backend(Protocol):
    """Advances ``num_envs`` simulations of one task.

    ``data`` has the batched fields the task reads, as attributes shaped
    ``(num_envs, ...)``; ``xp`` is the array namespace the task runs with.
    Masks are boolean arrays of shape ``(num_envs,)``; ``None`` means all.
    """

    xp: Any
    data: Any
    num_envs: int

    def snapshot(self, values: dict[str, Any]) -> dict[str, Any]:
        """Detach values computed from ``data`` so the next step cannot change them."""

    def step(self, action: np.ndarray, mask: np.ndarray | None) -> None:
        """Write ``action`` into the masked simulations and advance them ``frame_skip`` substeps."""

    def reset(self, mask: np.ndarray, rng: Any) -> None:
        """Reset the masked simulations to fresh states drawn with ``rng`` and run ``mj_forward``."""

    def close(self) -> None:
        """Release threads and native memory; idempotent."""
