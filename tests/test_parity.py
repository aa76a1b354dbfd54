"""mjvec against Gymnasium's SyncVectorEnv: same seed, same actions, bit for bit (atol=0)."""

import pytest
from parity import run_parity


# --- Reacher-v5 and Pusher-v5 ------------------------------------------------
# Both draw their reset state by rejection sampling; 4 envs over several episodes
# (limits 50 / 100 steps) exercise rejected draws and keep every env's stream aligned.


@pytest.mark.parametrize("autoreset_mode", ["next_step", "same_step"])
@pytest.mark.parametrize("env_id, steps", [("Reacher-v5", 230), ("Pusher-v5", 330)])
def test_reacher_pusher_parity(env_id, steps, autoreset_mode):
    ends = run_parity(env_id, num_envs=4, steps=steps, autoreset_mode=autoreset_mode)
    assert ends > 0


def test_reacher_parity_kwargs():
    ends = run_parity(
        "Reacher-v5", num_envs=3, steps=60, seed=7, max_episode_steps=17,
        frame_skip=3, reward_dist_weight=0.5, reward_control_weight=0.1,
    )
    assert ends > 0


def test_pusher_parity_kwargs():
    ends = run_parity(
        "Pusher-v5", num_envs=3, steps=60, seed=7, max_episode_steps=23,
        frame_skip=4, reward_near_weight=1.0, reward_dist_weight=2.0, reward_control_weight=0.3,
    )
    assert ends > 0


# --- Hopper, Walker2d, Swimmer, InvertedPendulum, InvertedDoublePendulum (v5) ----
# Short time limits give truncations; under random actions Hopper and Walker2d
# fall within ~20-40 steps and the pendulums within ~10, so terminations happen too.
# InvertedDoublePendulum: Gymnasium squares numpy scalars (`x**2`, libm `pow`, not
# always correctly rounded) where a batch squares exactly (`x * x`), so its reward
# and penalties may differ in the last bit: atol=1e-9 there, observations stay exact.

_LOCOMOTION_PENDULUM = [
    # env_id, steps, max_episode_steps, extra run_parity arguments
    ("Hopper-v5", 200, 30, {}),
    ("Walker2d-v5", 200, 30, {}),
    ("Swimmer-v5", 120, 25, {}),
    ("InvertedPendulum-v5", 150, 6, {}),
    ("InvertedDoublePendulum-v5", 150, 6, {"atol": 1e-9, "obs_atol": 0.0}),
]


@pytest.mark.parametrize("autoreset_mode", ["next_step", "same_step"])
@pytest.mark.parametrize(
    "env_id, steps, max_episode_steps, extra", _LOCOMOTION_PENDULUM, ids=[c[0] for c in _LOCOMOTION_PENDULUM]
)
def test_locomotion_pendulum_parity(env_id, steps, max_episode_steps, extra, autoreset_mode):
    ends = run_parity(
        env_id, num_envs=3, steps=steps, max_episode_steps=max_episode_steps, autoreset_mode=autoreset_mode, **extra
    )
    assert ends > 0


@pytest.mark.parametrize(
    "env_id, kwargs, extra",
    [
        # no termination at all: only truncations end episodes
        ("Hopper-v5", dict(terminate_when_unhealthy=False, healthy_reward=2, forward_reward_weight=0.5,
                           ctrl_cost_weight=0.01, exclude_current_positions_from_observation=False), {}),
        # a narrow state range makes healthy_state_range decide terminations
        ("Hopper-v5", dict(healthy_state_range=(-2.0, 2.0), healthy_z_range=(0.5, 1.5),
                           healthy_angle_range=(-0.5, 0.5), reset_noise_scale=0.05), {}),
        ("Walker2d-v5", dict(exclude_current_positions_from_observation=False, healthy_z_range=(0.9, 1.8),
                             healthy_angle_range=(-0.5, 0.5), ctrl_cost_weight=0.1, frame_skip=2), {}),
        ("Swimmer-v5", dict(exclude_current_positions_from_observation=False, forward_reward_weight=2.0,
                            ctrl_cost_weight=0.5, reset_noise_scale=0.3, frame_skip=3), {}),
        ("InvertedPendulum-v5", dict(reset_noise_scale=0.05, frame_skip=3), {}),
        # an int healthy_reward makes `reward_survive` an int64 info array, as in Gymnasium
        ("InvertedDoublePendulum-v5", dict(healthy_reward=3, reset_noise_scale=0.2, frame_skip=4),
         {"atol": 1e-9, "obs_atol": 0.0}),
    ],
    ids=["Hopper-no-termination", "Hopper-ranges", "Walker2d", "Swimmer", "InvertedPendulum", "InvertedDoublePendulum"],
)
def test_locomotion_pendulum_parity_kwargs(env_id, kwargs, extra):
    ends = run_parity(env_id, num_envs=3, steps=120, seed=5, max_episode_steps=20, **kwargs, **extra)
    assert ends > 0


# --- Humanoid-v5 and HumanoidStandup-v5 -----------------------------------------
# Everything not derived from cfrc_ext is compared bit for bit. cfrc_ext is not:
# Gymnasium calls mj_rnePostConstraint after mj_step, so its cfrc_ext comes from the
# last Runge-Kutta stage of the last substep; mujoco.batch computes it inside the
# step (an accelerometer asks for it), at the forward pass of that substep's start
# state. Contacts differ between the two instants (they open and close), so single
# entries can differ by a whole contact force; the bounds below are measured.
# Also, after a reset Gymnasium's cfrc_ext is all zeros (mj_resetData clears it and
# mj_forward does not compute it) where mjvec's holds the reset state's contact
# forces: those rows are checked to be zero in Gymnasium and not compared.

import inspect  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import mjvec  # noqa: E402
from parity import assert_info_equal, make_pair  # noqa: E402

_CFRC_SIZE = 13 * 6  # cfrc_ext[1:] of the 14 bodies (world left out), the observation's last part
_COST_KEY = {"Humanoid-v5": "reward_contact", "HumanoidStandup-v5": "reward_impact"}

# Bounds on what comes from cfrc_ext, per task, with the measured maximum over
# seeds 0-4 x 300 steps x 4 envs (limit 1000, NEXT_STEP and SAME_STEP) beside them:
#   entry:     max |ours - gym| of one cfrc_ext observation entry. A contact present
#              at one instant and not at the other: up to a whole contact force.
#   relative:  sum |ours - gym| / sum |gym| over a run's cfrc_ext entries; 1 for an
#              all-zero cfrc_ext, so it catches a wrong slice, zeros or a scale error.
#   cost:      max |ours - gym| of the contact/impact cost, hence of the reward.
#              Both costs are >= 0 and clipped at 10, so 10 bounds them anyway.
#   cost_mean: mean |ours - gym| of that cost over a run.
_CFRC_BOUNDS = {
    #                    bound                               measured max
    "Humanoid-v5": dict(entry=6000.0, relative=0.5, cost=10.0, cost_mean=0.15),  # 4129, 0.34, 8.57, 0.072
    "HumanoidStandup-v5": dict(entry=3000.0, relative=0.5, cost=4.0, cost_mean=0.15),  # 2044, 0.39, 2.45, 0.067
}


def _split_cfrc(obs, include_cfrc_ext_in_observation=True):
    """``(rest, cfrc_ext)``: the observation without its cfrc_ext part, and that part."""
    cut = obs.shape[-1] - (_CFRC_SIZE if include_cfrc_ext_in_observation else 0)
    return obs[..., :cut], obs[..., cut:]


def _humanoid_parity(env_id, num_envs=3, steps=200, seed=0, autoreset_mode="next_step", max_episode_steps=60,
                     **kwargs):
    """Step mjvec and Gymnasium with the same actions; assert bit equality of all but
    cfrc_ext and what comes from it, and return the deviation of those."""
    include_cfrc = kwargs.get("include_cfrc_ext_in_observation", True)
    cost_key = _COST_KEY[env_id]
    ours, ref = make_pair(env_id, num_envs, autoreset_mode=autoreset_mode, max_episode_steps=max_episode_steps,
                          **kwargs)
    stats = dict(ends=0, terminations=0, entry=0.0, dev_sum=0.0, ref_sum=0.0, cost=0.0, cost_sum=0.0, n_cost=0)

    def compare_obs(o1, o2, where, reset_rows):
        assert o1.shape == o2.shape and o1.dtype == o2.dtype, where
        rest1, cf1 = _split_cfrc(o1, include_cfrc)
        rest2, cf2 = _split_cfrc(o2, include_cfrc)
        np.testing.assert_array_equal(rest1, rest2, err_msg=f"{where}: obs without cfrc_ext")
        assert np.isfinite(cf1).all(), where
        assert (cf2[reset_rows] == 0).all(), f"{where}: Gymnasium's cfrc_ext after a reset is no longer zero"
        dev = np.abs(cf1 - cf2)[~reset_rows]
        stats["entry"] = max(stats["entry"], float(dev.max(initial=0.0)))
        stats["dev_sum"] += float(dev.sum())
        stats["ref_sum"] += float(np.abs(cf2[~reset_rows]).sum())

    def compare_cost(c1, c2):
        dev = np.abs(np.asarray(c1, float) - np.asarray(c2, float))
        stats["cost"] = max(stats["cost"], float(dev.max(initial=0.0)))
        stats["cost_sum"] += float(dev.sum())
        stats["n_cost"] += dev.size
        return dev

    try:
        o1, i1 = ours.reset(seed=seed)
        o2, i2 = ref.reset(seed=seed)
        compare_obs(o1, o2, "reset", np.ones(num_envs, bool))
        assert_info_equal(i1, i2, "reset")
        ref.action_space.seed(seed)
        prev_done = np.zeros(num_envs, bool)
        for t in range(steps):
            a = ref.action_space.sample()
            o1, r1, te1, tr1, i1 = ours.step(a)
            o2, r2, te2, tr2, i2 = ref.step(a)
            where = f"{env_id} step {t}"
            np.testing.assert_array_equal(te1, te2, err_msg=f"{where}: terminated")
            np.testing.assert_array_equal(tr1, tr2, err_msg=f"{where}: truncated")
            assert r1.dtype == r2.dtype
            done = te2 | tr2
            reset_rows = prev_done if autoreset_mode == "next_step" else done
            compare_obs(o1, o2, where, reset_rows)
            assert_info_equal(i1, i2, where, skip=("final_obs", cost_key))
            # per env, |ours - gym| of the cost; the reward differs by that (and rounding)
            cost_dev = np.zeros(num_envs)
            if cost_key in i2:  # absent when every env was (NEXT_STEP) or is (SAME_STEP) reset
                rows = i2[f"_{cost_key}"]
                cost_dev[rows] = compare_cost(i1[cost_key][rows], i2[cost_key][rows])
            if autoreset_mode == "same_step" and done.any():
                for i in np.flatnonzero(done):
                    compare_obs(i1["final_obs"][i][None], i2["final_obs"][i][None], f"{where} final_obs[{i}]",
                                np.zeros(1, bool))
                cost_dev[done] = compare_cost(i1["final_info"][cost_key][done], i2["final_info"][cost_key][done])
            exact = cost_dev == 0
            np.testing.assert_array_equal(r1[exact], r2[exact], err_msg=f"{where}: reward with an equal cost")
            assert (np.abs(r1 - r2)[~exact] <= cost_dev[~exact] + 1e-9).all(), f"{where}: reward"
            stats["ends"] += int(done.sum())
            stats["terminations"] += int(te2.sum())
            prev_done = done
    finally:
        ours.close()
        ref.close()
    stats["relative"] = stats["dev_sum"] / max(stats["ref_sum"], 1e-300)
    stats["cost_mean"] = stats["cost_sum"] / max(stats["n_cost"], 1)
    return stats


def _assert_cfrc_bounds(env_id, stats):
    for name, bound in _CFRC_BOUNDS[env_id].items():
        assert stats[name] <= bound, f"{env_id}: cfrc_ext deviation {name} = {stats[name]:.4g} > bound {bound}"


@pytest.mark.parametrize("autoreset_mode", ["next_step", "same_step"])
@pytest.mark.parametrize("env_id", ["Humanoid-v5", "HumanoidStandup-v5"])
def test_humanoid_parity(env_id, autoreset_mode):
    stats = _humanoid_parity(env_id, num_envs=3, steps=200, max_episode_steps=60, autoreset_mode=autoreset_mode)
    assert stats["ends"] > 0
    if env_id == "Humanoid-v5":
        assert stats["terminations"] > 0  # it falls under random actions
    _assert_cfrc_bounds(env_id, stats)


@pytest.mark.parametrize("env_id", ["Humanoid-v5", "HumanoidStandup-v5"])
def test_humanoid_parity_without_cfrc_ext(env_id):
    # no cfrc_ext observation and no contact/impact cost: all bit for bit, reward included
    weight = {"Humanoid-v5": "contact_cost_weight", "HumanoidStandup-v5": "impact_cost_weight"}[env_id]
    stats = _humanoid_parity(env_id, num_envs=3, steps=120, seed=3, max_episode_steps=40,
                             include_cfrc_ext_in_observation=False, **{weight: 0.0})
    assert stats["ends"] > 0
    assert stats["entry"] == 0 and stats["cost"] == 0


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("Humanoid-v5", dict(exclude_current_positions_from_observation=False, include_cinert_in_observation=False,
                             forward_reward_weight=2.0, ctrl_cost_weight=0.3, reset_noise_scale=0.05)),
        ("Humanoid-v5", dict(include_cvel_in_observation=False, include_qfrc_actuator_in_observation=False,
                             terminate_when_unhealthy=False, healthy_reward=2, contact_cost_weight=1e-6,
                             contact_cost_range=(0.0, 2.0), frame_skip=3)),
        # a narrow healthy range: terminations decided by the z range within a few steps
        ("Humanoid-v5", dict(healthy_z_range=(1.3, 1.5), include_cfrc_ext_in_observation=False)),
        ("HumanoidStandup-v5", dict(exclude_current_positions_from_observation=False,
                                    include_cinert_in_observation=False, include_cvel_in_observation=False,
                                    ctrl_cost_weight=0.3, impact_cost_weight=1e-6, impact_cost_range=(0.0, 1.0))),
        ("HumanoidStandup-v5", dict(include_qfrc_actuator_in_observation=False, include_cfrc_ext_in_observation=False,
                                    uph_cost_weight=3.0, reset_noise_scale=0.1, frame_skip=2)),
    ],
    ids=["Humanoid-positions-weights", "Humanoid-no-termination", "Humanoid-z-range", "Standup-weights",
         "Standup-no-cfrc"],
)
def test_humanoid_parity_kwargs(env_id, kwargs):
    stats = _humanoid_parity(env_id, num_envs=3, steps=100, seed=5, max_episode_steps=30, **kwargs)
    assert stats["ends"] > 0
    _assert_cfrc_bounds(env_id, stats)


@pytest.mark.parametrize("env_id", ["Humanoid-v5", "HumanoidStandup-v5"])
def test_humanoid_arguments_match_gymnasium(env_id):
    ref_env = gym.make(env_id).unwrapped
    ref_params = inspect.signature(type(ref_env).__init__).parameters
    task = mjvec.registration.make_task(env_id)
    params = inspect.signature(type(task).__init__).parameters
    expected = {k: p.default for k, p in ref_params.items() if p.kind is p.POSITIONAL_OR_KEYWORD and k != "self"}
    got = {k: p.default for k, p in params.items() if k != "self"}
    assert list(got) == list(expected)
    for k in expected:
        if k != "default_camera_config":
            assert got[k] == expected[k], k
    assert sorted(task.default_camera_config) == sorted(expected["default_camera_config"])
    for k, v in expected["default_camera_config"].items():
        np.testing.assert_array_equal(task.default_camera_config[k], v)
    for flags in ({}, dict(exclude_current_positions_from_observation=False, include_cvel_in_observation=False),
                  dict(include_cinert_in_observation=False, include_cfrc_ext_in_observation=False)):
        ref_space = gym.make(env_id, **flags).observation_space
        assert mjvec.registration.make_task(env_id, **flags).single_observation_space == ref_space, flags
    ref_env.close()
