"""A task's reset may set the actuators' activations (``reset_state`` returning ``act``) and run its
forward pass with actuation disabled (``Task.reset_without_actuation``, dm_control's
``physics.reset()``/``after_reset()``): on the CPU backend (one model, ``variants``) and on MJX."""

from __future__ import annotations

import os

import mujoco
import numpy as np
import pytest

import mjvec
from mjvec.task import CustomTask

# a slider pushed by a filtered actuator: its force is gain * act, so qacc at reset shows whether the
# drawn activation acted in the reset's forward pass
XML = """
<mujoco>
  <option gravity="0 0 0"/>
  <worldbody>
    <body name="cart">
      <joint name="slide" type="slide" axis="1 0 0" stiffness="3"/>
      <geom type="box" size="0.2 0.1 0.05" mass="2"/>
    </body>
  </worldbody>
  <actuator><general joint="slide" ctrlrange="-1 1" dyntype="filter" dynprm="0.1" gainprm="10"/></actuator>
</mujoco>
"""


class Activated(CustomTask):
    """qpos U(0.1, 0.2) and act U(-1, 1) at reset; observes qacc and act."""

    def __init__(self, without_actuation: bool, with_act: bool = True):
        self.reset_without_actuation = without_actuation
        self.with_act = with_act
        super().__init__(mujoco.MjSpec.from_string(XML), 1, observe=lambda xp, d: xp.concatenate((d.qacc, d.act), -1),
                         fields=("qacc", "act"))

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        qpos = rng.uniform(0.1, 0.2, 1)
        act = rng.uniform(-1.0, 1.0, 1)
        return (qpos, 0 * qpos, act) if self.with_act else (qpos, 0 * qpos)


def _expected_qacc(qpos, act, actuation: bool):
    """qacc of a plain mj_forward at that state, with or without actuation."""
    model = mujoco.MjModel.from_xml_string(XML)
    if not actuation:
        model.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_ACTUATION)
    data = mujoco.MjData(model)
    data.qpos[:], data.act[:] = qpos, act
    mujoco.mj_forward(model, data)
    return data.qacc.copy()


@pytest.mark.parametrize("variants", [None, lambda spec, i: None])
@pytest.mark.parametrize("without_actuation", [True, False])
def test_reset_sets_act_and_its_forward_runs_with_or_without_actuation(without_actuation, variants):
    env = mjvec.make(Activated(without_actuation), 4, variants=variants)
    try:
        obs, _ = env.reset(seed=0)
        qpos, act = env.get_state()[:, 1], obs[:, 1]  # mjSTATE_INTEGRATION: time, qpos, qvel, act, ...
        assert np.all((-1 <= act) & (act <= 1)) and len(np.unique(act)) == 4, "each env its own draw"
        np.testing.assert_array_equal(env.get_state()[:, 3], act)
        for i in range(4):
            np.testing.assert_array_equal(obs[i, :1], _expected_qacc(qpos[i], act[i], not without_actuation))
        actuated = np.array([_expected_qacc(qpos[i], act[i], True)[0] for i in range(4)])
        passive = np.array([_expected_qacc(qpos[i], act[i], False)[0] for i in range(4)])
        assert np.all(actuated != passive), "the drawn activations push"
        # a reset to given states runs the same forward pass
        states = env.get_state()
        again, _ = env.reset(options={"state": states})
        np.testing.assert_array_equal(again, obs)
        # the step is actuated: its derived fields are those of the state it started from (mj_step)
        stepped, *_ = env.step(np.zeros((4, 1), np.float32))
        np.testing.assert_array_equal(stepped[:, 0], actuated)
        again, _ = env.reset(seed=0)
        np.testing.assert_array_equal(again, obs)
    finally:
        env.close()


def test_the_flag_is_set_for_the_reset_only():
    env = mjvec.make(Activated(True), 2)
    try:
        env.reset(seed=0)
        # test-only access: each env's disableflags, the simulated model's again after the reset
        np.testing.assert_array_equal(env._backend.sim._reset_flags, env._backend.sim.model.opt.disableflags)
        assert not env._backend.sim.model.opt.disableflags & mujoco.mjtDisableBit.mjDSBL_ACTUATION
        ref = mjvec.make(Activated(False), 2)
        ref.reset(options={"state": env.get_state()})
        action = np.array([[0.5], [-0.5]], np.float32)
        for _ in range(3):
            np.testing.assert_array_equal(env.step(action)[0], ref.step(action)[0])
        ref.close()
    finally:
        env.close()


def test_reset_state_values_are_checked():
    task = Activated(True, with_act=False)
    task.reset_state = lambda xp, rng, q, v: (rng.uniform(0, 1, 1),)
    with pytest.raises(TypeError, match=r"Activated.reset_state must return \(qpos, qvel\) or \(qpos, qvel, act\), got 1"):
        mjvec.make(task, 2).reset(seed=0)
    free = mjvec.Task.from_xml(XML.replace('dyntype="filter" dynprm="0.1" ', ""))
    free.reset_state = lambda xp, rng, q, v: (rng.uniform(0, 1, 1), rng.uniform(0, 1, 1), rng.uniform(0, 1, 1))
    with pytest.raises(ValueError, match="returned `act`, but the model has no activations"):
        mjvec.make(free, 2).reset(seed=0)


def test_mjx_resets_act_and_disables_actuation_as_the_cpu_backend(tmp_path_factory):
    pytest.importorskip("jax")
    pytest.importorskip("mujoco.mjx")
    os.environ.setdefault("MJVEC_JAX_CACHE", str(tmp_path_factory.mktemp("jax-cache")))
    cpu, mjx = mjvec.make(Activated(True), 3), mjvec.make(Activated(True), 3, backend="mjx")
    try:
        obs, _ = mjx.reset(seed=0)
        states = mjx.get_state()
        act = obs[:, 1]
        assert np.all((-1 <= act) & (act <= 1)) and len(np.unique(act)) == 3
        ref, _ = cpu.reset(options={"state": states})
        np.testing.assert_allclose(obs, ref, rtol=0, atol=1e-5)  # float32: passive qacc only, act as drawn
        again, _ = mjx.reset(options={"state": states})
        np.testing.assert_allclose(again, ref, rtol=0, atol=1e-5)
        o1, *_ = cpu.step(np.zeros((3, 1), np.float32))
        o2, *_ = mjx.step(np.zeros((3, 1), np.float32))
        np.testing.assert_allclose(o2, o1, rtol=0, atol=1e-4)
    finally:
        cpu.close()
        mjx.close()
