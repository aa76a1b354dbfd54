"""A property round over what issue 14 found: custom task functions, randomize values, action
containers and the lifecycle. Each generated case either is refused with the documented
exception, naming the argument, before anything is simulated, or runs and returns outputs of
the declared shapes and dtypes, finite, in the spaces.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mjvec

FUZZ = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
N = 3
XML = """
<mujoco>
  <worldbody>
    <geom type="plane" size="5 5 .1"/>
    <body name="cart" pos="0 0 0.2">
      <joint name="x" type="slide" axis="1 0 0"/><joint name="y" type="slide" axis="0 1 0"/>
      <joint name="hinge" type="hinge" axis="0 0 1"/>
      <geom type="box" size="0.2 0.1 0.05" mass="1"/>
    </body>
  </worldbody>
  <actuator><motor joint="x" ctrlrange="-1 1"/><motor joint="y" ctrlrange="-1 1"/></actuator>
  <sensor><framepos objtype="body" objname="cart"/></sensor>
</mujoco>
"""


def _check_step(env, out):
    obs, reward, terminated, truncated, info = out
    assert env.observation_space.contains(obs) and np.isfinite(obs).all()
    assert reward.shape == (env.num_envs,) and reward.dtype == np.float64 and np.isfinite(reward).all()
    assert terminated.shape == truncated.shape == (env.num_envs,)
    assert terminated.dtype == truncated.dtype == np.bool_


# -- custom task functions ------------------------------------------------------------------
# right and wrong ways to write each function over batched fields (nq = 3 = N: shapes can match by accident)
OBSERVE = {
    "qpos": lambda xp, d: d.qpos,
    "qpos, sensordata": lambda xp, d: xp.concatenate([d.qpos, d.sensordata], axis=-1),
    "float32": lambda xp, d: d.qpos.astype(np.float32),
    "bool": lambda xp, d: d.qpos > 0,
    "one column": lambda xp, d: d.qpos[:, :1],
    "(n,)": lambda xp, d: d.qpos[:, 0],
    "env axis mixed": lambda xp, d: d.qpos - d.qpos.mean(axis=0),
    "transposed": lambda xp, d: d.qpos.T,
    "scalar": lambda xp, d: xp.sum(d.qpos),
}
REWARD = {
    None: None,
    "x": lambda xp, d, a: d.qpos[:, 0],
    "ctrl cost": lambda xp, d, a: -xp.sum(xp.square(a), axis=-1),
    "with info": lambda xp, d, a: (d.qpos[:, 0], {"x": d.qpos[:, 0], "xy": d.qpos[:, :2]}),
    "int": lambda xp, d, a: (d.qpos[:, 0] > 0).astype(int),
    "d.qpos[0]": lambda xp, d, a: d.qpos[0],
    "sum over envs": lambda xp, d, a: xp.sum(d.qvel) + 0 * d.qpos[:, 0],
    "(n, 1)": lambda xp, d, a: d.qpos[:, :1],
    "scalar info": lambda xp, d, a: (d.qpos[:, 0], {"k": 1.0}),
    "list info": lambda xp, d, a: (d.qpos[:, 0], [1.0]),
}
TERMINATED = {
    None: None,
    "far": lambda xp, d: xp.abs(d.qpos[:, 0]) > 0.5,
    "d.qpos[0] > 0": lambda xp, d: d.qpos[0] > 0,
    "any env": lambda xp, d: xp.zeros(d.qpos.shape[0], bool) | xp.any(d.qpos[:, 0] > 0.1),
    "float": lambda xp, d: d.qpos[:, 0],
}


@settings(FUZZ, max_examples=300)
@given(observe=st.sampled_from(sorted(OBSERVE)), reward=st.sampled_from(list(REWARD)),
       terminated=st.sampled_from(list(TERMINATED)), noise=st.sampled_from([0.0, 0.1]),
       mode=st.sampled_from(["next_step", "same_step"]), seed=st.integers(0, 99))
def test_fuzz_custom_task_functions(observe, reward, terminated, noise, mode, seed):
    kwargs = {"observe": OBSERVE[observe], "reward": REWARD[reward], "terminated": TERMINATED[terminated],
              "reset_noise_scale": noise}
    try:
        task = mjvec.Task.from_xml(XML, **kwargs)
    except (TypeError, ValueError) as e:
        assert any(f"`{fn}`" in str(e) for fn in ("observe", "reward", "terminated")), str(e)
        return
    env = mjvec.make(task, N, nthread=1, autoreset_mode=mode, max_episode_steps=4)
    obs, _ = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    actions = np.random.default_rng(seed).uniform(-1, 1, (6, N, 2)).astype(np.float32)
    for a in actions:
        _check_step(env, env.step(a))
    env.close()


# -- randomize values -----------------------------------------------------------------------
FIELDS = ["body_mass", "geom_friction", "dof_damping", "opt.timestep", "opt.gravity", "actuator_gear",
          "geom_size", "body_ipos", "sensor_cutoff", "bodymass", "opt.timestp"]
number = st.floats(-3, 3, allow_nan=False, width=32)


@st.composite
def distributions(draw):
    kind = draw(st.sampled_from(["uniform", "loguniform", "normal", "junk"]))
    mode = draw(st.sampled_from(["scale", "add", "set", "multiply"]))
    a, b = draw(number), draw(number)
    return kind, mode, a, b


@settings(FUZZ, max_examples=400)
@given(field=st.sampled_from(FIELDS), dist=distributions(), seed=st.integers(0, 99))
def test_fuzz_randomize_values(field, dist, seed):
    kind, mode, a, b = dist
    try:
        distribution = {
            "uniform": lambda: mjvec.Uniform(a, b, mode=mode),
            "loguniform": lambda: mjvec.LogUniform(a, b, mode=mode),
            "normal": lambda: mjvec.Normal(a, b, mode=mode),
            "junk": lambda: (a, b),
        }[kind]()
        env = mjvec.make("HalfCheetah-v5", N, nthread=1, randomize={field: distribution})
    except (TypeError, ValueError) as e:
        assert any(w in str(e) for w in ("`randomize", "`mode`", "Uniform", "LogUniform", "Normal", "`randomize`")), e
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MuJoCo's own warnings of a wild but valid draw go to logging
        env.reset(seed=seed)
        for i in range(N):  # what refuses nothing keeps masses and timesteps physical
            model = env.get_model(i)
            assert (model.body_mass[1:] > 0).all() and model.opt.timestep > 0
        for a in np.random.default_rng(seed).uniform(-1, 1, (3, N, 6)).astype(np.float32):
            _check_step(env, env.step(a))
    env.close()


# -- action containers ----------------------------------------------------------------------
def _state(env):
    """The CPU simulations' positions, velocities and controls (test-only)."""
    d = env._backend.sim.data
    return np.concatenate([d.qpos, d.qvel, env._backend.sim._ctrl], axis=1).copy()


def _containers():
    import torch

    good = np.random.default_rng(0).uniform(-1, 1, (N, 6)).astype(np.float32)
    return {
        "float32": good, "float64": good.astype(np.float64), "float16": good.astype(np.float16),
        "int": np.ones((N, 6), np.int64), "list": good.tolist(), "tuple": tuple(map(tuple, good.tolist())),
        "matrix": np.matrix(good), "masked, nothing masked": np.ma.masked_array(good),
        "masked nan": np.ma.masked_array(np.where(good > 0.9, np.nan, good), mask=good > 0.9),
        "torch": torch.from_numpy(good), "torch bf16": torch.from_numpy(good).to(torch.bfloat16),
        "torch grad": torch.from_numpy(good.copy()).requires_grad_(),
        "torch complex": torch.zeros(N, 6, dtype=torch.complex64), "bool": good > 0, "complex": good + 0j,
        "object": np.array(good, dtype=object), "str": "zeros", "none": None, "ragged": [[0.0] * 6, [0.0] * 5, []],
        "transposed": good.T, "one env": good[:1], "flat": good.ravel(), "nan": np.full((N, 6), np.nan),
        "inf": np.full((N, 6), -np.inf), "huge": np.full((N, 6), 1e300), "dict": {"a": good},
    }


with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "the matrix subclass", PendingDeprecationWarning)
    CONTAINERS = sorted(_containers())


@settings(FUZZ, max_examples=300)
@given(name=st.sampled_from(CONTAINERS), mode=st.sampled_from(["next_step", "same_step", "disabled"]))
def test_fuzz_action_containers(name, mode):
    env = mjvec.make("HalfCheetah-v5", N, nthread=1, autoreset_mode=mode)
    env.reset(seed=0)
    before = _state(env)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "the matrix subclass", PendingDeprecationWarning)
        warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)  # 1e300 squared: a divergence
        actions = _containers()[name]
        try:
            out = env.step(actions)
        except (TypeError, ValueError) as e:
            assert "`actions`" in str(e), str(e)
            np.testing.assert_array_equal(_state(env), before)  # refused before anything ran
            env.step(np.zeros((N, 6), np.float32))  # and the env is still usable
        else:
            obs, reward, *_ = out
            assert obs.shape == (N, 17) and reward.shape == (N,) and np.isfinite(obs).all()
    env.close()


# -- the lifecycle --------------------------------------------------------------------------
OPS = ["reset", "reset seeded", "reset mask", "step", "bad step", "diagnostics", "close", "get_model"]


@settings(FUZZ, max_examples=150)
@given(ops=st.lists(st.sampled_from(OPS), min_size=1, max_size=12),
       mode=st.sampled_from(["next_step", "same_step", "disabled"]))
def test_fuzz_lifecycle(ops, mode):
    env = mjvec.make("Hopper-v5", N, nthread=1, autoreset_mode=mode, max_episode_steps=3)
    reset, closed, ended = False, False, np.zeros(N, bool)
    rng = np.random.default_rng(0)
    for op in ops:
        try:
            if op == "reset":
                env.reset()
            elif op == "reset seeded":
                env.reset(seed=int(rng.integers(100)))
            elif op == "reset mask":
                env.reset(options={"reset_mask": np.arange(N) != 1})
            elif op in ("step", "bad step"):
                a = rng.uniform(-1, 1, (N, 3)).astype(np.float32)
                out = env.step(a if op == "step" else a[:, :2])
                _check_step(env, out)
                if mode == "disabled":
                    ended |= out[2] | out[3]
            elif op == "diagnostics":
                assert isinstance(env.diagnostics(), dict)
            elif op == "close":
                env.close()
            else:
                assert env.get_model(int(rng.integers(N))).nq == 6
        except RuntimeError as e:
            # the documented refusals: closed, not reset yet, a reset_mask first, ended envs in DISABLED
            assert closed or not reset or (op == "step" and mode == "disabled" and ended.any()), (op, str(e))
            continue
        except ValueError as e:
            assert op == "bad step" and "`actions`" in str(e), (op, str(e))
            continue
        assert not (closed and op in ("reset", "reset seeded", "reset mask", "step", "bad step")), op
        if op in ("reset", "reset seeded"):
            reset, ended = True, np.zeros(N, bool)
        elif op == "reset mask":
            ended &= np.arange(N) == 1
        elif op == "close":
            closed = True
    env.close()
