"""The MJX backend on JAX's CPU: the CPU backend's environment, as one jitted computation.

Compiling an MJX step takes seconds to tens of seconds on 2 cores, so the tests share
a few env shapes (module fixtures; an env of an equal task, size and options reuses the
compiled program) and a persistent compilation cache (``MJVEC_JAX_CACHE``, a temporary
folder unless set).

Tolerances of CPU (float64) against MJX (float32) from the same initial state
(``reset_noise_scale=0``) and the same actions, measured over the steps compared and
given about 10x margin:

| task | steps | obs atol | reward atol | why |
|---|---|---|---|---|
| InvertedPendulum | 60 | 1e-5 | 0 | float32 rounding (measured 1e-6); reward is 0/1 |
| Hopper | 50 | 1e-4 | 1e-4 | float32 rounding through contacts (measured 1.2e-5, 3e-6) |
| HalfCheetah | 15 | 2e-2 | 5e-3 | its sliding contacts amplify rounding about 10x per 5 steps, in float64 MJX too (measured 1.2e-3, 3e-5 over 15 steps; 2.4e-2 by step 18 with jax 0.10.2, mujoco-mjx 3.17.0) |
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from parity import assert_info_equal

import mjvec

jax = pytest.importorskip("jax", reason="the MJX backend needs JAX: pip install 'mjvec[mjx]'")
pytest.importorskip("mujoco.mjx", reason="the MJX backend needs mujoco-mjx: pip install 'mjvec[mjx]'")
jnp = jax.numpy

N = 4
IP = "InvertedPendulum-v5"
TOLERANCES = {  # task: (steps, obs atol, reward atol); see the module docstring
    IP: (60, 1e-5, 0.0),
    "Hopper-v5": (50, 1e-4, 1e-4),
    "HalfCheetah-v5": (15, 2e-2, 5e-3),
}


@pytest.fixture(scope="module", autouse=True)
def _compilation_cache(tmp_path_factory):
    # read when the backend module is first imported, before any compilation
    os.environ.setdefault("MJVEC_JAX_CACHE", str(tmp_path_factory.mktemp("jax-cache")))


def _mjx():
    from mjvec.backends import mjx

    return mjx


def _actions(space, steps, n=N, seed=1, scale=1.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.uniform(space.low, space.high, (steps, n, *space.shape))).astype(np.float32)


def _inject(env, i, value):
    """Write ``value`` into env ``i``'s velocity between steps, on either backend (test-only)."""
    b = env._backend
    if env.backend_name == "cpu":
        b.sim._qvel[i, 1] = value
    else:
        d = b._state.data
        b._state = b._state._replace(data=d.replace(qvel=d.qvel.at[i, 1].set(value)))


def _compare_runs(env_id, mode, steps, obs_atol, reward_atol, *, n=N, fault=None, scale=1.0, **kwargs):
    """Step the CPU and MJX backends side by side from ``reset_noise_scale=0`` states."""
    cpu = mjvec.make(env_id, n, nthread=1, autoreset_mode=mode, reset_noise_scale=0.0, **kwargs)
    mjx = mjvec.make(env_id, n, backend="mjx", autoreset_mode=mode, reset_noise_scale=0.0, **kwargs)
    assert mjx.single_observation_space == cpu.single_observation_space
    assert mjx.single_action_space == cpu.single_action_space
    assert mjx.observation_space == cpu.observation_space and mjx.action_space == cpu.action_space
    ends = 0
    try:
        (o1, i1), (o2, i2) = cpu.reset(seed=0), mjx.reset(seed=0)
        np.testing.assert_allclose(o2, o1, rtol=0, atol=obs_atol)
        assert o2.dtype == o1.dtype == np.float64
        assert_info_equal(i2, i1, "reset", obs_atol)
        for t, a in enumerate(_actions(cpu.single_action_space, steps, n, scale=scale)):
            if fault is not None and t == fault[0]:
                for env in (cpu, mjx):
                    _inject(env, fault[1], fault[2])
            r1, r2 = cpu.step(a), mjx.step(a)
            where = f"{env_id} {mode} step {t}"
            np.testing.assert_allclose(r2[0], r1[0], rtol=0, atol=obs_atol, err_msg=f"{where}: obs")
            np.testing.assert_allclose(r2[1], r1[1], rtol=0, atol=reward_atol, err_msg=f"{where}: reward")
            assert r2[1].dtype == np.float64 and r2[2].dtype == r2[3].dtype == np.bool_
            np.testing.assert_array_equal(r2[2], r1[2], err_msg=f"{where}: terminated")
            np.testing.assert_array_equal(r2[3], r1[3], err_msg=f"{where}: truncated")
            assert_info_equal(r2[4], r1[4], where, max(obs_atol, reward_atol))
            ends += int(np.count_nonzero(r1[2] | r1[3]))
            if mode == "disabled" and (r1[2] | r1[3]).any():
                mask = r1[2] | r1[3]
                (o1, i1), (o2, i2) = cpu.reset(options={"reset_mask": mask}), mjx.reset(options={"reset_mask": mask})
                np.testing.assert_allclose(o2, o1, rtol=0, atol=obs_atol)
                assert_info_equal(i2, i1, f"{where} reset", obs_atol)
        return ends, cpu.diagnostics(), mjx.diagnostics()
    finally:
        cpu.close()
        mjx.close()


# -- agreement with the CPU backend ------------------------------------------------------
@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "Hopper-v5"])
def test_agrees_with_cpu_backend(env_id):
    steps, obs_atol, reward_atol = TOLERANCES[env_id]
    _compare_runs(env_id, "next_step", steps, obs_atol, reward_atol, n=3, max_episode_steps=1000)


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_autoreset_modes_match_cpu_backend(mode):
    """Terminations, truncations (limit 15), autoresets and info, step for step as on the CPU."""
    steps, obs_atol, reward_atol = TOLERANCES[IP]
    ends, _, _ = _compare_runs(IP, mode, steps, obs_atol, reward_atol, max_episode_steps=15)
    assert ends >= 2 * N


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_diverged_env_is_flagged_ended_and_reset_as_on_cpu(mode):
    """A NaN velocity in env 1 before step 5: flagged, truncated at its last finite
    observation, reset, the others unaffected: the CPU backend's outputs, step for step."""
    steps, obs_atol, reward_atol = TOLERANCES[IP]
    _, cpu_faults, mjx_faults = _compare_runs(
        IP, mode, 12, obs_atol, reward_atol, fault=(5, 1, np.nan), max_episode_steps=15
    )
    assert mjx_faults["diverged"] == cpu_faults["diverged"] == {"count": 1, "env_ids": [1]}
    assert mjx_faults["badqvel"]["env_ids"] == [1]


def test_action_spec_drives_the_same_inputs_as_on_cpu():
    """ctrl and a joint force (qfrc_applied), written by the same BoundActions.write in the jit."""
    spec = mjvec.ActionSpec(ctrl="all", qfrc=["hinge"], bounds={"qfrc": (-0.5, 0.5)})
    steps, obs_atol, reward_atol = TOLERANCES[IP]
    ends, _, _ = _compare_runs(IP, "next_step", 30, obs_atol, reward_atol, actions=spec, max_episode_steps=15)
    assert ends > 0


# -- fresh resets, episode ends, seeding ---------------------------------------------------
@pytest.fixture(scope="module")
def ip_env():
    env = mjvec.make(IP, N, backend="mjx", max_episode_steps=25)
    yield env
    env.close()


def test_autoresets_are_fresh_in_distribution_and_end_when_the_task_says(ip_env):
    env, s = ip_env, ip_env.task.reset_noise_scale
    first, _ = env.reset(seed=3)
    starts, elapsed, ended = [first], np.zeros(N, int), np.zeros(N, bool)
    for a in _actions(env.single_action_space, 120, scale=0.3):
        obs, reward, terminated, truncated, info = env.step(a)
        elapsed = np.where(ended, 0, elapsed + 1)
        # the task's rule, on what was returned: |pole angle| > 0.2 ends the episode
        np.testing.assert_array_equal(terminated, ~ended & (np.abs(obs[:, 1]) > 0.2))
        np.testing.assert_array_equal(truncated, ~ended & (elapsed >= 25))
        np.testing.assert_array_equal(reward, np.where(ended | terminated, 0.0, 1.0))
        if ended.any():
            starts.append(obs[ended])
        ended = terminated | truncated
    starts = np.concatenate(starts)
    assert len(starts) > 3 * N
    assert np.isfinite(starts).all()
    assert (np.abs(starts) <= s).all()  # qpos0 = 0 and zero velocities, +-U(-s, s)
    assert len(np.unique(starts, axis=0)) == len(starts)  # fresh draws, never a cached state
    assert np.abs(starts).max() > s / 2


def test_same_seed_same_numbers_other_seed_others(ip_env):
    env = ip_env
    actions = _actions(env.single_action_space, 30, scale=0.3)

    def run(seed):
        out = [env.reset(seed=seed)[0]]
        out += [env.step(a)[0] for a in actions]
        return np.stack(out)

    a, b, c = run(7), run(7), run(8)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], c[0])
    # env i is seeded with seed + i, as on the CPU backend
    first = env.reset(seed=[7 + i for i in range(N)])[0]
    np.testing.assert_array_equal(first, a[0])
    np.testing.assert_array_equal(env.reset(seed=[8, None, None, None])[0][0], env.reset(seed=8)[0][0])


def test_second_env_of_the_same_shape_reuses_the_compiled_step(ip_env):
    from mjvec.backends.mjx.program import vector_reset, vector_step

    ip_env.reset(seed=0)
    ip_env.step(np.zeros(ip_env.action_space.shape, np.float32))
    sizes = vector_step._cache_size(), vector_reset._cache_size()
    other = mjvec.make(IP, N, backend="mjx", max_episode_steps=25)
    other.reset(seed=0)
    other.step(np.zeros(other.action_space.shape, np.float32))
    other.close()
    assert (vector_step._cache_size(), vector_reset._cache_size()) == sizes


def test_array_type_jax_returns_device_arrays_and_takes_jax_actions(ip_env):
    env = mjvec.make(IP, N, backend="mjx", max_episode_steps=25, array_type="jax")
    try:
        actions = _actions(env.single_action_space, 20, scale=0.3)
        obs, info = env.reset(seed=5)
        ref_obs, _ = ip_env.reset(seed=5)
        assert isinstance(obs, jax.Array) and obs.dtype == jnp.float32
        for a in actions:
            obs, reward, terminated, truncated, info = env.step(jnp.asarray(a))
            ref = ip_env.step(a)
            assert all(isinstance(x, jax.Array) for x in (obs, reward, terminated, truncated))
            np.testing.assert_allclose(np.asarray(obs), ref[0], rtol=0, atol=0)
            np.testing.assert_array_equal(np.asarray(terminated | truncated), ref[2] | ref[3])
            # every key the step can write is there, masked
            assert set(info) == {"diverged", "_diverged", "reward_survive", "_reward_survive"}
            np.testing.assert_array_equal(np.asarray(info["_reward_survive"]), ref[4]["_reward_survive"])
        with pytest.raises(ValueError, match="shape"):
            env.step(jnp.zeros((N + 1, 1)))
    finally:
        env.close()


def test_array_type_torch_gives_tensors_on_the_jax_buffers(ip_env):
    torch = pytest.importorskip("torch", reason="array_type='torch' needs torch")
    env = mjvec.make(IP, N, backend="mjx", max_episode_steps=25, array_type="torch")
    try:
        obs, info = env.reset(seed=5)
        np.testing.assert_array_equal(obs.numpy(), ip_env.reset(seed=5)[0])
        assert isinstance(obs, torch.Tensor) and obs.dtype == torch.float32
        kept = [(obs, obs.clone())]
        for a in _actions(env.single_action_space, 20, scale=0.3):
            obs, reward, terminated, truncated, info = env.step(torch.from_numpy(a))
            ref = ip_env.step(a)
            assert all(isinstance(x, torch.Tensor) for x in (obs, reward, terminated, truncated, *info.values()))
            np.testing.assert_array_equal(obs.numpy(), ref[0])
            np.testing.assert_array_equal((terminated | truncated).numpy(), ref[2] | ref[3])
            assert set(info) == {"diverged", "_diverged", "reward_survive", "_reward_survive"}  # as with JAX
            kept.append((obs, obs.clone()))
        for t, (tensor, copy) in enumerate(kept):  # a step never writes into an earlier step's buffers
            assert torch.equal(tensor, copy), f"step {t}"
        with pytest.raises(ValueError, match=r"`actions` must have shape \(4, 1\)"):
            env.step(torch.zeros(N + 1, 1))
    finally:
        env.close()


def test_bad_backend_options_raise_clear_errors():
    with pytest.raises(ValueError, match="array_type.*'numpy' or 'torch' with backend='cpu', got 'jax'.*backend='mjx'"):
        mjvec.make(IP, 2, array_type="jax")
    with pytest.raises(ValueError, match="array_type.*one of.*did you mean 'torch'"):
        mjvec.make(IP, 2, backend="mjx", array_type="torh")
    with pytest.raises(ValueError, match="nthread"):
        mjvec.make(IP, 2, backend="mjx", nthread=2)
    with pytest.raises(ValueError, match="did you mean 'mjx'"):
        mjvec.make(IP, 2, backend="mjxx")
    with pytest.raises(ValueError, match="`impl` must be None, 'warp' or 'jax', got 'wrap'.*did you mean 'warp'"):
        mjvec.make(IP, 2, backend="mjx", impl="wrap")
    with pytest.raises(TypeError, match="`impl` must be None, 'warp' or 'jax', got int"):
        mjvec.make(IP, 2, backend="mjx", impl=1)
    with pytest.raises(ValueError, match="`impl` picks MJX's implementation.*got impl='jax' with backend='cpu'"):
        mjvec.make(IP, 2, impl="jax")


def test_default_impl_is_jax_without_a_cuda_device(monkeypatch):
    # warp is the default only on one CUDA device where warp-lang loads (docs/mjx.md)
    if jax.default_backend() == "gpu":
        pytest.skip("JAX runs on a GPU here: the default is warp where it loads")
    monkeypatch.delenv("MJVEC_MJX_IMPL", raising=False)
    env = mjvec.make(IP, 2, backend="mjx")  # nothing compiled before the first reset
    assert env.impl == "jax" and "impl='jax'" in repr(env)
    monkeypatch.setenv("MJVEC_MJX_IMPL", "jax")
    assert mjvec.make(IP, 2, backend="mjx").impl == "jax"
    monkeypatch.setenv("MJVEC_MJX_IMPL", "wrap")
    with pytest.raises(ValueError, match=r"\$MJVEC_MJX_IMPL must be 'warp' or 'jax'"):
        mjvec.make(IP, 2, backend="mjx")
    assert mjvec.make(IP, 2).impl is None  # the CPU backend runs MuJoCo itself


def test_a_batch_that_can_deadlock_jaxlibs_cpu_lapack_is_warned_of():
    """jaxlib's batched Cholesky hangs above ~1024 envs on 2 cores (docs/mjx.md#jaxs-cpu): warn, do not run."""
    import warnings

    import jax

    if jax.local_devices()[0].platform != "cpu":
        pytest.skip("the warning is for JAX's CPU")
    with pytest.warns(UserWarning, match="513 envs per device: jaxlib's batched LAPACK Cholesky"):
        mjvec.make("HalfCheetah-v5", 513, backend="mjx").close()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", message=".*settotalmass")
        mjvec.make("HalfCheetah-v5", 512, backend="mjx").close()


def test_bad_devices_are_refused_before_anything_runs():
    import jax

    local = len(jax.local_devices())
    with pytest.raises(ValueError, match=f"`devices`={local + 1}, but this process has {local} local JAX devices"):
        mjvec.make(IP, 2, backend="mjx", devices=local + 1)
    with pytest.raises(ValueError, match="`devices` must be >= 1, got 0"):
        mjvec.make(IP, 2, backend="mjx", devices=0)
    with pytest.raises(TypeError, match="`devices` must be None, a device count or a sequence of jax.Device"):
        mjvec.make(IP, 2, backend="mjx", devices="gpu")
    with pytest.raises(TypeError, match="`devices` must hold jax.Device objects"):
        mjvec.make(IP, 2, backend="mjx", devices=[0])
    with pytest.raises(ValueError, match="`devices` is empty"):
        mjvec.make(IP, 2, backend="mjx", devices=[])
    with pytest.raises(ValueError, match="names a device more than once"):
        mjvec.make(IP, 2, backend="mjx", devices=[jax.local_devices()[0]] * 2)
    with pytest.raises(ValueError, match="`devices` picks the JAX devices of backend='mjx'"):
        mjvec.make(IP, 2, devices=1)


# -- unsupported features ---------------------------------------------------------------
@pytest.mark.parametrize("env_id", ["Humanoid-v5", "HumanoidStandup-v5"])
def test_pgs_solver_is_refused_and_the_newton_variant_offered(env_id):
    mjx = _mjx()
    with pytest.raises(mjx.UnsupportedFeatureError, match="mjSOL_PGS") as e:
        mjvec.make(env_id, 2, backend="mjx")
    assert e.value.feature == "mjtSolver.mjSOL_PGS"
    assert f"mjvec.make('{env_id}', num_envs, backend='mjx', solver='newton')" in str(e.value)
    env = mjvec.make(env_id, 2, backend="mjx", solver="newton")  # builds: MJX implements Newton
    cpu = mjvec.make(env_id, 2, solver="newton")
    assert env.single_observation_space == cpu.single_observation_space
    assert env._backend.model.opt.solver == mjx.mjx.SolverType.NEWTON
    env.close()
    cpu.close()
    with pytest.raises(ValueError, match="solver"):
        mjvec.make(env_id, 2, solver="gauss")


def test_noslip_solver_is_refused():
    task = mjvec.make_task("HalfCheetah-v5")
    task.model.opt.noslip_iterations = 3
    with pytest.raises(_mjx().UnsupportedFeatureError, match="noslip") as e:
        mjvec.make(task, 2, backend="mjx")
    assert "backend='cpu'" in str(e.value)


# -- JaxRandom --------------------------------------------------------------------------
def test_seed_keys_are_jax_random_keys_with_64_bits():
    from mjvec.backends.mjx.random import seed_keys

    keys = seed_keys([0, 5, 2**31 + 1])
    for k, s in zip(keys, [0, 5, 2**31 + 1]):
        np.testing.assert_array_equal(jax.random.key_data(k), jax.random.key_data(jax.random.key(s)))
    far = jax.random.key_data(seed_keys([5, 5 + 2**32]))
    assert not np.array_equal(far[0], far[1])
    with pytest.raises(ValueError, match="2\\*\\*64"):
        seed_keys([2**64])


def test_uniform_until_accepts_per_env_and_flags_exhaustion():
    from mjvec.backends.mjx.random import JaxRandom, seed_keys
    from mjvec.task import norm

    def disc(keys, accept, max_tries):
        rng = JaxRandom(keys, max_tries)
        return rng.uniform_until(lambda one: one.uniform(-0.2, 0.2, 2), accept), rng.exhausted

    run = jax.jit(disc, static_argnums=(1, 2))
    inside = lambda xp, goal: norm(xp, goal) < 0.2  # noqa: E731 - Reacher's target
    goals, exhausted = run(seed_keys(range(64)), inside, 1000)
    goals = np.asarray(goals)
    assert (np.linalg.norm(goals, axis=1) < 0.2).all() and not np.asarray(exhausted).any()
    assert len(np.unique(goals, axis=0)) == 64
    _, exhausted = run(seed_keys(range(4)), lambda xp, goal: xp.sum(goal) > 10, 5)
    assert np.asarray(exhausted).all()


# -- per-env model parameters (randomize=) ----------------------------------------------------
def test_derived_constants_match_mj_setconst():
    """Scaled masses and inertias: body_subtreemass, body_invweight0, dof_invweight0 as MuJoCo's."""
    import mujoco

    from mjvec.backends.mjx.randomize import derived_constants

    task = mjvec.make_task("Hopper-v5")
    model = _mjx().put_model(task)
    scale = np.array([1.0, 1.7, 0.6, 1.3, 0.9])
    params = {"body_mass": task.model.body_mass * scale, "body_inertia": task.model.body_inertia * scale[:, None]}
    got = jax.device_get(jax.jit(lambda p: derived_constants(model, task.model, p))(params))
    ref = mujoco.MjModel.from_xml_path(mjvec.task.gymnasium_asset("hopper.xml"))
    ref.body_mass[:], ref.body_inertia[:] = params["body_mass"], params["body_inertia"]
    mujoco.mj_setConst(ref, mujoco.MjData(ref))
    for name, value in got.items():
        np.testing.assert_allclose(value, getattr(ref, name), rtol=1e-4, atol=1e-6, err_msg=name)
    assert not np.allclose(got["dof_invweight0"], task.model.dof_invweight0, rtol=1e-3)


def test_randomized_masses_vary_per_env_are_simulated_and_redrawn_at_reset():
    import mujoco

    env = mjvec.make(IP, N, backend="mjx", reset_noise_scale=0.0, max_episode_steps=40,
                     randomize={"body_mass": mjvec.Uniform(0.5, 2.0)})
    try:
        nominal = env.task.model.body_mass
        env.reset(seed=0)
        models = [env.get_model(i) for i in range(N)]
        masses = np.stack([m.body_mass for m in models])
        assert ((masses >= 0.5 * nominal - 1e-6) & (masses <= 2.0 * nominal + 1e-6)).all()
        assert len(np.unique(masses[:, 1])) == N  # every env its own cart mass
        # each env follows MuJoCo's own mj_step on its drawn model
        datas = [mujoco.MjData(m) for m in models]
        action = np.full((N, 1), 0.1, np.float32)
        alive = np.ones(N, bool)  # until an episode ends (the pole falls) and the env resets
        for t in range(10):
            obs, _, terminated, truncated, _ = env.step(action)
            if t == 0:
                assert len(np.unique(np.round(obs[:, 2], 6))) == N  # the same push, other masses
            for i in np.flatnonzero(alive):
                m, d = models[i], datas[i]
                d.ctrl[:] = action[i]
                mujoco.mj_step(m, d, nstep=env.task.frame_skip)
                np.testing.assert_allclose(obs[i], np.concatenate((d.qpos, d.qvel)), rtol=0, atol=1e-5)
            alive &= ~(terminated | truncated)
        assert alive.sum() >= 2
        # resample="reset": an env that resets gets new parameters
        ended = np.zeros(N, bool)
        for _ in range(40):
            if ended.any():
                break
            _, _, terminated, truncated, _ = env.step(action)
            ended = terminated | truncated
        env.step(action)  # NEXT_STEP: the ended envs reset now
        i = int(np.flatnonzero(ended)[0])
        assert not np.allclose(env.get_model(i).body_mass, masses[i])
    finally:
        env.close()


def test_randomizing_a_field_mjx_cannot_vary_exactly_is_refused():
    with pytest.raises(ValueError, match="geom_size"):
        mjvec.make(IP, 2, backend="mjx", randomize={"geom_size": mjvec.Uniform(0.9, 1.1)})


# -- several devices ------------------------------------------------------------------------
_SHARDED = """
import sys, warnings
import numpy as np
import mjvec

env = mjvec.make("InvertedPendulum-v5", 4, backend="mjx", max_episode_steps=25)
print(len(env._backend._state.data.qpos.sharding.device_set))
obs = [env.reset(seed=3)[0]]
obs += [env.step(a)[0] for a in np.load(sys.argv[1])]
np.save(sys.argv[2], np.stack(obs))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    mjvec.make("InvertedPendulum-v5", 3, backend="mjx")
warned = any("not a multiple of the 2 local JAX devices" in str(w.message) for w in caught)
# devices= picks: the second device alone; named devices must divide num_envs
import jax
second = mjvec.make("InvertedPendulum-v5", 3, backend="mjx", devices=[jax.devices()[1]])
placed = second._backend._state.data.qpos.sharding.device_set == {jax.devices()[1]}
try:
    mjvec.make("InvertedPendulum-v5", 3, backend="mjx", devices=2)
    refused = False
except ValueError as e:
    refused = "not a multiple of the 2 devices in `devices`" in str(e)
print(warned and placed and refused)
"""


def test_several_devices_split_the_env_axis_and_agree_with_one(ip_env, tmp_path):
    """JAX's CPU as 2 devices (in a subprocess: the count is fixed at JAX's start)."""
    import subprocess
    import sys

    actions = _actions(ip_env.single_action_space, 30, scale=0.3)
    np.save(tmp_path / "actions.npy", actions)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    out = subprocess.run(
        [sys.executable, "-c", _SHARDED, str(tmp_path / "actions.npy"), str(tmp_path / "obs.npy")],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    devices, warned = out.stdout.split()[-2:]
    assert devices == "2" and warned == "True"
    ref = [ip_env.reset(seed=3)[0]] + [ip_env.step(a)[0] for a in actions]
    np.testing.assert_allclose(np.load(tmp_path / "obs.npy"), np.stack(ref), rtol=0, atol=1e-6)


def test_physics_states_are_the_cpu_backends_and_restore_to_float32_rounding(ip_env):
    """get_state is laid out as mj_getState's: states pass between the backends, and restoring continues."""
    cpu = mjvec.make(IP, N, max_episode_steps=25, autoreset_mode="disabled")
    try:
        cpu.reset(seed=0)
        ip_env.reset(seed=0)
        assert ip_env.state_size == cpu.state_size
        actions = _actions(cpu.single_action_space, 6, scale=0.2)
        for a in actions[:3]:
            cpu.step(a)
        states = cpu.get_state()
        obs, _ = ip_env.reset(options={"state": states})  # new episodes from the CPU's states
        np.testing.assert_allclose(ip_env.get_state(), states, rtol=0, atol=1e-6)
        np.testing.assert_allclose(obs, cpu.task.observe(np, cpu._backend.sim.data), rtol=0, atol=1e-6)
        for a in actions[3:]:
            np.testing.assert_allclose(ip_env.step(a)[0], cpu.step(a)[0], rtol=0, atol=1e-5)
        ip_env.set_state(states[:2], env_ids=[1, 0])
        np.testing.assert_allclose(ip_env.get_state([1, 0]), states[:2], rtol=0, atol=1e-6)
    finally:
        cpu.close()


def test_set_attr_recompiles_the_step_for_the_tasks_new_value():
    env = mjvec.make(IP, 2, backend="mjx")
    try:
        assert env.get_attr("reset_noise_scale") == (0.01, 0.01)
        assert np.abs(env.reset(seed=0)[0]).max() > 0
        env.set_attr("reset_noise_scale", 0.0)  # read by the compiled reset: it must be rebuilt
        np.testing.assert_array_equal(env.reset(seed=0)[0], np.zeros((2, 4)))
        with pytest.raises(ValueError, match="differ between envs"):
            env.set_attr("reset_noise_scale", [0.0, 0.1])
    finally:
        env.close()


def test_obs_dtype_float32_on_mjx_as_on_the_cpu():
    kwargs = {"backend": "mjx", "autoreset_mode": "same_step", "max_episode_steps": 3}
    ours, ref = mjvec.make(IP, 2, obs_dtype=np.float32, **kwargs), mjvec.make(IP, 2, **kwargs)
    try:
        assert ours.single_observation_space.dtype == ours.observation_space.dtype == np.float32
        o32, o64 = ours.reset(seed=0)[0], ref.reset(seed=0)[0]
        assert o32.dtype == np.float32
        np.testing.assert_array_equal(o32, o64.astype(np.float32))
        for a in _actions(ours.single_action_space, 3, n=2, scale=0.1):
            (o32, r32, *_, i32), (o64, r64, *_, i64) = ours.step(a), ref.step(a)
            assert o32.dtype == np.float32 and r32.dtype == np.float64
            np.testing.assert_array_equal(o32, o64.astype(np.float32))
            np.testing.assert_array_equal(r32, r64)
        assert i32["_final_obs"].all()  # step 3: both envs truncated, if not ended before
        for x, y in zip(i32["final_obs"], i64["final_obs"]):
            assert x.dtype == np.float32
            np.testing.assert_array_equal(x, y.astype(np.float32))
    finally:
        ours.close()
        ref.close()


def test_functional_step_is_the_backends_step_and_scans():
    """env.functional(): the jitted step as a pure function; a lax.scan collects chained transitions."""
    import importlib.util
    import pathlib

    env = mjvec.make(IP, N, backend="mjx", autoreset_mode="same_step", max_episode_steps=10)
    try:
        fn = env.functional()
        env.reset(seed=0)
        actions = _actions(env.single_action_space, 3, scale=0.5)
        state = jax.tree.map(jnp.copy, env._backend._state)  # test-only: the env's own state
        step = jax.jit(fn.step)
        for a in actions:
            state, out = step(state, jnp.asarray(a))
            obs, reward, terminated, truncated, _ = env.step(a)
            np.testing.assert_array_equal(np.asarray(out.obs, np.float64), obs)
            np.testing.assert_array_equal(np.asarray(out.reward, np.float64), reward)
            np.testing.assert_array_equal(np.asarray(out.terminated), terminated)
        path = pathlib.Path(__file__).parents[1] / "scripts" / "mjx_collect.py"
        spec = importlib.util.spec_from_file_location("mjx_collect", path)
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        space = env.single_action_space
        start, _ = fn.reset(jax.random.key(3))
        _, data = jax.jit(lambda s, k: script.collect(fn, s, k, 30, jnp.asarray(space.low), jnp.asarray(space.high)))(
            start, jax.random.key(4))
        data = jax.device_get(data)
        done = data["terminated"] | data["truncated"]
        assert data["obs"].shape == data["next_obs"].shape == (30, N, 4) and done.any()
        chained = (data["next_obs"][:-1] == data["obs"][1:]).all(axis=-1)
        assert chained[~done[:-1]].all()  # within an episode each next_obs is the next obs
        assert not chained[done[:-1]].any()  # after an end the next obs is a reset one
    finally:
        env.close()


def test_functional_steps_are_the_mjx_backends():
    env = mjvec.make(IP, 2)
    with pytest.raises(NotImplementedError, match="backend='mjx'"):
        env.functional()
    env.close()


def test_rollout_is_one_scan_of_the_backends_step():
    """On MJX a rollout is the jitted step scanned: T steps' numbers, bit for bit; the CPU's to float32."""
    kwargs = {"autoreset_mode": "disabled", "max_episode_steps": 12, "reset_noise_scale": 0.0}
    rolled, stepped = mjvec.make(IP, N, backend="mjx", **kwargs), mjvec.make(IP, N, backend="mjx", **kwargs)
    cpu = mjvec.make(IP, N, **kwargs)
    try:
        for env in (rolled, stepped, cpu):
            env.reset(seed=0)
        actions = np.moveaxis(_actions(rolled.single_action_space, 16, scale=0.3), 0, 1).copy()
        result = rolled.rollout(actions, record_state=True)
        expected = cpu.rollout(actions, record_state=True)
        np.testing.assert_array_equal(result.valid, expected.valid)
        np.testing.assert_allclose(result.obs, expected.obs, rtol=0, atol=1e-5)
        np.testing.assert_allclose(result.states, expected.states, rtol=0, atol=1e-5)
        assert result.truncated[:, 11].any() and not result.valid[:, 12:].any()
        for k in range(16):
            obs, reward, terminated, truncated, _ = stepped.step(actions[:, k])
            v = result.valid[:, k]
            np.testing.assert_array_equal(result.obs[v, k], obs[v])
            np.testing.assert_array_equal(result.reward[v, k], reward[v])
            np.testing.assert_array_equal(result.terminated[v, k], terminated[v])
            if (terminated | truncated).any():
                break
        ended = result.terminated.any(axis=1) | result.truncated.any(axis=1)
        with pytest.raises(RuntimeError, match="have ended"):
            rolled.step(actions[:, 0])
        rolled.reset(options={"reset_mask": ended})
    finally:
        for env in (rolled, stepped, cpu):
            env.close()


def test_nonfinite_reward_and_reset_observation_are_handled_as_on_cpu():
    """A NaN reward is a divergence of its env; a NaN reset observation raises naming the task (item 5)."""
    from mjvec.envs.inverted_pendulum import InvertedPendulum

    class NanReward(InvertedPendulum):
        def evaluate(self, xp, data, action, before):
            reward, terminated, info = super().evaluate(xp, data, action, before)
            return xp.where(xp.arange(reward.shape[0]) == 1, xp.nan, reward), terminated, info

    class NanReset(InvertedPendulum):
        def reset_state(self, xp, rng, init_qpos, init_qvel):
            qpos, qvel = super().reset_state(xp, rng, init_qpos, init_qvel)
            return qpos, xp.where((xp.arange(qvel.shape[0]) == 2)[:, None], xp.nan, qvel)

    for backend in ("cpu", "mjx"):
        env = mjvec.make(NanReward(), N, backend=backend, max_episode_steps=15)
        env.reset(seed=0)
        for a in _actions(env.single_action_space, 3):
            obs, reward, terminated, truncated, info = env.step(a)
            assert np.isfinite(obs).all() and np.isfinite(reward).all()
        # env 1 diverged at step 1, was reset at step 2 (NEXT_STEP) and diverged again at step 3
        assert reward[1] == 0 and truncated.tolist() == [False, True, False, False], backend
        assert info["_diverged"].tolist() == [False, True, False, False], backend
        assert env.diagnostics()["nonfinite_reward"] == {"count": 2, "env_ids": [1]}, backend
        env.close()
        env = mjvec.make(NanReset(), N, backend=backend)
        with pytest.raises(RuntimeError, match=r"NanReset: the observation after resetting environments \[2\]"):
            env.reset(seed=0)
        assert env.diagnostics()["nonfinite_reset_observation"] == {"count": 1, "env_ids": [2]}, backend
        env.close()
