"""TorchRL's GymWrapper over an MjVecEnv, as is, with TorchRL's own Collector: what it stores."""

from __future__ import annotations

import numpy as np
import pytest

import mjvec

torchrl = pytest.importorskip("torchrl", reason="TorchRL is not installed (pip install 'mjvec[torchrl]')")
torch = pytest.importorskip("torch")

from torchrl.collectors import Collector  # noqa: E402
from torchrl.envs import GymWrapper  # noqa: E402

NUM_ENVS, LIMIT, FRAMES, PER_BATCH = 4, 16, 2000, 400


def _make(mode):
    return mjvec.make("InvertedPendulum-v5", NUM_ENVS, autoreset_mode=mode, max_episode_steps=LIMIT,
                      obs_dtype=np.float32)


def test_torchrl_refuses_next_step():
    with pytest.raises(RuntimeError, match="SAME_STEP or DISABLED"):
        GymWrapper(_make("next_step"))


@pytest.mark.parametrize("mode", ["same_step", "disabled"])
def test_torchrl_collector_stores_the_envs_own_transitions(mode):
    env = GymWrapper(_make(mode))
    assert env.batch_size == torch.Size([NUM_ENVS])
    env.set_seed(0)
    collector = Collector(env, policy=None, frames_per_batch=PER_BATCH, total_frames=FRAMES)
    td = torch.cat(list(collector), dim=1)  # (envs, time): batches follow each other
    collector.shutdown()
    assert td.shape == (NUM_ENVS, FRAMES // NUM_ENVS)
    obs, next_obs = td["observation"].numpy(), td["next", "observation"].numpy()
    action, reward = td["action"].numpy(), td["next", "reward"].squeeze(-1).numpy()
    term, trunc = td["next", "terminated"].squeeze(-1).numpy(), td["next", "truncated"].squeeze(-1).numpy()
    done = term | trunc
    np.testing.assert_array_equal(td["next", "done"].squeeze(-1).numpy(), done)
    assert term.any() and trunc.any()

    # the same actions through a SAME_STEP twin seeded alike: each stored transition is the
    # env's own step, and a stored next observation at an end is the episode's last one
    twin = _make("same_step")
    twin.reset(seed=0)  # what set_seed(0) did
    first, _ = twin.reset()  # the collector's own first reset: the envs' streams go on
    np.testing.assert_array_equal(obs[:, 0], first)
    for t in range(obs.shape[1]):
        step_obs, step_reward, step_term, step_trunc, info = twin.step(action[:, t])
        np.testing.assert_array_equal(term[:, t], step_term)
        np.testing.assert_array_equal(trunc[:, t], step_trunc)
        np.testing.assert_array_equal(reward[:, t], step_reward.astype(np.float32))
        last = step_obs.copy()
        for i in np.flatnonzero(step_term | step_trunc):
            last[i] = info["final_obs"][i]
        np.testing.assert_array_equal(next_obs[:, t], last)
        if mode == "same_step" and (step_term | step_trunc).all():
            # every env ended at once: TorchRL resets the whole batch once more (its reset of
            # all envs is a plain `reset()`), a fresh first observation from each env's stream
            step_obs, _ = twin.reset()
        if t + 1 < obs.shape[1]:  # the next transition starts where the env went on (reset obs after an end)
            np.testing.assert_array_equal(obs[:, t + 1], step_obs, err_msg=f"t={t}")
    twin.close()

    # no transition crosses an episode; truncations exactly at the time limit
    length = np.zeros(NUM_ENVS, dtype=int)
    traj = td["collector", "traj_ids"].numpy()
    for t in range(obs.shape[1]):
        length += 1
        np.testing.assert_array_equal(trunc[:, t], length == LIMIT)
        if t + 1 < obs.shape[1]:
            assert ((traj[:, t + 1] != traj[:, t]) == done[:, t]).all()  # a new trajectory id after each end
        length[done[:, t]] = 0
    # InvertedPendulum terminates when the pole leaves [-0.2, 0.2] rad: the stored next
    # observation shows it where `terminated` is set, never elsewhere
    np.testing.assert_array_equal(term, np.abs(next_obs[..., 1]) > 0.2)


def test_a_gymnasium_wrapper_inside_gym_wrapper_needs_autoreset_mode_set_on_it():
    """TorchRL reads ``env.autoreset_mode``, which Gymnasium's VectorWrapper does not forward (it forwards metadata)."""
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    refused = RecordEpisodeStatistics(_make("same_step"))
    assert refused.metadata["autoreset_mode"] is refused.unwrapped.autoreset_mode
    with pytest.raises(AttributeError, match="autoreset_mode"):
        GymWrapper(refused)  # the half-made GymWrapper closes the env when it is collected
    wrapped = RecordEpisodeStatistics(_make("same_step"))
    wrapped.autoreset_mode = wrapped.unwrapped.autoreset_mode  # the workaround docs/integrations.md gives
    env = GymWrapper(wrapped)
    env.set_seed(0)
    td = env.rollout(3 * LIMIT, break_when_any_done=False)
    next_obs = td["next", "observation"].numpy()
    ended = td["next", "done"].squeeze(-1).numpy()
    assert ended[:, :-1].any()
    # an ended transition's next observation is the episode's last (final_obs), not the next start
    for i, t in zip(*np.nonzero(ended[:, :-1])):
        assert not np.array_equal(next_obs[i, t], td["observation"].numpy()[i, t + 1])
    env.close()
