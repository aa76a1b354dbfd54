"""Camera observations: the tiled renderer against mujoco.Renderer, frame stacking, SB3 on images."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mjvec
from mjvec import render
from mjvec.render_tiled import TiledRenderer

N = 5
SIZE = {"width": 24, "height": 20}
EFFECTS = ("shadows", "reflections", "skybox", "antialias")


def _stepped(env, steps=3, seed=0):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape))
    return obs


def _agree(got, want, kind):
    """Equal where the rasterizer's rounding allows: tile 0 (at the framebuffer's origin) exactly,
    the others in all but a few edge pixels."""
    np.testing.assert_array_equal(got[0], want[0])
    if kind == "depth":
        np.testing.assert_allclose(got, want, rtol=1e-4)  # depth interpolated at offset window positions
        return
    differ = got != want
    if kind == "rgb":
        assert np.abs(got.astype(int) - want).max() <= 8
        differ = differ.any(-1)
    assert differ.mean() < 0.01, f"{differ.mean():.2%} of pixels differ"


@pytest.mark.parametrize("kind", ["rgb", "depth", "segmentation"])
def test_tiled_frames_are_mujoco_renderers_with_each_envs_own_model(gl, kind):
    # per-env colours (randomize=): each env drawn with its own model
    env = mjvec.make("Hopper-v5", N, randomize={"geom_rgba": mjvec.Uniform([0, 0, 0, 1], [1, 1, 1, 1])})
    _stepped(env)
    state = env._backend.render_state(np.arange(N))
    camera = env.task.default_camera_config
    for antialias in (False, True):
        flags = {"shadows": False, "reflections": False, "skybox": False, "antialias": antialias}
        tiled = TiledRenderer(env.task.model, kind=kind, default_camera_config=camera, **SIZE, **flags)
        tiled.max_pass_pixels = 2 * SIZE["width"] * SIZE["height"]  # 3 passes of up to 2 envs
        ref = render.BatchRenderer(env.task.model, kind=kind, default_camera_config=camera, **SIZE, **flags)
        got, want = tiled.render(state), ref.render(state, "batch")
        assert got.dtype == want.dtype and got.shape == want.shape == (N, 20, 24, *((3,) if kind == "rgb" else ()))
        _agree(got, want, kind)
        for j in (1, 2, 3, 4):  # tile 0 of passes 2 and 3 exactly too
            if j % 2 == 0:
                np.testing.assert_array_equal(got[j], want[j])
        tiled.close(), ref.close()
    if kind == "rgb":
        assert not np.array_equal(got[0], got[1])  # other colours, other states
    env.close()


def test_camera_observations_are_env_render_frames_with_every_effect_on(gl):
    env = mjvec.make("Hopper-v5", N, render_mode="rgb_array", **SIZE, observations={
        "all": mjvec.Camera(**SIZE, **dict.fromkeys(EFFECTS, True)), "plain": mjvec.Camera(**SIZE)})
    obs = _stepped(env)
    frames = env.render(layout="batch")
    np.testing.assert_array_equal(obs["all"][0], frames[0])
    # shadows sampled at offset window positions: more pixels move than without (shadow acne)
    assert (obs["all"] != frames).any(-1).mean() < 0.1
    assert not np.array_equal(obs["plain"], obs["all"])  # effects off by default
    env.close()


def _stack(frames, k):
    return np.concatenate(frames[-k:], axis=-1)


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_stacked_frames_hold_the_last_k_and_restart_with_each_episode(gl, mode):
    k = 3
    env = mjvec.make("InvertedPendulum-v5", N, autoreset_mode=mode, max_episode_steps=4, observations={
        "frame": mjvec.Camera(**SIZE), "stack": mjvec.Camera(stack=k, **SIZE),
        "depth": mjvec.Camera(kind="depth", **SIZE), "depths": mjvec.Camera(kind="depth", stack=2, **SIZE)})
    space = env.single_observation_space
    assert space["stack"].shape == (20, 24, 3 * k) and space["depths"].shape == (20, 24, 2)
    obs, _ = env.reset(seed=0)
    history = [[obs["frame"][i]] * k for i in range(N)]
    depths = [[obs["depth"][i][..., None]] * 2 for i in range(N)]
    rng = np.random.default_rng(0)
    ends = 0
    ended = np.zeros(N, bool)
    for t in range(14):
        obs, _, terminated, truncated, info = env.step(rng.uniform(-3, 3, (N, 1)))
        assert env.observation_space.contains(obs)
        for i in range(N):
            if mode == "same_step" and info.get("_final_obs", np.zeros(N, bool))[i]:
                final = info["final_obs"][i]
                ends += 1
                np.testing.assert_array_equal(final["stack"], _stack(history[i] + [final["frame"]], k))
                history[i] = [obs["frame"][i]] * k  # the new episode starts with its first frame k times
                depths[i] = [obs["depth"][i][..., None]] * 2
            elif mode == "next_step" and ended[i]:
                ends += 1
                history[i] = [obs["frame"][i]] * k
                depths[i] = [obs["depth"][i][..., None]] * 2
            else:
                history[i].append(obs["frame"][i])
                depths[i].append(obs["depth"][i][..., None])
            np.testing.assert_array_equal(obs["stack"][i], _stack(history[i], k))
            np.testing.assert_array_equal(obs["depths"][i], _stack(depths[i], 2))
        ended = terminated | truncated
        if mode == "disabled" and ended.any():
            ends += int(ended.sum())
            obs, _ = env.reset(options={"reset_mask": ended})
            for i in range(N):
                if ended[i]:
                    history[i] = [obs["frame"][i]] * k
                    depths[i] = [obs["depth"][i][..., None]] * 2
                np.testing.assert_array_equal(obs["stack"][i], _stack(history[i], k))
    assert ends  # episodes ended and restarted on the way
    if mode == "same_step":
        assert len(set(np.unique(obs["stack"][0][..., :3]))) > 1
    env.close()


def test_bad_camera_arguments_are_refused():
    with pytest.raises(ValueError, match=r"`stack` must be >= 1"):
        mjvec.Camera(stack=0)
    with pytest.raises(TypeError, match=r"`stack` must be an int"):
        mjvec.Camera(stack=2.0)
    with pytest.raises(TypeError, match=r"`skybox` must be a bool"):
        mjvec.Camera(skybox=1)


def test_sb3_cnn_policy_on_images_and_vec_frame_stack(gl):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecFrameStack

    from mjvec.sb3 import SB3VecEnv

    size = {"width": 36, "height": 36}  # SB3's NatureCNN needs at least 36 x 36
    # one source: the observation is the camera's Box itself, an image to SB3
    env = mjvec.make("InvertedPendulum-v5", 2, observations=mjvec.Camera(stack=2, **size))
    assert env.single_observation_space == gym.spaces.Box(0, 255, (36, 36, 6), np.uint8)
    venv = SB3VecEnv(env)
    obs = venv.reset()
    assert obs.shape == (2, 36, 36, 6) and np.array_equal(obs[..., :3], obs[..., 3:])  # the reset frame twice
    PPO("CnnPolicy", venv, n_steps=8, batch_size=16, n_epochs=1, device="cpu").learn(16)
    # SB3's own stacking over unstacked frames: zeros before the first frame, as SB3 does it
    stacked = VecFrameStack(SB3VecEnv(mjvec.make("InvertedPendulum-v5", 2, observations=mjvec.Camera(**size))), 3)
    assert stacked.observation_space.shape == (36, 36, 9)
    obs = stacked.reset()
    assert obs.shape == (2, 36, 36, 9) and not obs[..., :6].any() and obs[..., 6:].any()
    PPO("CnnPolicy", stacked, n_steps=8, batch_size=16, n_epochs=1, device="cpu").learn(16)
    venv.close(), stacked.close()


def test_rollout_refuses_camera_and_ray_observations(gl):
    env = mjvec.make("InvertedPendulum-v5", 2, autoreset_mode="disabled", observations=mjvec.Camera(**SIZE))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"`rollout\(\)` evaluates recorded physics states.*use `step\(\)`"):
        env.rollout(np.zeros((2, 3, 1)))
    env.close()


def test_one_source_is_the_observation_itself():
    env = mjvec.make("Hopper-v5", 2, observations="privileged")
    ref = mjvec.make("Hopper-v5", 2, observations={"p": "privileged"})
    assert env.single_observation_space == ref.single_observation_space["p"]
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, ref.reset(seed=0)[0]["p"])
    with pytest.raises(ValueError, match=r"^`observations` = 'privilegd' is not an observation term.*did you mean"):
        mjvec.make("Hopper-v5", 2, observations="privilegd")
