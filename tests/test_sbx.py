"""sbx (Stable-Baselines3 in JAX, ``sbx-rl``) on ``mjvec.sb3.SB3VecEnv``, with no glue.

sbx's algorithms run SB3's own collection loops (``OffPolicyAlgorithm.collect_rollouts``,
``OnPolicyAlgorithm.collect_rollouts``) and buffers, so what they need of the env is what
SB3 needs. The tests run sbx's SAC and PPO for a short budget and check what SAC's replay
buffer holds against what the adapter returned at each step.
"""

from __future__ import annotations

import numpy as np
import pytest

import mjvec

pytest.importorskip("sbx", reason="sbx is not installed: pip install 'mjvec[sbx]'")
from sbx import PPO, SAC  # noqa: E402

from mjvec.sb3 import SB3VecEnv  # noqa: E402

NUM_ENVS, LIMIT = 2, 24


class _Recorded(SB3VecEnv):
    """What the adapter handed SB3 at each step: obs, done, terminal observations, timeouts."""

    def __init__(self, env):
        super().__init__(env)
        self.steps = []

    def step_wait(self):
        obs, reward, done, infos = super().step_wait()
        terminal = [info.get("terminal_observation") for info in infos]
        timeout = [info["TimeLimit.truncated"] for info in infos]
        self.steps.append((obs.copy(), reward.copy(), done.copy(), terminal, timeout))
        return obs, reward, done, infos


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_sbx_sac_replay_buffer_holds_terminal_observations_and_timeouts(mode):
    venv = _Recorded(mjvec.make("InvertedPendulum-v5", NUM_ENVS, autoreset_mode=mode, max_episode_steps=LIMIT,
                                obs_dtype=np.float32))
    steps = 500
    model = SAC("MlpPolicy", venv, learning_starts=200, batch_size=64, buffer_size=10_000, seed=0,
                policy_kwargs={"net_arch": [32, 32]})
    model.learn(steps * NUM_ENVS)
    assert model.num_timesteps == steps * NUM_ENVS
    buffer = model.replay_buffer
    assert buffer.pos == len(venv.steps) == steps
    ends = timeouts = 0
    for t, (obs, reward, done, terminal, timeout) in enumerate(venv.steps):
        np.testing.assert_array_equal(buffer.rewards[t], reward)
        np.testing.assert_array_equal(buffer.dones[t], done.astype(np.float32))
        np.testing.assert_array_equal(buffer.timeouts[t], np.array(timeout, dtype=np.float32))
        if t + 1 < steps:  # the next transition starts at what the env returned: reset obs after an end
            np.testing.assert_array_equal(buffer.observations[t + 1], obs)
        for i in range(NUM_ENVS):
            if done[i]:  # the stored next observation is the episode's last, not the reset one
                np.testing.assert_array_equal(buffer.next_observations[t, i], terminal[i])
                assert not np.array_equal(buffer.next_observations[t, i], obs[i])
                ends += 1
                timeouts += timeout[i]
            else:
                np.testing.assert_array_equal(buffer.next_observations[t, i], obs[i])
    assert ends > timeouts > 0  # both terminations and time limits were stored
    venv.close()


def test_sbx_ppo_runs_its_rollouts_and_updates_on_the_adapter():
    venv = SB3VecEnv(mjvec.make("InvertedPendulum-v5", 4, obs_dtype=np.float32))
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=128, n_epochs=2, seed=0,
                policy_kwargs={"net_arch": [32, 32]})
    params = model.policy.actor_state.params
    model.learn(1024)
    assert model.num_timesteps == 1024
    changed = [not np.allclose(a, b) for a, b in zip(_leaves(params), _leaves(model.policy.actor_state.params))]
    assert any(changed)  # the updates reached the actor
    venv.close()


def _leaves(tree):
    import jax

    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]
