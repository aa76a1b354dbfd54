"""The small protocol a backend implements for ``MjVecEnv``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

if TYPE_CHECKING:
    from mjvec.render import RenderState

__all__ = ["Backend", "StepFaults"]


class StepFaults(NamedTuple):
    """What went wrong in the simulations of one vector step.

    ``diverged`` marks the simulations whose state can no longer be trusted (the
    env ends their episodes and resets them); ``counts`` holds, per kind of fault
    (``"badqvel"``, ``"simulation_error"``, ...), how often it occurred in each
    simulation, shaped ``(num_envs,)``; ``messages`` the last message per kind, where
    the engine gave one.
    """

    diverged: np.ndarray
    counts: dict[str, np.ndarray]
    messages: dict[str, str]


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

    def step(self, action: np.ndarray, mask: np.ndarray | None) -> StepFaults | None:
        """Write ``action`` into the masked simulations and advance them ``frame_skip`` substeps.

        Returns None when nothing went wrong (the common case, checked cheaply), or the
        step's ``StepFaults``. A simulation that fails does not stop the others.
        """

    def reset(self, mask: np.ndarray, rng: Any) -> None:
        """Reset the masked simulations to fresh states drawn with ``rng`` and run ``mj_forward``."""

    def render_state(self, env_ids: np.ndarray) -> RenderState:
        """The state of the simulations ``env_ids`` (int array), for drawing them.

        An ``mjvec.render.RenderState`` of NumPy copies: the shared ``MjModel``, ``qpos``,
        ``qvel``, ``act``, mocap poses, and ``models(j)``, row ``j``'s model with its
        per-env parameters (None if all share one). Off the step path: may loop.
        """

    def close(self) -> None:
        """Release threads and native memory; idempotent."""
