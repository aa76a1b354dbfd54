"""RayVecEnv and RLlib on a local 2-CPU Ray cluster, bound to the loopback interface.

The reference for every trajectory is one ``MjVecEnv`` of all the environments,
stepped with the same seeds and actions: the Ray-backed env must agree bit for bit.
"""

import functools
import os
import subprocess
import sys
import time

import numpy as np
import pytest

# Ray's switch for a single-machine cluster: every Ray process binds to and talks
# over 127.0.0.1 instead of this machine's network address. Read when ray is imported.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="the `ray` extra is not installed")

import gymnasium as gym  # noqa: E402

import mjvec  # noqa: E402
from mjvec.distributed import EnvActorDiedError, RayVecEnv, make  # noqa: E402

N = 5  # over 2 actors: 3 + 2, so the blocks are uneven


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    # a small object store: the tests move kilobytes, and /dev/shm may be small in CI containers
    ray.init(num_cpus=2, object_store_memory=100 * 2**20, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        if ray.util.get_node_ip_address() != "127.0.0.1":  # ray was imported before the switch was set
            pytest.fail(f"the test cluster must stay on 127.0.0.1, it uses {ray.util.get_node_ip_address()}")
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def closing():
    """Close every env a test opens, so its actors free their CPUs for the next test."""
    envs = []
    yield envs.append
    for env in envs:
        env.close()


def _pair(closing, mode, n=N, num_actors=2, max_episode_steps=12, env_id="Hopper-v5"):
    kwargs = {"autoreset_mode": mode, "max_episode_steps": max_episode_steps}
    env = make(env_id, n, num_actors=num_actors, **kwargs)
    ref = mjvec.make(env_id, n, nthread=1, **kwargs)
    closing(env)
    closing(ref)
    return env, ref


def _assert_same(a, b, where=""):
    """Equal values, dtypes and keys, recursing into info dicts and object arrays."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
        return
    if isinstance(a, tuple):  # (obs, info) or (obs, reward, terminated, truncated, info)
        assert isinstance(b, tuple) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
    if a.dtype == object:
        for i, (x, y) in enumerate(zip(a, b)):
            assert (x is None) == (y is None), f"{where}[{i}]"
            if x is not None:
                _assert_same(x, y, f"{where}[{i}]")
    else:
        np.testing.assert_array_equal(a, b, err_msg=where)


def _kill(actor):
    """``ray.kill`` and wait until Ray knows: the kill is asynchronous, a call made just after may still run."""
    ray.kill(actor, no_restart=True)
    for _ in range(200):
        try:
            ray.get(actor.__ray_ready__.remote(), timeout=5)
        except ray.exceptions.RayActorError:
            return
        time.sleep(0.05)
    raise AssertionError("the killed actor still answers after 10 s")


# -- same numbers as one MjVecEnv ------------------------------------------------------
@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_same_trajectories_as_one_mjvecenv_bit_for_bit(closing, mode):
    env, ref = _pair(closing, mode)
    assert env.actor_env_ids == (range(3), range(3, 5))
    assert [a["env_ids"] for a in env.actor_info] == list(env.actor_env_ids)
    assert len({a["pid"] for a in env.actor_info} | {os.getpid()}) == 3  # two processes, not this one
    assert env.num_envs == ref.num_envs
    assert env.single_observation_space == ref.single_observation_space
    assert env.single_action_space == ref.single_action_space
    assert env.observation_space == ref.observation_space and env.action_space == ref.action_space
    assert env.metadata["autoreset_mode"] is ref.metadata["autoreset_mode"] is env.autoreset_mode

    _assert_same(env.reset(seed=7), ref.reset(seed=7), "reset")
    rng = np.random.default_rng(0)
    ends = 0
    for t in range(40):
        actions = rng.uniform(-1, 1, (N, 3))  # strong actions: Hopper falls, and terminates
        out, expected = env.step(actions), ref.step(actions)
        _assert_same(out, expected, f"step {t}")
        done = out[2] | out[3]
        ends += int(done.sum())
        if mode == "disabled" and done.any():
            # reseed one ended env, keep the others' streams: seeds go to the right actor
            seeds = [None] * N
            seeds[int(np.flatnonzero(done)[-1])] = 100 + t
            options = {"reset_mask": done}
            _assert_same(env.reset(seed=seeds, options=options), ref.reset(seed=seeds, options=options), f"reset {t}")
    assert ends >= 5  # the comparison went through several autoresets, in both actors
    _assert_same(env.reset(seed=[3, None, 4, None, 5]), ref.reset(seed=[3, None, 4, None, 5]), "reseed")
    _assert_same(env.step(np.zeros((N, 3))), ref.step(np.zeros((N, 3))), "after reseed")


def test_reset_mask_calls_only_the_actors_it_names(closing):
    env, ref = _pair(closing, "disabled")
    _assert_same(env.reset(seed=1), ref.reset(seed=1))
    actions = np.full((N, 3), 0.1)
    _assert_same(env.step(actions), ref.step(actions))
    _kill(env.actors[0])  # envs 0..2: a mask of envs 3..4 must not touch it
    mask = np.array([False, False, False, True, False])
    _assert_same(env.reset(options={"reset_mask": mask}), ref.reset(options={"reset_mask": mask}))


def test_same_episode_statistics_in_a_cleanrl_loop(closing):
    """CleanRL's loop: Gymnasium's vector wrappers, seeded reset, episode stats from info."""
    from gymnasium.wrappers.vector import ClipAction, RecordEpisodeStatistics

    env, ref = _pair(closing, "next_step", env_id="InvertedPendulum-v5", max_episode_steps=20)
    env, ref = RecordEpisodeStatistics(ClipAction(env)), RecordEpisodeStatistics(ClipAction(ref))
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, ref.reset(seed=0)[0])
    rng = np.random.default_rng(1)
    returns = []
    for _ in range(45):
        actions = rng.uniform(-5, 5, (N, 1))  # beyond the action bounds: ClipAction clips
        obs, reward, terminated, truncated, info = env.step(actions)
        expected = ref.step(actions)
        if "episode" in info:  # "t" is wall time: the rest must agree
            del info["episode"]["t"], expected[4]["episode"]["t"]
        _assert_same((obs, reward, terminated, truncated, info), expected)
        if "episode" in info:
            returns += info["episode"]["r"][info["_episode"]].tolist()
    assert len(returns) >= N


def test_works_as_the_env_of_sb3vecenv(closing):
    pytest.importorskip("stable_baselines3", reason="the `sb3` extra is not installed")
    from mjvec.sb3 import SB3VecEnv

    env, ref = _pair(closing, "next_step", env_id="InvertedPendulum-v5", max_episode_steps=10)
    venv, vref = SB3VecEnv(env), SB3VecEnv(ref)
    venv.seed(3)
    vref.seed(3)
    np.testing.assert_array_equal(venv.reset(), vref.reset())
    rng = np.random.default_rng(2)
    dones = 0
    for _ in range(25):
        actions = rng.uniform(-3, 3, (N, 1))
        (obs, reward, done, infos), expected = venv.step(actions), vref.step(actions)
        for got, want in zip((obs, reward, done), expected[:3]):
            np.testing.assert_array_equal(got, want)
        for got, want in zip(infos, expected[3]):
            _assert_same(got, want)
        dones += int(done.sum())
    assert dones >= N
    assert venv.get_attr("autoreset_mode") == [env.autoreset_mode] * N


def test_diagnostics_name_global_env_ids(closing):
    def faulty(n, bad):
        def build():  # built in the actor: a NaN written into env `bad`'s state before each step
            env = mjvec.make("HalfCheetah-v5", n, nthread=1)
            step = env._backend.step

            def step_with_fault(*args, **kwargs):
                env._backend.sim._qvel[bad, 0] = np.nan
                return step(*args, **kwargs)

            env._backend.step = step_with_fault
            return env

        return build

    env = RayVecEnv([functools.partial(mjvec.make, "HalfCheetah-v5", 2, nthread=1), faulty(3, 1)])
    closing(env)
    env.reset(seed=0)
    _, _, _, truncated, info = env.step(np.zeros((5, 6)))
    np.testing.assert_array_equal(truncated, [False, False, False, True, False])
    np.testing.assert_array_equal(info["_diverged"], truncated)
    assert env.diagnostics()["diverged"] == {"count": 1, "env_ids": [3]}


def test_render_and_get_model_reach_the_actor_holding_each_env(closing, gl):
    """Frames, in every layout, and models equal one MjVecEnv's, for env ids spanning both actors."""
    from mjvec.render import LAYOUTS

    kwargs = {"render_mode": "rgb_array", "width": 40, "height": 32, "max_episode_steps": 12,
              "randomize": {"body_mass": mjvec.Uniform(0.5, 2.0)}}
    env = make("Hopper-v5", N, num_actors=2, **kwargs)  # envs 0..2 | 3..4
    ref = mjvec.make("Hopper-v5", N, nthread=1, **kwargs)
    closing(env)
    closing(ref)
    env.reset(seed=4)
    ref.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(6):
        a = rng.uniform(-1, 1, (N, 3))
        env.step(a)
        ref.step(a)
    for ids in ([4, 0, 3], None, 1):
        for layout in LAYOUTS:
            _assert_same(env.render(env_ids=ids, layout=layout), ref.render(env_ids=ids, layout=layout),
                         f"{ids} {layout}")
    assert len(env.render()) == N
    for i in range(N):
        np.testing.assert_array_equal(env.get_model(i).body_mass, ref.get_model(i).body_mass)
    assert not np.array_equal(env.get_model(1).body_mass, env.get_model(4).body_mass)
    with pytest.raises(ValueError, match=r"`i` must be in \[0, 5\), got 5"):
        env.get_model(N)
    with pytest.raises(TypeError, match="`i` must be an int, got bool"):
        env.get_model(True)
    with pytest.raises(ValueError, match=r"`env_ids` must be in \[0, 5\), got \[7\]"):
        env.render(env_ids=[0, 7])
    with pytest.raises(ValueError, match="`layout` must be one of"):
        env.render(layout="tile")


def test_render_without_render_mode_says_how_to_ask_for_it(closing):
    env = make("Hopper-v5", 2, num_actors=1)
    closing(env)
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="render_mode='rgb_array'"):
        env.render()


def test_call_get_attr_set_attr_answer_for_every_env_from_its_actor(closing, gl):
    kwargs = {"render_mode": "rgb_array", "width": 24, "height": 16, "randomize": {"body_mass": mjvec.Uniform(0.5, 2.0)}}
    env = make("Hopper-v5", N, num_actors=2, **kwargs)  # envs 0..2 | 3..4
    ref = mjvec.make("Hopper-v5", N, nthread=1, **kwargs)
    closing(env)
    closing(ref)
    env.reset(seed=4)
    ref.reset(seed=4)
    for name in ("observation_space", "render_mode", "frame_skip", "reset_noise_scale"):
        assert env.get_attr(name) == ref.get_attr(name), name
    for a, b in zip(env.get_attr("model"), ref.get_attr("model")):
        np.testing.assert_array_equal(a.body_mass, b.body_mass)
    frames = env.call("render")
    assert isinstance(frames, tuple) and len(frames) == N
    for a, b in zip(frames, ref.call("render")):
        np.testing.assert_array_equal(a, b)
    # one value per actor's block can be held; the blocks are checked before any actor sets
    env.set_attr("reset_noise_scale", [0.0, 0.0, 0.0, 0.2, 0.2])
    assert env.get_attr("reset_noise_scale") == (0.0, 0.0, 0.0, 0.2, 0.2)
    with pytest.raises(ValueError, match=r"env 3 gets 0\.1, env 4 gets 0\.3; actor 1's MjVecEnv \(envs 3\.\.4\)"):
        env.set_attr("reset_noise_scale", [0.5, 0.5, 0.5, 0.1, 0.3])
    assert env.get_attr("reset_noise_scale") == (0.0, 0.0, 0.0, 0.2, 0.2)
    # an unknown name is refused in the actors with its own type, and the episodes go on
    with pytest.raises(AttributeError, match="'no_such_thing'"):
        env.get_attr("no_such_thing")
    with pytest.raises(AttributeError, match="'frame_skip' is fixed"):
        env.set_attr("frame_skip", 2)
    env.step(np.zeros((N, 3)))


def test_obs_dtype_float32_through_the_actors(closing):
    env, ref = make("Hopper-v5", N, num_actors=2, obs_dtype=np.float32), mjvec.make("Hopper-v5", N, obs_dtype=np.float32)
    closing(env)
    closing(ref)
    assert env.observation_space == ref.observation_space and env.observation_space.dtype == np.float32
    _assert_same(env.reset(seed=1), ref.reset(seed=1))
    obs = env.step(np.zeros((N, 3)))[0]
    assert obs.dtype == np.float32
    np.testing.assert_array_equal(obs, ref.step(np.zeros((N, 3)))[0])


@pytest.mark.parametrize(("num_cpus", "expected"), [(1, 1), (0.5, 1), (2, 2), (0, "all")])
def test_an_env_made_in_a_ray_worker_takes_its_reserved_cpus_as_threads(num_cpus, expected):
    """``nthread=None`` in an actor: Ray's CPU reservation (at least 1), not the whole machine."""

    @ray.remote(num_cpus=num_cpus)
    class Maker:
        def nthread(self):
            env = mjvec.make("HalfCheetah-v5", 2)
            try:
                return env._backend.nthread
            finally:
                env.close()

    from mjvec.backends.cpu import default_nthread

    actor = Maker.remote()
    try:
        got = ray.get(actor.nthread.remote(), timeout=120)
    finally:
        ray.kill(actor)
    assert got == (default_nthread() if expected == "all" else min(expected, default_nthread()))
    assert default_nthread() == len(os.sched_getaffinity(0))  # the driver: no reservation


# -- failure ---------------------------------------------------------------------------
def test_a_killed_actor_raises_naming_its_envs_and_the_env_stays_failed(closing):
    env = make("HalfCheetah-v5", N, num_actors=2)
    closing(env)
    env.reset(seed=0)
    env.step(np.zeros((N, 6)))
    _kill(env.actors[1])
    with pytest.raises(EnvActorDiedError, match=r"actor \[1\] .* died, losing environments 3\.\.4 of 5") as err:
        env.step(np.zeros((N, 6)))
    assert err.value.actor_index == 1 and err.value.env_ids == range(3, 5)
    assert isinstance(err.value.__cause__, ray.exceptions.RayActorError)
    with pytest.raises(EnvActorDiedError) as again:  # no silent continuation, even after a reset
        env.reset(seed=0)
    assert again.value is err.value
    env.close()
    env.close()


def test_an_error_inside_an_actor_keeps_its_type_and_requires_a_reset(closing):
    def failing_on_second_step():
        env = mjvec.make("HalfCheetah-v5", 2, nthread=1)
        step, calls = env.step, []

        def step_that_fails(actions):  # an env's own error, which no driver-side check foresees
            calls.append(1)
            if len(calls) == 2:
                raise FloatingPointError("injected failure")
            return step(actions)

        env.step = step_that_fails
        return env

    env = RayVecEnv([functools.partial(mjvec.make, "HalfCheetah-v5", 2, nthread=1), failing_on_second_step])
    closing(env)
    env.reset(seed=0)
    env.step(np.zeros((4, 6)))
    with pytest.raises(FloatingPointError, match="injected failure"):
        env.step(np.zeros((4, 6)))
    # actor 0 stepped and actor 1 did not: only a reset of all makes the env consistent again
    with pytest.raises(RuntimeError, match=r"`step\(\)` was called before `reset\(\)`"):
        env.step(np.zeros((4, 6)))
    env.reset(seed=0)
    assert env.step(np.zeros((4, 6)))[0].shape == (4, 17)
    env.close()  # its actors hold both CPUs
    with pytest.raises(ValueError, match="is not an mjvec task"):  # raised in the actor, type kept
        make("HalfCheeta-v5", 2, num_actors=1)
    with pytest.raises(ValueError, match="array_type='numpy'.*got array_type='torch'"):
        make("HalfCheetah-v5", 2, num_actors=1, array_type="torch")


def test_actors_that_cannot_be_placed_time_out_with_the_resources_named(closing):
    env = make("Hopper-v5", 2, num_actors=2)  # both CPUs of the cluster
    closing(env)
    with pytest.raises(TimeoutError, match=r"1 of the 1 Ray actors .* did not start within `start_timeout_s` = 2 s"):
        make("Hopper-v5", 1, num_actors=1, start_timeout_s=2)


# -- bad input -------------------------------------------------------------------------
def test_bad_input_is_refused_before_any_actor_steps(closing):
    env = make("HalfCheetah-v5", N, num_actors=2, autoreset_mode="disabled", max_episode_steps=1)
    closing(env)
    with pytest.raises(RuntimeError, match=r"`step\(\)` was called before `reset\(\)`"):
        env.step(np.zeros((N, 6)))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"`actions` must have shape \(5, 6\)"):
        env.step(np.zeros((N, 5)))
    bad = np.zeros((N, 6))
    bad[4, 2] = np.nan
    with pytest.raises(ValueError, match=r"got NaN or inf for environments \[4\]"):  # global id
        env.step(bad)
    env.step(np.zeros((N, 6)))  # every env is truncated after 1 step
    with pytest.raises(RuntimeError, match=r"environments \[0, 1, 2, 3, 4\] have ended"):
        env.step(np.zeros((N, 6)))
    with pytest.raises(ValueError, match=r"`options\['reset_mask'\]` must have shape \(5,\)"):
        env.reset(options={"reset_mask": np.ones(3, dtype=bool)})
    with pytest.raises(ValueError, match=r"one seed per environment \(5\)"):
        env.reset(seed=[1, 2])
    env.close()
    with pytest.raises(RuntimeError, match="closed"):
        env.reset()


def test_bad_constructors_are_refused_with_the_argument_named(closing):
    with pytest.raises(ValueError, match=r"`env_fns` must hold at least one"):
        RayVecEnv([])
    with pytest.raises(TypeError, match=r"`env_fns\[1\]` must be callable"):
        RayVecEnv([functools.partial(mjvec.make, "Hopper-v5", 1), "Hopper-v5"])
    with pytest.raises(TypeError, match=r"must return an mjvec.MjVecEnv, got SyncVectorEnv"):
        RayVecEnv([functools.partial(gym.make_vec, "CartPole-v1", 2, vectorization_mode="sync")])
    with pytest.raises(ValueError, match=r"same single_observation_space: .* gives Box\(-inf, inf, \(8,\)"):
        RayVecEnv([functools.partial(mjvec.make, "Hopper-v5", 1), functools.partial(mjvec.make, "Swimmer-v5", 1)])
    with pytest.raises(ValueError, match=r"same autoreset_mode"):
        RayVecEnv([
            functools.partial(mjvec.make, "Hopper-v5", 1),
            functools.partial(mjvec.make, "Hopper-v5", 1, autoreset_mode="same_step"),
        ])
    with pytest.raises(ValueError, match=r"`actor_options\['max_restarts'\]` must be 0"):
        RayVecEnv([functools.partial(mjvec.make, "Hopper-v5", 1)], actor_options={"max_restarts": 3})
    with pytest.raises(ValueError, match=r"`num_actors` must be between 1 and num_envs \(2\), got 3"):
        make("Hopper-v5", 2, num_actors=3)
    with pytest.raises(TypeError, match=r"`num_actors` must be an int, got str"):
        make("Hopper-v5", 2, num_actors="2")
    with pytest.raises(ValueError, match=r"`num_cpus_per_actor` must be > 0, got 0"):
        make("Hopper-v5", 2, num_actors=1, num_cpus_per_actor=0)
    with pytest.raises(TypeError, match="cannot be pickled"):
        env = make("Hopper-v5", 2, num_actors=1)
        closing(env)
        import pickle

        pickle.dumps(env)


# -- RLlib -----------------------------------------------------------------------------
def test_rllib_ppo_trains_on_mjvec_envs_made_by_make_vec():
    pytest.importorskip("ray.rllib", reason="RLlib's dependencies are not installed")
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (
        PPOConfig()
        # "mjvec:" makes gymnasium import mjvec (and so register its tasks) in the runner
        .environment("mjvec:mjvec/InvertedPendulum-v5", env_config={"max_episode_steps": 50})
        .env_runners(
            num_env_runners=1,
            num_envs_per_env_runner=4,
            num_cpus_per_env_runner=1,
            gym_env_vectorize_mode="vector_entry_point",
            rollout_fragment_length=32,
        )
        .training(train_batch_size_per_learner=128, minibatch_size=64, num_epochs=1)
        .rl_module(model_config={"fcnet_hiddens": [8]})
        .debugging(seed=0)
    )
    algo = config.build_algo()
    try:
        envs = algo.env_runner_group.foreach_env_runner(
            lambda runner: (type(runner.env.unwrapped).__name__, runner.env.unwrapped.num_envs,
                            runner.env.unwrapped._backend.nthread),
            local_env_runner=False,
        )
        # one batch per runner, the runner's CPU as its thread (not nthread=None's 2 CPUs of the machine)
        assert envs == [("MjVecEnv", 4, 1)]
        for _ in range(2):
            result = algo.train()
        sampled = result["env_runners"]["num_env_steps_sampled_lifetime"]
        assert sampled >= 2 * 128
        assert np.isfinite(result["env_runners"]["episode_return_mean"])
        assert np.isfinite(result["learners"]["default_policy"]["total_loss"])
    finally:
        algo.stop()


# -- extras ----------------------------------------------------------------------------
def test_the_core_imports_neither_ray_nor_jax():
    """Ray and JAX are extras: making and stepping a CPU env loads neither."""
    code = (
        "import sys, numpy as np, mjvec\n"
        "env = mjvec.make('HalfCheetah-v5', 2); env.reset(seed=0); env.step(np.zeros((2, 6))); env.close()\n"
        "loaded = sorted({'ray', 'jax', 'jaxlib', 'mujoco.mjx'} & set(sys.modules))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_ray_the_error_names_the_extra(import_error_without):
    out = import_error_without("mjvec.distributed", "ray")
    assert 'pip install "mjvec[ray]"' in out, out


def test_physics_states_reach_the_actor_holding_each_env(closing):
    env, ref = _pair(closing, "disabled", env_id="HalfCheetah-v5", max_episode_steps=50)
    env.reset(seed=0), ref.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (6, N, 6)).astype(np.float32)
    for a in actions[:3]:
        env.step(a), ref.step(a)
    assert env.state_size == ref.state_size
    np.testing.assert_array_equal(env.get_state(), ref.get_state())
    ids = [N - 1, 0]  # one env of each actor, out of order
    np.testing.assert_array_equal(env.get_state(ids), ref.get_state(ids))
    states = ref.get_state()[[0, N - 1]]
    env.set_state(states, env_ids=ids), ref.set_state(states, env_ids=ids)
    mask = np.zeros(N, dtype=bool)
    mask[[1, N - 2]] = True
    options = {"state": ref.get_state([0, 1]), "reset_mask": mask}
    _assert_same(env.reset(options=options), ref.reset(options=options), "reset from states")
    for a in actions[3:]:
        _assert_same(env.step(a), ref.step(a), "after set_state")
    with pytest.raises(ValueError, match=r"`options\['state'\]` must have shape \(2, "):
        env.reset(options={"state": ref.get_state(), "reset_mask": mask})
