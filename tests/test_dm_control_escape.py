"""quadruped/escape's terrain: a heightfield drawn per env at every reset, simulated, searched
and drawn on each env's own model. Its parity with dm_control is in tests/test_dm_control_parity.py."""

from __future__ import annotations

import importlib.util
import sys

import mujoco
import numpy as np
import pytest
from gymnasium.utils.seeding import np_random

import mjvec
from mjvec import render
from mjvec.render_tiled import TiledRenderer

if importlib.util.find_spec("dm_control") is None:
    pytest.skip("the Control Suite tasks read their models from dm-control: pip install 'mjvec[dm_control]'",
                allow_module_level=True)
pytest.importorskip("scipy", reason="QuadrupedEscape-v0 smooths its terrain with SciPy (the dm_control extra)")

ID = "QuadrupedEscape-v0"


def _own_draws(task, seed):
    """Env ``seed``'s stream as the env draws from it, in dm_control's order: the bumps, then the orientation."""
    stream, _ = np_random(seed)
    b = task._bump_res
    terrain = task.terrain(stream.uniform(0.15, 1.0, b * b).reshape(b, b))
    orientation = stream.standard_normal(4)
    return terrain, orientation / np.linalg.norm(orientation)


def test_each_env_draws_its_terrain_then_its_orientation_from_its_own_stream_at_every_reset():
    seeds = [7, 8]
    env = mjvec.make(ID, 2, autoreset_mode="disabled")
    try:
        env.reset(seed=seeds)
        task = env.task
        root, rows = task._root, task._hfield
        states = env.get_state()
        for i, seed in enumerate(seeds):
            terrain, orientation = _own_draws(task, seed)
            model = env.get_model(i)
            np.testing.assert_array_equal(model.hfield_data[rows], terrain.ravel().astype(np.float32))
            data = mujoco.MjData(model)
            mujoco.mj_setState(model, data, states[i], mujoco.mjtState.mjSTATE_INTEGRATION)
            np.testing.assert_array_equal(data.qpos[root + 3:root + 7], orientation)
            mujoco.mj_forward(model, data)
            assert data.ncon == 0, "contact-free on its own terrain"
            z = data.qpos[root + 2]
            data.qpos[root + 2] = z - 0.01
            mujoco.mj_forward(model, data)
            assert z < 0.005 or data.ncon > 0, "1 cm lower touches its terrain"
        first = env.get_model(0).hfield_data.copy()
        assert np.ptp(first) > 0.5 and not np.array_equal(first, env.get_model(1).hfield_data)
        second = env.get_model(1).hfield_data.copy()
        env.reset(options={"reset_mask": np.array([True, False])})
        assert not np.array_equal(first, env.get_model(0).hfield_data), "a new terrain every episode"
        np.testing.assert_array_equal(env.get_model(1).hfield_data, second)  # env 1 was not reset
        obs, *_ = env.step(np.zeros((2, 12), np.float32))
        assert obs["rangefinder"].shape == (2, 20) and obs["origin"].shape == (2, 3)
    finally:
        env.close()


def test_the_height_search_needs_the_terrains_drawn_first():
    from mjvec.core.random import NumpyRandom

    task = mjvec.make_task(ID)
    with pytest.raises(RuntimeError, match="terrains its reset_model drew"):
        task.reset_state(np, NumpyRandom([np.random.default_rng(0)]), task.init_qpos, task.init_qvel)


def test_a_reset_to_given_states_keeps_each_envs_terrain():
    env = mjvec.make(ID, 2)
    try:
        env.reset(seed=0)
        terrains = [env.get_model(i).hfield_data.copy() for i in range(2)]
        states = env.get_state()
        env.step(np.zeros((2, 12), np.float32))
        env.reset(options={"state": states[::-1]})  # env 0 gets env 1's state, on env 0's terrain
        for i in range(2):
            np.testing.assert_array_equal(env.get_model(i).hfield_data, terrains[i])
        np.testing.assert_array_equal(env.get_state(), states[::-1])
    finally:
        env.close()


def test_escape_refuses_randomize_and_needs_scipy_at_make(monkeypatch):
    with pytest.raises(ValueError, match=r"QuadrupedEscape draws \['hfield_data'\] itself.*asset data.*`randomize`"):
        mjvec.make(ID, 2, randomize={"geom_friction": mjvec.Uniform(0.9, 1.1)})
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.ndimage", None)
    with pytest.raises(ModuleNotFoundError, match=r"SciPy.*pip install 'mjvec\[dm_control\]'"):
        mjvec.make(ID, 1)
    mjvec.make("QuadrupedWalk-v0", 1).close()  # the other quadruped tasks need no SciPy


def test_frames_and_camera_observations_show_each_envs_own_terrain(gl):
    size = {"width": 32, "height": 24}
    effects = dict.fromkeys(("shadows", "reflections", "skybox", "antialias"), True)
    env = mjvec.make(ID, 3, render_mode="rgb_array", camera_id=0, **size,
                     observations={"pixels": mjvec.Camera(camera=0, **size, **effects)})
    try:
        obs, _ = env.reset(seed=0)
        frames = env.render(layout="batch")
        state = env._backend.render_state(np.arange(3))

        def alone(i, model):  # env i's state drawn by a renderer made for `model` alone
            one = render.RenderState(model, state.qpos[i:i + 1], state.qvel[i:i + 1], state.act[i:i + 1])
            renderer = render.BatchRenderer(model, camera_id=0, **size)
            try:
                return renderer.render(one, "batch")[0]
            finally:
                renderer.close()

        for i in range(3):
            np.testing.assert_array_equal(frames[i], alone(i, env.get_model(i)))
        assert (alone(1, env.get_model(0)) != frames[1]).any(-1).mean() > 0.3, "another env's terrain shows"
        # the tiled camera observations: as the tiled renderer's rasterization allows (shadows sampled at
        # offset window positions, tests/test_cameras.py), far from a wrong terrain
        assert (obs["pixels"] != frames).any(-1).mean() < 0.1
        plain = dict.fromkeys(effects, False)
        tiled = TiledRenderer(env.task.model, camera_id=0, **size, **plain)
        single = render.BatchRenderer(env.task.model, camera_id=0, **size, **plain)
        try:
            got, want = tiled.render(state), single.render(state, "batch")
        finally:
            tiled.close(), single.close()
        # not tile 0 exactly here: a pixel of its top row can differ (measured 1 of 768), where the
        # rangefinders' lines of the tile above reach over (none differs with mjVIS_RANGEFINDER off)
        assert (got != want).any(-1).mean() < 0.01
    finally:
        env.close()
