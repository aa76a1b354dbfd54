"""A CleanRL-style PPO loop of ours on ``gym.make_vec("mjvec/...")`` in NEXT_STEP mode.

The loop has the shape of CleanRL's ``ppo_continuous_action.py`` (Gymnasium's vector wrappers,
a rollout buffer of ``num_steps x num_envs``, GAE, clipped PPO updates) with the two fixes
NEXT_STEP needs: the step after an episode end (the reset step) is never stored as a
transition, and a truncated step bootstraps from the observation the env returned at that step
(the episode's last one). The test checks what the loop stored against what the env itself
returned, and the last observation of every episode against a replay of its last step.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers.vector import ClipAction, RecordEpisodeStatistics

import mjvec
from recorded import Recorded

torch = pytest.importorskip("torch", reason="the PPO loop's policy is a torch module (pip install 'mjvec[torch]')")

ENV_ID, NUM_ENVS, NUM_STEPS, ITERATIONS, LIMIT = "mjvec/InvertedPendulum-v5", 4, 128, 5, 24
GAMMA, LAMBDA = 0.99, 0.95


class _Agent(torch.nn.Module):
    def __init__(self, obs_size, act_size):
        super().__init__()
        self.critic = torch.nn.Sequential(torch.nn.Linear(obs_size, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
        self.actor = torch.nn.Sequential(torch.nn.Linear(obs_size, 32), torch.nn.Tanh(), torch.nn.Linear(32, act_size))
        self.log_std = torch.nn.Parameter(torch.full((act_size,), -0.5))

    def value(self, obs):
        return self.critic(obs).squeeze(-1)

    def act(self, obs, action=None):
        dist = torch.distributions.Normal(self.actor(obs), self.log_std.exp())
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action).sum(-1), self.value(obs)


def _ppo_update(agent, optimizer, batch, epochs=2, minibatches=4, clip=0.2):
    obs, actions, logprobs, advantages, returns = batch
    for _ in range(epochs):
        for idx in torch.randperm(len(obs)).chunk(minibatches):
            _, new_logprob, value = agent.act(obs[idx], actions[idx])
            ratio = (new_logprob - logprobs[idx]).exp()
            adv = advantages[idx]
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
            loss = policy_loss + 0.5 * ((value - returns[idx]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def _run_ppo():
    """The loop; returns the stored transitions, the raw env's record and the episode statistics read."""
    torch.manual_seed(0)
    raw = Recorded(gym.make_vec(ENV_ID, NUM_ENVS, max_episode_steps=LIMIT, obs_dtype=np.float32))
    assert raw.metadata["autoreset_mode"] is gym.vector.AutoresetMode.NEXT_STEP
    envs = ClipAction(RecordEpisodeStatistics(raw))
    agent = _Agent(envs.single_observation_space.shape[0], envs.single_action_space.shape[0])
    optimizer = torch.optim.Adam(agent.parameters(), lr=3e-4)

    stored = [[] for _ in range(NUM_ENVS)]  # per env: (obs, action, reward, next_obs, terminated, truncated)
    episodes = []  # (env, return, length) as RecordEpisodeStatistics reports them
    next_obs, _ = envs.reset(seed=0)
    next_obs = torch.as_tensor(next_obs)
    resetting = torch.zeros(NUM_ENVS, dtype=torch.bool)  # the next step of these envs is a reset step
    for _ in range(ITERATIONS):
        obs_b = torch.zeros((NUM_STEPS, NUM_ENVS, *envs.single_observation_space.shape))
        act_b = torch.zeros((NUM_STEPS, NUM_ENVS, *envs.single_action_space.shape))
        logp_b, rew_b, val_b = (torch.zeros((NUM_STEPS, NUM_ENVS)) for _ in range(3))
        ended_b, valid_b = (torch.zeros((NUM_STEPS, NUM_ENVS), dtype=torch.bool) for _ in range(2))
        for t in range(NUM_STEPS):
            with torch.no_grad():
                action, logprob, value = agent.act(next_obs)
            obs_b[t], act_b[t], logp_b[t], val_b[t] = next_obs, action, logprob, value
            valid_b[t] = ~resetting  # a reset step ignores its action: not a transition
            obs, reward, terminated, truncated, info = envs.step(action.numpy())
            obs, reward = torch.as_tensor(obs), torch.as_tensor(reward, dtype=torch.float32)
            terminated, truncated = torch.as_tensor(terminated), torch.as_tensor(truncated)
            if truncated.any():  # bootstrap from the episode's last observation: the one returned now
                with torch.no_grad():
                    reward = torch.where(truncated & ~terminated, reward + GAMMA * agent.value(obs), reward)
            rew_b[t], ended_b[t] = reward, terminated | truncated
            for i in np.flatnonzero(valid_b[t].numpy()):
                stored[i].append((obs_b[t, i].numpy(), act_b[t, i].numpy(), float(rew_b[t, i]), obs[i].numpy(),
                                  bool(terminated[i]), bool(truncated[i])))
            if "episode" in info:  # Gymnasium's vector RecordEpisodeStatistics: info["episode"] + its mask
                for i in np.flatnonzero(info["_episode"]):
                    episodes.append((int(i), float(info["episode"]["r"][i]), int(info["episode"]["l"][i])))
            resetting, next_obs = terminated | truncated, obs
        with torch.no_grad():  # GAE over the valid steps; an ended step's chain stops there
            advantages = torch.zeros_like(rew_b)
            last_adv = torch.zeros(NUM_ENVS)
            next_value = torch.where(resetting, 0.0, agent.value(next_obs))
            for t in reversed(range(NUM_STEPS)):
                keep = (~ended_b[t]).float()
                delta = rew_b[t] + GAMMA * next_value * keep - val_b[t]
                last_adv = delta + GAMMA * LAMBDA * keep * last_adv
                advantages[t] = torch.where(valid_b[t], last_adv, 0.0)
                next_value = val_b[t]
            returns = advantages + val_b
        v = valid_b
        _ppo_update(agent, optimizer, (obs_b[v], act_b[v], logp_b[v], advantages[v], returns[v]))
    envs.close()
    return stored, raw.steps, episodes


def test_cleanrl_style_ppo_stores_no_reset_step_and_bootstraps_truncations_from_the_last_obs():
    stored, steps, episodes = _run_ppo()
    # SAME_STEP, so that a replayed last step hands its observation over in `final_obs`
    replay = mjvec.make("InvertedPendulum-v5", 1, obs_dtype=np.float32, autoreset_mode="same_step",
                        max_episode_steps=10**6)
    replay.reset(seed=0)
    total_steps = NUM_STEPS * ITERATIONS
    assert len(steps) == total_steps
    terminations = truncations = ends = 0
    for i in range(NUM_ENVS):
        ended = [bool(s[4][i] or s[5][i]) for s in steps]
        reset_steps = [t for t in range(1, total_steps) if ended[t - 1]]
        # exactly the non-reset steps were stored, each with what the env returned at that step
        stored_steps = [t for t in range(total_steps) if t not in set(reset_steps)]
        assert len(stored[i]) == len(stored_steps) == total_steps - len(reset_steps)
        for t in reset_steps:  # a reset step: no reward, no end, the new episode's first observation
            assert steps[t][3][i] == 0.0 and not steps[t][4][i] and not steps[t][5][i]
        reported = [(n, r) for e, r, n in episodes if e == i]
        episode_len, episode_return, ended_episodes = 0, 0.0, 0
        for k, t in enumerate(stored_steps):
            obs, action, reward, next_obs, term, trunc = stored[i][k]
            _, env_action, env_obs, env_reward, env_term, env_trunc, _ = steps[t]
            np.testing.assert_array_equal(next_obs, env_obs[i])
            np.testing.assert_array_equal(np.clip(action, -3.0, 3.0), env_action[i])
            assert (term, trunc) == (bool(env_term[i]), bool(env_trunc[i]))
            episode_len += 1
            episode_return += env_reward[i]
            if k + 1 < len(stored[i]):
                following_obs = stored[i][k + 1][0]
                if term or trunc:  # the next transition starts the next episode at its reset obs
                    np.testing.assert_array_equal(following_obs, steps[t + 1][2][i])
                    assert not np.array_equal(following_obs, next_obs)
                else:  # within an episode, transitions chain
                    np.testing.assert_array_equal(following_obs, next_obs)
            if term or trunc:
                # the observation the loop bootstrapped from (or stopped at) is the episode's last:
                # the same step replayed from the state before it gives it, bit for bit
                replay.set_state(steps[t][0][i : i + 1])
                replay_obs, _, replay_term, replay_trunc, replay_info = replay.step(env_action[i : i + 1])
                last = replay_info["final_obs"][0] if replay_term[0] or replay_trunc[0] else replay_obs[0]
                np.testing.assert_array_equal(next_obs, last)
                assert trunc == (episode_len == LIMIT)  # both flags may be set at the limit
                # what RecordEpisodeStatistics reported for it (reset steps not counted)
                assert reported[ended_episodes][0] == episode_len
                assert reported[ended_episodes][1] == pytest.approx(episode_return)
                terminations += term
                truncations += trunc
                ends += 1
                episode_len, episode_return, ended_episodes = 0, 0.0, ended_episodes + 1
            else:
                assert episode_len < LIMIT
            if trunc and not term:
                assert reward != env_reward[i]  # the bootstrap value was added
            else:
                assert reward == np.float32(env_reward[i])
        assert ended_episodes == len(reported)
    assert terminations > 0 and truncations > 0
    assert len(episodes) == ends
    replay.close()


def test_cleanrl_scripts_env_stack_with_the_documented_changes():
    """CleanRL's ppo_continuous_action.py env setup after docs/integrations.md's changes 1-3.

    One ``gym.make_vec`` batch (by the ``mjvec:`` id, as the script never imports mjvec) under
    the vector versions of the script's wrappers in its order, and the script's episode logging
    read from ``infos["episode"]``: every finished episode is logged once, with the raw env's
    return and length. The batch is in NEXT_STEP: Gymnasium's vector observation wrappers refuse
    the script's SAME_STEP.
    """
    from gymnasium.wrappers.vector import NormalizeObservation, NormalizeReward, TransformObservation, TransformReward

    same_step = gym.make_vec("mjvec:mjvec/InvertedPendulum-v5", 2, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    with pytest.raises(ValueError, match="NEXT_STEP or DISABLED"):
        NormalizeObservation(same_step)
    same_step.close()

    n, steps, gamma = 4, 300, 0.99
    raw = Recorded(gym.make_vec("mjvec:mjvec/InvertedPendulum-v5", n, max_episode_steps=LIMIT))
    envs = RecordEpisodeStatistics(raw)
    envs = ClipAction(envs)
    envs = NormalizeObservation(envs)
    envs = TransformObservation(envs, lambda obs: np.clip(obs, -10, 10))
    envs = NormalizeReward(envs, gamma=gamma)
    envs = TransformReward(envs, lambda reward: np.clip(reward, -10, 10))
    assert envs.metadata["autoreset_mode"] is gym.vector.AutoresetMode.NEXT_STEP
    envs.reset(seed=1)
    rng = np.random.default_rng(0)
    logged = []  # (step, env, return, length) as the changed logging block reads them
    for t in range(steps):
        _, reward, terminations, truncations, infos = envs.step(rng.uniform(-4, 4, (n, 1)))
        assert reward.shape == (n,) and "final_info" not in infos
        if "episode" in infos:  # the script's `if "final_info" in infos:` after change 3
            for i in np.nonzero(infos["_episode"])[0]:
                logged.append((t, int(i), float(infos["episode"]["r"][i]), int(infos["episode"]["l"][i])))
    envs.close()
    expected, returns, lengths = [], np.zeros(n), np.zeros(n, int)
    resetting = np.zeros(n, bool)
    for t, (_, _, _, env_reward, term, trunc, _) in enumerate(raw.steps):
        returns += np.where(resetting, 0.0, env_reward)
        lengths += ~resetting  # a reset step is no step of an episode
        for i in np.flatnonzero(term | trunc):
            assert not trunc[i] or lengths[i] == LIMIT
            expected.append((t, int(i), float(returns[i]), int(lengths[i])))
            returns[i], lengths[i] = 0.0, 0
        resetting = term | trunc
    assert len(expected) > n and [e[:2] for e in logged] == [e[:2] for e in expected]
    for got, want in zip(logged, expected):
        assert got[2] == pytest.approx(want[2]) and got[3] == want[3]
