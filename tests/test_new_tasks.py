"""MocapPush-v0 and SpinTop-v0: spaces, seeding, reward terms, what the action moves, episode ends."""

import types

import gymnasium as gym
import numpy as np
import pytest
from mjvec.envs import mocap_push
from mjvec.envs.mocap_push import MocapPush
from mjvec.envs.spin_top import SpinTop

import mjvec
from mjvec.tools.cli import main

TASKS = {"MocapPush-v0": (17, 3, 100), "SpinTop-v0": (10, 3, 500)}
REWARD_TERMS = {"MocapPush-v0": ("reward_dist", "reward_near"),
                "SpinTop-v0": ("reward_survive", "reward_spin", "reward_ctrl")}


def _rollout(env_id, seed, steps=40, n=3):
    env = mjvec.make(env_id, n, autoreset_mode="same_step", max_episode_steps=15)
    env.action_space.seed(0)
    out = [env.reset(seed=seed)[0]]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        out += [obs, reward, terminated, truncated]
    env.close()
    return out


@pytest.mark.parametrize("env_id", TASKS)
def test_spaces_layout_and_registration(env_id):
    obs_size, act_size, limit = TASKS[env_id]
    env = gym.make_vec(f"mjvec/{env_id}", num_envs=2)
    assert env.max_episode_steps == limit
    assert env.single_observation_space.shape == (obs_size,)
    assert env.single_action_space.shape == (act_size,) and env.single_action_space.dtype == np.float32
    # the task's own action space is the default spec's, so `mjvec envs` and the env agree
    assert env.task.single_action_space == env.single_action_space
    rows = env.action_spec.describe().splitlines()
    assert rows[0].split() == ["index", "kind", "name", "component", "field"]
    expected = {"MocapPush-v0": ["0:3", "mocap", "hand_target", "delta_pos", "mocap_pos"],
                "SpinTop-v0": ["0:3", "xfrc", "top", "torque", "xfrc_applied"]}[env_id]
    assert [r.split() for r in rows[1:]] == [expected]
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float64 and env.observation_space.contains(obs)
    env.close()


def test_cli_lists_new_tasks_with_their_action_specs(capsys):
    assert main(["envs"]) == 0
    rows = {line.split()[0]: line.split()[1:4] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["mjvec/MocapPush-v0"] == ["(17,)", "(3,)", "100"]
    assert rows["mjvec/SpinTop-v0"] == ["(10,)", "(3,)", "500"]


def test_action_bounds():
    push = mjvec.make("MocapPush-v0", 1, max_delta=0.02)
    np.testing.assert_array_equal(push.single_action_space.low, np.float32([-0.02, -0.02, 0]))
    np.testing.assert_array_equal(push.single_action_space.high, np.float32([0.02, 0.02, 0]))
    top = mjvec.make("SpinTop-v0", 1, max_torque=0.25)
    np.testing.assert_array_equal(top.single_action_space.high, np.full(3, 0.25, np.float32))
    assert top.single_action_space.low.tolist() == [-0.25] * 3
    for bad, error in (("x", TypeError), (-0.1, ValueError), (0, ValueError)):
        with pytest.raises(error, match="max_delta"):
            MocapPush(max_delta=bad)
        with pytest.raises(error, match="max_torque"):
            SpinTop(max_torque=bad)
    with pytest.raises(ValueError, match="max_tilt"):
        SpinTop(max_tilt=4.0)


@pytest.mark.parametrize("env_id", TASKS)
def test_same_seed_same_numbers_other_seed_different(env_id):
    a, b, c = _rollout(env_id, 7), _rollout(env_id, 7), _rollout(env_id, 8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("env_id", TASKS)
def test_reward_is_the_sum_of_its_terms(env_id):
    env = mjvec.make(env_id, 4)
    env.reset(seed=1)
    env.action_space.seed(1)
    for _ in range(10):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        if (terminated | truncated).any():
            break
        np.testing.assert_allclose(reward, sum(info[k] for k in REWARD_TERMS[env_id]), rtol=0, atol=1e-12)
    env.close()


# -- MocapPush ---------------------------------------------------------------------------
def test_push_reset_state_and_goal_in_qpos():
    env = mjvec.make("MocapPush-v0", 16)
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(obs[:, 0:5], np.tile([-0.25, 0, 0.03, -0.25, 0], (16, 1)))
    obj, goal = obs[:, 5:7], obs[:, 11:13]
    assert (np.abs(obj) <= mocap_push.OBJECT_RANGE).all()
    assert (np.abs(goal) <= mocap_push.TABLE_HALF).all()
    distance = np.linalg.norm(goal - obj, axis=1)
    unclipped = (np.abs(goal) < mocap_push.TABLE_HALF).all(axis=1)
    assert unclipped.sum() >= 8 and ((distance[unclipped] >= 0.1 - 1e-12) & (distance[unclipped] <= 0.2)).all()
    np.testing.assert_allclose(info["goal_distance"], distance, atol=1e-12)
    assert len(np.unique(goal[:, 0])) == 16
    np.testing.assert_array_equal(obs[:, 15:17], goal - obj)
    # the goal lives in the state: it stays where it was drawn, and a reset draws a new one
    for _ in range(5):
        obs2, *_ = env.step(env.action_space.sample())
    np.testing.assert_array_equal(obs2[:, 11:13], goal)
    assert not np.array_equal(env.reset()[0][:, 11:13], goal)
    env.close()


def test_push_delta_moves_hand_target_and_hand_that_way():
    env = mjvec.make("MocapPush-v0", 2)
    obs, _ = env.reset(seed=0)
    action = np.float32([[0.02, 0, 0], [0, -0.02, 0]])
    d = float(np.float32(0.02))  # the float32 action, added to the target in float64
    for k in range(1, 6):
        prev, (obs, *_) = obs, env.step(action)
        np.testing.assert_allclose(obs[:, 3:5], [[-0.25 + k * d, 0], [-0.25, -k * d]], rtol=0, atol=1e-12)
        assert obs[0, 0] > prev[0, 0] and obs[1, 1] < prev[1, 1]  # the hand follows
    np.testing.assert_allclose(obs[0, 1], 0, atol=1e-4)
    np.testing.assert_allclose(obs[1, 0], -0.25, atol=1e-4)
    np.testing.assert_allclose(obs[:, 2], 0.03, atol=1e-3)  # held at its height by the weld
    env.close()


def test_push_workspace_clips_the_target():
    env = mjvec.make("MocapPush-v0", 1)
    env.reset(seed=0)
    w = mocap_push.WORKSPACE_HALF
    # outside the Box on purpose: the workspace clips whatever comes, z included
    for _ in range(40):
        obs, *_ = env.step(np.float32([[0.05, 0.05, 0.05]]))
    np.testing.assert_array_equal(obs[0, 3:5], [w, w])
    np.testing.assert_allclose(obs[0, 0:3], [w, w, 0.03], atol=2e-3)
    env.close()


def _scripted_push(obs):
    """Go around the puck to behind it (seen from the goal), then push it there, slower when close."""
    hand, target, obj, goal = obs[:, 0:2], obs[:, 3:5], obs[:, 5:7], obs[:, 11:13]
    distance = np.linalg.norm(goal - obj, axis=1, keepdims=True)
    d = (goal - obj) / distance
    perp = np.stack([-d[:, 1], d[:, 0]], axis=1)
    along, across = ((hand - obj) * d).sum(1), ((hand - obj) * perp).sum(1)
    around = obj + 0.1 * np.where(across >= 0, 1.0, -1.0)[:, None] * perp - 0.1 * d
    want = np.where((along > -0.05)[:, None], around, obj - 0.075 * d)
    delta = np.clip(want - target, -0.03, 0.03)
    pushing = (along <= -0.05) & (np.abs(across) <= 0.015)
    delta = np.where(pushing[:, None], np.minimum(0.02, 0.5 * distance) * d, delta)
    return np.concatenate([delta, np.zeros((len(obs), 1))], axis=1).astype(np.float32)


def test_push_hand_pushes_the_puck_to_the_goal_and_episode_ends_by_time_only():
    env = mjvec.make("MocapPush-v0", 8, autoreset_mode="same_step")
    obs, info = env.reset(seed=3)
    start = info["goal_distance"].copy()
    for step in range(1, 101):
        obs, _, terminated, truncated, info = env.step(_scripted_push(obs))
        assert not terminated.any()
        assert truncated.all() == (step == 100) and truncated.any() == (step == 100)
    final = info["final_info"]
    assert final["goal_distance"].mean() < 0.3 * start.mean()
    assert final["is_success"].sum() >= 6
    np.testing.assert_array_equal(final["is_success"], final["goal_distance"] < 0.05)
    env.close()


# -- SpinTop -----------------------------------------------------------------------------
def test_top_z_torque_spins_it_and_horizontal_torque_turns_its_axis():
    env = mjvec.make("SpinTop-v0", 3, reset_noise_scale=0.0)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs[:, :3], np.tile([0.0, 0, 1], (3, 1)))
    action = np.float32([[0, 0, 0.5], [0, 0, -0.5], [0.2, 0, 0]])
    for _ in range(5):
        prev, (obs, _, _, _, info) = obs, env.step(action)
        assert obs[0, 6] > prev[0, 6] > -1e-12 and obs[1, 6] < prev[1, 6] < 1e-12
    np.testing.assert_array_equal(obs[:, 6], info["spin"])
    # a torque about +x turns the axis about +x: z towards -y
    assert obs[2, 3] > 0.5 and obs[2, 1] < -0.01 and abs(obs[2, 0]) < 1e-6
    assert info["tilt"][2] > 0.01 and abs(obs[0, 5] - obs[0, 6]) < 1e-9  # upright: spin is the world z rate
    env.close()


def test_top_terminates_when_it_falls_past_max_tilt():
    env = mjvec.make("SpinTop-v0", 4, autoreset_mode="same_step", max_tilt=0.4)
    _, info = env.reset(seed=0)
    assert (info["tilt"] < 0.4).all()
    ended = np.zeros(4, dtype=bool)
    for _ in range(100):  # unspun and untorqued, it falls within a second
        _, reward, terminated, truncated, info = env.step(np.zeros((4, 3), np.float32))
        assert not truncated.any() and (reward > 0).all()
        tilt = info["tilt"].copy()  # of the new episode where one ended: the final one is in final_info
        if terminated.any():
            tilt[terminated] = info["final_info"]["tilt"][terminated]
        assert (terminated == (tilt > 0.4)).all()
        ended |= terminated
        if ended.all():
            break
    assert ended.all()
    env.close()


def test_spinning_at_target_pays_most():
    task = SpinTop()
    env = mjvec.make(task, 1)
    env.reset(seed=0)
    _, reward, *_ = env.step(np.zeros((1, 3), np.float32))
    assert reward[0] == pytest.approx(0.5, abs=1e-3)  # healthy 1, spin cost 0.5 at rest
    data = types.SimpleNamespace(qpos=np.array([[0, 0, 0, 1.0, 0, 0, 0]]), qvel=np.array([[0, 0, 0, 0, 0, 25.0]]))
    reward, terminated, info = task.evaluate(np, data, np.zeros((1, 3), np.float32), {})
    assert reward.tolist() == [1.0] and info["tilt"].tolist() == [0.0] and not terminated[0]
    env.close()


# -- both: xp-agnostic (the MJX backend runs these functions under jax.jit) ---------------
@pytest.mark.parametrize("env_id", TASKS)
def test_task_functions_run_under_jax_jit(env_id):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    env = mjvec.make(env_id, 3)
    env.reset(seed=0)
    env.action_space.seed(0)
    env.step(env.action_space.sample())
    task, data = env.task, env._backend.sim.data
    names = ("qpos", "qvel", *task.fields)
    fields = {f: np.array(getattr(data, f)) for f in names}
    action = env.action_space.sample()

    @jax.jit
    def functions(fields, action):
        ns = types.SimpleNamespace(**fields)
        return task.observe(jnp, ns), task.evaluate(jnp, ns, action, {})

    obs_j, (reward_j, term_j, info_j) = functions({k: jnp.asarray(v) for k, v in fields.items()}, action)
    ns = types.SimpleNamespace(**fields)
    reward, terminated, info = task.evaluate(np, ns, action, {})
    np.testing.assert_allclose(obs_j, task.observe(np, ns), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reward_j, reward, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(term_j, terminated)
    assert set(info_j) == set(info)

    class JaxRandom:  # the numpy draws as JAX arrays: the functions' arithmetic is what is tested
        def __init__(self):
            self.rng = mjvec.task.NumpyRandom([np.random.default_rng(i) for i in range(3)])

        def uniform(self, low, high, size):
            return jnp.asarray(self.rng.uniform(low, high, size))

    qpos_j, qvel_j = task.reset_state(jnp, JaxRandom(), jnp.asarray(task.init_qpos), jnp.asarray(task.init_qvel))
    qpos, qvel = task.reset_state(np, JaxRandom().rng, task.init_qpos, task.init_qvel)
    np.testing.assert_allclose(qpos_j, qpos, atol=1e-6)
    np.testing.assert_allclose(qvel_j, qvel, atol=1e-6)
    env.close()


@pytest.mark.parametrize("env_id", TASKS)
def test_smoke_random_actions_with_autoreset(env_id):
    env = mjvec.make(env_id, 4, max_episode_steps=30)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(120):
        obs, reward, *_ = env.step(env.action_space.sample())
        assert np.isfinite(obs).all() and np.isfinite(reward).all()
    assert env.diagnostics() == {}
    env.close()
