"""The MJX backend's step and reset as pure functions, for the caller's own ``jit``, ``scan`` and ``vmap``.

    fn = env.functional()                       # an MjVecEnv made with backend="mjx"
    state, out = fn.reset(jax.random.key(0))    # out.obs, out.info
    state, out = fn.step(state, actions)        # out.obs, out.reward, out.terminated, out.truncated, ...

``step`` is the very function the backend compiles for ``env.step`` (``program.step_program``):
the same episode rules (autoreset in the env's mode, time limit, divergence, dense info
``{key: (value, mask)}``), with the state passed in and out instead of kept. Nothing is
donated or copied to the host; wrap them in ``jax.jit`` (or use them inside a jitted
``lax.scan``) as with any JAX function.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from mjvec.backends.mjx.program import MjxState, reset_program, step_program
from mjvec.core.episode import ResetOut, StepOut

__all__ = ["FunctionalEnv"]


class FunctionalEnv:
    """Pure ``reset(key)`` and ``step(state, action)`` of an MJX env (``MjVecEnv.functional()``).

    ``num_envs`` envs as the env's; ``initial`` is the state before any reset (a pytree
    of device arrays). Per-env keys come from ``jax.random.split(key, num_envs)``.
    """

    def __init__(self, backend):
        self._program, self._reset_program = backend._program, backend._reset_program
        self._model, self._template = backend.model, backend._template
        self._initial = backend.initial_state()
        self._randomized = backend.randomization is not None
        self.num_envs = backend.num_envs

    @property
    def initial(self) -> MjxState:
        return self._initial

    def reset(self, key: jax.Array, state: MjxState | None = None) -> tuple[MjxState, ResetOut]:
        """Every env reset, env ``i`` with the ``i``-th of ``num_envs`` keys split from ``key``."""
        n = self.num_envs
        everyone = jnp.ones(n, dtype=bool)
        keys = jax.random.split(key, n)
        draw = everyone if self._randomized else jnp.zeros(n, dtype=bool)
        return reset_program(
            self._reset_program, self._initial if state is None else state, self._model, self._template,
            everyone, keys, everyone, draw,
        )

    def step(self, state: MjxState, action: Any) -> tuple[MjxState, StepOut]:
        """One vector step of every env, autoreset included: what ``env.step`` computes."""
        return step_program(self._program, state, self._model, self._template, jnp.asarray(action))
