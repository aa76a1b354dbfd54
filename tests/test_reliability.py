"""Reliability: faults isolated, MuJoCo's log routed, determinism, lifecycle, concurrency, properties.

Faults are injected by writing into the CPU backend's state between steps (test-only):
a NaN or huge velocity makes MuJoCo's checks fire in the next step, as a simulation
that blows up by itself does.
"""

import copy
import functools
import gc
import os
import pickle
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from mujoco import batch as mj_batch

import mjvec

ENV = "HalfCheetah-v5"
N = 4


def _actions(steps, n=N, size=6, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (steps, n, size)).astype(np.float32)


def _rollout(mode, steps=8, fault=None, n=N, max_episode_steps=50):
    """Every step's results; ``fault = (step, env, field, value)`` is written before that step."""
    env = mjvec.make(ENV, n, nthread=2, autoreset_mode=mode, max_episode_steps=max_episode_steps)
    first = env.reset(seed=0)
    out = []
    for t, a in enumerate(_actions(steps, n)):
        if fault is not None and t == fault[0]:
            getattr(env._backend.sim, f"_{fault[2]}")[fault[1], 2] = fault[3]
        out.append(env.step(a))
    return env, first, out


# -- fault injection -----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
@pytest.mark.parametrize("field, value", [("qvel", np.nan), ("qvel", 1e300), ("qpos", -np.inf)])
def test_diverged_env_is_flagged_ended_and_reset_others_bit_identical(mode, field, value):
    t, bad = 3, 1
    others = [i for i in range(N) if i != bad]
    steps = 4 if mode == "disabled" else 8  # disabled: env 1 must be reset before a 5th step
    env, _, faulty = _rollout(mode, steps, fault=(t, bad, field, value))
    _, _, clean = _rollout(mode, steps)
    for k, (f, c) in enumerate(zip(faulty, clean)):
        for x, y in zip(f[:4], c[:4]):  # obs, reward, terminated, truncated
            np.testing.assert_array_equal(x[others], y[others])
        assert np.isfinite(f[0]).all() and not np.isnan(f[1]).any()
        assert ("diverged" in f[4]) == (k == t)
    obs, reward, terminated, truncated, info = faulty[t]
    expected = np.arange(N) == bad
    np.testing.assert_array_equal(info["diverged"], expected)
    np.testing.assert_array_equal(info["_diverged"], expected)
    assert truncated[bad] and not terminated[bad] and reward[bad] == 0.0
    # the final observation is the last finite one, from before the step
    final = info["final_obs"][bad] if mode == "same_step" else obs[bad]
    np.testing.assert_array_equal(final, faulty[t - 1][0][bad])
    # no reward term computed from the garbage state
    assert not info["_reward_forward"][bad] and info["_reward_forward"][others].all()
    if mode == "next_step":
        # reset at the next step as any ended episode, then goes on
        obs, reward, terminated, truncated, info = faulty[t + 1]
        assert reward[bad] == 0.0 and not truncated[bad] and info["_x_position"][bad]
        assert not np.array_equal(obs[bad], faulty[t][0][bad])
        assert all(r[1][bad] != 0.0 for r in faulty[t + 2 :])
    elif mode == "same_step":
        assert info["_final_obs"][bad]
        assert not info["final_info"].get("_reward_forward", np.zeros(N, bool))[bad]
        assert not np.array_equal(obs[bad], info["final_obs"][bad])  # obs is the reset obs
    else:
        with pytest.raises(RuntimeError, match=r"environments \[1\] have ended"):
            env.step(np.zeros((N, 6), np.float32))
        obs, _ = env.reset(options={"reset_mask": expected})
        assert np.isfinite(obs).all()
        np.testing.assert_array_equal(obs[others], faulty[-1][0][others])
        env.step(np.zeros((N, 6), np.float32))
    diag = env.diagnostics()
    assert diag["diverged"] == {"count": 1, "env_ids": [bad]}
    assert diag[f"bad{field}"]["env_ids"] == [bad]


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_an_enormous_applied_force_diverges_only_its_env(mode):
    """Fault injection through the public API: a 1e15 N force on one env's torso (xfrc action)."""
    spec = mjvec.ActionSpec(ctrl="all", xfrc={"torso": "force"})
    t, bad = 3, 2
    others = [i for i in range(N) if i != bad]
    runs = []
    for force in (1e15, 0.0):
        env = mjvec.make(ENV, N, nthread=2, autoreset_mode=mode, actions=spec)
        env.reset(seed=0)
        out = []
        for k, a in enumerate(_actions(8, size=9)):
            a[:, 6:] = 0.0
            if k == t:
                a[bad, 8] = force
            out.append(env.step(a))
        runs.append((env, out))
    (env, faulty), (_, clean) = runs
    for f, c in zip(faulty, clean):
        for x, y in zip(f[:4], c[:4]):
            np.testing.assert_array_equal(x[others], y[others])
        assert np.isfinite(f[0]).all()
    info = faulty[t][4]
    np.testing.assert_array_equal(info["diverged"], np.arange(N) == bad)
    assert faulty[t][3][bad] and env.diagnostics()["diverged"]["env_ids"] == [bad]


def test_diverged_env_awaiting_reset_mask_never_shows_garbage():
    env, _, out = _rollout("disabled", 3, fault=(2, 0, "qvel", np.nan))
    obs, _ = env.reset(options={"reset_mask": np.array([False, True, False, False])})
    np.testing.assert_array_equal(obs[0], out[2][0][0])  # env 0 still holds its last finite obs
    np.testing.assert_array_equal(obs[2:], out[-1][0][2:])


class _FailingBatch:
    """A batch whose simulation ``sim`` raises in ``step``, as ``mujoco.batch`` reports it:
    the others run to completion, the failed one keeps its state."""

    def __init__(self, batch, sim):
        self._batch, self._sim = batch, sim

    def __getattr__(self, name):
        return getattr(self._batch, name)

    def step(self, ids, nstep):
        mask = np.ones(self._batch.nsim, bool) if ids is None else np.asarray(ids).copy()
        mask[self._sim] = False
        self._batch.step(mask, nstep=nstep)
        raise mj_batch.SimulationError(np.array([self._sim]), "injected failure")

    def error(self, sim):
        return "injected failure" if sim == self._sim else ""


def test_simulation_error_is_a_divergence_of_that_env_only():
    env = mjvec.make(ENV, N, nthread=2)
    ref = mjvec.make(ENV, N, nthread=2)
    env.reset(seed=0), ref.reset(seed=0)
    acts = _actions(3)
    env.step(acts[0]), ref.step(acts[0])
    real = env._backend.sim._batch
    env._backend.sim._batch = _FailingBatch(real, 2)
    obs, reward, terminated, truncated, info = env.step(acts[1])
    env._backend.sim._batch = real
    ref_obs, ref_reward, *_ = ref.step(acts[1])
    np.testing.assert_array_equal(info["diverged"], [False, False, True, False])
    assert truncated[2] and reward[2] == 0.0
    np.testing.assert_array_equal(obs[[0, 1, 3]], ref_obs[[0, 1, 3]])
    np.testing.assert_array_equal(reward[[0, 1, 3]], ref_reward[[0, 1, 3]])
    diag = env.diagnostics()
    assert diag["simulation_error"] == {"count": 1, "env_ids": [2], "message": "injected failure"}
    obs, reward, *_ = env.step(acts[2])  # reset at this step (NEXT_STEP), the others go on
    assert reward[2] == 0.0 and np.isfinite(obs).all()


# -- MuJoCo's log channel ----------------------------------------------------------------
def _python(code, cwd, **env):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=True,
    )


def test_mujoco_warnings_go_to_logging_once_and_leave_no_log_file(tmp_path):
    result = _python(
        """
        import gymnasium as gym, numpy as np, mjvec
        for _ in range(2):  # Gymnasium's own env: MjModel.from_xml_path warns of `settotalmass`
            gym.make("HalfCheetah-v5").close()
        env = mjvec.make("HalfCheetah-v5", 4, nthread=2)
        env.reset(seed=0)
        for t in range(6):
            env._backend.sim._qvel[t % 4, 0] = np.nan
            env.step(np.zeros((4, 6), np.float32))
        print(env.diagnostics()["diverged"]["count"])
        """,
        tmp_path,
    )
    assert result.stdout.split() == ["6"]
    assert list(tmp_path.iterdir()) == []  # no MUJOCO_LOG.TXT
    lines = result.stderr.splitlines()
    assert not [line for line in lines if line.startswith("WARNING")]
    assert sum("value in QVEL" in line for line in lines) == 1  # once, through logging
    assert all(line.startswith("MuJoCo: ") for line in lines if "value in Q" in line)
    assert sum(line.startswith("MuJoCo: ") and "settotalmass" in line for line in lines) == 1


def test_a_users_mujoco_warning_handler_is_kept(tmp_path):
    result = _python(
        """
        import numpy as np, mujoco
        seen = []
        mujoco.set_mju_user_warning(seen.append)
        import mjvec
        env = mjvec.make("HalfCheetah-v5", 2)
        env.reset(seed=0)
        env._backend.sim._qvel[1, 0] = np.nan
        env.step(np.zeros((2, 6), np.float32))
        assert mujoco.get_mju_user_warning() is not None
        print(any("QVEL" in m for m in seen))
        """,
        tmp_path,
    )
    assert result.stdout.split() == ["True"]
    assert "MuJoCo: " not in result.stderr


# -- determinism -----------------------------------------------------------------------
ROLLOUT = """
import hashlib, numpy as np, mjvec
def rollout_hash(nthread):
    env = mjvec.make("Hopper-v5", 5, nthread=nthread, max_episode_steps=20)
    h = hashlib.sha256(env.reset(seed=7)[0].tobytes())
    rng = np.random.default_rng(3)
    for _ in range(60):
        obs, rew, term, trunc, _ = env.step(rng.uniform(-1, 1, (5, 3)).astype(np.float32))
        for x in (obs, rew, term, trunc):
            h.update(x.tobytes())
    return h.hexdigest()
"""


def test_same_seed_same_trajectories_across_threads_and_processes(tmp_path):
    scope = {}
    exec(ROLLOUT, scope)
    here = {scope["rollout_hash"](1), scope["rollout_hash"](2)}
    assert len(here) == 1
    for nthread, hashseed in ((1, "1"), (2, "2")):
        out = _python(ROLLOUT + f"\nprint(rollout_hash({nthread}))", tmp_path, PYTHONHASHSEED=hashseed)
        assert out.stdout.strip() in here


# -- lifecycle and concurrency -----------------------------------------------------------
def _threads_and_rss_mb():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


def _malloc_in_use_mb():
    """The bytes glibc's malloc has handed out and not had back (mallinfo2), or None elsewhere.

    Unlike RSS, it counts the simulations' arenas whether or not their pages were touched, and
    is not blurred by freed memory the allocator keeps.
    """
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_dropping_an_env_without_close_releases_threads_and_memory():
    def use_and_drop():
        env = mjvec.make(ENV, 64, nthread=2)
        env.reset(seed=0)
        env.step(np.zeros((64, 6), np.float32))
        # a worker thread per extra nthread runs while the env lives
        assert _threads_and_rss_mb()[0] >= threads + 1

    gc.collect()
    threads, _ = _threads_and_rss_mb()
    for _ in range(15):  # warm up the allocator
        use_and_drop()
    rss, used = _threads_and_rss_mb()[1], _malloc_in_use_mb()
    for _ in range(60):
        use_and_drop()
        assert _threads_and_rss_mb()[0] <= threads  # released by reference counting, no gc needed
    if used is None:
        assert _threads_and_rss_mb()[1] - rss < 40  # MB: no growth per env made and dropped
    else:  # RSS alone is blurred by freed memory glibc keeps (it failed run alone, at random)
        assert _malloc_in_use_mb() - used < 40


@pytest.mark.skipif(_malloc_in_use_mb() is None or not sys.platform.startswith("linux"), reason="glibc, /proc")
def test_close_releases_threads_and_memory_while_the_env_is_still_referenced():
    """issue 14, item 7: closed envs kept in a list hold no threads and no simulation memory."""
    def use_and_close():
        env = mjvec.make(ENV, 256, nthread=2)
        env.reset(seed=0)
        env.step(np.zeros((256, 6), np.float32))
        assert _threads_and_rss_mb()[0] >= threads + 1
        env.close()
        return env

    gc.collect()
    threads, _ = _threads_and_rss_mb()
    use_and_close()
    gc.collect()
    used = _malloc_in_use_mb()
    kept = [use_and_close() for _ in range(5)]
    gc.collect()
    assert _threads_and_rss_mb()[0] <= threads
    # each batch of 256 holds about 1.6 GB of MjData arenas until it is freed; what stays is the
    # closed env's own small objects (spaces, the task's model)
    assert _malloc_in_use_mb() - used < 50
    assert kept[-1].closed and kept[-1].diagnostics() == {}


FORK_SCRIPT = """
import multiprocessing, os, sys, warnings
import numpy as np
import mjvec

warnings.simplefilter("ignore")
a = np.zeros((4, 6), np.float32)
threaded, single = mjvec.make("HalfCheetah-v5", 4, nthread=2), mjvec.make("HalfCheetah-v5", 4, nthread=1)
for env in (threaded, single):
    env.reset(seed=0), env.step(a)

def child(conn):
    out = []
    try:
        threaded.step(a)
        out.append("stepped")
    except RuntimeError as e:
        out.append(str(e))
    single.step(a)  # no worker threads: it works in the child
    out.append("single stepped")
    threaded.close()
    fresh = mjvec.make("HalfCheetah-v5", 4, nthread=2)  # made in the child: its own threads
    fresh.reset(seed=0), fresh.step(a), fresh.close()
    out.append("fresh stepped")
    conn.send(out)

pid = os.fork()
if pid == 0:
    r, w = multiprocessing.Pipe(False)
    child(w)
    print(r.recv())
    sys.exit(0)  # the interpreter's exit, which would destroy the parent's batch here
_, status = os.waitpid(pid, 0)
print("fork child exit", os.waitstatus_to_exitcode(status))
r, w = multiprocessing.Pipe(False)
p = multiprocessing.get_context("fork").Process(target=child, args=(w,))
p.start()
print(r.recv())
p.join(30)
print("process exit", p.exitcode)
threaded.step(a), single.step(a)
print("parent stepped")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_a_forked_child_never_hangs_it_gets_a_clear_error_or_a_working_env(tmp_path):
    """issue 14, item 2: an env with worker threads refuses to run in a forked child, saying what to do;
    dropping or closing it there, and exiting, do not hang; nthread=1 envs and envs made in the child work."""
    script = tmp_path / "fork.py"
    script.write_text(FORK_SCRIPT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for line in (lines[0], lines[2]):
        assert "this env was made in process" in line and "before os.fork(): MuJoCo's 2 worker threads" in line
        assert "'spawn' or 'forkserver'" in line and "'single stepped', 'fresh stepped'" in line
    assert lines[1] == "fork child exit 0" and lines[3] == "process exit 0" and lines[4] == "parent stepped"


def test_pickling_or_copying_an_env_says_what_to_do_instead():
    env = mjvec.make(ENV, 2)
    for dump in (pickle.dumps, copy.deepcopy, copy.copy):
        with pytest.raises(TypeError, match=r"cannot be pickled.*functools.partial\(mjvec.make"):
            dump(env)
    # what to send instead
    make = pickle.loads(pickle.dumps(functools.partial(mjvec.make, ENV, 2)))
    assert make().num_envs == 2


def test_use_from_two_threads_at_once_is_refused():
    env = mjvec.make(ENV, 2)
    env.reset(seed=0)
    inside, release = threading.Event(), threading.Event()
    real_step = env._backend.step

    def slow_step(*args):
        inside.set()
        release.wait(10)
        return real_step(*args)

    env._backend.step = slow_step
    a = np.zeros((2, 6), np.float32)
    worker = threading.Thread(target=env.step, args=(a,))
    worker.start()
    try:
        assert inside.wait(10)
        for call in (lambda: env.step(a), lambda: env.reset(), env.close):
            with pytest.raises(RuntimeError, match=r"another thread is inside.*one thread at a time"):
                call()
    finally:
        release.set()
        worker.join(10)
    env._backend.step = real_step
    env.step(a)  # the lock was released
    env.close()
    assert env.closed


# -- properties ----------------------------------------------------------------------------
PROPERTY = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
n = 3  # environments of the property tests


@functools.cache
def _env(task, mode, max_episode_steps=3):
    env = mjvec.make(task, n, nthread=1, autoreset_mode=mode, max_episode_steps=max_episode_steps)
    env.reset(seed=0)
    return env


def _check_outputs(env, out):
    obs, reward, terminated, truncated, info = out
    assert obs.shape == env.observation_space.shape and obs.dtype == env.observation_space.dtype
    assert np.isfinite(obs).all()
    assert reward.shape == (env.num_envs,) and reward.dtype == np.float64 and not np.isnan(reward).any()
    for x in (terminated, truncated):
        assert x.shape == (env.num_envs,) and x.dtype == np.bool_
    for key, value in info.items():
        if key.startswith("_"):
            assert value.shape == (env.num_envs,) and value.dtype == np.bool_ and f"{key[1:]}" in info
        else:
            assert value.shape[0] == env.num_envs and f"_{key}" in info


SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e30, 3.0, -0.0, 255.0])
DTYPES = st.sampled_from(
    [np.float32, np.float64, np.float16, np.int8, np.int64, np.uint8, np.bool_, np.complex64, object, np.str_]
)
SHAPES = st.one_of(st.just((n, 6)), st.sampled_from([(n,), (6,), (n, 5), (n - 1, 6), (n, 6, 1), (), (1, 6)]))


def _expected_error(actions):
    if not (isinstance(actions, (np.ndarray, list, tuple))):
        return TypeError
    try:
        a = np.asarray(actions)
    except ValueError:  # ragged
        return ValueError
    if a.dtype.kind not in "fiu":
        return TypeError
    if a.shape != (n, 6):
        return ValueError
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        return ValueError
    return None


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # control cost of 1e300
@settings(PROPERTY, max_examples=4000)
@given(
    values=hnp.arrays(np.float64, SHAPES, elements=st.floats(-1, 1, width=32)),
    specials=st.lists(st.tuples(st.integers(0, 99), SPECIAL), max_size=2),
    dtype=DTYPES,
    as_list=st.booleans(),
    other=st.sampled_from([None, None, None, "left", 1.0, {"a": 1}, [[0.0] * 6] * (n - 1) + [[0.0] * 5]]),
)
def test_property_actions(values, specials, dtype, as_list, other):
    env = _env(ENV, "next_step")
    for i, v in specials:
        if values.size:
            values.flat[i % values.size] = v
    with np.errstate(invalid="ignore", over="ignore"):
        actions = values.astype(dtype)
    actions = other if other is not None else actions.tolist() if as_list else actions
    expected = _expected_error(actions)
    event(f"{'ok' if expected is None else expected.__name__}")
    state = env._backend.sim._qpos.copy(), env._backend.sim._qvel.copy()
    if expected is None:
        _check_outputs(env, env.step(actions))
    else:
        with pytest.raises(expected, match=r"`actions`"):
            env.step(actions)
        # refused before anything was simulated
        np.testing.assert_array_equal(env._backend.sim._qpos, state[0])
        np.testing.assert_array_equal(env._backend.sim._qvel, state[1])


@settings(PROPERTY, max_examples=2500)
@given(
    task=st.sampled_from([ENV, "Hopper-v5"]),
    max_episode_steps=st.sampled_from([2, 3]),
    seed=st.integers(0, 2**32),
    actions=st.lists(st.floats(-3, 3, width=32), min_size=1, max_size=6 * n * 5),
)
def test_property_next_step_after_done_has_zero_reward(task, max_episode_steps, seed, actions):
    env = _env(task, "next_step", max_episode_steps)
    size = env.single_action_space.shape[0]
    a = np.resize(np.array(actions, np.float32), (5, n, size)) * (seed % 7)  # some large, Hopper falls
    env.reset(seed=seed)
    done = np.zeros(n, bool)
    for row in a:
        out = env.step(row)
        _check_outputs(env, out)
        _, reward, terminated, truncated, info = out
        assert (reward[done] == 0.0).all() and not terminated[done].any() and not truncated[done].any()
        done = terminated | truncated


@settings(PROPERTY, max_examples=2000)
@given(
    mode=st.sampled_from(["disabled", "next_step"]),
    seed=st.integers(0, 2**31),
    steps=st.integers(0, 2),
    mask=hnp.arrays(np.bool_, (n,)),
    reseed=st.one_of(
        st.none(), st.integers(0, 2**31), st.lists(st.one_of(st.none(), st.integers(0, 99)), min_size=n, max_size=n)
    ),
)
def test_property_reset_mask_touches_only_masked_envs(mode, seed, steps, mask, reseed):
    env = _env(ENV, mode)
    obs, _ = env.reset(seed=seed)
    for a in _actions(steps, n, seed=seed):
        obs, *_ = env.step(a)
    state = env._backend.sim._qpos.copy(), env._backend.sim._qvel.copy()
    if not mask.any():
        with pytest.raises(ValueError, match=r"at least one True"):
            env.reset(seed=reseed, options={"reset_mask": mask})
        return
    new, info = env.reset(seed=reseed, options={"reset_mask": mask})
    np.testing.assert_array_equal(new[~mask], obs[~mask])
    np.testing.assert_array_equal(env._backend.sim._qpos[~mask], state[0][~mask])
    np.testing.assert_array_equal(env._backend.sim._qvel[~mask], state[1][~mask])
    for key, value in info.items():
        if key.startswith("_"):
            np.testing.assert_array_equal(value, mask)
    if isinstance(reseed, int):  # as a fresh reset with the same seeds
        fresh = _env(ENV, "same_step").reset(seed=reseed)[0]
        np.testing.assert_array_equal(new[mask], fresh[mask])
    _check_outputs(env, env.step(np.zeros((n, 6), np.float32)))


SEEDS = st.one_of(
    st.none(),
    st.integers(-5, 2**70),
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(max_size=2),
    st.integers(0, 9).map(np.int64),
    st.lists(
        st.one_of(st.none(), st.integers(-2, 2**40), st.booleans(), st.floats(0, 9)), min_size=n - 1, max_size=n + 1
    ),
    st.lists(st.integers(0, 99), min_size=n, max_size=n).map(np.array),
)
OPTIONS = st.one_of(
    st.none(),
    st.just({}),
    st.dictionaries(st.sampled_from(["reset_mask", "reset_msk", "seed", "x"]), st.just(np.ones(n, bool)), max_size=2),
    st.sampled_from([[1], "reset_mask", 3]),
)


def _expected_reset_error(seed, options):
    if options is not None and not isinstance(options, dict):
        return TypeError
    if options and set(options) - {"reset_mask"}:
        return ValueError
    one = lambda s: (  # noqa: E731
        None if s is None
        else TypeError if isinstance(s, bool) or not isinstance(s, (int, np.integer))
        else ValueError if s < 0
        else None
    )
    if isinstance(seed, (list, tuple, np.ndarray)):
        if len(seed) != n:
            return ValueError
        return next((e for e in map(one, seed) if e is not None), None)
    if seed is not None and not isinstance(seed, (int, np.integer)):
        return TypeError
    return one(seed)


@settings(PROPERTY, max_examples=2000)
@given(seed=SEEDS, options=OPTIONS)
def test_property_reset_seeds_and_options(seed, options):
    env = _env(ENV, "next_step")
    expected = _expected_reset_error(seed, options)
    if expected is None:
        obs, info = env.reset(seed=seed, options=options)
        assert obs.shape == (n, 17) and obs.dtype == np.float64 and np.isfinite(obs).all()
    else:
        with pytest.raises(expected, match=r"`(seed|options)"):
            env.reset(seed=seed, options=options)


@functools.cache
def _clean_rollout(mode):
    return _rollout(mode, 6, n=n, max_episode_steps=4)[2]


@settings(PROPERTY, max_examples=300)
@given(
    mode=st.sampled_from(["next_step", "same_step"]),
    t=st.integers(0, 5),
    bad=st.integers(0, n - 1),
    field=st.sampled_from(["qpos", "qvel"]),
    value=st.sampled_from([np.nan, np.inf, -1e12, 1e300]),
)
def test_property_a_fault_touches_only_its_env(mode, t, bad, field, value):
    _, _, out = _rollout(mode, 6, fault=(t, bad, field, value), n=n, max_episode_steps=4)
    others = np.arange(n) != bad
    for k, (f, c) in enumerate(zip(out, _clean_rollout(mode))):
        for x, y in zip(f[:4], c[:4]):
            np.testing.assert_array_equal(x[others], y[others])
        assert np.isfinite(f[0]).all()
        if k == t and not (mode == "next_step" and t == 4):  # step 4 resets every env
            assert f[3][bad] and f[4]["diverged"][bad]



def test_rejection_sampling_that_never_accepts_raises_naming_the_envs():
    """`rng.uniform_until` is bounded on the CPU as on MJX: a reset that cannot be drawn raises, it does not hang."""
    from mjvec.envs.half_cheetah import HalfCheetah

    class Impossible(HalfCheetah):
        def reset_state(self, xp, rng, init_qpos, init_qvel):
            draw = rng.uniform_until(lambda one: one.uniform(low=-1, high=1, size=1), lambda xp, x: x[0] > 2)
            return init_qpos + 0 * draw, init_qvel + 0 * draw

    env = mjvec.make(Impossible(), 3)
    with pytest.raises(RuntimeError, match=r"accepted none of 10000 candidates for environments \[0, 1, 2\]"):
        env.reset(seed=0)
    assert env.diagnostics()["reset_sampling_exhausted"]["env_ids"] == [0, 1, 2]
    env.close()


# -- non-finite values from the task (issue 14, item 5) ------------------------------
@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nonfinite_reward_is_a_divergence_of_that_env(mode, value):
    from mjvec.envs.half_cheetah import HalfCheetah

    class BadReward(HalfCheetah):
        calls = 0

        def evaluate(self, xp, data, action, before):
            reward, terminated, info = super().evaluate(xp, data, action, before)
            BadReward.calls += 1
            if BadReward.calls == 3:
                reward = np.where(np.arange(reward.shape[0]) == 1, value, reward)
            return reward, terminated, info

    env = mjvec.make(BadReward(), N, autoreset_mode=mode, max_episode_steps=50)
    clean = mjvec.make(ENV, N, autoreset_mode=mode, max_episode_steps=50)
    previous, _ = env.reset(seed=0)
    clean.reset(seed=0)
    for t, a in enumerate(_actions(3)):
        if t:
            previous = obs
        obs, reward, terminated, truncated, info = env.step(a)
        ref = clean.step(a)
        assert np.isfinite(reward).all() and np.isfinite(obs).all()
    np.testing.assert_array_equal(reward, np.where(np.arange(N) == 1, 0.0, ref[1]))
    assert truncated.tolist() == [False, True, False, False] and not terminated.any()
    assert info["_diverged"].tolist() == [False, True, False, False]
    assert not info["_reward_forward"][1]
    # as any divergence: the episode ends at its last finite observation, the previous step's
    np.testing.assert_array_equal(info["final_obs"][1] if mode == "same_step" else obs[1], previous[1])
    diagnostics = env.diagnostics()
    assert diagnostics["nonfinite_reward"] == {"count": 1, "env_ids": [1]}
    assert diagnostics["diverged"] == {"count": 1, "env_ids": [1]}
    assert "nonfinite_observation" not in diagnostics
    env.close(), clean.close()


def _nan_at_reset(calls_before_nan):
    """HalfCheetah whose reset state of env 2 is NaN from the ``calls_before_nan``-th reset on."""
    calls = []
    from mjvec.envs.half_cheetah import HalfCheetah

    class NanReset(HalfCheetah):
        def reset_state(self, xp, rng, init_qpos, init_qvel):
            qpos, qvel = super().reset_state(xp, rng, init_qpos, init_qvel)
            calls.append(qpos.shape[0])
            if len(calls) >= calls_before_nan:  # every env is reset at once in these tests
                qvel = np.where((np.arange(N) == 2)[:, None], np.nan, qvel)
            return qpos, qvel

    return NanReset()


def test_nonfinite_observation_after_reset_raises_naming_the_task_function():
    env = mjvec.make(_nan_at_reset(1), N)
    with pytest.raises(RuntimeError, match=r"NanReset: the observation after resetting environments \[2\] is not"
                       r" finite .*`NanReset.reset_state`.*`NanReset.observe`"):
        env.reset(seed=0)
    assert env.diagnostics()["nonfinite_reset_observation"] == {"count": 1, "env_ids": [2]}
    # the env's last observation is never the non-finite one
    assert np.isfinite(env._backend._episodes.last_obs).all()
    env.close()


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_nonfinite_observation_after_an_autoreset_raises_and_is_never_returned(mode):
    env = mjvec.make(_nan_at_reset(2), N, autoreset_mode=mode, max_episode_steps=2)
    env.reset(seed=0)
    outs = []
    with pytest.raises(RuntimeError, match=r"after resetting environments \[2\] is not finite"):
        for a in _actions(4):
            outs.append(env.step(a))
    assert len(outs) == (1 if mode == "same_step" else 2)  # the step that autoresets raises
    assert np.isfinite(env._backend._episodes.last_obs).all()
    assert env.diagnostics()["nonfinite_reset_observation"] == {"count": 1, "env_ids": [2]}
    env.close()


# -- a call interrupted midway (issue 14, item 13) -------------------------------------------
def _interrupting(at_step=None, at_reset=None):
    """HalfCheetah that raises KeyboardInterrupt in its ``at_step``-th evaluate (after the simulations
    advanced) or its ``at_reset``-th reset, as Ctrl-C landing there would."""
    from mjvec.envs.half_cheetah import HalfCheetah

    class Interrupting(HalfCheetah):
        steps = resets = 0

        def evaluate(self, xp, data, action, before):
            Interrupting.steps += 1
            if Interrupting.steps == at_step:
                raise KeyboardInterrupt
            return super().evaluate(xp, data, action, before)

        def reset_state(self, xp, rng, init_qpos, init_qvel):
            Interrupting.resets += 1
            if Interrupting.resets == at_reset:
                raise KeyboardInterrupt
            return super().reset_state(xp, rng, init_qpos, init_qvel)

    return Interrupting()


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_an_interrupted_step_makes_the_env_ask_for_a_reset_and_reset_makes_it_whole(mode):
    env = mjvec.make(_interrupting(at_step=3), N, autoreset_mode=mode)
    clean = mjvec.make(ENV, N, autoreset_mode=mode)
    env.reset(seed=0)
    for a in _actions(2):
        env.step(a)
    with pytest.raises(KeyboardInterrupt):
        env.step(_actions(1)[0])
    message = r"the previous `step\(\)` did not finish \(KeyboardInterrupt\): the simulations may have advanced"
    with pytest.raises(RuntimeError, match=message + r".*call `env.reset\(\)` first"):
        env.step(_actions(1)[0])
    with pytest.raises(RuntimeError, match=r"`options\['reset_mask'\]` cannot be used now: the previous `step\(\)`"):
        env.reset(options={"reset_mask": np.ones(N, bool)})
    # a full reset makes it whole: the same numbers as an env that was never interrupted
    for e in (env, clean):
        e.reset(seed=7)
    for a in _actions(4, seed=2):
        for x, y in zip(env.step(a)[:4], clean.step(a)[:4]):
            np.testing.assert_array_equal(x, y)
    env.close(), clean.close()


def test_an_interrupted_reset_asks_for_another():
    env = mjvec.make(_interrupting(at_reset=2), N)
    env.reset(seed=0)
    with pytest.raises(KeyboardInterrupt):
        env.reset(seed=1)
    with pytest.raises(RuntimeError, match=r"the previous `reset\(\)` did not finish \(KeyboardInterrupt\)"):
        env.step(_actions(1)[0])
    env.reset(seed=1)
    env.step(_actions(1)[0])
    env.close()


def test_refused_actions_leave_the_env_usable():
    env = mjvec.make(ENV, N)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="`actions` must have shape"):
        env.step(np.zeros((N, 5), np.float32))
    env.step(_actions(1)[0])  # nothing ran: no reset needed
    env.close()


_SLIDER = """
<mujoco>
  <worldbody>
    <body name="cart"><joint name="slide" type="slide" axis="1 0 0"/><geom size="0.1" mass="1"/></body>
  </worldbody>
  <actuator><motor joint="slide" gear="10"/></actuator>
  <sensor><jointpos joint="slide"/></sensor>
</mujoco>
"""


@pytest.mark.parametrize("field", ["qpos", "sensordata"])
def test_observations_are_the_callers_own_never_views_of_the_simulation(field):
    """A custom observe returning a field as is (issue 14, item 1): what the caller gets is a copy."""
    task = mjvec.Task.from_xml(_SLIDER, frame_skip=2, observe=lambda xp, d: getattr(d, field))
    env = mjvec.make(task, 3, autoreset_mode="same_step", max_episode_steps=3)
    first, _ = env.reset(seed=0)
    kept = first.copy()
    push = np.ones((3, 1), np.float32)
    obs, *_ = env.step(push)
    np.testing.assert_array_equal(first, kept)  # an observation kept from one step stays as it was
    state = env.get_state()
    obs -= 100.0  # the caller's array: the simulation does not move
    np.testing.assert_array_equal(env.get_state(), state)
    for _ in range(2):
        obs, _, _, truncated, info = env.step(push)
    assert truncated.all()
    final = np.stack(info["final_obs"])
    assert not np.array_equal(final, obs)  # the terminal observations are not the reset ones
    np.testing.assert_array_equal(obs, np.stack([env.task.observe(np, env._backend.sim.data)[i] for i in range(3)]))
    env.close()
