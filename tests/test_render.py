"""Rendering: frames of MjVecEnv (one per env, batch, tiled, overlay), against Gymnasium's own
frames and a plain mujoco.Renderer loop; RecordVideo, SB3, write_video and `mjvec render`.

Frames are tiny: software OpenGL spends ~0.1 s a frame on MuJoCo's shadows and
reflections whatever the size. Tests that draw skip only where no OpenGL context can
be made (the message says what to install); .ci/run installs OSMesa so they run in CI.
"""

import sys
import warnings

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import mjvec
from mjvec import opengl, render
from mjvec.tools.cli import main

W, H = 40, 32


def _env(env_id="Hopper-v5", num_envs=3, **kwargs):
    kwargs = {"render_mode": "rgb_array", "width": W, "height": H, **kwargs}
    return mjvec.make(env_id, num_envs, **kwargs)


def _steps(env, n, seed=0):
    rng = np.random.default_rng(seed)
    low, high = env.action_space.low, env.action_space.high
    for _ in range(n):
        out = env.step(rng.uniform(low, high).astype(np.float32))
    return out


def test_frames_are_one_uint8_image_per_env_not_blank(gl):
    env = _env()
    env.reset(seed=0)
    frames = env.render()
    assert isinstance(frames, tuple) and len(frames) == 3  # Gymnasium's vector contract
    for frame in frames:
        assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
        assert frame.std() > 10  # a scene, not a blank buffer
    batch = env.render(layout="batch")
    assert batch.shape == (3, H, W, 3) and batch.dtype == np.uint8
    np.testing.assert_array_equal(batch, np.stack(frames))  # same state, same pixels

    picked = env.render(env_ids=[2, 0], layout="batch")
    np.testing.assert_array_equal(picked, batch[[2, 0]])
    np.testing.assert_array_equal(env.render(env_ids=1)[0], batch[1])

    _steps(env, 10)
    moved = env.render(layout="batch")
    assert all((moved[i] != batch[i]).any() for i in range(3))  # another state, another frame
    env.close()


@pytest.mark.parametrize("env_id, camera", [("Hopper-v5", {}), ("HalfCheetah-v5", {"camera_name": "track"})])
def test_frames_equal_gymnasiums_own(gl, env_id, camera):
    # the free camera with the task's default_camera_config (Hopper's sets lookat), or a model camera
    env = _env(env_id, 2, **camera)
    reference = gym.make(env_id, render_mode="rgb_array", width=W, height=H, **camera)
    env.reset(seed=5)
    reference.reset(seed=6)  # env 1 is seeded with 5 + 1
    actions = np.random.default_rng(0).uniform(-1, 1, (8, 2, *env.single_action_space.shape)).astype(np.float32)
    for t in range(8):
        env.step(actions[t])
        reference.step(actions[t, 1])
    # Gymnasium draws the kinematics of before the step's last substep (mj_step's); mjvec
    # those of the state it returns. Drawn first: Gymnasium makes its context current only once.
    mujoco.mj_forward(reference.unwrapped.model, reference.unwrapped.data)
    expected = reference.render()
    np.testing.assert_array_equal(env.render(env_ids=[1])[0], expected)
    env.close()
    reference.close()


def test_frames_use_each_envs_own_model_parameters(gl):
    # per-env colours: each frame equals a plain mujoco.Renderer drawing env i's own model
    randomize = {"geom_rgba": mjvec.Uniform([0, 0, 0, 1], [1, 1, 1, 1], mode="set", names=["torso_geom"])}
    env = _env(num_envs=2, camera_name="track", randomize=randomize, exclude_current_positions_from_observation=False)
    env.reset(seed=0)
    obs = _steps(env, 3)[0]
    frames = env.render(layout="batch")
    for i in range(2):
        model = env.get_model(i)
        data = mujoco.MjData(model)
        data.qpos[:], data.qvel[:] = obs[i, : model.nq], obs[i, model.nq :]
        mujoco.mj_forward(model, data)
        with mujoco.Renderer(model, H, W) as reference:
            reference.update_scene(data, camera="track")
            np.testing.assert_array_equal(frames[i], reference.render())
    assert (frames[0] != frames[1]).any()
    env.close()


def test_tiled_layout_is_a_grid_of_the_frames(gl):
    env = _env()
    env.reset(seed=0)
    batch = env.render(layout="batch")
    grid = env.render(layout="tiled")
    assert grid.shape == (2 * H, 2 * W, 3) and grid.dtype == np.uint8  # 3 frames: 2 x 2, one cell empty
    np.testing.assert_array_equal(grid[:H, :W], batch[0])
    np.testing.assert_array_equal(grid[:H, W:], batch[1])
    np.testing.assert_array_equal(grid[H:, :W], batch[2])
    assert not grid[H:, W:].any()
    env.close()


def test_tile_grid_shape():
    frames = np.arange(5 * 2 * 3 * 3, dtype=np.uint8).reshape(5, 2, 3, 3)
    grid = render.tile(frames)
    assert grid.shape == (2 * 2, 3 * 3, 3)  # 5 frames: 3 columns, 2 rows
    np.testing.assert_array_equal(grid[2:4, 3:6], frames[4])
    assert render.tile(frames[:1]).shape == (2, 3, 3)


def test_overlay_draws_every_env_into_one_scene(gl, monkeypatch):
    env = _env("InvertedPendulum-v5", 4)
    env.reset(seed=0)
    _steps(env, 15)
    alone = env.render(env_ids=[0], layout="batch")[0]
    np.testing.assert_array_equal(env.render(env_ids=[0], layout="overlay"), alone)  # one env: its frame
    overlay = env.render(layout="overlay")
    assert overlay.shape == (H, W, 3) and overlay.dtype == np.uint8
    assert (overlay != alone).any()  # the other poles are drawn too
    env.close()
    # a scene too small for every env's geoms grows: same picture
    monkeypatch.setattr(render.BatchRenderer, "max_geom", 4)
    small = _env("InvertedPendulum-v5", 4)
    small.reset(seed=0)
    _steps(small, 15)
    np.testing.assert_array_equal(small.render(layout="overlay"), overlay)
    assert small._renderer._renderer.scene.maxgeom >= small._renderer._renderer.scene.ngeom > 4
    small.close()


def test_record_video_writes_an_mp4(gl, tmp_path):
    pytest.importorskip("moviepy")
    imageio = pytest.importorskip("imageio.v2")
    from gymnasium.wrappers.vector import RecordVideo

    env = gym.make_vec("mjvec/InvertedPendulum-v5", num_envs=2, render_mode="rgb_array", width=W, height=H)
    assert env.metadata["render_modes"] == ["rgb_array"]
    env = RecordVideo(env, str(tmp_path / "videos"), episode_trigger=lambda episode: episode == 0, video_length=6)
    env.reset(seed=0)
    _steps(env, 8)
    env.close()
    [video] = (tmp_path / "videos").glob("*.mp4")
    with imageio.get_reader(video, format="FFMPEG") as reader:
        assert reader.count_frames() == 7  # the reset frame and 6 steps
        assert reader.get_data(0).shape == (H, 2 * W, 3)  # the 2 envs side by side


def test_sb3_images_are_the_envs_frames(gl):
    pytest.importorskip("stable_baselines3")
    from mjvec.sb3 import SB3VecEnv

    venv = SB3VecEnv(_env(num_envs=2))
    venv.reset()
    images = venv.get_images()
    assert len(images) == 2
    np.testing.assert_array_equal(np.stack(images), venv.env.render(layout="batch"))
    assert venv.render().shape == (2 * H, W, 3)  # tiled by SB3: 2 rows, 1 column
    venv.close()


def test_render_argument_errors():
    env = mjvec.make("Hopper-v5", 2)
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="render_mode='rgb_array'"):
        env.render()
    env.close()
    with pytest.raises(ValueError, match="`render_mode` must be None or one of"):
        mjvec.make("Hopper-v5", 2, render_mode="human")
    with pytest.raises(ValueError, match="'track'"):
        mjvec.make("Hopper-v5", 2, render_mode="rgb_array", camera_name="trak")
    with pytest.raises(ValueError, match="`camera_id` must be -1"):
        mjvec.make("Hopper-v5", 2, render_mode="rgb_array", camera_id=7)
    with pytest.raises(ValueError, match="not both"):
        mjvec.make("Hopper-v5", 2, render_mode="rgb_array", camera_id=0, camera_name="track")
    with pytest.raises(ValueError, match="`width` must be >= 1"):
        mjvec.make("Hopper-v5", 2, render_mode="rgb_array", width=0)
    with pytest.raises(TypeError, match="`height` must be an int"):
        mjvec.make("Hopper-v5", 2, render_mode="rgb_array", height=32.0)
    with pytest.raises(ValueError, match="did you mean 'distance'"):
        mjvec.make("Hopper-v5", 2, render_mode="rgb_array", default_camera_config={"distanc": 3.0})

    env = _env(num_envs=2)
    with pytest.raises(RuntimeError, match="before `reset\\(\\)`"):
        env.render()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"`env_ids` must be in \[0, 2\), got \[2\]"):
        env.render(env_ids=[0, 2])
    with pytest.raises(ValueError, match=r"got \[-1\]"):
        env.render(env_ids=-1)
    with pytest.raises(ValueError, match="empty"):
        env.render(env_ids=[])
    with pytest.raises(TypeError, match="np.flatnonzero"):
        env.render(env_ids=np.array([True, False]))
    with pytest.raises(ValueError, match="did you mean 'tiled'"):
        env.render(layout="tile")
    env.close()
    with pytest.raises(RuntimeError, match="closed"):
        env.render()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="EGL and OSMesa are Linux's")
def test_gl_backend_tries_egl_then_osmesa_headless(monkeypatch):
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    used = []
    monkeypatch.setattr(opengl, "_use_gl", used.append)  # this process keeps its OpenGL
    tried = []
    monkeypatch.setattr(opengl, "_probe", lambda name: tried.append(name) or (None if name == "osmesa" else "no EGL"))
    assert opengl.gl_backend() == "osmesa"
    assert tried == ["egl", "osmesa"] and used == ["osmesa"]

    monkeypatch.setattr(opengl, "_probe", lambda name: f"no {name}")
    with pytest.raises(opengl.GLUnavailableError, match="apt-get install libosmesa6") as e:
        opengl.gl_backend()
    assert "egl: no egl" in str(e.value) and "osmesa: no osmesa" in str(e.value)

    monkeypatch.setenv("MUJOCO_GL", "osmesa")  # set by the user: used as is, nothing probed
    assert opengl.gl_backend() == "osmesa"


def test_write_video_mp4_and_gif(tmp_path):
    imageio = pytest.importorskip("imageio.v2")
    frames = np.zeros((5, 21, 33, 3), dtype=np.uint8)
    frames += np.arange(5, dtype=np.uint8)[:, None, None, None] * 50  # a fade: 5 distinct frames
    path = render.write_video(tmp_path / "out" / "fade.mp4", iter(frames), fps=10)
    with imageio.get_reader(path, format="FFMPEG") as reader:
        assert reader.count_frames() == 5
        assert reader.get_meta_data()["fps"] == 10
        last = reader.get_data(4)
    assert last.shape == (22, 34, 3)  # padded to even sizes for H.264 4:2:0
    assert abs(int(last[:21, :33].mean()) - 200) <= 3 and last[21:, 33:].max() <= 16  # black padding
    gif = render.write_video(tmp_path / "fade.gif", frames, fps=10)
    assert len(imageio.mimread(gif)) == 5


def test_write_video_argument_errors(tmp_path):
    frame = np.zeros((4, 4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="empty"):
        render.write_video(tmp_path / "a.mp4", [], fps=10)
    with pytest.raises(TypeError, match="uint8"):
        render.write_video(tmp_path / "a.mp4", [frame.astype(np.float32)], fps=10)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        render.write_video(tmp_path / "a.mp4", [frame[..., 0]], fps=10)
    with pytest.raises(ValueError, match="one shape"):
        render.write_video(tmp_path / "a.mp4", [frame, np.zeros((6, 4, 3), np.uint8)], fps=10)
    with pytest.raises(ValueError, match=".mp4 or .gif"):
        render.write_video(tmp_path / "a.avi", [frame], fps=10)
    with pytest.raises(ValueError, match="`fps` must be a finite number > 0"):
        render.write_video(tmp_path / "a.mp4", [frame], fps=0)
    with pytest.raises(TypeError, match="`fps` must be a number"):
        render.write_video(tmp_path / "a.mp4", [frame], fps="10")


def test_cli_render_random_and_trained_play(gl, tmp_path, capsys):
    imageio = pytest.importorskip("imageio.v2")
    out = tmp_path / "random.mp4"
    argv = ["render", "InvertedPendulum-v5", "--num-envs", "2", "--steps", "3", "--width", "32", "--height", "24"]
    assert main([*argv, "-o", str(out)]) == 0
    assert f"wrote {out}: 4 frames" in capsys.readouterr().out
    with imageio.get_reader(out, format="FFMPEG") as reader:
        assert reader.count_frames() == 4 and reader.get_data(0).shape == (24, 64, 3)  # 2 envs tiled

    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from mjvec.sb3 import SB3VecEnv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n_steps * n_envs not a multiple of batch_size
        PPO("MlpPolicy", SB3VecEnv(mjvec.make("InvertedPendulum-v5", 1)), n_steps=8).save(tmp_path / "ppo")
    out = tmp_path / "trained.mp4"
    assert main([*argv, "--layout", "overlay", "--model", str(tmp_path / "ppo.zip"), "-o", str(out)]) == 0
    assert f"wrote {out}: 4 frames" in capsys.readouterr().out
    with imageio.get_reader(out, format="FFMPEG") as reader:
        assert reader.count_frames() == 4 and reader.get_data(0).shape == (24, 32, 3)  # one overlaid scene
    with pytest.raises(SystemExit, match="mjvec render: error: `--model` .* is not a file"):
        main([*argv, "--model", str(tmp_path / "missing.zip"), "-o", str(out)])
    with pytest.raises(SystemExit, match="'trak' is not a camera of the model; its cameras: \\[\\]"):
        main([*argv, "--camera", "trak", "-o", str(out)])
    cheetah = ["render", "HalfCheetah-v5", "--num-envs", "1", "--steps", "1", "--width", "32", "--height", "24"]
    with pytest.raises(SystemExit, match="did you mean 'track'"):
        main([*cheetah, "--camera", "trak", "-o", str(out)])
