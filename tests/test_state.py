"""Physics state: get_state, set_state and reset from given states continue bit for bit (CPU)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import mjvec

TOP = "SpinTop-v0"  # a spinning top on a floor: contacts, a free joint (it falls within ~15 steps)
CHEETAH = "HalfCheetah-v5"  # sliding contacts that amplify any difference ~10x per 5 steps; never terminates


def _actions(env, steps, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    return (scale * rng.uniform(-1, 1, (steps, env.num_envs, *env.single_action_space.shape))).astype(np.float32)


def _run(env, actions):
    """Every step's (obs, reward, terminated, truncated) until an episode ends (its reset draws from the env's stream)."""
    out = []
    for a in actions:
        step = env.step(a)
        out.append(step[:4])
        if (step[2] | step[3]).any():
            break
    return out


def test_state_is_mujocos_integration_state_and_a_copy():
    env = mjvec.make(TOP, 3)
    env.reset(seed=0)
    assert env.state_size == mujoco.mj_stateSize(env.task.model, mujoco.mjtState.mjSTATE_INTEGRATION)
    state = env.get_state()
    assert state.shape == (3, env.state_size) and state.dtype == np.float64
    data = mujoco.MjData(env.get_model(1))
    mujoco.mj_setState(env.get_model(1), data, state[1], mujoco.mjtState.mjSTATE_INTEGRATION)
    np.testing.assert_array_equal(data.qpos, env.get_state([1])[0][1 : 1 + env.task.model.nq])
    state[:] = 0  # the caller's own array
    assert env.get_state().any()
    np.testing.assert_array_equal(env.get_state([2, 0]), env.get_state()[[2, 0]])


@pytest.mark.parametrize("task, nthread", [(CHEETAH, 1), (CHEETAH, 2), (TOP, 2)])
def test_a_saved_trajectory_continues_bit_for_bit_in_another_env(task, nthread):
    """As MuJoCo's rollout tutorial with its tippe-top: chunks continue exactly when the warmstart is kept."""
    source = mjvec.make(task, 4, nthread=nthread, autoreset_mode="disabled")
    target = mjvec.make(task, 4, nthread=nthread, autoreset_mode="disabled")
    source.reset(seed=1)
    target.reset(seed=7)  # other states, other streams
    actions = _actions(source, 80)
    for a in actions[:8]:
        source.step(a)
    saved = source.get_state()
    target.set_state(saved, env_ids=[3, 2, 1, 0])  # env i into env 3 - i
    np.testing.assert_array_equal(target.get_state([3, 2, 1, 0]), saved)
    rows = [3, 2, 1, 0]
    expected = _run(source, actions[8:])
    got = _run(target, actions[8:, rows])
    assert len(expected) > 4
    for (o1, r1, te1, tr1), (o2, r2, te2, tr2) in zip(expected, got):
        np.testing.assert_array_equal(o2[rows], o1)
        np.testing.assert_array_equal(r2[rows], r1)
        np.testing.assert_array_equal(te2[rows], te1)


def test_without_the_warmstart_the_continuation_departs():
    """The solver's warmstart is part of the state: dropping it changes a contact-rich trajectory."""
    source = mjvec.make(CHEETAH, 2, nthread=1, autoreset_mode="disabled")
    cold = mjvec.make(CHEETAH, 2, nthread=1, autoreset_mode="disabled")
    source.reset(seed=3)
    cold.reset(seed=3)
    actions = _actions(source, 60)
    for a in actions[:15]:
        source.step(a)
    state = source.get_state()
    model = source.task.model
    start = sum(mujoco.mj_stateSize(model, s) for s in (
        mujoco.mjtState.mjSTATE_TIME, mujoco.mjtState.mjSTATE_QPOS, mujoco.mjtState.mjSTATE_QVEL,
        mujoco.mjtState.mjSTATE_ACT, mujoco.mjtState.mjSTATE_HISTORY,
    ))
    assert state[:, start : start + model.nv].any()  # the warmstart is there
    state[:, start : start + model.nv] = 0
    cold.set_state(state)
    expected, got = _run(source, actions[15:]), _run(cold, actions[15:])
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(expected, got))


def test_reset_from_given_states_starts_new_episodes_there():
    env = mjvec.make(CHEETAH, 4, max_episode_steps=30)
    env.reset(seed=0)
    for a in _actions(env, 12):
        env.step(a)
    other = env.get_state()
    before = env.get_state([1, 3])
    mask = np.array([True, False, True, False])
    obs, info = env.reset(options={"state": other[[3, 1]], "reset_mask": mask})
    np.testing.assert_array_equal(env.get_state([0, 2]), other[[3, 1]])
    np.testing.assert_array_equal(env.get_state([1, 3]), before)  # the others are untouched
    assert set(info) == {"x_position", "_x_position"} and info["_x_position"].tolist() == mask.tolist()
    np.testing.assert_array_equal(info["x_position"][mask], other[[3, 1], 1])  # qpos[0], after time
    # new episodes: envs 0 and 2 are truncated 30 steps after this reset, the others earlier
    truncated_at = {}
    for t, a in enumerate(_actions(env, 40, seed=5, scale=0.0)):
        _, _, terminated, truncated, _ = env.step(a)
        for i in np.flatnonzero(truncated):
            truncated_at.setdefault(int(i), t + 1)
    assert truncated_at.get(0) == truncated_at.get(2) == 30
    assert truncated_at.get(1) == truncated_at.get(3) == 30 - 12


def test_bad_states_and_ids_are_refused_before_anything_changes():
    env = mjvec.make(TOP, 3)
    with pytest.raises(RuntimeError, match=r"`set_state\(\)` needs a first `reset\(\)`"):
        env.set_state(np.zeros((3, env.state_size)))
    env.reset(seed=0)
    state = env.get_state()
    with pytest.raises(ValueError, match=rf"`state` must have shape \(2, {env.state_size}\)"):
        env.set_state(state, env_ids=[0, 1])
    bad = state.copy()
    bad[1, 3] = np.nan
    with pytest.raises(ValueError, match=r"`state` must be finite, got NaN or inf in rows \[1\]"):
        env.set_state(bad)
    with pytest.raises(TypeError, match=r"`state` must be a numpy array"):
        env.set_state(state.tolist())
    with pytest.raises(ValueError, match=r"`env_ids` must be in \[0, 3\), got \[3\]"):
        env.get_state([0, 3])
    with pytest.raises(ValueError, match=r"names an env more than once"):
        env.set_state(state[:2], env_ids=[1, 1])
    with pytest.raises(TypeError, match=r"`env_ids` must be None or a sequence of env indices"):
        env.get_state([True, False, True])
    with pytest.raises(ValueError, match=r"`options\['state'\]` must have shape \(1, "):
        env.reset(options={"state": state, "reset_mask": np.array([False, True, False])})
    np.testing.assert_array_equal(env.get_state(), state)
