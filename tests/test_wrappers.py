"""Gymnasium's vector wrappers and a CleanRL-shaped training loop on MjVecEnv."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers.vector import ClipAction, NormalizeObservation, RecordEpisodeStatistics

import mjvec


def _random_actions(rng, env, scale=1.0):
    space = env.single_action_space
    return (scale * rng.uniform(space.low, space.high, size=(env.num_envs, *space.shape))).astype(space.dtype)


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_record_episode_statistics_as_over_gymnasiums_env(mode):
    n, limit = 3, 30
    ours = RecordEpisodeStatistics(mjvec.make("Hopper-v5", n, autoreset_mode=mode, max_episode_steps=limit))
    theirs = RecordEpisodeStatistics(
        gym.make_vec(
            "Hopper-v5", n, vectorization_mode="sync", max_episode_steps=limit,
            vector_kwargs={"autoreset_mode": AutoresetMode[mode.upper()]},
        )
    )
    ours.reset(seed=0), theirs.reset(seed=0)
    rng = np.random.default_rng(0)
    episodes = 0
    returns = np.zeros(n)
    for _ in range(120):
        actions = _random_actions(rng, ours)
        _, reward, term, trunc, info = ours.step(actions)
        _, _, _, _, info_ref = theirs.step(actions)
        returns += reward
        assert ("episode" in info) == ("episode" in info_ref)
        if "episode" in info:
            np.testing.assert_array_equal(info["_episode"], info_ref["_episode"])
            done = info["_episode"]
            np.testing.assert_array_equal(done, term | trunc)
            np.testing.assert_array_equal(info["episode"]["r"][done], info_ref["episode"]["r"][done])
            np.testing.assert_array_equal(info["episode"]["l"][done], info_ref["episode"]["l"][done])
            np.testing.assert_allclose(info["episode"]["r"][done], returns[done])
            episodes += done.sum()
            returns[done] = 0.0
    assert episodes >= n
    assert len(ours.return_queue) == episodes


def test_normalize_observation_normalizes():
    env = NormalizeObservation(mjvec.make("HalfCheetah-v5", 8, max_episode_steps=20))
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    seen = [obs]
    for _ in range(60):
        obs, *_ = env.step(_random_actions(rng, env))
        assert obs.shape == (8, 17) and np.isfinite(obs).all()
        seen.append(obs)
    seen = np.concatenate(seen[20:])
    # roughly zero-mean, unit-variance per feature once the statistics settle
    assert np.abs(seen.mean(axis=0)).max() < 1.0
    assert 0.3 < seen.std(axis=0).mean() < 2.0
    assert env.obs_rms.count > 60 * 8


def test_clip_action_clips_to_the_action_space():
    clipped = ClipAction(mjvec.make("Hopper-v5", 4))
    plain = mjvec.make("Hopper-v5", 4)
    clipped.reset(seed=1), plain.reset(seed=1)
    high = plain.single_action_space.high
    rng = np.random.default_rng(0)
    for _ in range(20):
        big = _random_actions(rng, plain, scale=5.0)
        obs, reward, *_ = clipped.step(big)
        obs_ref, reward_ref, *_ = plain.step(np.clip(big, -high, high))
        np.testing.assert_array_equal(obs, obs_ref)
        np.testing.assert_array_equal(reward, reward_ref)


def test_cleanrl_shaped_loop():
    """The loop of CleanRL's ppo_continuous_action.py, with a fixed linear policy in place of the agent."""
    num_envs, num_steps = 4, 64
    envs = gym.make_vec("mjvec/HalfCheetah-v5", num_envs=num_envs, max_episode_steps=100)
    envs = RecordEpisodeStatistics(envs)
    envs = ClipAction(envs)
    envs = NormalizeObservation(envs)
    assert isinstance(envs.single_action_space, gym.spaces.Box), "only continuous action space is supported"
    obs_dim = envs.single_observation_space.shape
    act_dim = envs.single_action_space.shape
    obs_buf = np.zeros((num_steps, num_envs, *obs_dim), dtype=np.float32)
    actions_buf = np.zeros((num_steps, num_envs, *act_dim), dtype=np.float32)
    rewards_buf = np.zeros((num_steps, num_envs), dtype=np.float32)
    dones_buf = np.zeros((num_steps, num_envs), dtype=np.float32)

    rng = np.random.default_rng(0)
    weights = rng.normal(scale=0.1, size=(obs_dim[0], act_dim[0]))
    next_obs, _ = envs.reset(seed=1)
    next_done = np.zeros(num_envs, dtype=np.float32)
    episodic_returns, ends = [], 0
    for iteration in range(5):  # 5 x 64 vector steps
        for step in range(num_steps):
            obs_buf[step], dones_buf[step] = next_obs, next_done
            action = next_obs @ weights + rng.normal(scale=0.5, size=(num_envs, *act_dim))
            actions_buf[step] = action
            next_obs, reward, terminations, truncations, infos = envs.step(action)
            next_done = np.logical_or(terminations, truncations).astype(np.float32)
            rewards_buf[step] = reward
            ends += int(next_done.sum())
            if "episode" in infos:
                for i in np.flatnonzero(infos["_episode"]):
                    episodic_returns.append(infos["episode"]["r"][i])
                    assert infos["episode"]["l"][i] == 100
    assert np.isfinite(obs_buf).all() and np.isfinite(rewards_buf).all()
    # 320 steps with a 100-step limit: every env ended 3 episodes (no early termination in HalfCheetah)
    assert len(episodic_returns) == 3 * num_envs
    assert ends == 3 * num_envs
    envs.close()
