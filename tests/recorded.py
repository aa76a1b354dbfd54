"""A vector wrapper that records what a library's loop got from the env, for the tests that check
the transitions the library stored (tests/test_integrations_loops.py, tests/test_skrl.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class Recorded(gym.vector.VectorWrapper):
    """Innermost wrapper: per step, the physics state before it, the action the env got, and what it
    returned: ``(state, action, obs, reward, terminated, truncated, info["final_obs"] or None)``."""

    def __init__(self, env):
        super().__init__(env)
        self.steps = []

    def step(self, actions):
        state = self.env.get_state()
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self.steps.append((state, np.array(actions), obs.copy(), reward.copy(), terminated.copy(),
                           truncated.copy(), info.get("final_obs")))
        return obs, reward, terminated, truncated, info
