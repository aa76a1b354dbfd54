"""``obs_dtype=np.float32``: the observation space and every observation in float32; rewards stay float64."""

import gymnasium as gym
import numpy as np
import pytest

import mjvec

N = 3


def _run(env, actions, seed=0):
    """Every observation the env returns (reset, step, final_obs), its rewards and infos."""
    obs, info = env.reset(seed=seed)
    out = [("reset", obs, None, info)]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append(("step", obs, reward, info))
    return out


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_float32_observations_are_the_float64_ones_rounded(mode):
    kwargs = {"autoreset_mode": mode, "max_episode_steps": 4}
    ours = mjvec.make("Hopper-v5", N, obs_dtype=np.float32, **kwargs)
    ref = mjvec.make("Hopper-v5", N, **kwargs)
    assert ours.single_observation_space.dtype == ours.observation_space.dtype == np.float32
    assert ours.single_observation_space.shape == ref.single_observation_space.shape
    assert ref.single_observation_space.dtype == np.float64
    actions = np.random.default_rng(0).uniform(-1, 1, (12, N, 3))
    try:
        if mode == "disabled":  # ended envs are reset by hand: compare one episode
            actions = actions[:4]
        finals = 0
        for (kind, o32, r32, i32), (_, o64, r64, i64) in zip(_run(ours, actions), _run(ref, actions)):
            assert o32.dtype == np.float32 and ours.observation_space.contains(o32)
            np.testing.assert_array_equal(o32, o64.astype(np.float32))
            if kind == "step":
                assert r32.dtype == np.float64
                np.testing.assert_array_equal(r32, r64)
            assert i32.keys() == i64.keys()
            for key in i64:
                if key == "final_obs":
                    for x, y in zip(i32[key], i64[key]):
                        assert (x is None) == (y is None)
                        if x is not None:
                            finals += 1
                            assert x.dtype == np.float32
                            np.testing.assert_array_equal(x, y.astype(np.float32))
                elif key != "final_info":
                    assert i32[key].dtype == i64[key].dtype  # info values keep their dtypes
                    np.testing.assert_array_equal(i32[key], i64[key])
        assert finals > 0 if mode == "same_step" else finals == 0
    finally:
        ours.close()
        ref.close()


def test_none_keeps_the_tasks_dtype_bit_for_bit():
    a, b = mjvec.make("HalfCheetah-v5", 2, obs_dtype=None), mjvec.make("HalfCheetah-v5", 2)
    np.testing.assert_array_equal(a.reset(seed=1)[0], b.reset(seed=1)[0])
    assert a.observation_space == b.observation_space and a.reset(seed=1)[0].dtype == np.float64
    a.close(), b.close()


def test_through_gymnasium_and_sb3():
    env = gym.make_vec("mjvec/InvertedPendulum-v5", 2, obs_dtype="float32")
    assert env.reset(seed=0)[0].dtype == np.float32 and env.single_observation_space.dtype == np.float32
    env.close()
    one = gym.make("mjvec/InvertedPendulum-v5", obs_dtype=np.float32)
    obs, _ = one.reset(seed=0)
    assert obs.dtype == np.float32 and one.observation_space.contains(obs)
    assert one.step(one.action_space.sample())[0].dtype == np.float32
    one.close()
    pytest.importorskip("stable_baselines3")
    from mjvec.sb3 import SB3VecEnv

    venv = SB3VecEnv(mjvec.make("InvertedPendulum-v5", 2, obs_dtype=np.float32))
    assert venv.reset().dtype == np.float32 and venv.observation_space.dtype == np.float32
    assert venv.step(np.zeros((2, 1), np.float32))[0].dtype == np.float32
    venv.close()


def test_bad_obs_dtype_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"`obs_dtype` must be np.float32, np.float64 or None, got int32"):
        mjvec.make("InvertedPendulum-v5", 2, obs_dtype=np.int32)
    with pytest.raises(TypeError, match=r"`obs_dtype` must be np.float32, np.float64 or None, got float 3.5"):
        mjvec.make("InvertedPendulum-v5", 2, obs_dtype=3.5)
