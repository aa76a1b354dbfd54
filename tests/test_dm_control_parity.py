"""The Control Suite against dm_control itself: same state, same actions, same numbers.

dm_control 1.0.50 imports under MuJoCo 3.17, not 4.0, so these tests run in the
environment `.ci/run` makes for them (`.venv-dmc`: mujoco 3.17, dm-control 1.0.50) and
skip elsewhere, saying why. Each task starts from dm_control's own reset states (copied
in with `reset(options={"state": ...})`) and is stepped with the same actions; reward,
discount and every observation key are compared at every step, bit for bit unless
`TOLERANCES` gives a bound on the reward and its reason (docs/dm_control.md has the same table).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import types

import mujoco
import numpy as np
import pytest


def _dm_control_unusable() -> str | None:
    """Why dm_control cannot load a suite task here, or None. Probed in a child process: importing
    dm_control picks a GL platform and (under MuJoCo 4.0) fails only when a model is loaded, and
    neither may touch this process, whose other tests draw with their own GL platform."""
    probe = "from dm_control import suite; suite.load('cartpole', 'swingup')"
    env = {**os.environ, "MUJOCO_GL": "disable"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    if out.returncode == 0:
        return None
    lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {out.returncode}"


_WHY = _dm_control_unusable()
if _WHY is not None:  # under MuJoCo 4.0: AttributeError: 'MjModel' object has no attribute 'flex_vertedge'
    pytest.skip(
        f"dm_control cannot load its tasks here ({_WHY}); the parity tests run in .venv-dmc"
        " (mujoco 3.17 + dm-control 1.0.50, see .ci/run)",
        allow_module_level=True,
    )
os.environ.setdefault("MUJOCO_GL", "disable")  # dm_control picks a GL platform on import; none is needed here

from dm_control import suite  # noqa: E402
from dm_control.utils import rewards as dm_rewards  # noqa: E402

import mjvec  # noqa: E402
from mjvec.envs.dm_control import SUITE  # noqa: E402
from mjvec.envs.dm_control import rewards  # noqa: E402

# dm_control calls `tolerance` on a NumPy scalar here, and `np.float64 ** 2` is C's pow(), which
# differs from the square (x * x) that `**2` of an array computes in about 1 of 1,000 values by one
# ulp; the physics and observations stay bit for bit, so the difference never accumulates
_SCALAR_SQUARE = ("reward: a sigmoid squaring a per-env scalar, pow(x, 2) vs x * x: 1 ulp in the square, a relative"
                  " a * 2.2e-16 after exp(-a), below 2e-13 for any a exp does not underflow at")
#: per-task relative bounds on the reward where its computation is not the same as dm_control's:
#: {id: (rtol, reason)}; observations, discounts and terminations are always compared bit for bit
TOLERANCES: dict[str, tuple[float, str]] = {
    "CartpoleBalance-v0": (2e-13, _SCALAR_SQUARE),
    "CartpoleSwingup-v0": (2e-13, _SCALAR_SQUARE),
    "CartpoleTwoPoles-v0": (2e-13, _SCALAR_SQUARE),
    "CartpoleThreePoles-v0": (2e-13, _SCALAR_SQUARE),
    "WalkerStand-v0": (2e-13, _SCALAR_SQUARE),
    "WalkerWalk-v0": (2e-13, _SCALAR_SQUARE),
    "WalkerRun-v0": (2e-13, _SCALAR_SQUARE),
    "AcrobotSwingup-v0": (2e-13, _SCALAR_SQUARE),
    "PointMassEasy-v0": (2e-13, _SCALAR_SQUARE),
    "FishUpright-v0": (2e-13, _SCALAR_SQUARE),
    "FishSwim-v0": (2e-13, _SCALAR_SQUARE),
    "SwimmerSwimmer6-v0": (2e-13, _SCALAR_SQUARE),
    "SwimmerSwimmer15-v0": (2e-13, _SCALAR_SQUARE),
    "HumanoidStand-v0": (2e-13, _SCALAR_SQUARE),
    "HumanoidWalk-v0": (2e-13, _SCALAR_SQUARE),
    "HumanoidRun-v0": (2e-13, _SCALAR_SQUARE),
    "HumanoidRunPureState-v0": (2e-13, _SCALAR_SQUARE),
    "HumanoidCMUStand-v0": (2e-13, _SCALAR_SQUARE),
    "HumanoidCMUWalk-v0": (2e-13, _SCALAR_SQUARE),
    "HumanoidCMURun-v0": (2e-13, _SCALAR_SQUARE),
    "StackerStack2-v0": (2e-13, _SCALAR_SQUARE),
    "StackerStack4-v0": (2e-13, _SCALAR_SQUARE),
    "ManipulatorBringBall-v0": (2e-13, _SCALAR_SQUARE),
    "ManipulatorBringPeg-v0": (2e-13, _SCALAR_SQUARE),
    "ManipulatorInsertBall-v0": (2e-13, _SCALAR_SQUARE),
    "ManipulatorInsertPeg-v0": (2e-13, _SCALAR_SQUARE),
    "PointMassHard-v0": (2e-13, _SCALAR_SQUARE),
    **{f"Dog{t}-v0": (2e-13, _SCALAR_SQUARE) for t in ("Stand", "Walk", "Trot", "Run", "Fetch")},
}

IDS = [row[0] for row in SUITE]
_REF = {row[0]: row[3] for row in SUITE}


def test_every_task_of_dm_controls_suite_has_one_id():
    refs = [tuple(ref) for ref in _REF.values()]
    assert len(set(refs)) == len(refs)
    assert sorted(refs) == sorted(suite.ALL_TASKS)


def _dm_state(physics) -> np.ndarray:
    model, data = physics.model.ptr, physics.data.ptr
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    out = np.empty(mujoco.mj_stateSize(model, spec))
    mujoco.mj_getState(model, data, out, spec)
    return out


def _compare(ours, theirs, where: str, rtol: float = 0.0) -> None:
    if rtol == 0:
        np.testing.assert_array_equal(ours, theirs, err_msg=where, strict=True)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=0, err_msg=where, strict=True)


#: tasks whose model dm_control draws from the task's seed (lqr's stiffnesses), which ours draws from
#: `model_seed` (default 0): their references all use seed 0, reset 1, 2, 3... times for other states
SEEDED_MODELS = ("LqrLqr21-v0", "LqrLqr62-v0")


class _NoGL:
    """A stand-in for a dm_control physics' rendering contexts. quadruped/escape uploads each episode's
    terrain to them (``mjr_uploadHField``), making them on first use, which MUJOCO_GL=disable cannot:
    here that upload does nothing (nothing is drawn), and everything simulated is untouched."""

    class _Call:
        def call(self, *args):
            return None

    def __init__(self):
        self.gl = types.SimpleNamespace(make_current=self._current, free=lambda: None)
        self.mujoco = types.SimpleNamespace(ptr=None, free=lambda: None)

    @contextlib.contextmanager
    def _current(self):
        yield self._Call()


def _load(domain: str, task: str, **kwargs):
    env = suite.load(domain, task, **kwargs)
    if (domain, task) == ("quadruped", "escape"):
        env.physics._contexts = _NoGL()
    return env


def _references(env_id: str, num_envs: int):
    domain, task = _REF[env_id]
    if env_id not in SEEDED_MODELS:
        return [_load(domain, task, task_kwargs={"random": seed}) for seed in range(num_envs)]
    refs = [_load(domain, task, task_kwargs={"random": 0}) for _ in range(num_envs)]
    for i, ref in enumerate(refs):
        for _ in range(i):
            ref.reset()
    return refs


def _finite(spec):
    """The action bounds, [-1, 1] where dm_control's are unlimited (lqr's motors: +-1e10, mjMAXVAL)."""
    unlimited = np.abs(spec.minimum) >= 1e10, np.abs(spec.maximum) >= 1e10
    return np.where(unlimited[0], -1.0, spec.minimum), np.where(unlimited[1], 1.0, spec.maximum)


def _copy_model_values(env, env_id: str, refs) -> bool:
    """The model values dm_control drew at its reset (reacher's target, escape's terrain) written into
    each env's own (test-only: a state holds none), as the env's reset writes its draws; whether there
    were any, after which the caller resets to the states again (a reset to given states draws none)."""
    fields = mjvec.make_task(env_id).reset_model_fields
    if fields:
        values = {f: np.stack([getattr(ref.physics.model, f) for ref in refs]) for f in fields}
        env._backend.sim.set_params(np.ones(env.num_envs, dtype=bool), values)
    return bool(fields)


@pytest.mark.parametrize("env_id", IDS)
def test_steps_equal_dm_control_from_its_reset_states(env_id):
    num_envs, steps = 3, 200
    domain, task = _REF[env_id]
    rtol = TOLERANCES.get(env_id, (0.0, ""))[0]
    refs = _references(env_id, num_envs)
    first = [ref.reset() for ref in refs]
    env = mjvec.make(env_id, num_envs)
    try:
        states = np.stack([_dm_state(ref.physics) for ref in refs])
        obs, info = env.reset(seed=0, options={"state": states})
        if _copy_model_values(env, env_id, refs):
            obs, info = env.reset(options={"state": states})
        assert list(obs) == list(first[0].observation), "observation keys in dm_control's order"
        for key in obs:
            _compare(obs[key], np.stack([ts.observation[key] for ts in first]), f"reset {key}")
        spec = refs[0].action_spec()
        rng = np.random.default_rng(0)
        for t in range(steps):
            # float32 values, exactly the float64 dm_control is given
            action = rng.uniform(*_finite(spec), (num_envs, *spec.shape)).astype(np.float32)
            obs, reward, terminated, truncated, info = env.step(action)
            out = [ref.step(action[i].astype(np.float64)) for i, ref in enumerate(refs)]
            _compare(reward, np.array([ts.reward for ts in out]), f"step {t} reward", rtol)
            np.testing.assert_array_equal(info["discount"], [ts.discount for ts in out], err_msg=f"step {t}")
            np.testing.assert_array_equal(terminated, [ts.last() and ts.discount == 0 for ts in out])
            for key in obs:
                _compare(obs[key], np.stack([ts.observation[key] for ts in out]), f"step {t} {key}")
    finally:
        env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_the_episode_is_dm_controls_length_and_flat_observation_its_order(env_id):
    domain, task = _REF[env_id]
    ref = _load(domain, task, task_kwargs={"random": 0}, environment_kwargs={"flat_observation": True})
    ts = ref.reset()
    env = mjvec.make(env_id, 1, flat_observation=True)
    try:
        obs, _ = env.reset(seed=0, options={"state": _dm_state(ref.physics)[None]})
        if _copy_model_values(env, env_id, [ref]):  # as above
            obs, _ = env.reset(options={"state": _dm_state(ref.physics)[None]})
        np.testing.assert_array_equal(obs[0], ts.observation["observations"])
        steps = 0
        zero = np.zeros((1, *ref.action_spec().shape), np.float32)
        if env.max_episode_steps is None:  # dm_control's time limit is infinite (lqr): neither ends
            for _ in range(1100):
                ts = ref.step(zero[0].astype(np.float64))
                obs, _, terminated, truncated, _ = env.step(zero)
                assert not ts.last() and not terminated[0] and not truncated[0]
            np.testing.assert_array_equal(obs[0], ts.observation["observations"])
            return
        while not ts.last():
            ts = ref.step(zero[0].astype(np.float64))
            obs, _, terminated, truncated, _ = env.step(zero)
            steps += 1
            assert bool(truncated[0]) == (ts.last() and ts.discount == 1.0)
        np.testing.assert_array_equal(obs[0], ts.observation["observations"])
        assert steps == env.max_episode_steps and bool(truncated[0])
    finally:
        env.close()


#: tasks whose model dm_control generates in Python, which ours builds from its file with MjSpec
GENERATED = ("CartpoleTwoPoles-v0", "CartpoleThreePoles-v0", "SwimmerSwimmer6-v0", "SwimmerSwimmer15-v0", "ManipulatorBringBall-v0", "ManipulatorBringPeg-v0",
             "ManipulatorInsertBall-v0", "ManipulatorInsertPeg-v0", "QuadrupedWalk-v0", "QuadrupedRun-v0",
             "QuadrupedFetch-v0", "QuadrupedEscape-v0", "StackerStack2-v0", "StackerStack4-v0", "LqrLqr21-v0", "LqrLqr62-v0",
             "DogStand-v0", "DogWalk-v0", "DogTrot-v0", "DogRun-v0", "DogFetch-v0")
#: where in `paths` each asset file's name is: ours are the absolute paths MjSpec.from_file read the
#: files from (dog's meshes, skin and textures in the package's dog_assets/), dm_control's the relative
#: names it gave with the files' contents; only the names differ, not what was read
_ASSET_PATHS = ("mesh_pathadr", "skin_pathadr", "tex_pathadr", "hfield_pathadr")


@pytest.mark.parametrize("env_id", GENERATED)
def test_generated_models_equal_dm_controls_array_for_array(env_id):
    domain, task = _REF[env_id]
    theirs = suite.load(domain, task, task_kwargs={"random": 0}).physics.model.ptr
    ours = mjvec.make_task(env_id).model
    compared = 0
    for name in dir(theirs):
        value = getattr(theirs, name, None)
        if name.startswith("_") or not isinstance(value, np.ndarray) or name in _ASSET_PATHS:
            continue
        np.testing.assert_array_equal(getattr(ours, name), value, err_msg=name, strict=True)
        compared += 1
    assert compared > 100 and ours.opt.timestep == theirs.opt.timestep


_X = np.concatenate([np.linspace(-4, 4, 81), [-np.inf, np.inf, 0.25, -0.25, 1.0, -1.0]])


@pytest.mark.parametrize("sigmoid", rewards.SIGMOIDS)
@pytest.mark.parametrize("value_at_margin", [0.0, 0.1, 0.5, 0.95])
@pytest.mark.parametrize("bounds,margin", [((0.0, 0.0), 1.0), ((-0.25, 0.5), 2.0), ((-1.0, 1.0), 0.0),
                                           ((0.5, np.inf), 0.3)])
def test_tolerance_equals_dm_controls(sigmoid, value_at_margin, bounds, margin):
    kwargs = dict(bounds=bounds, margin=margin, sigmoid=sigmoid, value_at_margin=value_at_margin)
    try:
        with np.errstate(invalid="ignore"):
            expected = dm_rewards.tolerance(_X, **kwargs)
    except ValueError:
        with pytest.raises(ValueError):
            rewards.tolerance(np, _X, **kwargs)
        return
    with np.errstate(invalid="ignore"):  # inf - inf where a bound is infinite, as in dm_control
        ours = rewards.tolerance(np, _X, **kwargs)
    np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("env_id", ["CheetahRun-v0", "WalkerWalk-v0", "ReacherEasy-v0"])
def test_action_repeat_is_drq_v2s_repeat_of_dm_control(env_id):
    """DrQ-v2's ActionRepeatWrapper over dm_control: the action held for 2 control steps, the
    rewards summed (times the discount, 1 here), the observation of the last."""
    domain, task = _REF[env_id]
    ref = _load(domain, task, task_kwargs={"random": 3})
    ref.reset()
    env = mjvec.make(env_id, 1, action_repeat=2)
    try:
        assert env.max_episode_steps == 500
        state = _dm_state(ref.physics)[None]
        env.reset(seed=0, options={"state": state})
        if _copy_model_values(env, env_id, [ref]):
            env.reset(options={"state": state})
        spec = ref.action_spec()
        rng = np.random.default_rng(1)
        for t in range(50):
            action = rng.uniform(spec.minimum, spec.maximum, (1, *spec.shape)).astype(np.float32)
            obs, reward, *_ = env.step(action)
            total, discount = 0.0, 1.0
            for _ in range(2):
                ts = ref.step(action[0].astype(np.float64))
                total += (ts.reward or 0.0) * discount
                discount *= ts.discount
            _compare(reward, np.array([total]), f"step {t} reward", TOLERANCES.get(env_id, (0.0, ""))[0])
            for key in obs:
                _compare(obs[key][0], ts.observation[key], f"step {t} {key}")
    finally:
        env.close()


@pytest.mark.parametrize("seed", [0, 1])
def test_escapes_terrain_and_reset_height_are_dm_controls_from_the_same_draws(seed):
    """dm_control's escape draws, from its task's RandomState, the bumps (30 x 30) and then the
    orientation; from those same numbers our terrain (SciPy's zoom, times the bowl) is its
    ``hfield_data`` and our contact-free height search on that terrain its reset ``qpos``."""
    from mjvec.envs.dm_control.scratch import Scratch

    ref = _load("quadruped", "escape", task_kwargs={"random": seed})
    ref.reset()
    task = mjvec.make_task("QuadrupedEscape-v0")
    draws = np.random.RandomState(seed)
    bumps = draws.uniform(0.15, 1, (task._bump_res, task._bump_res))
    orientation = draws.randn(4)
    orientation /= np.linalg.norm(orientation)
    scratch = Scratch(task.model)
    scratch.model.hfield_data[:] = task.terrain(bumps).ravel()
    np.testing.assert_array_equal(scratch.model.hfield_data, ref.physics.model.hfield_data, strict=True)
    assert np.ptp(scratch.model.hfield_data) > 0.5, "a terrain of bumps, not a flat one"
    qpos = task._contact_free(scratch, orientation, (0.0, 0.0))
    np.testing.assert_array_equal(qpos, ref.physics.data.qpos, strict=True)
