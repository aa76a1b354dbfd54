"""MjVecEnv's Gymnasium contract: spaces, seeding, autoreset modes, bad input, lifecycle."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, VectorEnv

import mjvec

ENV = "HalfCheetah-v5"


@pytest.fixture
def env():
    e = mjvec.make(ENV, 4, max_episode_steps=5)
    yield e
    e.close()


def test_spaces_and_dtypes(env):
    assert isinstance(env, VectorEnv)
    assert env.num_envs == 4
    assert env.single_observation_space.shape == (17,)
    assert env.single_action_space.shape == (6,)
    assert env.observation_space.shape == (4, 17)
    assert env.action_space.shape == (4, 6)
    assert env.single_action_space.dtype == np.float32
    assert env.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert env.render_mode is None
    obs, info = env.reset(seed=1)
    assert obs.dtype == np.float64 and obs.shape == (4, 17)
    assert env.observation_space.contains(obs)
    obs, rew, term, trunc, info = env.step(env.action_space.sample())
    assert rew.dtype == np.float64 and rew.shape == (4,)
    assert term.dtype == np.bool_ and trunc.dtype == np.bool_
    for key in ("reward_forward", "reward_ctrl", "x_position", "x_velocity"):
        assert info[key].shape == (4,)
        assert info[f"_{key}"].all()


def test_make_vec_registration_and_kwargs():
    env = gym.make_vec("mjvec/HalfCheetah-v5", num_envs=3, ctrl_cost_weight=0.5, max_episode_steps=7)
    assert isinstance(env.unwrapped, mjvec.MjVecEnv)
    assert env.max_episode_steps == 7
    assert env.task._ctrl_cost_weight == 0.5
    env.close()
    env = gym.make_vec("mjvec/HalfCheetah-v5", num_envs=2)
    assert env.max_episode_steps == 1000
    with pytest.raises(AttributeError, match=r"fixed when the env is made.*max_episode_steps=50"):
        env.max_episode_steps = 50  # would otherwise be silently ignored by the episode rules
    assert env.max_episode_steps == 1000
    env.close()


def test_seeding_matches_per_env_seed_and_lists(env):
    o_int, _ = env.reset(seed=10)
    o_list, _ = env.reset(seed=[10, 11, 12, 13])
    np.testing.assert_array_equal(o_int, o_list)
    o_other, _ = env.reset(seed=[11, 11, 11, 11])
    np.testing.assert_array_equal(o_other[0], o_int[1])
    np.testing.assert_array_equal(o_other[3], o_int[1])
    o_new, _ = env.reset(seed=99)
    assert not np.array_equal(o_new, o_int)


def test_unseeded_reset_continues_each_stream():
    a, b = mjvec.make(ENV, 2), mjvec.make(ENV, 2)
    a.reset(seed=3), b.reset(seed=3)
    np.testing.assert_array_equal(a.reset()[0], b.reset()[0])
    assert not np.array_equal(a.reset()[0], a.reset(seed=3)[0])


def _rollout(nthread, steps=60, seed=0):
    env = mjvec.make(ENV, 5, nthread=nthread, max_episode_steps=17)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(0)
    out = [obs]
    for _ in range(steps):
        obs, rew, term, trunc, _ = env.step(rng.uniform(-1, 1, (5, 6)).astype(np.float32))
        out += [obs, rew, trunc]
    env.close()
    return out


def test_deterministic_across_thread_counts():
    for x, y in zip(_rollout(1), _rollout(2)):
        np.testing.assert_array_equal(x, y)


def test_next_step_autoreset_ignores_action_and_gives_zero_reward():
    env = mjvec.make(ENV, 2, max_episode_steps=3)
    env.reset(seed=0)
    for _ in range(3):
        _, _, _, trunc, _ = env.step(np.zeros((2, 6), np.float32))
    assert trunc.all()
    obs, rew, term, trunc, info = env.step(np.ones((2, 6), np.float32))
    np.testing.assert_array_equal(rew, 0.0)
    assert not term.any() and not trunc.any()
    # the reset step carries reset info only
    assert info["_x_position"].all() and "reward_forward" not in info
    # the same as a fresh reset with the stream continued
    ref = mjvec.make(ENV, 2)
    ref.reset(seed=0)
    np.testing.assert_array_equal(obs, ref.reset()[0])


def test_same_step_autoreset_keeps_final_obs():
    env = mjvec.make(ENV, 3, max_episode_steps=2, autoreset_mode="same_step")
    assert env.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    env.reset(seed=0)
    obs1, *_ = env.step(np.zeros((3, 6), np.float32))
    obs2, rew, term, trunc, info = env.step(np.zeros((3, 6), np.float32))
    assert trunc.all() and info["_final_obs"].all()
    assert info["final_obs"].dtype == object
    assert not np.array_equal(info["final_obs"][0], obs2[0])  # obs2 is the reset obs
    assert info["final_info"]["_x_position"].all()
    assert rew.shape == (3,) and (rew != 0).all()
    # the next step continues from the reset state, with no episode end
    _, _, term, trunc, info = env.step(np.zeros((3, 6), np.float32))
    assert not trunc.any() and "final_obs" not in info


def test_disabled_mode_needs_reset_mask():
    env = mjvec.make(ENV, 3, max_episode_steps=2, autoreset_mode=AutoresetMode.DISABLED)
    obs0, _ = env.reset(seed=0)
    a = np.zeros((3, 6), np.float32)
    env.step(a)
    obs, _, _, trunc, _ = env.step(a)
    assert trunc.all()
    with pytest.raises(RuntimeError, match=r"environments \[0, 1, 2\] have ended.*reset_mask"):
        env.step(a)
    mask = np.array([True, False, True])
    obs_r, info = env.reset(options={"reset_mask": mask})
    np.testing.assert_array_equal(obs_r[1], obs[1])  # untouched env keeps its state
    assert info["_x_position"].tolist() == [True, False, True]
    with pytest.raises(RuntimeError, match=r"environments \[1\] have ended"):
        env.step(a)
    env.reset(options={"reset_mask": ~mask})
    env.step(a)


def test_reset_mask_reseeds_only_masked():
    env = mjvec.make(ENV, 3, autoreset_mode="disabled")
    full, _ = env.reset(seed=5)
    env.step(np.zeros((3, 6), np.float32))
    obs, _ = env.reset(seed=5, options={"reset_mask": np.array([False, True, False])})
    np.testing.assert_array_equal(obs[1], full[1])
    assert not np.array_equal(obs[0], full[0])


@pytest.mark.parametrize(
    "actions, exc, pattern",
    [
        (np.zeros((3, 6)), ValueError, r"`actions` must have shape \(4, 6\).*got \(3, 6\)"),
        (np.zeros((4, 5)), ValueError, r"`actions` must have shape \(4, 6\).*got \(4, 5\)"),
        (np.zeros(24), ValueError, r"got \(24,\)"),
        (np.zeros((4, 6), dtype=bool), TypeError, r"real numeric dtype.*got bool"),
        (np.full((4, 6), "a"), TypeError, r"real numeric dtype"),
        ("left", TypeError, r"`actions` must be a numpy array"),
    ],
)
def test_bad_actions_raise_before_simulating(env, actions, exc, pattern):
    obs, _ = env.reset(seed=0)
    with pytest.raises(exc, match=pattern):
        env.step(actions)
    # nothing was simulated: the next step is the first
    obs1, *_ = env.step(np.zeros((4, 6), np.float32))
    fresh = mjvec.make(ENV, 4, max_episode_steps=5)
    fresh.reset(seed=0)
    np.testing.assert_array_equal(obs1, fresh.step(np.zeros((4, 6), np.float32))[0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_actions_name_the_envs(env, bad):
    env.reset(seed=0)
    a = np.zeros((4, 6), np.float32)
    a[2, 3] = bad
    with pytest.raises(ValueError, match=r"`actions` must be finite.*environments \[2\]"):
        env.step(a)


def test_bad_reset_arguments(env):
    with pytest.raises(ValueError, match=r"unknown keys \['reset_msk'\].*did you mean 'reset_mask'"):
        env.reset(options={"reset_msk": np.ones(4, bool)})
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(4,\), got \(3,\)"):
        env.reset(options={"reset_mask": np.ones(3, bool)})
    with pytest.raises(TypeError, match=r"dtype bool, got int64"):
        env.reset(options={"reset_mask": np.ones(4, np.int64)})
    with pytest.raises(TypeError, match=r"must be a numpy array, got list"):
        env.reset(options={"reset_mask": [True] * 4})
    with pytest.raises(ValueError, match=r"at least one True"):
        env.reset(options={"reset_mask": np.zeros(4, bool)})
    with pytest.raises(ValueError, match=r"one seed per environment \(4\), got 2"):
        env.reset(seed=[1, 2])
    with pytest.raises(ValueError, match=r"`seed` must be a non-negative int"):
        env.reset(seed=-1)
    with pytest.raises(TypeError, match=r"`seed` must be"):
        env.reset(seed=1.5)
    with pytest.raises(TypeError, match=r"`options` must be a dict"):
        env.reset(options=[1])


def test_bad_construction_arguments():
    with pytest.raises(ValueError, match=r"`num_envs` must be >= 1, got 0"):
        mjvec.make(ENV, 0)
    with pytest.raises(TypeError, match=r"`num_envs` must be an int, got float"):
        mjvec.make(ENV, 2.0)
    with pytest.raises(ValueError, match=r"not an mjvec task \(did you mean 'HalfCheetah-v5'"):
        mjvec.make("HalfCheetah-v4x", 2)
    with pytest.raises(ValueError, match=r"`backend` must be one of"):
        mjvec.make(ENV, 2, backend="gpu")
    with pytest.raises(ValueError, match=r"`autoreset_mode` must be.*did you mean 'same_step'"):
        mjvec.make(ENV, 2, autoreset_mode="same_stpe")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'ctrl_cost_wieght'.*did you mean 'ctrl_cost_weight'"):
        mjvec.make(ENV, 2, ctrl_cost_wieght=0.1)
    with pytest.raises(ValueError, match=r"`nthread` must be >= 1"):
        mjvec.make(ENV, 2, nthread=0)
    with pytest.raises(ValueError, match=r"`frame_skip` must be >= 1"):
        mjvec.make(ENV, 2, frame_skip=0)
    with pytest.raises(ValueError, match=r"`max_episode_steps` must be >= 1"):
        mjvec.make(ENV, 2, max_episode_steps=0)


def test_lifecycle():
    env = mjvec.make(ENV, 2)
    with pytest.raises(RuntimeError, match=r"before `reset\(\)`"):
        env.step(np.zeros((2, 6), np.float32))
    env.reset(seed=0)
    env.close()
    env.close()  # twice is fine
    assert env.closed
    with pytest.raises(RuntimeError, match="closed"):
        env.step(np.zeros((2, 6), np.float32))
    with pytest.raises(RuntimeError, match="closed"):
        env.reset()


def test_no_time_limit():
    env = mjvec.make(ENV, 2, max_episode_steps=None)
    env.reset(seed=0)
    for _ in range(3):
        *_, trunc, _ = env.step(np.zeros((2, 6), np.float32))
        assert not trunc.any()


def test_repr_names_the_task_the_backend_and_its_threads():
    env = mjvec.make("HalfCheetah-v5", 3, nthread=2, autoreset_mode="same_step")
    assert repr(env) == "MjVecEnv(HalfCheetah, num_envs=3, backend='cpu', nthread=2, autoreset_mode=SAME_STEP)"
    env.close()
    assert "backend='cpu'" in repr(env)


@pytest.mark.parametrize("env_id, kwargs, error, match", [
    (ENV, {"ctrl_cost_weight": "0.1"}, TypeError, r"HalfCheetah-v5: `ctrl_cost_weight` must be a real number, got str '0.1'"),
    (ENV, {"reset_noise_scale": -0.1}, ValueError, r"HalfCheetah-v5: `reset_noise_scale` must be >= 0, got -0.1"),
    (ENV, {"forward_reward_weight": float("nan")}, ValueError, r"`forward_reward_weight` must be finite, got nan"),
    (ENV, {"frame_skip": 2.0}, TypeError, r"`frame_skip` must be an int, got float 2.0"),
    (ENV, {"exclude_current_positions_from_observation": "no"}, TypeError, r"must be a bool, got str 'no'"),
    (ENV, {"xml_file": 3}, TypeError, r"`xml_file` must be a str, got int 3"),
    (ENV, {"default_camera_config": [1]}, TypeError, r"`default_camera_config` must be a dict or None, got list"),
    ("Hopper-v5", {"healthy_z_range": (1.0, 0.5)}, ValueError, r"`healthy_z_range` must be \(low, high\) with low <= high"),
    ("Hopper-v5", {"healthy_angle_range": 0.2}, TypeError, r"`healthy_angle_range` must be a \(low, high\) pair"),
    ("Ant-v5", {"main_body": 1.5}, TypeError, r"`main_body` must be an int or a str, got float"),
    ("Humanoid-v5", {"solver": 2}, TypeError, r"`solver` must be a str or None, got int"),
    ("Reacher-v5", {"reward_control_weight": None}, TypeError, r"`reward_control_weight` must be a real number"),
    ("SpinTop-v0", {"max_tilt": -1.0}, ValueError, r"`max_tilt` must be >= 0"),
])
def test_task_keyword_arguments_are_checked_at_make(env_id, kwargs, error, match):
    """Types and ranges refused at make, naming the task and the argument (issue 14, item 10)."""
    with pytest.raises(error, match=match):
        mjvec.make(env_id, 2, **kwargs)


def test_task_keyword_arguments_of_the_right_types_pass():
    for env_id, kwargs in [
        (ENV, {"ctrl_cost_weight": 1, "forward_reward_weight": -1.0, "reset_noise_scale": np.float32(0.0)}),
        ("Hopper-v5", {"healthy_state_range": None, "healthy_z_range": [0.7, float("inf")]}),
        ("Ant-v5", {"main_body": "torso", "contact_force_range": (-1, 1), "terminate_when_unhealthy": np.bool_(False)}),
    ]:
        mjvec.make(env_id, 2, **kwargs).close()


def test_a_batch_larger_than_the_memory_left_is_refused_naming_num_envs(monkeypatch):
    """issue 14, item 6: refused with the figures before anything is allocated, not deep in MuJoCo."""
    with pytest.raises(ValueError, match=r"`num_envs`=100,000,000 needs at least \d+\.\d GiB of memory \(177 KiB of MjData"
                                         r" and host arrays per env\), more than the .* GiB this machine has available"):
        mjvec.make(ENV, 10**8)
    from mjvec.backends import memory

    monkeypatch.setattr(memory, "available_memory", lambda: 2**30)
    with pytest.raises(ValueError, match=r"`num_envs`=10,000 needs at least 1\.7 GiB.*more than the 1\.0 GiB this"
                                         r" machine has available: use at most about 5,9\d\d envs here"):
        mjvec.make(ENV, 10_000)
    mjvec.make(ENV, 100).close()
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # unknown (not Linux): no refusal
    mjvec.make(ENV, 100).close()
