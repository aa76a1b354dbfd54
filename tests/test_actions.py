"""ActionSpec: every kind of input written exactly as a hand-written MjData loop writes it."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import mjvec
from mjvec import ActionSpec

XML = """
<mujoco>
  <option timestep="0.005"/>
  <worldbody>
    <geom type="plane" size="5 5 0.1"/>
    <body name="arm" pos="0 0 1">
      <joint name="shoulder" type="hinge" axis="0 1 0" damping="0.1"/>
      <geom type="capsule" fromto="0 0 0 0.5 0 0" size="0.05"/>
      <body name="forearm" pos="0.5 0 0">
        <joint name="elbow" type="hinge" axis="0 1 0" damping="0.1"/>
        <geom type="capsule" fromto="0 0 0 0.4 0 0" size="0.04"/>
      </body>
    </body>
    <body name="box" pos="1 1 0.5">
      <freejoint name="box_free"/>
      <geom type="box" size="0.1 0.1 0.1" mass="1"/>
    </body>
    <body name="hand" pos="-1 0 0.5">
      <freejoint name="hand_free"/>
      <geom type="sphere" size="0.05" mass="0.5"/>
    </body>
    <body name="target" mocap="true" pos="-1 0 0.5">
      <geom type="sphere" size="0.02" contype="0" conaffinity="0"/>
    </body>
  </worldbody>
  <equality><weld name="grip" body1="target" body2="hand"/></equality>
  <actuator>
    <motor name="shoulder_motor" joint="shoulder" ctrlrange="-1 1" gear="10"/>
    <motor name="elbow_motor" joint="elbow" gear="5"/>
  </actuator>
</mujoco>
"""

N, STEPS, FRAME_SKIP = 3, 12, 2
WORKSPACE = {"target": ([-1.2, -0.2, 0.3], [-0.8, 0.2, 0.7])}
SPECS = {
    "ctrl_all": ActionSpec(),
    "ctrl_subset": ActionSpec(ctrl=["elbow_motor"]),
    "qfrc": ActionSpec(ctrl=None, qfrc=["box_free", "elbow"]),
    "xfrc": ActionSpec(ctrl=None, xfrc={"box": "wrench", "forearm": "torque"}),
    "mocap_pose": ActionSpec(ctrl=None, mocap={"target": "pose"}),
    "mocap_delta": ActionSpec(ctrl=None, mocap={"target": "delta_pos"}, workspace=WORKSPACE),
    "eq": ActionSpec(ctrl=["shoulder_motor"], eq=["grip"]),
    "everything": ActionSpec(
        ctrl="all", qfrc=["shoulder"], xfrc={"box": "force"}, mocap={"target": "quat"}, eq=["grip"]
    ),
}


def random_actions(bound, rng) -> np.ndarray:
    a = rng.uniform(-1, 1, size=(N, bound.size)).astype(np.float32)
    for e in bound.layout:
        if e.component in ("force", "qfrc"):
            a[:, e.start : e.stop] *= 20
        elif e.component == "pos":
            a[:, e.start : e.stop] += np.array([-1, 0, 0.5], dtype=np.float32)
        elif e.component == "delta_pos":
            a[:, e.start : e.stop] *= 0.1
    return a


def write_by_hand(model, d: mujoco.MjData, bound, a: np.ndarray) -> None:
    """What a user would write into one MjData for one env's action."""
    for e in bound.layout:
        v = a[e.start : e.stop].astype(np.float64)
        name = e.name
        if e.kind == "ctrl":
            d.ctrl[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, name)] = v[0]
        elif e.kind == "qfrc":
            j = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
            adr = model.jnt_dofadr[j]
            d.qfrc_applied[adr : adr + v.size] = v
        elif e.kind == "xfrc":
            b = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
            d.xfrc_applied[b, slice(0, 3) if e.component == "force" else slice(3, 6)] = v
        elif e.kind == "mocap":
            m = model.body_mocapid[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)]
            if e.component == "pos":
                d.mocap_pos[m] = v
            elif e.component == "delta_pos":
                lo, hi = WORKSPACE[name]
                d.mocap_pos[m] = np.clip(d.mocap_pos[m] + v, lo, hi)
            else:
                d.mocap_quat[m] = v / np.linalg.norm(v)
        elif e.kind == "eq":
            d.eq_active[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_EQUALITY, name)] = v[0] > 0


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("nthread", [1, 2])
def test_matches_a_loop_over_mjdata(name, nthread):
    spec = SPECS[name]
    task = mjvec.Task.from_xml(XML, frame_skip=FRAME_SKIP, actions=spec)
    env = mjvec.make(task, N, nthread=nthread)
    obs, _ = env.reset(seed=0)
    model = task.model
    datas = [mujoco.MjData(model) for _ in range(N)]
    for d in datas:
        mujoco.mj_forward(model, d)
    np.testing.assert_array_equal(obs, np.stack([np.concatenate((d.qpos, d.qvel)) for d in datas]))
    rng = np.random.default_rng(1)
    for _ in range(STEPS):
        a = random_actions(env.action_spec, rng)
        obs, *_ = env.step(a)
        for i, d in enumerate(datas):
            write_by_hand(model, d, env.action_spec, a[i])
            for _ in range(FRAME_SKIP):
                mujoco.mj_step(model, d)
        expected = np.stack([np.concatenate((d.qpos, d.qvel)) for d in datas])
        np.testing.assert_array_equal(obs, expected)
    # the inputs did something: the state moved off its start
    assert not np.allclose(obs[:, : model.nq], model.qpos0)
    env.close()


def test_layout_matches_the_box():
    model = mujoco.MjModel.from_xml_string(XML)
    bound = SPECS["everything"].bind(model)
    assert bound.space.shape == (bound.size,) == (2 + 1 + 3 + 4 + 1,)
    assert [(e.kind, e.name, e.component) for e in bound.layout] == [
        ("ctrl", "shoulder_motor", "ctrl"),
        ("ctrl", "elbow_motor", "ctrl"),
        ("qfrc", "shoulder", "qfrc"),
        ("xfrc", "box", "force"),
        ("mocap", "target", "quat"),
        ("eq", "grip", "eq"),
    ]
    stops = [e.start for e in bound.layout[1:]] + [bound.size]
    assert [e.stop for e in bound.layout] == stops
    # ctrl bounds from ctrlrange where limited, unbounded where not; eq in [-1, 1]
    np.testing.assert_array_equal(bound.space.low[:3], [-1, -np.inf, -np.inf])
    np.testing.assert_array_equal(bound.space.high[-1:], [1])
    assert bound.space.dtype == np.float32
    table = bound.describe()
    assert "shoulder_motor" in table and "xfrc_applied" in table and "10" in table.splitlines()[-1]


def test_bounds_from_the_spec():
    model = mujoco.MjModel.from_xml_string(XML)
    spec = ActionSpec(
        ctrl=None, xfrc={"box": "wrench", "hand": "force"}, bounds={"xfrc": (-5, 5), "xfrc:hand": (-1, [1, 2, 3])}
    )
    bound = spec.bind(model)
    np.testing.assert_array_equal(bound.space.low, [-5] * 6 + [-1] * 3)
    np.testing.assert_array_equal(bound.space.high, [5] * 6 + [1, 2, 3])


def test_v5_default_is_ctrl():
    env = mjvec.make("HalfCheetah-v5", 2)
    assert env.action_spec.passthrough and env.action_spec.fields == ("ctrl",)
    assert env.single_action_space == mjvec.make_task("HalfCheetah-v5").single_action_space
    env.close()


def test_actions_on_a_v5_task():
    spec = ActionSpec(ctrl=None, xfrc={"torso": "force"})
    env = mjvec.make("HalfCheetah-v5", 2, actions=spec, reset_noise_scale=0.0)
    env.reset(seed=0)
    a = np.zeros((2, 3), np.float32)
    a[0, 2] = 200.0  # lifts env 0's torso
    for _ in range(5):
        obs, *_ = env.step(a)
    assert obs[0, 0] > obs[1, 0] + 0.01  # rootz
    env.close()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(ctrl=["elbow_motr"]), "`ctrl` names actuator 'elbow_motr'.*did you mean 'elbow_motor'"),
        (dict(ctrl=None, qfrc=["elbw"]), "`qfrc` names joint 'elbw'.*did you mean 'elbow'"),
        (dict(ctrl=None, qfrc=["elbow", "elbow"]), "`qfrc` names 'elbow' twice"),
        (dict(ctrl=None, xfrc={"bx": "force"}), "`xfrc` names body 'bx'.*did you mean 'box'"),
        (dict(ctrl=None, xfrc={"world": "force"}), "world body"),
        (dict(ctrl=None, xfrc={"box": "push"}), r"`xfrc\['box'\]` must be one of"),
        (dict(ctrl=None, mocap={"hand": "pos"}), "'hand', which is not a mocap body.*\\['target'\\]"),
        (dict(ctrl=None, mocap={"target": "pos"}, workspace={"hand": (0, 1)}), "`workspace` names 'hand'"),
        (dict(ctrl=None, eq=["grap"]), "`eq` names equality 'grap'.*did you mean 'grip'"),
        (dict(ctrl=None, xfrc={"box": "force"}, bounds={"xfrc": (1, -1)}), "low <= high"),
        (dict(ctrl=None, xfrc={"box": "force"}, bounds={"force": (0, 1)}), "`bounds` keys must be"),
        (dict(ctrl=None), "must drive something"),
        # a bounds key that names nothing would leave its entry unbounded (issue 14, item 8)
        (dict(ctrl=None, xfrc={"box": "force"}, bounds={"xfrc:bxo": (-1, 1)}),
         r"`bounds` key 'xfrc:bxo' names nothing this ActionSpec drives \(did you mean 'xfrc:box', 'xfrc'\?\);"
         r" its keys: \['xfrc', 'xfrc:box'\]"),
        (dict(ctrl=None, xfrc={"box": "force"}, bounds={"qfrc": (-1, 1)}), r"`bounds` key 'qfrc' names nothing"),
        (dict(ctrl=["elbow_motor"], bounds={"ctrl:shoulder": (-1, 1)}), r"`bounds` key 'ctrl:shoulder' names nothing"),
    ],
)
def test_bad_specs(kwargs, message):
    model = mujoco.MjModel.from_xml_string(XML)
    with pytest.raises(ValueError, match=message):
        ActionSpec(**kwargs).bind(model)


def test_bad_spec_types():
    with pytest.raises(TypeError, match="`qfrc` must be a list of names"):
        ActionSpec(qfrc="elbow")
    with pytest.raises(TypeError, match="`xfrc` must be a dict"):
        ActionSpec(xfrc=["box"])
    with pytest.raises(TypeError, match="`actions` must be an mjvec.ActionSpec"):
        mjvec.make("HalfCheetah-v5", 2, actions={"ctrl": "all"})


def test_zero_quaternion_is_refused_before_stepping():
    task = mjvec.Task.from_xml(XML, actions=SPECS["mocap_pose"])
    env = mjvec.make(task, N)
    obs, _ = env.reset(seed=0)
    a = np.zeros((N, 7), np.float32)
    a[:, 3] = 1.0
    a[1, 3:] = 0.0
    with pytest.raises(ValueError, match=r"quaternion of mocap body 'target'.*environments \[1\]"):
        env.step(a)
    a[1, 3] = 1.0
    after, *_ = env.step(a)  # nothing was simulated by the refused step: this is the first
    ref = mjvec.make(task, N)
    ref.reset(seed=0)
    np.testing.assert_array_equal(after, ref.step(a)[0])
    env.close()
    ref.close()


def test_quaternions_are_normalized_and_delta_is_clipped():
    task = mjvec.Task.from_xml(
        XML, actions=ActionSpec(ctrl=None, mocap={"target": "quat"}), observe=lambda xp, d: d.mocap_quat[:, 0]
    )
    env = mjvec.make(task, 1)
    env.reset(seed=0)
    obs, *_ = env.step(np.array([[0, 0, 0, 3]], np.float32))
    np.testing.assert_array_equal(obs, [[0, 0, 0, 1]])
    task = mjvec.Task.from_xml(
        XML,
        actions=ActionSpec(ctrl=None, mocap={"target": "delta_pos"}, workspace=WORKSPACE),
        observe=lambda xp, d: d.mocap_pos[:, 0],
    )
    env = mjvec.make(task, 1)
    env.reset(seed=0)
    for _ in range(10):
        obs, *_ = env.step(np.array([[0.1, 0, 0]], np.float32))
    np.testing.assert_allclose(obs, [[-0.8, 0, 0.5]])  # stopped at the workspace's edge


def test_next_step_when_every_env_is_being_reset():
    """A step in which every env resets (NEXT_STEP) writes no action and steps nothing."""
    env = mjvec.make("HalfCheetah-v5", 2, actions=ActionSpec(ctrl=None, qfrc=["bthigh"]), max_episode_steps=3)
    env.reset(seed=0)
    for _ in range(3):
        *_, truncated, _ = env.step(np.ones((2, 1), np.float32))
    assert truncated.all()
    obs, reward, terminated, truncated, info = env.step(np.ones((2, 1), np.float32))
    np.testing.assert_array_equal(reward, 0.0)
    assert not truncated.any() and info["_x_position"].all()


def test_a_quaternion_too_small_to_normalize_is_refused():
    """issue 14, item 14: a tiny float64 quaternion whose squared norm underflows, not a NaN pose."""
    task = mjvec.Task.from_xml(XML, actions=SPECS["mocap_pose"])
    env = mjvec.make(task, N)
    env.reset(seed=0)
    a = np.zeros((N, 7), np.float64)
    a[:, 3] = 1e-100  # squares to 1e-200: fine in float64
    obs, *_ = env.step(a)
    assert np.isfinite(obs).all()
    a[2, 3] = 1e-200
    with pytest.raises(ValueError, match=r"quaternion of mocap body 'target'\) cannot be normalized in float64:.*"
                                         r"environments \[2\] \(e.g. \[1e-200, 0.0, 0.0, 0.0\]\)"):
        env.step(a)
    env.close()


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_action_containers_that_convert_faithfully_are_accepted_the_rest_refused():
    """issue 14, item 14: np.matrix, masked arrays, torch tensors (bfloat16 too)."""
    import torch

    env = mjvec.make("HalfCheetah-v5", 2)
    a = np.random.default_rng(0).uniform(-1, 1, (2, 6)).astype(np.float32)
    a[:] = torch.from_numpy(a).to(torch.bfloat16).float().numpy()  # values bfloat16 holds exactly
    env.reset(seed=0)
    expected = env.step(a)
    for given in (np.matrix(a), np.ma.masked_array(a), torch.from_numpy(a).to(torch.bfloat16),
                  torch.from_numpy(a).requires_grad_()):
        env.reset(seed=0)
        obs, reward, *_ = env.step(given)
        assert reward.shape == (2,), type(given)
        np.testing.assert_array_equal(obs, expected[0])
        np.testing.assert_array_equal(reward, expected[1])
    hidden = np.ma.masked_array(np.where(np.eye(2, 6, dtype=bool), np.nan, a), mask=np.eye(2, 6, dtype=bool))
    with pytest.raises(ValueError, match=r"`actions` is a masked array with masked entries \(environments \[0, 1\]\)"):
        env.step(hidden)
    with pytest.raises(TypeError, match=r"`actions` must have a real numeric dtype \(float or int\), got complex64"):
        env.step(torch.zeros(2, 6, dtype=torch.complex64))
    env.close()
