"""The MJX backend with ``impl="warp"`` (MuJoCo Warp through JAX's FFI) on JAX's CPU.

Warp falls back to the CPU where there is no CUDA, so these tests run its kernels on
this machine's cores: the same numbers as ``impl="jax"`` to float32 rounding, the same
tasks, episode rules and info keys as the CPU backend. Skipped, with the reason, where
warp-lang cannot load (``pip install 'mjvec[warp]'``). Warp compiles a task's kernels
in seconds (cached in ``~/.cache/warp``), much faster than MJX-JAX's XLA programs.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from parity import assert_info_equal, assert_mjx_follows_cpu, warp_skip_reason

import mjvec

jax = pytest.importorskip("jax", reason="the MJX backend needs JAX: pip install 'mjvec[mjx]'")
pytest.importorskip("mujoco.mjx", reason="the MJX backend needs mujoco-mjx: pip install 'mjvec[mjx]'")


_REASON = warp_skip_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"impl='warp': {_REASON}")

N = 4
IP = "InvertedPendulum-v5"


@pytest.fixture(scope="module", autouse=True)
def _compilation_cache(tmp_path_factory):
    os.environ.setdefault("MJVEC_JAX_CACHE", str(tmp_path_factory.mktemp("jax-cache")))


def _actions(space, steps, n=N, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(space.low, space.high, (steps, n, *space.shape)).astype(np.float32)


def _run(env, actions, seed=0):
    out = [env.reset(seed=seed)]
    out += [env.step(a) for a in actions]
    return out


def test_warp_steps_agree_with_jax_to_float32_rounding():
    # the CI test of the issue: a few steps of each implementation from the same seeds
    warp = mjvec.make(IP, N, backend="mjx", impl="warp", max_episode_steps=8)
    ref = mjvec.make(IP, N, backend="mjx", impl="jax", max_episode_steps=8)
    assert warp.impl == "warp" and ref.impl == "jax"
    assert "impl='warp'" in repr(warp) and "impl='jax'" in repr(ref)
    actions = _actions(warp.single_action_space, 12)
    a, b = _run(warp, actions), _run(ref, actions)
    np.testing.assert_allclose(a[0][0], b[0][0], rtol=0, atol=1e-6)  # resets: the same JAX draws
    ends = 0
    for t, (x, y) in enumerate(zip(a[1:], b[1:])):
        np.testing.assert_allclose(x[0], y[0], rtol=0, atol=1e-5, err_msg=f"step {t}: obs")
        np.testing.assert_array_equal(x[1], y[1], err_msg=f"step {t}: reward")
        np.testing.assert_array_equal(x[2], y[2])
        np.testing.assert_array_equal(x[3], y[3])
        assert_info_equal(x[4], y[4], f"step {t}", 1e-5)
        ends += int((x[2] | x[3]).sum())
    assert ends >= N  # the time limit ended every episode at least once: autoresets compared too
    assert not np.array_equal(a[-1][0], a[1][0])  # it moved
    warp.close()
    ref.close()


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
@pytest.mark.parametrize("env_id, steps, obs_atol, reward_atol", [
    ("Hopper-v5", 30, 1e-4, 1e-4),  # test_mjx.py's tolerances for MJX-JAX against the CPU
    ("HalfCheetah-v5", 12, 2e-2, 5e-3),
])
def test_warp_agrees_with_cpu_backend_through_autoresets(env_id, steps, obs_atol, reward_atol, mode):
    cpu = mjvec.make(env_id, N, nthread=1, autoreset_mode=mode, reset_noise_scale=0.0, max_episode_steps=7)
    warp = mjvec.make(env_id, N, backend="mjx", impl="warp", autoreset_mode=mode, reset_noise_scale=0.0,
                      max_episode_steps=7)
    assert warp.observation_space == cpu.observation_space and warp.action_space == cpu.action_space
    (o1, i1), (o2, i2) = cpu.reset(seed=0), warp.reset(seed=0)
    np.testing.assert_allclose(o2, o1, rtol=0, atol=obs_atol)
    assert_info_equal(i2, i1, "reset", obs_atol)
    ends = 0
    for t, a in enumerate(_actions(cpu.single_action_space, steps)):
        r1, r2 = cpu.step(a), warp.step(a)
        where = f"{env_id} {mode} step {t}"
        np.testing.assert_allclose(r2[0], r1[0], rtol=0, atol=obs_atol, err_msg=f"{where}: obs")
        np.testing.assert_allclose(r2[1], r1[1], rtol=0, atol=reward_atol, err_msg=f"{where}: reward")
        np.testing.assert_array_equal(r2[2], r1[2])
        np.testing.assert_array_equal(r2[3], r1[3])
        assert_info_equal(r2[4], r1[4], where, max(obs_atol, reward_atol))
        done = r1[2] | r1[3]
        ends += int(done.sum())
        if mode == "disabled" and done.any():
            (o1, _), (o2, _) = cpu.reset(options={"reset_mask": done}), warp.reset(options={"reset_mask": done})
            np.testing.assert_allclose(o2, o1, rtol=0, atol=obs_atol, err_msg=f"{where}: masked reset")
    assert ends > 0
    cpu.close()
    warp.close()


def test_cfrc_ext_tasks_run_on_warp_with_the_cpu_backends_info_keys():
    # Ant observes cfrc_ext: Warp computes it in a forward pass at the step's final state
    # (its run_rne_postconstraint option), as the CPU backend does
    cpu = mjvec.make("Ant-v5", N, nthread=1, reset_noise_scale=0.0, max_episode_steps=20)
    warp = mjvec.make("Ant-v5", N, backend="mjx", impl="warp", reset_noise_scale=0.0, max_episode_steps=20)
    cpu.reset(seed=0)
    warp.reset(seed=0)
    actions = _actions(cpu.single_action_space, 12)
    touched = False
    for t, a in enumerate(actions):
        r1, r2 = cpu.step(a), warp.step(a)
        assert sorted(r2[4]) == sorted(r1[4])
        if t < 3:  # before the first contact, to float32 rounding
            np.testing.assert_allclose(r2[0], r1[0], rtol=0, atol=1e-4)
        touched |= bool(np.abs(r2[0][:, 27:]).max() > 0)  # a contact force in the cfrc_ext part
        assert np.isfinite(r2[0]).all()
    assert touched
    cpu.close()
    warp.close()


def test_state_round_trip_and_masked_set_state_on_warp():
    env = mjvec.make("Hopper-v5", N, backend="mjx", impl="warp")
    env.reset(seed=3)
    for a in _actions(env.single_action_space, 3):
        env.step(a)
    state = env.get_state()
    after = [env.step(a)[0] for a in _actions(env.single_action_space, 3, seed=5)]
    env.set_state(state[[1, 3]], env_ids=[1, 3])
    again = [env.step(a)[0] for a in _actions(env.single_action_space, 3, seed=5)]
    # envs 1 and 3 replay from the saved state; a restored env continues as before to float32 rounding
    np.testing.assert_allclose(again[0][[1, 3]], after[0][[1, 3]], rtol=0, atol=1e-5)
    env.close()


def test_randomized_parameters_are_per_world_model_fields_as_on_jax():
    randomize = {"body_mass": mjvec.Uniform(0.5, 2.0), "dof_damping": mjvec.Uniform(0.0, 0.5, mode="set")}
    warp = mjvec.make(IP, N, backend="mjx", impl="warp", randomize=randomize)
    ref = mjvec.make(IP, N, backend="mjx", impl="jax", randomize=randomize)
    actions = _actions(warp.single_action_space, 10)
    a, b = _run(warp, actions, seed=7), _run(ref, actions, seed=7)
    masses = np.array([warp.get_model(i).body_mass for i in range(N)])
    np.testing.assert_allclose(masses, [ref.get_model(i).body_mass for i in range(N)], rtol=1e-6)
    assert len({tuple(m) for m in masses}) == N  # every env its own masses
    for t, (x, y) in enumerate(zip(a[1:], b[1:])):
        np.testing.assert_allclose(x[0], y[0], rtol=0, atol=1e-5, err_msg=f"step {t}")
    nominal = _run(mjvec.make(IP, N, backend="mjx", impl="warp"), actions, seed=7)
    assert not np.allclose(nominal[-1][0], a[-1][0], atol=1e-4)  # the draws change the physics
    with pytest.raises(ValueError, match=r"opt\.impratio \(MuJoCo Warp does not read it per world"):
        mjvec.make(IP, N, backend="mjx", impl="warp", randomize={"opt.impratio": mjvec.Uniform(1.0, 2.0)})
    warp.close()
    ref.close()


def test_what_warp_does_not_implement_is_refused_by_name():
    from mjvec.backends.mjx import UnsupportedFeatureError

    with pytest.raises(UnsupportedFeatureError, match="impl='warp'.*mjSOL_PGS") as e:
        mjvec.make("Humanoid-v5", 2, backend="mjx", impl="warp")
    assert e.value.feature == "mjtSolver.mjSOL_PGS"
    assert "solver='newton'" in str(e.value)
    # MuJoCo Warp implements the noslip solver, which MJX-JAX would skip: refused on jax only
    task = mjvec.make_task("HalfCheetah-v5", reset_noise_scale=0.0)
    task.model.opt.noslip_iterations = 2
    with pytest.raises(UnsupportedFeatureError, match="impl='jax'.*noslip"):
        mjvec.make(task, 2, backend="mjx", impl="jax")
    env = mjvec.make(task, 2, backend="mjx", impl="warp")
    assert env._backend.model.opt._impl.noslip_iterations == 2
    cpu = mjvec.make(task, 2, nthread=1)  # MuJoCo's own noslip solver: the same steps (HalfCheetah's tolerance)
    np.testing.assert_allclose(env.reset(seed=0)[0], cpu.reset(seed=0)[0], atol=1e-5)
    for a in _actions(cpu.single_action_space, 8, n=2):
        np.testing.assert_allclose(env.step(a)[0], cpu.step(a)[0], rtol=0, atol=2e-2)
    env.close()
    cpu.close()


def test_array_type_torch_on_warp_shares_the_device_buffers():
    torch = pytest.importorskip("torch", reason="array_type='torch' needs torch")
    env = mjvec.make(IP, N, backend="mjx", impl="warp", array_type="torch")
    obs, _ = env.reset(seed=0)
    assert isinstance(obs, torch.Tensor) and obs.device.type == "cpu"
    obs, reward, *_ = env.step(torch.zeros(N, 1))
    kept = obs.clone()
    env.step(torch.ones(N, 1))
    assert torch.equal(obs, kept)  # a step never writes into an earlier step's tensors
    env.close()


#: Control Suite task: (steps, atol) of warp against the CPU backend from the same states, about 10x
#: the largest difference measured (float32): Cartpole 3.6e-6, Cheetah (floor contacts) 5.5e-5
DMC_TOLERANCES = {"CartpoleSwingup-v0": (100, 4e-5), "CheetahRun-v0": (30, 6e-4)}


@pytest.mark.parametrize("env_id", sorted(DMC_TOLERANCES))
def test_control_suite_legacy_step_on_warp_agrees_with_the_cpu_backend(env_id):
    # the Control Suite reads its observations after mj_step1 at the new state (dm_control's
    # legacy_step); MJX's position and velocity stages are JAX-only, so warp's is a forward with
    # the mj_step2 fields put back
    steps, atol = DMC_TOLERANCES[env_id]
    assert_mjx_follows_cpu(env_id, 2, _actions(mjvec.make_task(env_id).single_action_space, steps, n=2), atol,
                           impl="warp")


def test_a_static_geom_moved_per_env_is_where_each_envs_model_puts_it():
    # MuJoCo Warp computes the poses of geoms welded to the world once, in make_data; reacher's target
    # (a world geom whose geom_pos each reset draws per env) must move with each env's draw
    # measured: 1e-7 (to_target 0.18 apart before the poses were written)
    actions = _actions(mjvec.make_task("ReacherEasy-v0").single_action_space, 30, n=3)
    assert_mjx_follows_cpu("ReacherEasy-v0", 3, actions, 1e-5, reset_atol=1e-5, impl="warp")
