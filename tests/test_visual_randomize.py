"""Visual domain randomization: colours, materials, textures, lights and cameras drawn per env."""

from __future__ import annotations

import copy

import mujoco
import numpy as np
import pytest

import mjvec

SCENE = """
<mujoco>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1=".1 .2 .3" rgb2=".8 .8 .8" width="64" height="64"/>
    <texture name="fade" type="2d" builtin="gradient" rgb1="1 0 0" rgb2="0 0 1" width="64" height="64"/>
    <material name="floor_mat" texture="grid" texrepeat="4 4"/>
    <material name="ball_mat" rgba=".2 .8 .2 1"/>
  </asset>
  <worldbody>
    <light name="top" pos="0 0 3" dir="0 0 -1" diffuse=".8 .8 .8"/>
    <camera name="eye" pos="0 -1.5 1" xyaxes="1 0 0 0 .6 .8"/>
    <geom name="floor" type="plane" size="2 2 .1" material="floor_mat"/>
    <body name="ball" pos="0 0 .3">
      <joint name="x" type="slide" axis="1 0 0"/>
      <geom name="ball" type="sphere" size=".15" material="ball_mat" mass="1"/>
      <geom name="cube" type="box" size=".1 .1 .1" pos=".3 0 0" rgba=".9 .5 .1 1" mass="1"/>
    </body>
  </worldbody>
  <actuator><motor joint="x"/></actuator>
</mujoco>
"""
VISUAL = {
    "geom_rgba": mjvec.Uniform([0, 0, 0, 1], [1, 1, 1, 1], mode="set", names=["cube"]),
    "mat_rgba": mjvec.Uniform(0.5, 1.0, names=["ball_mat"]),
    "light_pos": mjvec.Uniform(-0.5, 0.5, mode="add"),
    "light_diffuse": mjvec.Uniform(0.3, 1.0, mode="set"),
    "cam_pos": mjvec.Uniform(-0.05, 0.05, mode="add", names=["eye"]),
    "cam_quat": mjvec.Normal(0.0, 0.03, mode="add", names=["eye"]),
    "mat_texid": mjvec.Choice(["grid", "fade"], names=["floor_mat"]),
}
H, W = 48, 64


def _task():
    return mjvec.Task.from_xml(SCENE, frame_skip=1)


def _alone(model, state):
    """The frame one mujoco.Renderer draws of ``model`` at ``state`` with an observation camera's scene
    (no shadows, reflections, skybox or multisampling)."""
    model = copy.copy(model)
    model.vis.quality.offsamples = 0
    data = mujoco.MjData(model)
    mujoco.mj_setState(model, data, state, mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(model, data)
    with mujoco.Renderer(model, H, W) as renderer:
        renderer.update_scene(data, camera="eye")
        for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION, mujoco.mjtRndFlag.mjRND_SKYBOX):
            renderer.scene.flags[flag] = 0
        return renderer.render()


def _same_frame(got, want, tile):
    """Equal pixel for pixel at the tiled framebuffer's origin (tile 0); elsewhere the rasterizer's
    rounding at another window position moves a few edge pixels by a few levels."""
    if tile == 0:
        np.testing.assert_array_equal(got, want)
        return
    assert np.abs(got.astype(int) - want).max() <= 8
    assert (got != want).any(-1).mean() < 0.01


def test_each_env_is_drawn_with_its_own_colours_lights_camera_and_texture(gl):
    n = 6
    env = mjvec.make(_task(), n, randomize=VISUAL, observations={"rgb": mjvec.Camera("eye", W, H)})
    env.reset(seed=0)
    state = np.tile(env.get_state()[:1], (n, 1))  # every env in one state
    obs, _ = env.reset(seed=0, options={"state": state})
    models = [env.get_model(i) for i in range(n)]
    for i, model in enumerate(models):
        _same_frame(obs["rgb"][i], _alone(model, state[i]), i)  # a lone renderer of env i's model
        assert np.isclose(np.linalg.norm(model.cam_quat[0]), 1.0)  # jittered, still a rotation
    for i in range(n):
        for j in range(i):
            assert not np.array_equal(models[i].geom_rgba[2], models[j].geom_rgba[2])
            assert not np.array_equal(obs["rgb"][i], obs["rgb"][j])  # the same state, other looks
    np.testing.assert_array_equal(models[0].geom_rgba[:2], env.task.model.geom_rgba[:2])  # only the named rows
    assert {m.mat_texid[0, mujoco.mjtTextureRole.mjTEXROLE_RGB] for m in models} == {0, 1}
    again, _ = env.reset(seed=1, options={"state": state})  # resampled at reset
    assert not np.array_equal(env.get_model(0).light_pos, models[0].light_pos)
    assert not np.array_equal(again["rgb"][0], obs["rgb"][0])
    env.close()


def test_a_texture_choice_alone_changes_the_frame(gl):
    n = 8
    env = mjvec.make(_task(), n, randomize={"mat_texid": mjvec.Choice(["grid", "fade"], names=["floor_mat"])},
                     observations={"rgb": mjvec.Camera("eye", W, H)})
    env.reset(seed=0)
    state = np.tile(env.get_state()[:1], (n, 1))
    obs, _ = env.reset(seed=0, options={"state": state})
    tex = np.array([env.get_model(i).mat_texid[0, 1] for i in range(n)])
    first, other = np.flatnonzero(tex == tex[0]), np.flatnonzero(tex != tex[0])
    assert len(first) > 1 and len(other) > 0
    _same_frame(obs["rgb"][first[1]], obs["rgb"][first[0]], tile=1)  # same texture, same frame (other tiles)
    assert not np.array_equal(obs["rgb"][other[0]], obs["rgb"][first[0]])
    env.close()


def test_choices_pick_materials_and_values_and_are_checked():
    task = _task()
    env = mjvec.make(task, 16, randomize={
        "geom_matid": mjvec.Choice(["ball_mat", "floor_mat"], names=["cube"]),
        "geom_rgba": mjvec.Choice([[1, 0, 0, 1], [0, 0, 1, 1]], names=["ball"]),
    })
    env.reset(seed=0)
    matid = {int(env.get_model(i).geom_matid[2]) for i in range(16)}
    colours = {tuple(env.get_model(i).geom_rgba[1]) for i in range(16)}
    assert matid == {0, 1} and colours == {(1, 0, 0, 1), (0, 0, 1, 1)}
    env.close()
    with pytest.raises(ValueError, match=r"no texture called 'gird'.*did you mean 'grid'"):
        mjvec.make(task, 2, randomize={"mat_texid": mjvec.Choice(["gird"])})
    with pytest.raises(ValueError, match=r"holds int32 values .* mjvec.Choice"):
        mjvec.make(task, 2, randomize={"geom_matid": mjvec.Uniform(0, 1)})
    with pytest.raises(ValueError, match=r"holds integers, got the option 0.5"):
        mjvec.make(task, 2, randomize={"geom_matid": mjvec.Choice([0.5])})
    with pytest.raises(TypeError, match=r"names materials .* or textures"):
        mjvec.make(task, 2, randomize={"geom_rgba": mjvec.Choice(["red"])})
    with pytest.raises(ValueError, match=r"'bal_mat', which is not a material of the model.*did you mean 'ball_mat'"):
        mjvec.make(task, 2, randomize={"mat_rgba": mjvec.Uniform(0.5, 1.0, names=["bal_mat"])})
    with pytest.raises(ValueError, match=r"at least one"):
        mjvec.Choice([])


def test_mjx_carries_visual_draws_for_drawing_and_leaves_the_physics_alone():
    pytest.importorskip("mujoco.mjx")
    task, n = _task(), 3
    env = mjvec.make(task, n, backend="mjx", randomize=VISUAL)
    plain = mjvec.make(task, n, backend="mjx")
    plain.reset(seed=0)
    state = plain.get_state()
    env.reset(seed=0, options={"state": state})
    plain.reset(seed=0, options={"state": state})
    for _ in range(3):
        a = np.full((n, 1), 0.5, np.float32)
        np.testing.assert_array_equal(env.step(a)[0], plain.step(a)[0])  # the physics never sees them
    rgba = [env.get_model(i).geom_rgba[2] for i in range(n)]
    assert not np.array_equal(rgba[0], rgba[1]) and not np.array_equal(rgba[1], rgba[2])
    assert np.isclose(np.linalg.norm(env.get_model(0).cam_quat[0]), 1.0)
    env.close()
    plain.close()
