"""env.rollout: T steps in one native call give what T calls of step give, bit for bit (CPU)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import mjvec

N = 4


def _actions(env, steps, seed=1):
    space = env.single_action_space
    low = np.where(np.isfinite(space.low), space.low, -1.0)
    high = np.where(np.isfinite(space.high), space.high, 1.0)
    return np.random.default_rng(seed).uniform(low, high, (env.num_envs, steps, *space.shape)).astype(np.float32)


def _pair(env_id, nthread=2, **kwargs):
    return tuple(mjvec.make(env_id, N, nthread=nthread, autoreset_mode="disabled", **kwargs) for _ in range(2))


def _assert_rollout_is_the_step_loop(rolled, stepped, actions, result):
    """Compare every step each env takes in its episode; an env that ended is reset in the loop only."""
    alive = np.ones(N, dtype=bool)
    for k in range(actions.shape[1]):
        obs, reward, terminated, truncated, info = stepped.step(actions[:, k])
        np.testing.assert_array_equal(result.valid[:, k], alive)
        v = alive
        np.testing.assert_array_equal(result.obs[v, k], obs[v])
        np.testing.assert_array_equal(result.reward[v, k], reward[v])
        np.testing.assert_array_equal(result.terminated[v, k], terminated[v])
        np.testing.assert_array_equal(result.truncated[v, k], truncated[v])
        for key, value in info.items():
            if not key.startswith("_") and key != "diverged":
                np.testing.assert_array_equal(result.info[key][v, k], value[v], err_msg=key)
        if result.states is not None:
            np.testing.assert_array_equal(result.states[v, k], stepped.get_state()[v])
        done = terminated | truncated
        if done.any():
            alive &= ~done
            stepped.reset(options={"reset_mask": done})
    assert not result.terminated[~result.valid].any() and not result.reward[~result.valid].any()


@pytest.mark.parametrize(
    "env_id, nthread, kwargs",
    [
        ("HalfCheetah-v5", 1, {}),
        ("HalfCheetah-v5", 2, {}),
        ("Hopper-v5", 2, {}),  # terminations inside the rollout
        ("Reacher-v5", 2, {}),  # truncation at its 50-step limit
        ("SpinTop-v0", 2, {}),  # a torque on a body (xfrc), and it falls
        ("MocapPush-v0", 2, {}),  # mocap deltas in a workspace: each step moves from the last
        ("HalfCheetah-v5", 2, {"actions": mjvec.ActionSpec(ctrl=["bthigh"], xfrc={"torso": "wrench"}, qfrc=["fthigh"])}),
        ("Ant-v5", 2, {}),  # cfrc_ext: a forward pass at each step's final state, as step runs it
        ("Humanoid-v5", 2, {}),
    ],
)
def test_rollout_is_the_step_loop_bit_for_bit(env_id, nthread, kwargs):
    rolled, stepped = _pair(env_id, nthread, **kwargs)
    rolled.reset(seed=0), stepped.reset(seed=0)
    warmup = _actions(rolled, 2, seed=0)
    for k in range(2):
        rolled.step(warmup[:, k]), stepped.step(warmup[:, k])
    actions = _actions(rolled, 60)
    result = rolled.rollout(actions, record_state=True)
    assert result.obs.shape == (N, 60, *rolled.single_observation_space.shape)
    assert result.reward.shape == result.terminated.shape == result.truncated.shape == (N, 60)
    assert result.states.shape == (N, 60, rolled.state_size)
    _assert_rollout_is_the_step_loop(rolled, stepped, actions, result)


@pytest.mark.parametrize("env_id", ["Hopper-v5", "Ant-v5"])
def test_after_a_rollout_the_env_is_where_the_steps_leave_it(env_id):
    rolled, stepped = _pair(env_id, max_episode_steps=1000)
    rolled.reset(seed=3), stepped.reset(seed=3)
    actions = _actions(rolled, 40, seed=4)
    result = rolled.rollout(actions)
    ended = result.terminated.any(axis=1) | result.truncated.any(axis=1)
    assert not ended.all() and (ended.any() or env_id == "Ant-v5")  # Ant's random walk stays healthy here
    for k in range(40):
        stepped._ended[:] = False  # test-only: keep stepping past an end, as the rollout's physics do
        stepped.step(actions[:, k])
    np.testing.assert_array_equal(rolled.get_state(), stepped.get_state())
    if ended.any():
        with pytest.raises(RuntimeError, match=re.escape(f"environments {np.flatnonzero(ended).tolist()} have ended")):
            rolled.step(actions[:, 0])
    # both continue alike: the derived fields a reward reads from before the step (Ant's torso xpos)
    # are those the steps left, and the streams were not drawn from
    for env in (rolled, stepped):
        env._ended[:] = ended
        if ended.any():
            env.reset(options={"reset_mask": ended})
    for a in np.moveaxis(_actions(rolled, 5, seed=9), 1, 0):
        out, ref = rolled.step(a), stepped.step(a)
        for x, y in zip(out[:4], ref[:4]):
            np.testing.assert_array_equal(x, y)
        if (ref[2] | ref[3]).any():
            break


def test_rollout_from_given_states_starts_new_episodes_there():
    rolled, stepped = _pair("HalfCheetah-v5", max_episode_steps=20)
    rolled.reset(seed=0), stepped.reset(seed=0)
    for a in np.moveaxis(_actions(stepped, 5, seed=2), 1, 0):
        stepped.step(a)
    states = stepped.get_state()
    actions = _actions(rolled, 25)
    result = rolled.rollout(actions, state=states)
    stepped.reset(options={"state": states})
    _assert_rollout_is_the_step_loop(rolled, stepped, actions, result)
    assert result.truncated[:, 19].all() and result.valid[:, :20].all() and not result.valid[:, 20:].any()


def test_a_diverging_env_is_flagged_and_the_others_are_untouched():
    rolled, clean = _pair("HalfCheetah-v5")
    rolled.reset(seed=0), clean.reset(seed=0)
    first = clean.step(np.zeros((N, 6), np.float32))[0]
    rolled.step(np.zeros((N, 6), np.float32))
    rolled._backend.sim._qvel[2, 0] = np.nan  # test-only fault injection
    actions = _actions(rolled, 10)
    result = rolled.rollout(actions)
    expected = clean.rollout(actions)
    others = [0, 1, 3]
    np.testing.assert_array_equal(result.obs[others], expected.obs[others])
    np.testing.assert_array_equal(result.reward[others], expected.reward[others])
    assert result.info["diverged"][2, 0] and result.truncated[2, 0] and result.reward[2, 0] == 0
    assert not result.valid[2, 1:].any()
    np.testing.assert_array_equal(result.obs[2, 0], first[2])  # the last finite observation
    assert np.isfinite(result.obs).all()
    assert rolled.diagnostics()["diverged"]["env_ids"] == [2]


def test_bad_rollouts_are_refused_before_anything_is_simulated():
    env = mjvec.make("HalfCheetah-v5", N, autoreset_mode="disabled")
    env.reset(seed=0)
    state = env.get_state()
    actions = _actions(env, 5)
    with pytest.raises(ValueError, match=r"`actions` must have shape \(4, T, 6\).*got \(4, 5\)"):
        env.rollout(actions[..., 0])
    with pytest.raises(ValueError, match=r"got \(4, 0, 6\)"):
        env.rollout(actions[:, :0])
    with pytest.raises(TypeError, match=r"`actions` must be a numpy array"):
        env.rollout(actions.tolist())
    bad = actions.copy()
    bad[1, 3, 2] = np.nan
    with pytest.raises(ValueError, match=r"`actions` must be finite"):
        env.rollout(bad)
    with pytest.raises(ValueError, match=r"`state` must have shape \(4, "):
        env.rollout(actions, state=state[:2])
    np.testing.assert_array_equal(env.get_state(), state)
    nextstep = mjvec.make("HalfCheetah-v5", N)
    nextstep.reset(seed=0)
    with pytest.raises(ValueError, match=r"autoreset_mode='disabled'"):
        nextstep.rollout(actions)


def test_collected_transitions_chain_within_episodes_and_never_across():
    """scripts/collect_transitions.py: each next_obs is the env's next obs, until its episode ends."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "scripts" / "collect_transitions.py"
    spec = importlib.util.spec_from_file_location("collect_transitions", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    env = mjvec.make("Hopper-v5", 3, autoreset_mode="disabled", max_episode_steps=30)
    data = script.collect(env, rollouts=4, horizon=25, rng=np.random.default_rng(0))
    env.close()
    done = data["terminated"] | data["truncated"]
    assert data["terminated"].any() and data["truncated"].any() and np.isfinite(data["obs"]).all()
    for i in range(3):
        rows = np.flatnonzero(data["env"] == i)  # in rollout order, then step order
        for r, q in zip(rows[:-1], rows[1:]):
            if done[r]:  # an episode ended: the next row starts from a reset
                assert data["rollout"][q] > data["rollout"][r]
                assert not np.array_equal(data["obs"][q], data["next_obs"][r])
            else:  # within an episode, also across rollouts: the chain is exact
                np.testing.assert_array_equal(data["obs"][q], data["next_obs"][r])


def test_mppi_script_plans_with_rollouts_and_reports(tmp_path):
    import importlib.util
    import json
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "scripts" / "mppi.py"
    spec = importlib.util.spec_from_file_location("mppi", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "mppi.json"
    assert script.main(["--steps", "4", "--samples", "8", "--horizon", "5", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["control_steps"] == 4 and np.isfinite(report["return"]) and report["control_steps_per_s"] > 0
