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
    with pytest.raises(ValueError, match=r"`observe` must return an array of shape \(3, k\) for n=3 envs, got shape"
                       r" \(3,\)"):
        mjvec.Task.from_xml(XML, observe=lambda xp, d: d.qpos[:, 0])
    with pytest.raises(ValueError, match=r"`reward` must return an array of shape \(3,\) for n=3 envs, got shape"
                       r" \(3, 1\)"):
        mjvec.Task.from_xml(XML, reward=lambda xp, d, a: d.qpos)
    with pytest.raises(AttributeError, match="qpoz"):
        mjvec.Task.from_xml(XML, observe=lambda xp, d: d.qpoz)
    with pytest.raises(TypeError, match="`reward` must be a function"):
        mjvec.Task.from_xml(XML, reward=1.0)
    with pytest.raises(TypeError, match="`spec` must be a mujoco.MjSpec"):
        mjvec.Task.from_spec(XML)
    with pytest.raises(TypeError, match="task keyword arguments"):
        mjvec.make(mjvec.Task.from_xml(XML), 2, frame_skip=2)


XML3 = """
<mujoco>
  <worldbody>
    <body name="cart" pos="0 0 0.1">
      <joint name="x" type="slide" axis="1 0 0"/><joint name="y" type="slide" axis="0 1 0"/>
      <joint name="z" type="slide" axis="0 0 1"/>
      <geom type="box" size="0.2 0.1 0.05" mass="1"/>
    </body>
  </worldbody>
  <actuator><motor joint="x" gear="10"/></actuator>
</mujoco>
"""


@pytest.mark.parametrize("xml, kwargs, error, match", [
    # a reward of shape (1,) for n envs: right on one env, wrong on several
    (XML, {"reward": lambda xp, d, a: d.qpos[0]}, ValueError,
     r"`reward` must return an array of shape \(3,\) for n=3 envs, got shape \(1,\) \(one value per env"),
    (XML, {"terminated": lambda xp, d: d.qpos[0] > 0}, ValueError,
     r"`terminated` must return an array of shape \(3,\) for n=3 envs, got shape \(1,\)"),
    # nq = 3 = n: the shape is right, the rows are another env's
    (XML3, {"terminated": lambda xp, d: d.qpos[0] > 0}, ValueError,
     r"`terminated` mixes environments: its results have one row per env for 3 envs in distinct states, but for env 0"
     r" alone: `terminated` must return an array of shape \(1,\) for n=1 envs, got shape \(3,\)"),
    (XML3, {"reward": lambda xp, d, a: xp.sum(d.qvel) + 0 * d.qpos[:, 0]}, ValueError, r"`reward` mixes environments"),
    (XML, {"observe": lambda xp, d: d.qpos - d.qpos.mean()}, ValueError, r"`observe` mixes environments"),
    (XML, {"reward": lambda xp, d, a: (d.qpos[:, 0], {"x": 1.0})}, ValueError,
     r"`reward`'s info value 'x' must have one row per env, shape \(3, \.\.\.\) for n=3 envs, got shape \(\)"),
    (XML3, {"reward": lambda xp, d, a: (d.qpos[:, 0], {"x": d.qpos[0]})}, ValueError,
     r"`reward` mixes environments: its results have one row per env for 3 envs in distinct states, but for env 0"
     r" alone: `reward`'s info"
     r" value 'x' must have one row per env, shape \(1, \.\.\.\) for n=1 envs, got shape \(3,\)"),
    (XML, {"reward": lambda xp, d, a: (d.qpos[:, 0], [1.0])}, TypeError,
     r"`reward` must return the rewards, or a tuple \(rewards, info dict\), got a tuple of \['ndarray', 'list'\]"),
    (XML, {"before_step": lambda xp, d: d.qpos[:, 0], "reward": lambda xp, d, a, b: d.qpos[:, 0]}, TypeError,
     r"`before_step` must return a dict of values, got ndarray"),
])
def test_user_functions_are_checked_on_several_envs_in_distinct_states(xml, kwargs, error, match):
    """Mistakes on the env axis are found at construction, naming the function and the shape (issue 14, item 4)."""
    with pytest.raises(error, match=match):
        mjvec.Task.from_xml(xml, **kwargs)


def test_correct_functions_over_several_envs_pass_the_check():
    task = mjvec.Task.from_xml(
        XML3,
        before_step=lambda xp, d: {"x": d.qpos[:, 0]},
        reward=lambda xp, d, a, b: (d.qpos[:, 0] - b["x"] + xp.sum(a, axis=-1), {"dx": d.qpos[:, 0] - b["x"]}),
        terminated=lambda xp, d: xp.abs(d.qpos[:, 1]) > 1,
        observe=lambda xp, d: xp.concatenate([d.qpos, d.xpos[:, 1], xp.linalg.norm(d.qvel, axis=-1)[:, None]], -1),
    )
    assert task.single_observation_space.shape == (7,) and set(task.fields) == {"xpos"}


@pytest.mark.parametrize("dtype, space", [(np.float32, np.float32), (np.float64, np.float64), (np.bool_, np.float64),
                                          (np.int32, np.float64), (np.float16, np.float64)])
def test_the_observation_space_matches_what_observe_returns(dtype, space):
    """A float32 observe gives a float32 space; a bool or int one is returned as float64 (issue 14, item 15)."""
    task = mjvec.Task.from_xml(XML, observe=lambda xp, d: (d.qpos > -1).astype(dtype))
    env = mjvec.make(task, 2)
    assert env.single_observation_space.dtype == space
    obs, _ = env.reset(seed=0)
    assert obs.dtype == space and env.observation_space.contains(obs)
    obs, *_ = env.step(np.zeros((2, 1), np.float32))
    assert obs.dtype == space and env.observation_space.contains(obs)
    env.close()


def test_messages_name_what_was_wrong():
    """issue 14, item 15: frame_skip=0 is not a compile error; ctrl="ALL" hints at "all"; a 0-d seed is its number."""
    with pytest.raises(ValueError, match=r"^`frame_skip` must be >= 1, got 0$"):
        mjvec.Task.from_xml(XML, frame_skip=0)
    with pytest.raises(ValueError, match=r'`ctrl` must be "all", a list of actuator names, or None, got \'ALL\''
                                         r" \(did you mean 'all'\?\)"):
        mjvec.ActionSpec(ctrl="ALL")
    with pytest.raises(ValueError, match=r"got 'slide'; for one actuator, ctrl=\['slide'\]"):
        mjvec.ActionSpec(ctrl="slide")
    env = mjvec.make(mjvec.Task.from_xml(XML, reset_noise_scale=0.1), 2)
    np.testing.assert_array_equal(env.reset(seed=np.array(5))[0], env.reset(seed=5)[0])
    with pytest.raises(TypeError, match=r"`seed` must be an int, a sequence of 2 ints, or None, got a 0-d float64 array"):
        env.reset(seed=np.array(5.0))
    with pytest.raises(ValueError, match=r"`seed` as an array must be 1-D, one seed per environment \(2\), got shape"):
        env.reset(seed=np.array([[1, 2]]))
    env.close()
