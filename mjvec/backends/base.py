"""The one backend protocol, and the simulations a backend hands to the episode rules.

``MjVecEnv`` calls a ``Backend`` and nothing else: reset, step, and what it needs for
``diagnostics``, ``get_model`` and ``render``. Every backend runs the same episode
rules (``mjvec.core.episode``) over a ``Simulation`` of its own; it adds only how
its simulations are advanced and reset and where its arrays live (host memory and
eager NumPy on ``cpu``; device memory and one jitted step on ``mjx``), and converts
at its edge to what the caller gets (``mjvec.core.outputs``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from mjvec.core.episode import Faults

if TYPE_CHECKING:
    from mjvec.render import RenderState

__all__ = ["Backend", "Simulation", "Faults"]


class Simulation(Protocol):
    """``num_envs`` simulations of one task, as the episode rules drive them.

    ``data`` has the batched fields the task reads, as attributes shaped
    ``(num_envs, ...)``. Masks are ``(num_envs,)`` bool arrays. Values for the reset
    or redrawn envs come one row per marked env where the rules' ``ops.compact`` is
    True (NumPy), one row per env otherwise (JAX).
    """

    data: Any

    def detach(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values computed from ``data``, safe from the next ``advance`` (copies where ``data`` is live)."""

    def advance(self, action: Any, mask: Any) -> Faults | None:
        """Write ``action`` into the simulations in ``mask`` (None: all) and run ``frame_skip`` substeps.

        Returns the step's ``Faults``, or None when nothing went wrong (a backend may
        always return them). A simulation that fails does not stop the others.
        """

    def reset(self, mask: Any, qpos: Any, qvel: Any, act: Any = None) -> None:
        """``mj_resetData``, the given state (``act`` too where the task's ``reset_state`` sets it),
        ``mj_forward`` (with actuation disabled for ``Task.reset_without_actuation``): Gymnasium's reset order."""

    def set_params(self, mask: Any, values: dict[str, Any]) -> None:
        """New per-env model parameters (``randomize=``) for the masked simulations, before their reset."""

    def reset_to(self, mask: Any, states: Any) -> None:
        """``mj_resetData``, the given physics states (``mjSTATE_INTEGRATION`` rows), ``mj_forward``
        (with actuation disabled for ``Task.reset_without_actuation``)."""


class Backend(Protocol):
    """What ``MjVecEnv`` calls: whole resets and steps, each one call.

    Returns are ``MjVecEnv``'s own: ``(obs, info)`` and ``(obs, reward, terminated,
    truncated, info)`` with Gymnasium's ``info`` and the caller's own arrays.
    """

    num_envs: int
    #: the implementation's words for ``repr`` and ``diagnostics`` (e.g. ``{"backend": "cpu", "nthread": 2}``)
    description: dict[str, Any]

    def check_actions(self, actions: Any) -> Any:
        """``actions`` checked (shape, dtype, finite values, action-spec rules) and converted.

        Raises ``TypeError``/``ValueError`` naming the argument before anything runs.
        """

    #: entries of one env's physics state (``mujoco.mjtState.mjSTATE_INTEGRATION``)
    state_size: int

    def reset(self, mask: np.ndarray, seeds: list[int | None], states: np.ndarray | None = None) -> tuple[Any, dict]:
        """Reset the masked envs, env ``i`` seeded with ``seeds[i]`` unless None: ``(obs, info)``.

        ``states``: one physics state per masked env to start from, instead of the task's
        reset states.
        """

    def rollout(self, actions: np.ndarray, start: np.ndarray | None, states: bool) -> Any:
        """``actions.shape[1]`` steps of every env in one call, no autoreset: an ``mjvec.core.rollout.RolloutResult``.

        ``start``: one physics state per env to begin new episodes from, or None; ``states``:
        record the state after each step.
        """

    def functional(self) -> Any:
        """The step and reset as pure functions over an explicit state (``mjx``), or ``NotImplementedError``."""

    def get_state(self, env_ids: np.ndarray) -> np.ndarray:
        """``(len(env_ids), state_size)``: the envs' physics states (a copy), enough to continue bit for bit."""

    def set_state(self, state: np.ndarray, env_ids: np.ndarray) -> None:
        """Set the envs' physics states (``mj_forward`` follows); their episodes go on."""

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict]:
        """One vector step, autoreset included: ``(obs, reward, terminated, truncated, info)``."""

    def fault_counts(self) -> dict[str, np.ndarray]:
        """``{kind: (num_envs,) occurrences}`` of the faults that occurred, for ``diagnostics()``."""

    def fault_messages(self) -> dict[str, str]:
        """The last message per kind of fault, where the engine gave one."""

    def get_model(self, i: int) -> Any:
        """Simulation ``i``'s ``mujoco.MjModel`` as simulated (a copy): its parameters or variant."""

    def render_state(self, env_ids: np.ndarray) -> RenderState:
        """The state of the simulations ``env_ids`` (int array), for drawing them.

        An ``mjvec.render.RenderState`` of NumPy copies: the shared ``MjModel``, ``qpos``,
        ``qvel``, ``act``, mocap poses, and ``models(j)``, row ``j``'s model with its
        per-env parameters (None if all share one). Off the step path: may loop.
        """

    def task_changed(self) -> None:
        """The task's attributes were set (``MjVecEnv.set_attr``): later steps and resets use them."""

    def close(self) -> None:
        """Release threads, native and device memory; idempotent."""
