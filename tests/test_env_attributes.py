"""``call``, ``get_attr`` and ``set_attr`` with Gymnasium's ``SyncVectorEnv`` semantics on a native batch."""

import gymnasium as gym
import numpy as np
import pytest

import mjvec

ENV = "HalfCheetah-v5"
N = 3


@pytest.fixture
def env():
    e = mjvec.make(ENV, N)
    yield e
    e.close()


def test_get_attr_returns_one_value_per_env_as_sync_vector_env(env):
    ref = gym.make_vec(ENV, N, vectorization_mode="sync")
    try:
        for name in ("observation_space", "action_space", "render_mode"):
            ours, theirs = env.get_attr(name), ref.get_attr(name)
            assert isinstance(ours, tuple) and len(ours) == N
            assert ours == theirs, name
        # the task's attributes, the same for every env
        for name in ("dt", "frame_skip", "_ctrl_cost_weight", "_forward_reward_weight"):
            assert env.get_attr(name) == ref.get_attr(name), name
        assert env.get_attr("metadata") == (env.metadata,) * N
        assert env.call("dt") == env.get_attr("dt")
    finally:
        ref.close()


def test_get_attr_model_is_each_envs_own_model():
    env = mjvec.make(ENV, N, randomize={"body_mass": mjvec.Uniform(0.5, 1.5)})
    try:
        env.reset(seed=0)
        models = env.get_attr("model")
        assert len(models) == N
        for i, model in enumerate(models):
            np.testing.assert_array_equal(model.body_mass, env.get_model(i).body_mass)
        assert not np.array_equal(models[0].body_mass, models[1].body_mass)
    finally:
        env.close()


def test_set_attr_sets_the_tasks_attribute_for_every_env(env):
    env.set_attr("reset_noise_scale", 0.0)
    assert env.task.reset_noise_scale == 0.0
    assert env.get_attr("reset_noise_scale") == (0.0,) * N
    obs, _ = env.reset(seed=0)  # no noise: every env starts at the model's initial state
    np.testing.assert_array_equal(obs, np.broadcast_to(obs[0], obs.shape))
    env.set_attr("_ctrl_cost_weight", [0.0] * N)  # a list of equal values is one value
    actions = np.ones(env.action_space.shape, np.float32)
    _, _, _, _, info = env.step(actions)
    np.testing.assert_array_equal(info["reward_ctrl"], np.zeros(N))


def test_set_attr_refuses_values_the_batch_cannot_hold(env):
    with pytest.raises(ValueError, match=r"differ between envs: env 0 gets 0\.1, env 2 gets 0\.3.*one 'reset_noise_scale'"):
        env.set_attr("reset_noise_scale", [0.1, 0.1, 0.3])
    with pytest.raises(ValueError, match=r"num_envs \(3\) values, got 2 values"):
        env.set_attr("reset_noise_scale", [0.1, 0.1])
    assert env.task.reset_noise_scale == 0.1  # nothing was set
    for name in ("frame_skip", "model", "observation_space", "render_mode"):
        with pytest.raises(AttributeError, match=f"'{name}' is fixed when the env is made"):
            env.set_attr(name, 1)
    with pytest.raises(AttributeError, match="HalfCheetah.observe is a method"):
        env.set_attr("observe", None)


def test_unknown_names_raise_attribute_error_naming_the_attribute(env):
    with pytest.raises(AttributeError, match=r"has an attribute 'reset_noise_scal'.*did you mean 'reset_noise_scale'"):
        env.get_attr("reset_noise_scal")
    with pytest.raises(AttributeError, match="'no_such_thing'"):
        env.call("no_such_thing")
    with pytest.raises(AttributeError, match="'no_such_thing'"):
        env.set_attr("no_such_thing", 1)
    with pytest.raises(TypeError, match="`name` must be a str"):
        env.get_attr(3)


def test_call_refuses_the_tasks_batched_functions_and_arguments_to_values(env):
    with pytest.raises(TypeError, match=r"HalfCheetah\.observe is a function of the whole batch.*env\.task\.observe"):
        env.call("observe")
    with pytest.raises(TypeError, match="'dt' is a value, not a method"):
        env.call("dt", 1)
    with pytest.raises(TypeError, match="'action_space' is a value"):
        env.call("action_space", x=1)


def test_call_render_renders_one_frame_per_env(gl):
    env = mjvec.make("InvertedPendulum-v5", 2, render_mode="rgb_array", width=32, height=24)
    try:
        env.reset(seed=0)
        frames = env.call("render")
        assert isinstance(frames, tuple) and len(frames) == 2
        for frame, expected in zip(frames, env.render()):
            assert frame.shape == (24, 32, 3) and frame.dtype == np.uint8
            np.testing.assert_array_equal(frame, expected)
        with pytest.raises(TypeError, match=r"`call\('render'\)` takes no arguments"):
            env.call("render", layout="tiled")
    finally:
        env.close()


def test_call_render_without_render_mode_says_how_to_ask_for_it(env):
    env.reset(seed=0)
    with pytest.raises(Exception, match="render_mode='rgb_array'"):
        env.call("render")


def test_make_vec_envs_answer_the_calls():
    env = gym.make_vec(f"mjvec/{ENV}", N, reset_noise_scale=0.3)
    try:
        assert env.get_attr("frame_skip") == (5,) * N
        assert env.get_attr("reset_noise_scale") == (0.3,) * N
        env.set_attr("reset_noise_scale", 0.2)
        assert env.unwrapped.task.reset_noise_scale == 0.2
    finally:
        env.close()
