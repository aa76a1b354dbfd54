"""``gym.make("mjvec/...")``: one mjvec env behind ``gym.Env``, never a different env."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import mjvec
from mjvec.single_env import MjEnv


@pytest.mark.parametrize("env_id, max_episode_steps", [("Hopper-v5", 40), ("HalfCheetah-v5", 15)])
def test_make_gives_mjvecs_env_bit_for_bit_gymnasiums(env_id, max_episode_steps):
    """Same seed and actions as Gymnasium's own env: same numbers through terminations, TimeLimit and resets."""
    ours = gym.make(f"mjvec/{env_id}", max_episode_steps=max_episode_steps)
    ref = gym.make(env_id, max_episode_steps=max_episode_steps)
    assert isinstance(ours.unwrapped, MjEnv)
    assert ours.observation_space == ref.observation_space and ours.action_space == ref.action_space
    try:
        o1, i1 = ours.reset(seed=5)
        o2, i2 = ref.reset(seed=5)
        ref.action_space.seed(0)
        ends = 0
        for t in range(120):
            np.testing.assert_array_equal(o1, o2, err_msg=f"step {t}")
            assert i1.keys() == i2.keys() and all(np.array_equal(i1[k], i2[k]) for k in i2), f"step {t}"
            a = ref.action_space.sample()
            o1, r1, te1, tr1, i1 = ours.step(a)
            o2, r2, te2, tr2, i2 = ref.step(a)
            assert (r1, te1, tr1) == (r2, te2, tr2), f"step {t}"
            assert isinstance(r1, float) and isinstance(te1, bool) and isinstance(tr1, bool)
            if te1 or tr1:
                ends += 1
                o1, i1 = ours.reset()  # no seed: each env's stream goes on
                o2, i2 = ref.reset()
        assert ends >= 2
    finally:
        ours.close()
        ref.close()


def test_registered_time_limit_and_task_arguments():
    env = gym.make("mjvec/HalfCheetah-v5", ctrl_cost_weight=0.5)
    assert env.spec.max_episode_steps == 1000
    assert env.unwrapped.task._ctrl_cost_weight == 0.5
    assert env.unwrapped.vector_env.max_episode_steps is None  # gym.make's TimeLimit truncates
    env.reset(seed=0)
    for _ in range(999):
        assert not env.step(env.action_space.sample())[3]
    assert env.step(env.action_space.sample())[3]
    env.close()


@pytest.mark.parametrize("env_id, obs, act, steps", [("MocapPush-v0", 17, 3, 100), ("SpinTop-v0", 10, 3, 500)])
def test_mjvecs_own_tasks_are_single_envs_too(env_id, obs, act, steps):
    env = gym.make(f"mjvec/{env_id}")
    assert env.spec.max_episode_steps == steps
    assert env.observation_space.shape == (obs,) and env.action_space.shape == (act,)
    check_env(env.unwrapped, skip_render_check=True)
    first, _ = env.reset(seed=1)
    np.testing.assert_array_equal(first, mjvec.make(env_id, 1).reset(seed=1)[0][0])
    env.close()


def test_render_gives_the_envs_frame(gl):
    env = gym.make("mjvec/InvertedPendulum-v5", render_mode="rgb_array", width=40, height=32)
    vec = mjvec.make("InvertedPendulum-v5", 1, render_mode="rgb_array", width=40, height=32)
    try:
        env.reset(seed=2)
        vec.reset(seed=2)
        frame = env.render()
        assert frame.shape == (32, 40, 3) and frame.dtype == np.uint8
        np.testing.assert_array_equal(frame, vec.render()[0])
    finally:
        env.close()
        vec.close()


def test_bad_calls_say_what_to_do():
    env = gym.make("mjvec/InvertedPendulum-v5", disable_env_checker=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"`action` must have shape \(1,\), got \(2,\)"):
        env.step(np.zeros(2, np.float32))
    with pytest.raises(RuntimeError, match="render_mode='rgb_array'"):
        env.render()
    while not env.step(np.ones(1, np.float32))[2]:
        pass
    with pytest.raises(RuntimeError, match=r"after the episode ended: call `reset\(\)` first"):
        env.unwrapped.step(np.zeros(1, np.float32))
    env.close()
    for name, value in (("num_envs", 4), ("autoreset_mode", "same_step")):
        with pytest.raises(TypeError, match=f"`{name}` is not an argument of one env.*gym.make_vec"):
            gym.make("mjvec/InvertedPendulum-v5", **{name: value})


def test_sync_vector_env_of_single_envs_is_the_native_batch():
    sync = gym.make_vec("mjvec/Hopper-v5", 3, vectorization_mode="sync", max_episode_steps=20)
    native = gym.make_vec("mjvec/Hopper-v5", 3, max_episode_steps=20)
    try:
        np.testing.assert_array_equal(sync.reset(seed=0)[0], native.reset(seed=0)[0])
        sync.action_space.seed(1)
        for t in range(40):
            a = sync.action_space.sample()
            for x, y in zip(sync.step(a)[:4], native.step(a)[:4]):
                np.testing.assert_array_equal(x, y, err_msg=f"step {t}")
    finally:
        sync.close()
        native.close()


def test_make_vec_with_the_module_prefix_imports_mjvec_by_itself():
    code = (
        "import sys, gymnasium as gym\n"
        "assert 'mjvec' not in sys.modules\n"
        "env = gym.make_vec('mjvec:mjvec/HalfCheetah-v5', 2)\n"
        "print(type(env.unwrapped).__name__, env.num_envs, env.reset(seed=0)[0].shape)\n"
        "one = gym.make('mjvec:mjvec/InvertedPendulum-v5')\n"
        "print(type(one.unwrapped).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["MjVecEnv", "2", "(2,", "17)", "MjEnv"]
