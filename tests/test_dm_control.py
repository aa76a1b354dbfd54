"""The Control Suite's tasks without dm_control imported: registration, spaces, episodes,
determinism, the reward vocabulary against its definitions, and the MJX backend.

The tasks read dm_control's model files from the installed `dm-control` package (never
imported: dm_control 1.0.50 does not import under MuJoCo 4.0); without it these tests
skip. The parity tests against dm_control itself are tests/test_dm_control_parity.py.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import os

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from parity import assert_mjx_follows_cpu

import mjvec
from mjvec.envs.dm_control import SUITE, rewards

if importlib.util.find_spec("dm_control") is None:
    pytest.skip("the Control Suite tasks read their models from dm-control: pip install 'mjvec[dm_control]'",
                allow_module_level=True)

IDS = [row[0] for row in SUITE]
_STEPS = {row[0]: row[2] for row in SUITE}
#: tasks whose reward is not in [0, 1]: lqr's is 1 minus a quadratic cost
UNBOUNDED_BELOW = ("LqrLqr21-v0", "LqrLqr62-v0")


@pytest.mark.parametrize("env_id", IDS)
def test_every_task_is_registered_with_dict_observations_and_1000_step_episodes(env_id):
    env = gym.make_vec(f"mjvec/{env_id}", num_envs=2)
    try:
        space = env.single_observation_space
        assert isinstance(space, gym.spaces.Dict) and len(space) >= 1
        obs, info = env.reset(seed=0)
        assert list(obs) == list(space), "keys in the task's order"
        for key, sub in space.items():
            assert obs[key].shape == (2, *sub.shape) and obs[key].dtype == np.float64
        assert env.max_episode_steps == _STEPS[env_id]  # 1000; None where dm_control's limit is infinite (lqr)
        np.testing.assert_array_equal(info["discount"], [1.0, 1.0])
        obs, reward, terminated, truncated, info = env.step(np.clip(env.action_space.sample(), -1, 1))
        assert reward.shape == (2,) and np.all(reward <= 1)
        if env_id not in UNBOUNDED_BELOW:
            assert np.all(0 <= reward)
        assert obs in env.observation_space
    finally:
        env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_flat_observation_is_the_dict_concatenated_in_its_order(env_id):
    a = mjvec.make(env_id, 3)
    b = mjvec.make(env_id, 3, flat_observation=True)
    try:
        obs, _ = a.reset(seed=1)
        flat, _ = b.reset(seed=1)
        expected = np.concatenate([obs[k].reshape(3, -1) for k in obs], axis=1)
        np.testing.assert_array_equal(flat, expected)
        assert b.single_observation_space.shape == (expected.shape[1],)
        action = np.full((3, *a.single_action_space.shape), 0.3, np.float32)
        obs, r1, *_ = a.step(action)
        flat, r2, *_ = b.step(action)
        np.testing.assert_array_equal(flat, np.concatenate([obs[k].reshape(3, -1) for k in obs], axis=1))
        np.testing.assert_array_equal(r1, r2)
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_episode_other_seed_other_start(env_id):
    runs = []
    for seed in (3, 3, 4):
        env = mjvec.make(env_id, 2)
        obs, _ = env.reset(seed=seed)
        steps = [obs]
        for _ in range(5):
            steps.append(env.step(np.full((2, *env.single_action_space.shape), -0.5, np.float32))[0])
        env.close()
        runs.append(np.concatenate([np.concatenate([s[k].reshape(2, -1) for k in s], 1) for s in steps], 1))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    assert not np.array_equal(runs[0][0], runs[0][1]), "each env has its own stream"


def test_the_task_of_an_id_cannot_be_changed_by_its_arguments():
    with pytest.raises(TypeError, match="sets `swing_up`=True itself"):
        mjvec.make("CartpoleSwingup-v0", 1, swing_up=False)
    with pytest.raises(TypeError, match="did you mean 'flat_observation'"):
        mjvec.make("CartpoleSwingup-v0", 1, flat_observations=True)
    with pytest.raises(TypeError, match="flat_observation"):
        mjvec.make("CartpoleSwingup-v0", 1, flat_observation="yes")


def test_dm_controls_keys_are_observation_terms_beside_others():
    env = mjvec.make("CartpoleSwingup-v0", 2, observations={"velocity": "velocity", "state": "privileged"})
    ref = mjvec.make("CartpoleSwingup-v0", 2)
    try:
        obs, _ = env.reset(seed=0)
        full, _ = ref.reset(seed=0)
        assert list(obs) == ["velocity", "state"]
        np.testing.assert_array_equal(obs["velocity"], full["velocity"])
    finally:
        env.close()
        ref.close()


def test_models_are_dm_controls_files_with_their_control_timesteps():
    from mjvec.envs.dm_control.base import n_sub_steps, suite_model_path

    assert os.path.samefile(os.path.dirname(suite_model_path("cartpole.xml")),
                            os.path.join(os.path.dirname(importlib.util.find_spec("dm_control").origin), "suite"))
    task = mjvec.make_task("CartpoleSwingup-v0")
    assert task.frame_skip == 1 and task.model.opt.timestep == 0.01
    assert n_sub_steps(0.025, 0.0025) == 10 and n_sub_steps(0.02, 0.005) == 4
    with pytest.raises(ValueError, match="whole multiple"):
        n_sub_steps(0.025, 0.01)


# -- the reward vocabulary, against its definitions ------------------------------------------
_DEFINITIONS = {  # the value of each sigmoid at distance x, for value v at x = 1
    "gaussian": lambda x, v: math.exp(-0.5 * (x * math.sqrt(-2 * math.log(v))) ** 2),
    "hyperbolic": lambda x, v: 1 / math.cosh(x * math.acosh(1 / v)),
    "long_tail": lambda x, v: 1 / ((x * math.sqrt(1 / v - 1)) ** 2 + 1),
    "reciprocal": lambda x, v: 1 / (abs(x) * (1 / v - 1) + 1),
    "cosine": lambda x, v: (1 + math.cos(math.pi * x * math.acos(2 * v - 1) / math.pi)) / 2
    if abs(x * math.acos(2 * v - 1) / math.pi) < 1 else 0.0,
    "linear": lambda x, v: 1 - x * (1 - v) if abs(x * (1 - v)) < 1 else 0.0,
    "quadratic": lambda x, v: 1 - (x * math.sqrt(1 - v)) ** 2 if abs(x * math.sqrt(1 - v)) < 1 else 0.0,
    "tanh_squared": lambda x, v: 1 - math.tanh(x * math.atanh(math.sqrt(1 - v))) ** 2,
}


@pytest.mark.parametrize("sigmoid", rewards.SIGMOIDS)
def test_tolerance_is_one_in_bounds_value_at_margin_at_the_margin_and_falls_off(sigmoid):
    v, lower, upper, margin = 0.2, -0.5, 1.0, 2.0
    x = np.array([-0.5, 0.0, 1.0, 3.0, -2.5, 5.0, -7.0, 1.5])
    out = rewards.tolerance(np, x, (lower, upper), margin, sigmoid, v)
    np.testing.assert_array_equal(out[:3], 1.0)
    np.testing.assert_allclose(out[3:5], v, rtol=1e-12)  # distance == margin on both sides
    d = np.where(x < lower, lower - x, x - upper) / margin
    expected = [1.0 if lower <= xi <= upper else _DEFINITIONS[sigmoid](di, v) for xi, di in zip(x, d)]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)
    assert out[5] <= out[3] and out[6] <= out[4], "decreasing away from the bounds"
    # margin 0: a step
    np.testing.assert_array_equal(rewards.tolerance(np, x, (lower, upper), 0.0, sigmoid, v), [1, 1, 1, 0, 0, 0, 0, 0])


def test_tolerance_refuses_bad_parameters_by_name():
    x = np.zeros(3)
    with pytest.raises(ValueError, match="lower <= upper"):
        rewards.tolerance(np, x, (1.0, 0.0))
    with pytest.raises(ValueError, match="`margin` must be >= 0"):
        rewards.tolerance(np, x, margin=-1.0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        rewards.tolerance(np, x, margin=1.0, sigmoid="gaussian", value_at_margin=0.0)
    with pytest.raises(ValueError, match="did you mean 'long_tail'"):
        rewards.tolerance(np, x, margin=1.0, sigmoid="longtail")
    np.testing.assert_array_equal(rewards.tolerance(np, np.array([2.0]), margin=1.0, sigmoid="linear",
                                                    value_at_margin=0.0), [0.0])


@pytest.mark.parametrize("sigmoid", rewards.SIGMOIDS)
def test_tolerance_traces_under_jax(sigmoid):
    jax = pytest.importorskip("jax")
    x = np.linspace(-3, 3, 25)
    f = jax.jit(lambda x: rewards.tolerance(jax.numpy, x, (-0.5, 0.5), 1.5, sigmoid, 0.3))
    np.testing.assert_allclose(np.asarray(f(x)), rewards.tolerance(np, x, (-0.5, 0.5), 1.5, sigmoid, 0.3),
                               rtol=1e-5, atol=1e-6)  # float32


# -- MJX ---------------------------------------------------------------------------------
#: task: (steps, atol) of MJX (float32) against the CPU backend from the same states, about 10x the
#: largest difference measured (jax 0.10.2, mujoco-mjx 3.17.0): float32 rounding
MJX_TOLERANCES = {
    "CartpoleSwingup-v0": (100, 1e-4),
    "PendulumSwingup-v0": (100, 3e-5),  # measured 2.9e-6 (obs), 0 (reward)
    "PointMassEasy-v0": (100, 2e-6),  # measured 1.6e-7 (obs), 8e-84 (reward)
    "LqrLqr21-v0": (100, 3e-5),  # measured 2.4e-6 (obs and reward)
    "LqrLqr62-v0": (100, 3e-5),  # measured 2.5e-6
    "ReacherEasy-v0": (100, 3e-5),  # measured 3.3e-6; the targets MJX drew are copied into the CPU env
}


@pytest.mark.parametrize("env_id", sorted(MJX_TOLERANCES))
def test_mjx_steps_the_cpu_backends_episode(env_id, tmp_path_factory):
    pytest.importorskip("jax")
    pytest.importorskip("mujoco.mjx")
    os.environ.setdefault("MJVEC_JAX_CACHE", str(tmp_path_factory.mktemp("jax-cache")))
    steps, atol = MJX_TOLERANCES[env_id]
    space = mjvec.make_task(env_id).single_action_space
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, 3, *space.shape)).astype(np.float32)
    assert_mjx_follows_cpu(env_id, 3, actions, atol)


# -- reset states drawn again where the task rejects them ---------------------------------------
def test_rejected_reset_states_are_drawn_again_from_each_envs_own_stream():
    from mjvec.envs.dm_control.ball_in_cup import BallInCup

    class LeftOnly(BallInCup):  # a rule that rejects half of the draws, to see the loop at work
        def reset_rejected(self, xp, data):
            return data.qpos[:, 2] >= 0

    three = mjvec.make(LeftOnly(), 3, max_episode_steps=1000)
    one = mjvec.make(LeftOnly(), 1, max_episode_steps=1000)
    free = mjvec.make(BallInCup(), 3, max_episode_steps=1000)
    try:
        many = mjvec.make(LeftOnly(), 64)
        obs, _ = many.reset(seed=5)
        assert np.all(obs["position"][:, 2] < 0)
        many.close()
        o3, _ = three.reset(seed=[7, 8, 9])
        o1, _ = one.reset(seed=[8])
        np.testing.assert_array_equal(o3["position"][1], o1["position"][0])  # env 8's stream alone decides
        assert np.all(free.reset(seed=0)[0]["position"][:, 2] >= -0.2)
        assert free._backend.sim.data.ncon.max() == 0  # BallInCup's own rule: no contact at the start
    finally:
        three.close()
        one.close()
        free.close()


def test_mjx_refuses_a_task_that_rejects_reset_states_by_name():
    pytest.importorskip("jax")
    with pytest.raises(ValueError, match="BallInCup draws its reset states again.*use backend='cpu'"):
        mjvec.make("BallInCupCatch-v0", 2, backend="mjx")


# -- model values the task draws per env at every reset -----------------------------------------
def test_reachers_target_is_drawn_per_env_at_every_reset_on_its_circle():
    env = mjvec.make("ReacherEasy-v0", 16, autoreset_mode="disabled")
    try:
        targets = []
        for seed in (0, 0, None):
            env.reset(seed=seed)
            task = env._backend.sim
            target = np.array(task._expanded["geom_pos"][:, mjvec.make_task("ReacherEasy-v0")._target, :2])
            targets.append(target)
        radius = np.linalg.norm(targets[0], axis=1)
        assert np.all((0.05 <= radius) & (radius <= 0.2)), radius
        assert len(np.unique(targets[0][:, 0])) == 16, "each env its own target"
        np.testing.assert_array_equal(targets[0], targets[1])
        assert not np.array_equal(targets[1], targets[2]), "a new draw at the next reset"
        obs, *_ = env.step(np.zeros((16, 2), np.float32))
        geom_xpos = env._backend.sim.data.geom_xpos  # the observation sees the drawn target
        np.testing.assert_allclose(obs["to_target"] + geom_xpos[:, mjvec.make_task("ReacherEasy-v0")._finger, :2],
                                   targets[2], atol=1e-12)
    finally:
        env.close()


def test_fields_a_task_draws_itself_cannot_be_randomized_too():
    with pytest.raises(ValueError, match=r"draws \['geom_pos'\] itself at every reset"):
        mjvec.make("ReacherEasy-v0", 2, randomize={"geom_pos": mjvec.Uniform(0.9, 1.1)})


# -- action repeat and pixels ----------------------------------------------------------------
def test_action_repeat_holds_the_action_and_sums_the_rewards_of_its_control_steps():
    one = mjvec.make("WalkerWalk-v0", 3)
    two = mjvec.make("WalkerWalk-v0", 3, action_repeat=2)
    try:
        assert (one.max_episode_steps, two.max_episode_steps) == (1000, 500)
        one.reset(seed=0)
        states = one.get_state()
        two.reset(options={"state": states})
        one.reset(options={"state": states})
        rng = np.random.default_rng(0)
        for _ in range(20):
            action = rng.uniform(-1, 1, (3, 6)).astype(np.float32)
            o1, r1, *_ = one.step(action)
            o2, r2a, *_ = one.step(action)
            obs, reward, *_ = two.step(action)
            np.testing.assert_array_equal(reward, r2a + r1)
            for key in obs:
                np.testing.assert_array_equal(obs[key], o2[key])
    finally:
        one.close()
        two.close()
    with pytest.raises(ValueError, match="`action_repeat`=3 must divide"):
        mjvec.make("WalkerWalk-v0", 1, action_repeat=3)
    with pytest.raises(ValueError, match="action_repeat"):
        mjvec.make("WalkerWalk-v0", 1, action_repeat=0)


def test_mjx_get_model_holds_each_envs_own_drawn_target(tmp_path_factory):
    # env.get_model(i) (and so env.render()) is the model env i is simulated with, reacher's target too
    pytest.importorskip("jax")
    pytest.importorskip("mujoco.mjx")
    os.environ.setdefault("MJVEC_JAX_CACHE", str(tmp_path_factory.mktemp("jax-cache")))
    env = mjvec.make("ReacherEasy-v0", 3, backend="mjx")
    try:
        obs, _ = env.reset(seed=0)
        qpos = env.get_state()[:, 1:3]  # mjSTATE_INTEGRATION: time, then qpos
        targets = []
        for i in range(3):
            model = env.get_model(i)
            data = mujoco.MjData(model)
            data.qpos[:] = qpos[i]
            mujoco.mj_forward(model, data)
            to_target = data.geom("target").xpos[:2] - data.geom("finger").xpos[:2]
            np.testing.assert_allclose(obs["to_target"][i], to_target, atol=1e-5)  # float32
            targets.append(model.geom("target").pos.copy())
        assert len({tuple(t) for t in targets}) == 3
    finally:
        env.close()


def test_mjx_action_repeat_sums_the_rewards_as_the_cpu_backend(tmp_path_factory):
    pytest.importorskip("jax")
    pytest.importorskip("mujoco.mjx")
    os.environ.setdefault("MJVEC_JAX_CACHE", str(tmp_path_factory.mktemp("jax-cache")))
    cpu = mjvec.make("PendulumSwingup-v0", 3, action_repeat=2)
    mjx = mjvec.make("PendulumSwingup-v0", 3, action_repeat=2, backend="mjx")
    try:
        assert mjx.max_episode_steps == 500
        cpu.reset(seed=0)
        states = cpu.get_state()
        states[:, 1] = [0.0, 0.1, 3.0]  # the hinge (after time): upright, near upright, down
        cpu.reset(options={"state": states})
        mjx.reset(options={"state": states})
        rng = np.random.default_rng(0)
        rewarded = 0
        for t in range(60):
            a = rng.uniform(-0.2, 0.2, (3, 1)).astype(np.float32)
            o1, r1, *_ = cpu.step(a)
            o2, r2, *_ = mjx.step(a)
            for k in o1:
                np.testing.assert_allclose(o2[k], o1[k], rtol=0, atol=3e-5, err_msg=f"step {t} {k}")
            np.testing.assert_array_equal(r2, r1)  # 0, 1 or 2: the sum of two 0/1 rewards
            rewarded += int(np.count_nonzero(r1 == 2))
        assert rewarded, "some steps earned a reward"
    finally:
        cpu.close()
        mjx.close()


def test_pixels_of_the_standard_camera_at_84x84_with_action_repeat(gl):
    env = mjvec.make("CheetahRun-v0", 2, action_repeat=2,
                     observations={"pixels": mjvec.Camera(camera=0, width=84, height=84),
                                   "position": "position", "velocity": "velocity"})
    try:
        obs, _ = env.reset(seed=0)
        assert list(obs) == ["pixels", "position", "velocity"]
        assert obs["pixels"].shape == (2, 84, 84, 3) and obs["pixels"].dtype == np.uint8
        first = obs["pixels"].copy()
        for _ in range(5):
            obs, *_ = env.step(np.ones((2, 6), np.float32))
        assert not np.array_equal(first, obs["pixels"]), "the frames follow the simulation"
    finally:
        env.close()


# -- MJX refusals, named when the env is made --------------------------------------------------
#: id: (the exception, what its message names)
MJX_REFUSALS = {
    "FishUpright-v0": ("UnsupportedFeatureError", r"Fish cannot run on the MJX backend.*ELLIPSOID.*BOX"),
    "FishSwim-v0": ("UnsupportedFeatureError", r"Fish cannot run on the MJX backend.*ELLIPSOID.*BOX"),
    "SwimmerSwimmer6-v0": ("UnsupportedFeatureError", r"Swimmer cannot run on the MJX backend.*ELLIPSOID.*BOX"),
    "SwimmerSwimmer15-v0": ("UnsupportedFeatureError", r"Swimmer cannot run on the MJX backend.*ELLIPSOID.*BOX"),
    "HumanoidStand-v0": ("ValueError", r"Humanoid draws its reset states again.*use backend='cpu'"),
    "HumanoidWalk-v0": ("ValueError", r"Humanoid draws its reset states again.*use backend='cpu'"),
    "HumanoidRun-v0": ("ValueError", r"Humanoid draws its reset states again.*use backend='cpu'"),
    "HumanoidRunPureState-v0": ("ValueError", r"Humanoid draws its reset states again.*use backend='cpu'"),
    **{f"Manipulator{t}-v0": ("ValueError", r"Manipulator draws its target, arm and prop until no contact.*use backend='cpu'")
       for t in ("BringBall", "BringPeg", "InsertBall", "InsertPeg")},
    **{f"HumanoidCMU{t}-v0": ("ValueError", r"HumanoidCMU draws its reset states again.*use backend='cpu'")
       for t in ("Stand", "Walk", "Run")},
    **{f"StackerStack{k}-v0": ("ValueError", r"Stacker draws its target, arm and boxes until no contact.*use backend='cpu'") for k in (2, 4)},
    **{f"Quadruped{t}-v0": ("ValueError", r"Quadruped finds each reset's contact-free height.*use backend='cpu'")
       for t in ("Walk", "Run", "Fetch")},
    **{f"Dog{t}-v0": ("UnsupportedFeatureError", r"Dog cannot run on the MJX backend with impl='jax'.*noslip")
       for t in ("Stand", "Walk", "Trot", "Run", "Fetch")},
    "QuadrupedEscape-v0": ("ValueError", r"QuadrupedEscape draws its terrain per env at every reset \(`hfield_data`,"
                                          r" which MJX keeps static\).*use backend='cpu'"),
}


@pytest.mark.parametrize("env_id", sorted(MJX_REFUSALS))
def test_mjx_refuses_what_it_cannot_run_by_name(env_id):
    pytest.importorskip("jax")
    pytest.importorskip("mujoco.mjx")
    kind, message = MJX_REFUSALS[env_id]
    with pytest.raises(Exception, match=message) as caught:
        mjvec.make(env_id, 2, backend="mjx")
    assert type(caught.value).__name__ == kind


def test_manipulators_reset_is_contact_free_with_its_target_and_prop_drawn_per_env():
    n = 48
    env = mjvec.make("ManipulatorInsertPeg-v0", n, autoreset_mode="disabled")
    try:
        obs, _ = env.reset(seed=0)
        sim = env._backend.sim
        task = mjvec.make_task("ManipulatorInsertPeg-v0")
        target, slot = task._target, task._moved[1]
        pos, quat = np.array(sim._expanded["body_pos"]), np.array(sim._expanded["body_quat"])
        states = env.get_state()
        for i in range(n):  # each env's model and state, simulated apart: no contact, as dm_control draws
            model = copy.copy(task.model)
            model.body_pos[:], model.body_quat[:] = pos[i], quat[i]
            data = mujoco.MjData(model)
            mujoco.mj_setState(model, data, states[i], mujoco.mjtState.mjSTATE_INTEGRATION)
            mujoco.mj_forward(model, data)
            assert data.ncon == 0, i
        assert np.all((-0.4 <= pos[:, target, 0]) & (pos[:, target, 0] <= 0.4))
        assert np.all((0.1 <= pos[:, target, 2]) & (pos[:, target, 2] <= 0.4))
        np.testing.assert_array_equal(pos[:, slot][:, [0, 2]], pos[:, target][:, [0, 2]])  # the receptacle at the target
        np.testing.assert_array_equal(obs["target_pos"][:, :2], pos[:, target][:, [0, 2]])
        angle = 2 * np.arctan2(obs["target_pos"][:, 3], obs["target_pos"][:, 2])
        assert np.all(np.abs(angle) <= np.pi / 3 + 1e-12), "insert: within +-pi/3"
        assert len(np.unique(pos[:, target, 0])) == n, "each env its own target"
        at_target = np.all(np.abs(obs["object_pos"][:, :2] - obs["target_pos"][:, :2]) < 1e-12, axis=1)
        assert 0 < at_target.sum() < n // 2, "about 1 in 10 starts in the target"
        arm = np.arctan2(obs["arm_pos"][..., 0], obs["arm_pos"][..., 1])
        np.testing.assert_allclose(arm[:, 4], arm[:, 6], atol=1e-12)  # the finger equals the thumb
        again, _ = env.reset(seed=0)
        np.testing.assert_array_equal(again["object_pos"], obs["object_pos"])
    finally:
        env.close()
    task = mjvec.make_task("ManipulatorBringBall-v0")
    from mjvec.core.random import NumpyRandom

    with pytest.raises(RuntimeError, match="reset_model drew"):
        task.reset_state(np, NumpyRandom([np.random.default_rng(0)]), task.init_qpos, task.init_qvel)


@pytest.mark.parametrize("env_id", ["QuadrupedWalk-v0", "QuadrupedFetch-v0"])
def test_quadrupeds_reset_is_the_lowest_contact_free_height_in_1cm_steps(env_id):
    n = 6
    env = mjvec.make(env_id, n)
    try:
        env.reset(seed=0)
        states = env.get_state()
        task = mjvec.make_task(env_id)
        data = mujoco.MjData(task.model)
        root = task._root
        for i in range(n):
            mujoco.mj_setState(task.model, data, states[i], mujoco.mjtState.mjSTATE_INTEGRATION)
            mujoco.mj_forward(task.model, data)
            assert data.ncon == 0
            z = data.qpos[root + 2]
            if task.fetch:  # at a yaw only, somewhere on the floor; the ball 2 m up
                np.testing.assert_allclose(data.qpos[root + 4:root + 6], 0.0)
                assert np.all(np.abs(data.qpos[root:root + 2]) <= 0.9 * task._floor)
                assert data.qpos[task._ball_qpos + 2] == 2
            else:
                np.testing.assert_array_equal(data.qpos[root:root + 2], 0.0)
            np.testing.assert_allclose(np.linalg.norm(data.qpos[root + 3:root + 7]), 1.0, rtol=1e-12)
            mujoco.mj_setState(task.model, data, states[i], mujoco.mjtState.mjSTATE_INTEGRATION)
            data.qpos[root + 2] = z - 0.01
            if task.fetch:  # the ball where it was during the search: at its qpos0
                data.qpos[task._ball_qpos:task._ball_qpos + 3] = task.model.qpos0[task._ball_qpos:task._ball_qpos + 3]
            mujoco.mj_forward(task.model, data)
            assert z < 0.005 or data.ncon > 0, "1 cm lower is in contact"
    finally:
        env.close()


def test_a_terminating_env_ends_with_the_tasks_discount_the_others_keep_one():
    from mjvec.envs.dm_control.cartpole import Cartpole

    class Off(Cartpole):  # as dm_control's get_termination returning a discount (lqr's 0.0)
        termination_discount = 0.0

        def terminated(self, xp, data):
            return xp.abs(data.qpos[:, 0]) > 0.05

    env = mjvec.make(Off(swing_up=False), 2, max_episode_steps=30, autoreset_mode="disabled")
    try:
        env.reset(seed=0)
        push = np.array([[1.0], [0.0]], np.float32)
        for _ in range(30):
            obs, reward, terminated, truncated, info = env.step(push)
            if terminated[0]:
                break
        assert terminated[0] and info["discount"][0] == 0.0 and info["discount"][1] == 1.0
    finally:
        env.close()


def test_stackers_reset_is_contact_free_with_its_target_on_a_box_level_per_env():
    n = 24
    env = mjvec.make("StackerStack4-v0", n)
    try:
        obs, _ = env.reset(seed=1)
        task = mjvec.make_task("StackerStack4-v0")
        pos = np.array(env._backend.sim._expanded["body_pos"])
        states = env.get_state()
        for i in range(n):
            model = copy.copy(task.model)
            model.body_pos[:] = pos[i]
            data = mujoco.MjData(model)
            mujoco.mj_setState(model, data, states[i], mujoco.mjtState.mjSTATE_INTEGRATION)
            mujoco.mj_forward(model, data)
            assert data.ncon == 0, i
        levels = (obs["target_pos"][:, 1] / task._box_size - 1) / 2
        np.testing.assert_allclose(levels, np.round(levels), atol=1e-9)
        assert set(np.round(levels).astype(int)) <= {0, 1, 2, 3} and len(set(np.round(levels).astype(int))) > 1
        assert np.all(np.abs(obs["target_pos"][:, 0]) <= 0.37)
        boxes = obs["box_pos"]
        assert boxes.shape == (n, 4, 4) and np.all((0.1 <= boxes[..., 0]) & (boxes[..., 0] <= 0.3))
    finally:
        env.close()


def test_lqrs_springs_come_from_model_seed_and_its_start_is_on_the_sqrt2_sphere():
    a, b = mjvec.make_task("LqrLqr62-v0"), mjvec.make_task("LqrLqr62-v0", model_seed=1)
    stiffness = a.model.jnt_stiffness
    assert np.all((15 <= stiffness) & (stiffness <= 25)) and np.all(a.model.dof_damping == 0)
    np.testing.assert_array_equal(stiffness, mjvec.make_task("LqrLqr62-v0", model_seed=0).model.jnt_stiffness)
    assert not np.array_equal(stiffness, b.model.jnt_stiffness)
    assert a.model.nu == 2 and np.all(a.model.actuator_ctrllimited == 0)
    env = mjvec.make("LqrLqr62-v0", 8)
    try:
        obs, _ = env.reset(seed=0)
        np.testing.assert_allclose(np.linalg.norm(obs["position"], axis=1), np.sqrt(2), rtol=1e-12)
        np.testing.assert_array_equal(obs["velocity"], 0.0)
        assert env.max_episode_steps is None and env.single_action_space.high[0] == 1e10  # dm_control's mjMAXVAL
    finally:
        env.close()
    with pytest.raises(ValueError, match="`model_seed` must be an int >= 0"):
        mjvec.make("LqrLqr21-v0", 1, model_seed=-1)


def test_mjx_refuses_a_per_env_field_it_keeps_static_by_name():
    pytest.importorskip("jax")
    mjx = _mjx_backend()
    with pytest.raises(mjx.UnsupportedFeatureError, match="per-env `wrap_prm`.*static NumPy array"):
        mjvec.make("PointMassHard-v0", 2, backend="mjx")


def _mjx_backend():
    from mjvec.backends import mjx

    return mjx


@pytest.mark.parametrize("env_id", ["DogStand-v0", "DogFetch-v0"])
def test_dogs_reset_turns_the_default_pose_and_draws_root_velocities_and_activations(env_id):
    n = 4
    env = mjvec.make(env_id, n)
    try:
        obs, _ = env.reset(seed=0)
        task = mjvec.make_task(env_id)
        model, sim = task.model, env._backend.sim
        qpos, qvel, act = np.array(sim.data.qpos), np.array(sim.data.qvel), obs["actuator_state"]
        root, others = task._root, np.ones(model.nq, bool)
        others[root + 3:root + 7] = False
        if task.fetch:
            others[task._ball_qpos:task._ball_qpos + 3] = False
            ball = qpos[:, task._ball_qpos:task._ball_qpos + 3]
            np.testing.assert_allclose(np.linalg.norm(ball[:, :2], axis=1), 7.5, rtol=1e-12)  # 0.75 of the floor
            np.testing.assert_array_equal(ball[:, 2], 0.05)
            speed = qvel[:, task._ball_dof:task._ball_dof + 3]
            assert np.all(speed[:, 2] >= 0) and np.all(speed[:, 2] <= np.sqrt(2 * 9.81 * 3) + 1e-9)
            assert np.all(np.sum(ball[:, :2] * speed[:, :2], axis=1) <= 0), "thrown towards the centre"
        np.testing.assert_array_equal(qpos[:, others], np.broadcast_to(model.qpos0[others], (n, others.sum())))
        quat = qpos[:, root + 3:root + 7]
        np.testing.assert_array_equal(quat[:, 1:3], 0.0)  # a yaw only
        np.testing.assert_allclose(np.linalg.norm(quat, axis=1), 1.0, rtol=1e-12)
        moving = np.zeros(model.nv, bool)
        moving[[0, 1, 5]] = True
        if task.fetch:
            moving[task._ball_dof:task._ball_dof + 3] = True
        np.testing.assert_array_equal(qvel[:, ~moving], 0.0)
        assert np.all(qvel[:, [0, 1, 5]] != 0)
        low, high = model.actuator_ctrlrange.T
        assert act.shape == (n, 38) and np.all((low <= act) & (act <= high)) and len(np.unique(act[:, 0])) == n
        np.testing.assert_array_equal(act, sim.data.act)
        # dm_control's constants, measured at the default pose: stand heights and the body weight
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        np.testing.assert_array_equal(task._stand_height, 0.9 * data.xpos[[task._torso, task._pelvis], 2])
        assert task._body_weight == -model.opt.gravity[2] * model.body_subtreemass[task._torso]
        # the reset's forward pass had no actuators: its accelerations are those of a passive forward
        states = env.get_state()
        passive = copy.copy(model)
        passive.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_ACTUATION)
        for i in range(n):
            mujoco.mj_setState(passive, data, states[i], mujoco.mjtState.mjSTATE_INTEGRATION)
            mujoco.mj_forward(passive, data)
            np.testing.assert_array_equal(obs["inertial_sensors"][i], data.sensordata[task._inertial])
    finally:
        env.close()
    floors = {i: mjvec.make_task(f"Dog{i}-v0").model.geom_size[0, 0] for i in ("Stand", "Walk", "Trot", "Run")}
    assert floors == {"Stand": 15, "Walk": 15, "Trot": 45, "Run": 135}  # 15 s x the speed (stand: walk's)
