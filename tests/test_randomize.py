"""Per-env model parameters: drawn per env, in bounds, redrawn on reset, seeded, and really simulated."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import mjvec
from mjvec import LogUniform, Normal, Randomization, Uniform

N = 4
NOMINAL = mjvec.make_task("HalfCheetah-v5").model
RANDOMIZE = {
    "body_mass": Uniform(0.8, 1.2),
    "geom_friction": Uniform([0.5, 1, 1], [1.5, 1, 1], names=["floor", "bfoot", "ffoot"]),
    "dof_damping": LogUniform(0.5, 2.0),
    "opt.gravity": Normal(0.0, [0.0, 0.0, 0.5], mode="add"),
}


def make(randomize=RANDOMIZE, n=N, **kwargs):
    kwargs.setdefault("max_episode_steps", 5)
    return mjvec.make("HalfCheetah-v5", n, randomize=randomize, **kwargs)


def params(env) -> dict[str, np.ndarray]:
    models = [env.get_model(i) for i in range(env.num_envs)]
    return {
        "body_mass": np.stack([m.body_mass for m in models]),
        "body_inertia": np.stack([m.body_inertia for m in models]),
        "geom_friction": np.stack([m.geom_friction for m in models]),
        "dof_damping": np.stack([m.dof_damping for m in models]),
        "gravity": np.stack([m.opt.gravity for m in models]),
        "subtreemass": np.stack([m.body_subtreemass for m in models]),
    }


def test_fields_differ_across_envs_and_stay_in_bounds():
    env = make()
    env.reset(seed=0)
    p = params(env)
    for key in ("body_mass", "dof_damping", "gravity"):
        assert len({row.tobytes() for row in p[key]}) == N, key
    ratio = p["body_mass"][:, 1:] / NOMINAL.body_mass[1:]
    assert ((ratio >= 0.8) & (ratio < 1.2)).all()
    damping = p["dof_damping"][:, 3:] / NOMINAL.dof_damping[3:]  # the root dofs are undamped
    assert ((damping >= 0.5) & (damping < 2.0)).all()
    # only the named geoms' sliding friction varies
    names = [mujoco.mj_id2name(NOMINAL, mujoco.mjtObj.mjOBJ_GEOM, g) for g in range(NOMINAL.ngeom)]
    chosen = np.isin(names, ["floor", "bfoot", "ffoot"])
    np.testing.assert_array_equal(p["geom_friction"][:, ~chosen], np.broadcast_to(NOMINAL.geom_friction[~chosen], (N, (~chosen).sum(), 3)))
    np.testing.assert_array_equal(p["geom_friction"][:, chosen, 1:], np.broadcast_to(NOMINAL.geom_friction[chosen, 1:], (N, 3, 2)))
    assert len({row.tobytes() for row in p["geom_friction"][:, chosen, 0]}) == N
    np.testing.assert_array_equal(p["gravity"][:, :2], 0.0)


def test_physically_consistent():
    env = make()
    env.reset(seed=1)
    p = params(env)
    # inertia scales with mass; the derived constants follow (mj_setConst)
    ratio = p["body_mass"][:, 1:] / NOMINAL.body_mass[1:]
    np.testing.assert_allclose(p["body_inertia"][:, 1:], NOMINAL.body_inertia[1:] * ratio[..., None], rtol=1e-12)
    np.testing.assert_allclose(p["subtreemass"][:, 0], p["body_mass"].sum(axis=1), rtol=1e-12)


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_redrawn_on_every_reset(mode):
    env = make(autoreset_mode=mode)
    env.reset(seed=0)
    first = params(env)["body_mass"]
    env.reset()
    second = params(env)["body_mass"]
    assert (first != second).any(axis=1).all()
    for _ in range(6 if mode == "next_step" else 5):  # through the 5-step time limit and the autoreset
        env.step(np.zeros((N, 6), np.float32))
    third = params(env)["body_mass"]
    assert (third != second).any(axis=1).all()


def test_reset_mask_redraws_only_the_masked_envs():
    env = make(autoreset_mode="disabled")
    env.reset(seed=0)
    before = params(env)["body_mass"]
    mask = np.array([True, False, True, False])
    env.reset(options={"reset_mask": mask})
    after = params(env)["body_mass"]
    assert (before[mask] != after[mask]).any(axis=1).all()
    np.testing.assert_array_equal(before[~mask], after[~mask])


def test_same_seed_same_parameters_and_trajectories():
    envs = [make(), make()]
    results = []
    for env in envs:
        obs, _ = env.reset(seed=7)
        rng = np.random.default_rng(0)
        traj = [obs]
        for _ in range(8):
            traj.append(env.step(rng.uniform(-1, 1, (N, 6)).astype(np.float32))[0])
        results.append((params(env), np.stack(traj)))
    for key in results[0][0]:
        np.testing.assert_array_equal(results[0][0][key], results[1][0][key])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    other = make()
    other.reset(seed=8)
    assert (params(other)["body_mass"] != results[0][0]["body_mass"]).any()


def test_once_keeps_parameters_until_reseeded():
    env = make(Randomization({"body_mass": Uniform(0.5, 1.5)}, resample="once"))
    env.reset(seed=3)
    first = params(env)["body_mass"]
    env.reset()
    for _ in range(6):
        env.step(np.zeros((N, 6), np.float32))  # autoresets at the time limit
    np.testing.assert_array_equal(params(env)["body_mass"], first)
    env.reset(seed=4)
    assert (params(env)["body_mass"] != first).any(axis=1).all()
    env.reset(seed=3)
    np.testing.assert_array_equal(params(env)["body_mass"], first)


def test_trajectory_equals_a_loop_on_get_model():
    env = make(max_episode_steps=None, reset_noise_scale=0.0, exclude_current_positions_from_observation=False)
    obs, _ = env.reset(seed=5)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (20, N, 6)).astype(np.float32)
    steps = [env.step(a)[0] for a in actions]
    for i in range(N):
        model = env.get_model(i)
        d = mujoco.MjData(model)
        mujoco.mj_forward(model, d)
        np.testing.assert_array_equal(obs[i], np.concatenate((d.qpos, d.qvel)))
        for a, o in zip(actions, steps):
            d.ctrl[:] = a[i]
            for _ in range(5):
                mujoco.mj_step(model, d)
            np.testing.assert_array_equal(o[i], np.concatenate((d.qpos, d.qvel)))
    # the parameters matter: the envs' trajectories from the same start differ
    assert len({s.tobytes() for s in steps[-1]}) == N


def test_without_randomize_the_stream_is_untouched():
    plain, randomized = mjvec.make("HalfCheetah-v5", 2), make(n=2)
    a, _ = plain.reset(seed=0)
    b, _ = randomized.reset(seed=0)
    assert not np.array_equal(a, b)  # parameters are drawn first, from the same stream
    np.testing.assert_array_equal(plain.get_model(0).body_mass, NOMINAL.body_mass)


@pytest.mark.parametrize(
    "randomize, error, message",
    [
        ({"body_mas": Uniform(0.8, 1.2)}, ValueError, "'body_mas'.*did you mean 'body_mass'"),
        ({"geom_type": Uniform(0, 1)}, ValueError, "holds int32 values"),
        ({"body_mass": (0.8, 1.2)}, TypeError, r"`randomize\['body_mass'\]` must be an mjvec.Uniform"),
        ({"geom_friction": Uniform([1, 2], [2, 3])}, ValueError, r"shape \(2,\) do not broadcast to \(\d+, 3\)"),
        ({"geom_friction": Uniform(1, 2, names=["flor"])}, ValueError, "not a geom of the model.*did you mean 'floor'"),
        ({"opt.gravity": Uniform(1, 2, names=["floor"])}, ValueError, "selects rows of per-object fields"),
        ({}, ValueError, "at least one model field"),
        ([("body_mass", Uniform(1, 2))], TypeError, "`randomize` must be a dict"),
    ],
)
def test_bad_randomize(randomize, error, message):
    with pytest.raises(error, match=message):
        make(randomize)


def test_bad_distributions():
    with pytest.raises(ValueError, match="low <= high"):
        Uniform(2, 1)
    with pytest.raises(ValueError, match="low > 0"):
        LogUniform(0, 1)
    with pytest.raises(ValueError, match="std >= 0"):
        Normal(0, -1)
    with pytest.raises(ValueError, match="`mode` must be one of"):
        Uniform(0, 1, mode="mul")
    with pytest.raises(ValueError, match="`resample` must be one of"):
        Randomization({"body_mass": Uniform(1, 2)}, resample="episode")
    with pytest.raises(ValueError, match="must be finite"):
        Uniform(0, np.inf)


# -- structural variants: per-env compiled models -------------------------------------
TOP = """
<mujoco>
  <option timestep="0.002"/>
  <worldbody>
    <geom type="plane" size="2 2 0.1"/>
    <body name="top" pos="0 0 0.1">
      <freejoint/>
      <geom name="ball" type="sphere" size="0.04" pos="0 0 0.01"/>
      <geom name="stem" type="capsule" size="0.005" fromto="0 0 0.03 0 0 0.06"/>
    </body>
  </worldbody>
</mujoco>
"""


def grow(spec: mujoco.MjSpec, i: int) -> None:
    spec.geom("ball").size[0] = 0.03 + 0.005 * i


def top_task():
    return mjvec.Task.from_xml(TOP, frame_skip=5, actions=mjvec.ActionSpec(ctrl=None, xfrc={"top": "torque"}))


def test_variants_are_simulated_per_env():
    env = mjvec.make(top_task(), 3, variants=grow)
    obs, _ = env.reset(seed=0)
    sizes = [env.get_model(i).geom_size[1, 0] for i in range(3)]
    np.testing.assert_allclose(sizes, [0.03, 0.035, 0.04])
    a = np.tile(np.array([0, 0, 0.01], np.float32), (3, 1))
    steps = [env.step(a)[0] for _ in range(20)]
    for i in range(3):
        model = env.get_model(i)
        d = mujoco.MjData(model)
        mujoco.mj_forward(model, d)
        np.testing.assert_array_equal(obs[i], np.concatenate((d.qpos, d.qvel)))
        for o in steps:
            d.xfrc_applied[1, 3:] = a[i]
            for _ in range(5):
                mujoco.mj_step(model, d)
            np.testing.assert_array_equal(o[i], np.concatenate((d.qpos, d.qvel)))
    assert len({s[:3].tobytes() for s in steps[-1]}) == 3


def test_variants_must_share_mjdata_layout():
    def add_geom(spec, i):
        if i == 2:
            spec.body("top").add_geom(size=[0.01, 0, 0])

    with pytest.raises(ValueError, match=r"env 2 \(ngeom: 3 -> 4"):
        mjvec.make(top_task(), 3, variants=add_geom)
    with pytest.raises(ValueError, match="cannot be combined"):
        mjvec.make(top_task(), 3, variants=grow, randomize={"body_mass": Uniform(1, 2)})
    with pytest.raises(TypeError, match="`variants` must be a function"):
        mjvec.make(top_task(), 3, variants=[grow])


def test_get_model_checks_its_argument():
    env = mjvec.make("HalfCheetah-v5", 2)
    with pytest.raises(ValueError, match=r"`i` must be in \[0, 2\), got 2"):
        env.get_model(2)
    with pytest.raises(TypeError, match="`i` must be an int"):
        env.get_model("0")


@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "Hopper-v5", "Swimmer-v5"])
def test_a_randomized_timestep_is_the_one_velocities_divide_by(env_id):
    """Rewards read each env's own opt.timestep, not the nominal dt (issue 14, item 3)."""
    for randomize, n in (({"opt.timestep": mjvec.Uniform(2.0, 2.0)}, 1), ({"opt.timestep": mjvec.Uniform(1.0, 2.0)}, 3)):
        env = mjvec.make(env_id, n, randomize=randomize)
        task = env._backend.rules.task
        _, info = env.reset(seed=0)
        timestep = np.array([env.get_model(i).opt.timestep for i in range(n)])
        if n == 1:  # drawn x2: x_velocity is the displacement over twice the nominal dt
            assert timestep[0] == 2 * task.model.opt.timestep
            timestep = np.array([2 * task.model.opt.timestep])
        x = info["x_position"]
        for a in np.random.default_rng(0).uniform(-1, 1, (3, n, *env.single_action_space.shape)):
            _, reward, _, _, info = env.step(a.astype(np.float32))
            np.testing.assert_allclose(info["x_velocity"], (info["x_position"] - x) / (timestep * task.frame_skip),
                                       rtol=1e-12, atol=0)
            x = info["x_position"]
        env.close()


def test_the_timestep_tasks_read_is_each_envs_own_on_every_path():
    """``data.timestep``: the nominal value, each variant's, each draw's; a view a task cannot write."""
    env = mjvec.make("HalfCheetah-v5", 2)
    data = env._backend.sim.data
    np.testing.assert_array_equal(data.timestep, [0.01, 0.01])
    assert not data.timestep.flags.writeable
    env.close()
    env = mjvec.make("HalfCheetah-v5", 2, variants=lambda spec, i: setattr(spec.option, "timestep", 0.01 * (i + 1)))
    np.testing.assert_array_equal(env._backend.sim.data.timestep, [0.01, 0.02])
    env.close()
    env = mjvec.make("HalfCheetah-v5", 2, randomize={"opt.timestep": mjvec.Uniform(1.0, 2.0)})
    env.reset(seed=0)
    np.testing.assert_array_equal(env._backend.sim.data.timestep, [env.get_model(i).opt.timestep for i in range(2)])
    env.close()


@pytest.mark.parametrize("field, dist, match", [
    ("body_mass", mjvec.Normal(1.0, 0.5), r"Normal\(1.0, 0.5, mode='scale'\) can draw -inf for body_mass at \[1\] \(model value"
     r" 6.25.*\(a Normal with std > 0 can draw any value\).*body_mass must stay > 0"),
    ("body_mass", mjvec.Uniform(0.0, 1.5), r"can draw 0.0 for body_mass at \[1\]"),
    ("body_mass", mjvec.Uniform(-1.0, 0.0, mode="add"), r"can draw -1.0 for body_mass at \[0\]"),
    ("opt.timestep", mjvec.Uniform(0.0, 0.01, mode="set"), r"can draw 0.0 for opt.timestep"),
    ("geom_friction", mjvec.Normal(0.0, 0.1, mode="add"), r"geom_friction must stay >= 0"),
    ("dof_damping", mjvec.Uniform(-2.0, 1.0), r"can draw -\d.* for dof_damping"),
])
def test_distributions_that_can_draw_unphysical_values_are_refused(field, dist, match):
    """issue 14, item 12: a negative or zero mass, timestep or friction is refused at make, not simulated."""
    with pytest.raises(ValueError, match=match):
        mjvec.make("HalfCheetah-v5", 2, randomize={field: dist})


def test_distributions_that_keep_values_physical_pass():
    for field, dist in [("body_mass", mjvec.Normal(1.0, 0.0)), ("body_mass", mjvec.LogUniform(0.5, 2.0)),
                        ("dof_damping", mjvec.Uniform(0.0, 2.0)), ("geom_friction", mjvec.Uniform(-0.1, 0.1, mode="add",
                                                                                                 names=["floor"])),
                        ("opt.gravity", mjvec.Normal(0.0, 1.0, mode="add"))]:
        mjvec.make("HalfCheetah-v5", 2, randomize={field: dist}).close()


def test_a_sensor_field_randomizes_on_a_task_that_reads_cfrc_ext():
    """issue 14, item 11: the backend's extra sensor for cfrc_ext is not one of the task's rows."""
    xml = """
    <mujoco>
      <worldbody>
        <geom type="plane" size="5 5 .1"/>
        <body name="box" pos="0 0 0.3"><freejoint/><geom type="box" size=".1 .1 .1" mass="1"/></body>
      </worldbody>
      <sensor><framepos objtype="body" objname="box"/></sensor>
    </mujoco>"""
    task = mjvec.Task.from_xml(
        xml, sensordata=True, actions=mjvec.ActionSpec(ctrl=None, xfrc={"box": "force"}),
        reward=lambda xp, d, a: xp.sum(d.cfrc_ext[:, 1], axis=-1),
    )
    env = mjvec.make(task, 3, randomize={"sensor_cutoff": mjvec.Uniform([0.05], [0.05], mode="set")})
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3, 7 + 6 + 3)  # qpos, qvel, the task's sensor only (not the one the backend adds)
    np.testing.assert_array_equal(obs[:, -1], 0.05)  # the box's height, 0.3, cut off at the drawn 0.05
    obs, reward, *_ = env.step(np.zeros((3, 3), np.float32))
    assert np.abs(obs[:, -3:]).max() <= 0.05 and np.isfinite(reward).all()
    assert env.get_model(0).sensor_cutoff.tolist()[0] == 0.05
    env.close()


def test_a_field_the_model_has_no_elements_of_is_refused():
    """Found by the fuzz round (tests/test_fuzz.py): sensor_cutoff of a model without sensors."""
    with pytest.raises(ValueError, match=r"`randomize\['sensor_cutoff'\]`: the model has no elements of sensor_cutoff"):
        mjvec.make("HalfCheetah-v5", 2, randomize={"sensor_cutoff": mjvec.Uniform(0.5, 1.5)})
