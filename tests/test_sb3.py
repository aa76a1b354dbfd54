"""SB3VecEnv: Stable-Baselines3's VecEnv contract over an MjVecEnv, in every autoreset mode."""

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest

import mjvec

pytest.importorskip("stable_baselines3")
import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    VecCheckNan,
    VecEnv,
    VecFrameStack,
    VecMonitor,
    VecNormalize,
)

from mjvec.sb3 import SB3VecEnv

MODES = ["next_step", "same_step", "disabled"]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # 2-core machines: torch's own threads only fight MuJoCo's
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _venv(mode="next_step", env_id="Hopper-v5", num_envs=3, **kwargs):
    return SB3VecEnv(mjvec.make(env_id, num_envs, autoreset_mode=mode, **kwargs))


def _actions(rng, venv, scale=1.0):
    low, high = venv.action_space.low, venv.action_space.high
    return (scale * rng.uniform(low, high, size=(venv.num_envs, *venv.action_space.shape))).astype(np.float32)


def _assert_infos_equal(ours, theirs):
    assert ours.keys() == theirs.keys()
    for key in ours:
        if isinstance(ours[key], dict):
            _assert_infos_equal(ours[key], theirs[key])
        else:
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)


def test_is_an_sb3_vec_env_with_single_spaces():
    venv = _venv()
    assert isinstance(venv, VecEnv)
    assert venv.num_envs == 3
    assert venv.observation_space == venv.env.single_observation_space
    assert venv.action_space == venv.env.single_action_space
    obs = venv.reset()
    assert isinstance(obs, np.ndarray) and obs.shape == (3, 11)
    obs, reward, done, infos = venv.step(np.zeros((3, 3), dtype=np.float32))
    assert obs.shape == (3, 11)
    assert reward.dtype == np.float32 and reward.shape == (3,)
    assert done.dtype == np.bool_ and done.shape == (3,)
    assert isinstance(infos, list) and len(infos) == 3 and all(isinstance(i, dict) for i in infos)
    venv.close()


@pytest.mark.parametrize("mode", MODES)
def test_same_numbers_as_dummy_vec_env_over_gymnasium(mode):
    """Reset obs, rewards, dones, infos, terminal observations and TimeLimit.truncated as DummyVecEnv."""
    n, limit = 3, 40
    ours = _venv(mode, num_envs=n, max_episode_steps=limit)
    theirs = DummyVecEnv([lambda: gym.make("Hopper-v5", max_episode_steps=limit) for _ in range(n)])
    ours.seed(5), theirs.seed(5)
    np.testing.assert_array_equal(ours.reset(), theirs.reset())
    for a, b in zip(ours.reset_infos, theirs.reset_infos):
        _assert_infos_equal(a, b)
    rng = np.random.default_rng(0)
    seen = {"terminated": 0, "truncated": 0}
    for _ in range(150):
        actions = _actions(rng, ours)
        obs, reward, done, infos = ours.step(actions)
        obs_ref, reward_ref, done_ref, infos_ref = theirs.step(actions)
        np.testing.assert_array_equal(obs, obs_ref)
        np.testing.assert_array_equal(reward, reward_ref)
        np.testing.assert_array_equal(done, done_ref)
        for i in range(n):
            _assert_infos_equal(infos[i], infos_ref[i])
            _assert_infos_equal(ours.reset_infos[i], theirs.reset_infos[i])
            if done[i]:
                seen["truncated" if infos[i]["TimeLimit.truncated"] else "terminated"] += 1
    assert seen["terminated"] > 0 and seen["truncated"] > 0, seen
    ours.close(), theirs.close()


@pytest.mark.parametrize("mode", MODES)
def test_terminal_observation_is_the_envs_final_obs(mode):
    n = 4
    ours = _venv(mode, num_envs=n, max_episode_steps=30)
    ref = mjvec.make("Hopper-v5", n, autoreset_mode="same_step", max_episode_steps=30)
    ours.seed(3)
    obs = ours.reset()
    np.testing.assert_array_equal(obs, ref.reset(seed=3)[0])
    rng = np.random.default_rng(1)
    ends = 0
    for _ in range(100):
        actions = _actions(rng, ours)
        obs, reward, done, infos = ours.step(actions)
        obs_ref, reward_ref, term, trunc, info_ref = ref.step(actions)
        np.testing.assert_array_equal(obs, obs_ref)  # the reset observation where done
        np.testing.assert_array_equal(reward, reward_ref.astype(np.float32))
        np.testing.assert_array_equal(done, term | trunc)
        for i in range(n):
            assert infos[i]["TimeLimit.truncated"] == bool(trunc[i] and not term[i])
            if done[i]:
                ends += 1
                np.testing.assert_array_equal(infos[i]["terminal_observation"], info_ref["final_obs"][i])
                assert not np.array_equal(infos[i]["terminal_observation"], obs[i])
            else:
                assert "terminal_observation" not in infos[i]
    assert ends >= n
    ours.close(), ref.close()


def test_time_limit_flag_is_false_when_the_last_step_also_terminates():
    # find when a hard push ends InvertedPendulum, then put the time limit on that very step
    probe = mjvec.make("InvertedPendulum-v5", 1, max_episode_steps=None)
    probe.reset(seed=0)
    push = np.full((1, 1), 3.0, dtype=np.float32)
    steps = next(t for t in range(1, 200) if probe.step(push)[2][0])
    for limit, expected in ((steps, False), (steps - 1, True)):
        venv = _venv("next_step", "InvertedPendulum-v5", 1, max_episode_steps=limit)
        venv.seed(0)
        venv.reset()
        for _ in range(limit - 1):
            assert not venv.step(push)[2][0]
        _, _, done, infos = venv.step(push)
        assert done[0] and infos[0]["TimeLimit.truncated"] is expected


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_seeds_reproduce_and_are_used_once(mode):
    def rollout(venv, seed):
        if seed is not None:
            assert venv.seed(seed) == [seed + i for i in range(venv.num_envs)]
        out = [venv.reset()]
        rng = np.random.default_rng(0)
        for _ in range(40):
            out.append(venv.step(_actions(rng, venv))[0])
        return np.stack(out)

    venv = _venv(mode, max_episode_steps=15)
    first = rollout(venv, 11)
    np.testing.assert_array_equal(rollout(venv, 11), first)
    assert not np.array_equal(rollout(venv, 12)[0], first[0])
    # the seeds are spent: an unseeded reset goes on with each env's stream
    assert not np.array_equal(rollout(venv, None)[0], first[0])
    # seed() with no argument draws one, as SB3's VecEnv
    assert len({s for s in venv.seed()}) == venv.num_envs


def test_next_step_and_same_step_envs_give_sb3_the_same_numbers():
    a, b = _venv("next_step", max_episode_steps=20), _venv("same_step", max_episode_steps=20)
    a.seed(0), b.seed(0)
    np.testing.assert_array_equal(a.reset(), b.reset())
    rng = np.random.default_rng(2)
    for _ in range(80):
        actions = _actions(rng, a)
        for x, y in zip(a.step(actions), b.step(actions)):
            if isinstance(x, list):
                for i, j in zip(x, y):
                    _assert_infos_equal(i, j)
            else:
                np.testing.assert_array_equal(x, y)


def test_set_options_go_to_the_next_reset_only():
    venv = _venv("next_step")
    venv.reset()
    venv.set_options({"no_such_option": 1})
    with pytest.raises(ValueError, match="unknown keys"):
        venv.reset()
    venv.set_options(None)
    venv.reset()
    venv.set_options([{}, {}, {"no_such_option": 1}])
    with pytest.raises(ValueError, match="same options"):
        venv.reset()
    venv._reset_options()
    venv.reset()


def test_attributes_methods_and_wrappers():
    venv = _venv("next_step")
    assert venv.get_attr("num_envs") == [3, 3, 3]  # the batch's own: its one value per index
    assert venv.get_attr("max_episode_steps", indices=[1]) == [1000]
    assert venv.get_attr("render_mode", indices=2) == [None]
    assert venv.has_attr("autoreset_mode") and not venv.has_attr("no_such_attribute")
    with pytest.raises(AttributeError, match="did you mean 'frame_skip'"):
        venv.get_attr("frame_skp")
    with pytest.raises(AttributeError, match="'max_episode_steps' is the MjVecEnv's own"):
        venv.set_attr("max_episode_steps", 7)  # the time limit is fixed when the env is made
    assert venv.env_is_wrapped(Monitor) == [False, False, False]
    assert venv.env_is_wrapped(Monitor, indices=[1]) == [False]
    assert "Hopper" in repr(venv)


def test_get_attr_set_attr_env_method_answer_per_env_as_dummy_vec_env():
    """SB3's ``indices=`` per env, with MjVecEnv.get_attr/set_attr/call's resolution of a name."""
    n = 3
    venv = SB3VecEnv(mjvec.make("Hopper-v5", n, randomize={"body_mass": mjvec.Uniform(0.5, 1.5)}))
    theirs = DummyVecEnv([lambda: gym.make("Hopper-v5") for _ in range(n)])
    venv.reset()
    for name in ("observation_space", "action_space", "render_mode", "frame_skip", "dt", "_ctrl_cost_weight"):
        assert venv.get_attr(name) == theirs.get_attr(name), name  # one env's, as Gymnasium's env has it
        assert venv.get_attr(name, indices=[2, 0]) == theirs.get_attr(name, indices=[2, 0]), name
    masses = [m.body_mass for m in venv.get_attr("model", indices=[0, 2])]  # each env's own model
    np.testing.assert_array_equal(masses[1], venv.env.get_model(2).body_mass)
    assert not np.array_equal(masses[0], masses[1])
    # set_attr: every env, or some envs with the value the others already have; never two values
    venv.set_attr("_ctrl_cost_weight", 0.01)
    assert venv.get_attr("_ctrl_cost_weight") == [0.01] * n
    venv.set_attr("_ctrl_cost_weight", 0.01, indices=[1])
    with pytest.raises(ValueError, match="differ between envs"):
        venv.set_attr("_ctrl_cost_weight", 0.5, indices=[1])
    assert venv.env.task._ctrl_cost_weight == 0.01
    with pytest.raises(AttributeError, match="'frame_skip' is fixed"):
        venv.set_attr("frame_skip", 2)
    # env_method: each env's value; reset resets the chosen envs only, with DummyVecEnv's one seed each
    assert venv.env_method("frame_skip", indices=1) == [4]
    plain = _venv(num_envs=n)
    plain.reset()
    before = plain.env.get_state()
    out = plain.env_method("reset", seed=4, indices=[1])
    assert len(out) == 1
    ref_obs, _ = theirs.env_method("reset", seed=4, indices=[1])[0]
    np.testing.assert_array_equal(out[0][0], ref_obs)
    after = plain.env.get_state()
    np.testing.assert_array_equal(after[[0, 2]], before[[0, 2]])  # the others untouched
    assert not np.array_equal(after[1], before[1])
    plain.close()
    with pytest.raises(TypeError, match=r"MjVecEnv\.get_state acts on the whole batch.*venv\.env\.get_state"):
        venv.env_method("get_state")
    with pytest.raises(TypeError, match="function of the whole batch"):
        venv.env_method("observe")
    with pytest.raises(ValueError, match=r"env ids in 0\.\.2"):
        venv.get_attr("dt", indices=[3])
    venv.close()
    theirs.close()


def test_render_without_render_mode_follows_sb3():
    venv = _venv("next_step")
    venv.reset()
    with pytest.warns(UserWarning, match="render_mode"):
        assert venv.render() is None
    with pytest.warns(UserWarning, match="rgb_array"):
        assert venv.get_images() == [None, None, None]


def test_render_tiles_the_frames_of_an_rgb_array_env():
    env = mjvec.make("Hopper-v5", 4)
    # stands in for MjVecEnv's rendering: Gymnasium's contract, one frame per env
    env.render_mode = "rgb_array"
    env.render = lambda: np.arange(4 * 2 * 3 * 3, dtype=np.uint8).reshape(4, 2, 3, 3)
    venv = SB3VecEnv(env)
    images = venv.get_images()
    assert len(images) == 4 and images[3].shape == (2, 3, 3)
    assert venv.render().shape == (4, 6, 3)  # 2 x 2 tiles


def test_lifecycle_and_bad_use():
    with pytest.raises(TypeError, match="mjvec.MjVecEnv"):
        SB3VecEnv(DummyVecEnv([lambda: gym.make("Hopper-v5")]))
    with pytest.raises(TypeError, match="mjvec.MjVecEnv"):
        SB3VecEnv(gym.make_vec("Hopper-v5", 2, vectorization_mode="sync"))
    venv = _venv("next_step")
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(np.zeros((3, 3), dtype=np.float32))
    venv.reset()
    with pytest.raises(RuntimeError, match="step_async"):
        venv.step_wait()
    with pytest.raises(ValueError, match="shape"):
        venv.step(np.zeros((2, 3), dtype=np.float32))
    venv.close()
    venv.close()
    with pytest.raises(RuntimeError, match="closed"):
        venv.reset()


def test_sb3_wrappers_compose():
    venv = _venv("next_step", num_envs=4, max_episode_steps=10)
    venv = VecFrameStack(VecNormalize(VecMonitor(VecCheckNan(venv, raise_exception=True))), n_stack=3)
    obs = venv.reset()
    assert obs.shape == (4, 33)
    rng = np.random.default_rng(0)
    episodes = 0
    for _ in range(25):
        obs, _, done, infos = venv.step(_actions(rng, venv))
        assert obs.shape == (4, 33) and np.isfinite(obs).all()
        for i in np.flatnonzero(done):
            episodes += 1
            assert infos[i]["terminal_observation"].shape == (33,)
            assert infos[i]["episode"]["l"] <= 10
            # a new episode's frame stack starts from zeros
            assert not obs[i, :22].any()
    assert episodes >= 8
    assert venv.get_attr("num_envs") == [4] * 4
    venv.close()


def test_ppo_learns_through_the_adapter():
    venv = SB3VecEnv(mjvec.make("InvertedPendulum-v5", 4))
    model = PPO("MlpPolicy", venv, n_steps=256, batch_size=256, n_epochs=2, seed=0, device="cpu")
    model.learn(2048)
    assert model.num_timesteps >= 2048
    venv.close()
    # evaluate_policy counts episodes through the adapter's dones
    eval_venv = SB3VecEnv(mjvec.make("InvertedPendulum-v5", 4, max_episode_steps=50))
    mean, _ = evaluate_policy(model, eval_venv, n_eval_episodes=4, warn=False)
    assert 0 < mean <= 50
    eval_venv.close()


def test_sac_learns_through_the_adapter():
    venv = SB3VecEnv(mjvec.make("InvertedPendulum-v5", 2, autoreset_mode="same_step", max_episode_steps=10))
    model = SAC("MlpPolicy", venv, learning_starts=200, batch_size=64, buffer_size=2000, seed=0, device="cpu")
    model.learn(1000)
    assert model.num_timesteps >= 1000
    # time limits reach the replay buffer as timeouts, which SB3 does not treat as terminations
    buffer = model.replay_buffer
    dones, timeouts = buffer.dones[: buffer.pos], buffer.timeouts[: buffer.pos]
    assert timeouts.any() and (dones[timeouts > 0] == 1).all()
    venv.close()


def test_import_mjvec_does_not_import_sb3_or_torch():
    code = "import sys, mjvec; assert not {'stable_baselines3', 'torch'} & set(sys.modules), sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_extra_names_it(import_error_without):
    out = import_error_without("mjvec.sb3", "stable_baselines3")
    assert 'pip install "mjvec[sb3]"' in out, out


def test_no_warnings_from_the_adapter_on_a_plain_run():
    venv = _venv("same_step", num_envs=2, max_episode_steps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        venv.reset()
        for _ in range(12):
            venv.step(np.zeros((2, 3), dtype=np.float32))


@pytest.mark.parametrize("mode", MODES)
def test_a_divergence_is_flagged_in_the_ended_envs_info_in_every_mode(mode):
    """``infos[i]["diverged"]`` in every mode, SAME_STEP included (issue 14, item 9); not in the reset info."""
    venv = _venv(mode, "HalfCheetah-v5", num_envs=3)
    venv.seed(0)
    venv.reset()
    rng = np.random.default_rng(0)
    venv.step(_actions(rng, venv))
    venv.env._backend.sim._qvel[1, 2] = np.nan  # test-only: env 1's simulation blows up in the next step
    obs, reward, done, infos = venv.step(_actions(rng, venv))
    assert done.tolist() == [False, True, False] and reward[1] == 0 and np.isfinite(obs).all()
    assert infos[1]["diverged"]
    assert infos[1]["TimeLimit.truncated"] and np.isfinite(infos[1]["terminal_observation"]).all()
    assert "diverged" not in infos[0] and "diverged" not in venv.reset_infos[1]
    venv.close()
