"""Task.from_xml / from_spec: defaults, user functions, inferred fields, and errors at construction."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import mjvec

XML = """
<mujoco>
  <worldbody>
    <body name="cart" pos="0 0 0.1">
      <joint name="slide" type="slide" axis="1 0 0"/>
      <geom type="box" size="0.2 0.1 0.05" mass="1"/>
    </body>
  </worldbody>
  <actuator><motor joint="slide" ctrlrange="-1 1" gear="10"/></actuator>
  <sensor><framepos objtype="body" objname="cart"/></sensor>
</mujoco>
"""


def test_defaults(tmp_path):
    path = tmp_path / "cart.xml"
    path.write_text(XML)
    for task in (mjvec.Task.from_xml(XML), mjvec.Task.from_xml(path), mjvec.Task.from_xml(str(path)),
                 mjvec.Task.from_spec(mujoco.MjSpec.from_string(XML))):
        assert task.single_observation_space.shape == (2,)
        assert task.single_action_space.shape == (1,)
        env = mjvec.make(task, 3)
        obs, _ = env.reset(seed=0)
        np.testing.assert_array_equal(obs, 0.0)
        obs, reward, terminated, truncated, info = env.step(np.ones((3, 1), np.float32))
        assert (obs[:, 1] > 0).all()  # pushed +x
        np.testing.assert_array_equal(reward, 0.0)
        assert not terminated.any() and not truncated.any() and info == {}
        env.close()


def test_user_functions_and_inferred_fields():
    task = mjvec.Task.from_xml(
        XML,
        frame_skip=3,
        sensordata=True,
        reward=lambda xp, d, a: (d.xpos[:, 1, 0], {"x": d.xpos[:, 1, 0]}),
        terminated=lambda xp, d: d.qpos[:, 0] > 0.05,
        reset_noise_scale=0.01,
    )
    assert set(task.fields) == {"sensordata", "xpos"}
    assert task.single_observation_space.shape == (5,)
    env = mjvec.make(task, 2, autoreset_mode="same_step")
    obs, _ = env.reset(seed=1)
    assert (obs[:, 0] != 0).all()  # reset noise
    ended = False
    for _ in range(50):
        obs, reward, terminated, truncated, info = env.step(np.ones((2, 1), np.float32))
        np.testing.assert_array_equal(reward[~terminated], info["x"][~terminated])
        ended |= terminated.any()
    assert ended


def test_errors_at_construction(tmp_path):
    with pytest.raises(ValueError, match="neither MJCF text.*nor an existing file"):
        mjvec.Task.from_xml("no/such/file.xml")
    with pytest.raises(ValueError, match="does not compile|XML Error|Error"):
        mjvec.Task.from_xml("<mujoco><worldbody><body><joint type='bad'/></body></worldbody></mujoco>")
    with pytest.raises(TypeError, match="`xml` must be an MJCF string or a path"):
        mjvec.Task.from_xml(3)
    with pytest.raises(ValueError, match=r"`observe` must return an \(n, k\) array.*\(1,\)"):
        mjvec.Task.from_xml(XML, observe=lambda xp, d: d.qpos[:, 0])
    with pytest.raises(ValueError, match=r"`reward` and `terminated` must return \(n,\) arrays"):
        mjvec.Task.from_xml(XML, reward=lambda xp, d, a: d.qpos)
    with pytest.raises(AttributeError, match="qpoz"):
        mjvec.Task.from_xml(XML, observe=lambda xp, d: d.qpoz)
    with pytest.raises(TypeError, match="`reward` must be a function"):
        mjvec.Task.from_xml(XML, reward=1.0)
    with pytest.raises(TypeError, match="`spec` must be a mujoco.MjSpec"):
        mjvec.Task.from_spec(XML)
    with pytest.raises(TypeError, match="task keyword arguments"):
        mjvec.make(mjvec.Task.from_xml(XML), 2, frame_skip=2)
