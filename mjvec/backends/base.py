"""The small protocols a backend implements for ``MjVecEnv``.

``Backend`` (``cpu``): the env drives each phase (actions, substeps, observation,
reward, autoreset) and the backend advances the simulations. ``FusedBackend``
(``mjx``): the backend runs whole vector steps and resets in one call each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

if TYPE_CHECKING:
    from mjvec.render import RenderState

__all__ = ["Backend", "FusedBackend", "StepFaults"]


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

    def randomize(self, mask: np.ndarray, rng: Any) -> None:
        """Draw new per-env model parameters for the masked simulations, before their reset.

        Called only when the env was made with ``randomize=``.
        """

    def get_model(self, i: int) -> Any:
        """Simulation ``i``'s ``mujoco.MjModel`` as simulated (a copy): its parameters or variant."""

    def render_state(self, env_ids: np.ndarray) -> RenderState:
        """The state of the simulations ``env_ids`` (int array), for drawing them.

        An ``mjvec.render.RenderState`` of NumPy copies: the shared ``MjModel``, ``qpos``,
        ``qvel``, ``act``, mocap poses, and ``models(j)``, row ``j``'s model with its
        per-env parameters (None if all share one). Off the step path: may loop.
        """

    def close(self) -> None:
        """Release threads and native memory; idempotent."""


class FusedBackend(Protocol):
    """A backend that runs whole vector steps itself (``mjx``): ``fused = True``.

    ``MjVecEnv`` then checks the arguments (seeds, masks, the reset-before-step
    order) and hands each call over: the backend writes the actions, steps, computes
    observation, reward and termination, applies the time limit, flags divergences and
    autoresets in the env's mode, all in one call. The returns are ``MjVecEnv``'s own.
    The per-env parameters are drawn inside ``vector_reset`` and the autoreset.
    """

    fused: bool
    num_envs: int

    def check_actions(self, actions: Any, shape: tuple[int, ...]) -> Any:
        """``actions`` checked (shape, dtype, finite values, action-spec rules) and converted.

        Raises ``TypeError``/``ValueError`` naming the argument before anything runs.
        """

    def vector_reset(self, mask: np.ndarray, seeds: list[int | None]) -> tuple[Any, dict]:
        """Reset the masked envs, env ``i`` reseeded with ``seeds[i]`` unless None: ``(obs, info)``."""

    def vector_step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict]:
        """One vector step: ``(obs, reward, terminated, truncated, info)``, autoreset included."""

    def fault_counts(self) -> dict[str, np.ndarray]:
        """``{kind: (num_envs,) occurrences}`` of the faults that occurred, for ``diagnostics()``."""

    def get_model(self, i: int) -> Any:
        """As ``Backend.get_model``."""

    def render_state(self, env_ids: np.ndarray) -> RenderState:
        """As ``Backend.render_state``."""

    def close(self) -> None:
        """Release the device state; idempotent."""
