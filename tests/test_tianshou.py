"""Tianshou's own Collector on mjvec.tianshou.TianshouVectorEnv: the transitions it stores."""

from __future__ import annotations

import numpy as np
import pytest

import mjvec

tianshou = pytest.importorskip("tianshou", reason="the tianshou extra is not installed (pip install 'mjvec[tianshou]')")
torch = pytest.importorskip("torch")

from tianshou.algorithm.modelfree.reinforce import ProbabilisticActorPolicy  # noqa: E402
from tianshou.data import Collector, VectorReplayBuffer  # noqa: E402
from tianshou.env import BaseVectorEnv  # noqa: E402
from tianshou.utils.net.common import Net  # noqa: E402
from tianshou.utils.net.continuous import ContinuousActorProbabilistic  # noqa: E402

from mjvec.tianshou import TianshouVectorEnv  # noqa: E402

NUM_ENVS, LIMIT, STEPS = 4, 24, 2000


def _venv(**kwargs):
    return TianshouVectorEnv(mjvec.make("InvertedPendulum-v5", NUM_ENVS, autoreset_mode="disabled",
                                        max_episode_steps=LIMIT, obs_dtype=np.float32, **kwargs))


def _policy(venv):
    torch.manual_seed(0)
    space = venv.action_space[0]
    actor = ContinuousActorProbabilistic(
        preprocess_net=Net(state_shape=venv.observation_space[0].shape, hidden_sizes=[32]),
        action_shape=space.shape, unbounded=True,
    )
    return ProbabilisticActorPolicy(
        actor=actor, dist_fn=lambda loc_scale: torch.distributions.Independent(torch.distributions.Normal(*loc_scale), 1),
        action_space=space, action_scaling=False,
    )


def _check_episodes(buf, lens):
    """One env's sub-buffer, in insertion order: episodes chain, end right, and never cross."""
    n = len(buf)
    obs, obs_next = buf.obs[:n], buf.obs_next[:n]
    term, trunc = buf.terminated[:n], buf.truncated[:n]
    np.testing.assert_array_equal(buf.done[:n], term | trunc)
    # InvertedPendulum terminates when the pole's angle leaves [-0.2, 0.2]: a terminal
    # observation shows it, a reset one (angle within 0.01) never does
    np.testing.assert_array_equal(term, np.abs(obs_next[:, 1]) > 0.2)
    length = 0
    for t in range(n):
        length += 1
        if term[t] or trunc[t]:
            assert trunc[t] == (length == LIMIT)  # truncated exactly at the time limit
            lens.append(length)
            length = 0
            if t + 1 < n:  # the next episode starts at a reset observation, not at this one
                assert np.abs(obs[t + 1][1]) <= 0.01 and not np.array_equal(obs[t + 1], obs_next[t])
        else:
            assert length < LIMIT
            if t + 1 < n:
                np.testing.assert_array_equal(obs[t + 1], obs_next[t])


def test_tianshou_collector_stores_whole_episodes_with_terminal_observations():
    venv = _venv()
    assert isinstance(venv, BaseVectorEnv) and len(venv) == NUM_ENVS
    buffer = VectorReplayBuffer(NUM_ENVS * 600, NUM_ENVS)
    collector = Collector(_policy(venv), venv, buffer)
    collector.reset()
    venv.seed(0)
    stats = collector.collect(n_step=STEPS, reset_before_collect=True)
    assert stats.n_collected_steps == STEPS and len(buffer) == STEPS
    lens = []
    for j, buf in enumerate(buffer.buffers):
        assert len(buf) == STEPS // NUM_ENVS
        assert (buf.info.env_id[: len(buf)] == j).all()
        _check_episodes(buf, lens)
    assert sorted(lens) == sorted(stats.lens.tolist())  # Tianshou's own episode statistics agree
    assert (buffer.terminated).any() and (buffer.truncated).any()
    # an n_episode collection (the envs it needs no more episodes from are left out of steps)
    test_buffer = VectorReplayBuffer(NUM_ENVS * 100, NUM_ENVS)
    stepped = []
    step = venv.step
    venv.step = lambda action, id=None: stepped.append(len(venv._ids(id))) or step(action, id)
    stats = Collector(_policy(venv), venv, test_buffer).collect(n_episode=6, reset_before_collect=True)
    assert stats.n_collected_episodes == 6
    assert min(stepped) < NUM_ENVS  # some steps were of a subset of the envs
    lens = []
    for buf in test_buffer.buffers:
        if len(buf):
            _check_episodes(buf, lens)
            assert buf.done[len(buf) - 1]  # only whole episodes
    assert sorted(lens) == sorted(stats.lens.tolist())
    venv.close()


def test_a_step_of_some_envs_leaves_the_others_as_they_were():
    venv, twin = _venv(), _venv()
    obs, info = venv.reset(seed=3)
    obs_twin, _ = twin.reset(seed=3)
    np.testing.assert_array_equal(obs, obs_twin)
    assert [i["env_id"] for i in info] == list(range(NUM_ENVS))
    rng = np.random.default_rng(0)
    for _ in range(5):
        action = rng.uniform(-1, 1, size=(NUM_ENVS, 1)).astype(np.float32)
        before = venv.env.get_state([1, 3])
        sub = venv.step(action[[2, 0]], id=[2, 0])
        full = twin.step(action)
        np.testing.assert_array_equal(sub[0], full[0][[2, 0]])
        np.testing.assert_array_equal(sub[1], full[1][[2, 0]])
        np.testing.assert_array_equal(venv.env.get_state([1, 3]), before)
        assert [i["env_id"] for i in sub[4]] == [2, 0]
        twin.env.set_state(before, [1, 3])  # the twin's left-out envs too, for the next comparison
    # reset of some envs: the others keep their state
    before = venv.env.get_state([0])
    obs, info = venv.reset(env_id=[1, 2, 3])
    assert obs.shape == (3, 4) and [i["env_id"] for i in info] == [1, 2, 3]
    np.testing.assert_array_equal(venv.env.get_state([0]), before)
    venv.close(), twin.close()


def test_the_adapter_refuses_other_modes_and_bad_ids():
    with pytest.raises(ValueError, match="autoreset_mode=\"disabled\""):
        TianshouVectorEnv(mjvec.make("InvertedPendulum-v5", 2))
    venv = _venv()
    venv.reset()
    with pytest.raises(ValueError, match="`id`"):
        venv.step(np.zeros((1, 1), np.float32), id=[NUM_ENVS])
    with pytest.raises(ValueError, match="one row per env"):
        venv.step(np.zeros((3, 1), np.float32), id=[0, 1])
    venv.close()
