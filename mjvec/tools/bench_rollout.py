"""mjvec's ``env.rollout`` as a contender of ``mjvec bench``: T steps per native call.

``RolloutSteps`` takes the timed loop's one action batch per call, and every
``horizon`` calls runs them as one ``env.rollout`` of an env in DISABLED mode, then
resets the envs whose episode ended inside it (``reset_mask``), as a data collector
would. Every simulated step counts as an env-step, also the steps of an env after its
episode ended inside a rollout (they belong to no episode; for the tasks that rarely
end, such as HalfCheetah's 1000-step episodes, they are a fraction of a percent).
"""

from __future__ import annotations

import numpy as np

__all__ = ["RolloutSteps", "horizon_for"]


def horizon_for(nstep: int, most: int = 100) -> int:
    """The longest rollout of at most ``most`` steps that divides a round of ``nstep`` steps."""
    return max(t for t in range(1, min(most, nstep) + 1) if nstep % t == 0)


class RolloutSteps:
    """``step(actions)`` for the timed loop over ``env.rollout`` of ``horizon`` steps at a time."""

    def __init__(self, env, horizon: int):
        self.env = env
        self.horizon = horizon
        self.single_action_space = env.single_action_space
        self._pending: list[np.ndarray] = []
        self._none = np.zeros(env.num_envs, dtype=np.bool_)

    def reset(self, seed=None):
        self._pending.clear()
        return self.env.reset(seed=seed)

    def step(self, actions: np.ndarray):
        self._pending.append(actions)
        if len(self._pending) < self.horizon:
            return None, None, self._none, self._none, {}
        return self.flush()

    def flush(self):
        """Run the pending steps (fewer than ``horizon`` after a warmup) as one rollout."""
        if not self._pending:
            return None, None, self._none, self._none, {}
        result = self.env.rollout(np.stack(self._pending, axis=1))
        self._pending.clear()
        terminated, truncated = result.terminated.any(axis=1), result.truncated.any(axis=1)
        ended = terminated | truncated
        if ended.any():
            self.env.reset(options={"reset_mask": ended})
        return result.obs[:, -1], result.reward[:, -1], terminated, truncated, {}

    def close(self) -> None:
        self.env.close()
