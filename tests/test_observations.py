"""observations=: a Dict of a task's named terms, through every rule of the episode core."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import mjvec

N = 4
TERMS = {"policy": "state", "critic": "privileged"}


def _run(env, steps, seed=0):
    out = [env.reset(seed=seed)]
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        a = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        step = env.step(a)
        out.append(step)
        if env.autoreset_mode.name == "DISABLED" and (step[2] | step[3]).any():
            out.append(env.reset(options={"reset_mask": step[2] | step[3]}))
    return out


def test_the_dict_holds_the_task_observation_and_the_privileged_state():
    env = mjvec.make("Ant-v5", N, observations=TERMS)
    ref = mjvec.make("Ant-v5", N)
    space = env.single_observation_space
    assert isinstance(space, gym.spaces.Dict) and list(space.spaces) == ["policy", "critic"]
    assert list(env.observation_space.spaces) == ["policy", "critic"]
    model = env.task.model
    assert space["policy"] == ref.single_observation_space
    assert space["critic"].shape == (model.nq + model.nv + 6 * (model.nbody - 1),)
    obs, _ = env.reset(seed=0)
    ref_obs, _ = ref.reset(seed=0)
    assert list(obs) == ["policy", "critic"] and env.observation_space.contains(obs)
    np.testing.assert_array_equal(obs["policy"], ref_obs)  # the task's own Box, bit for bit
    state = env.get_state()
    np.testing.assert_array_equal(obs["critic"][:, : model.nq], state[:, 1 : 1 + model.nq])  # x, y included


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_every_autoreset_rule_holds_for_dict_observations(mode):
    kwargs = {"autoreset_mode": mode, "max_episode_steps": 7}
    env = mjvec.make("Hopper-v5", N, observations=TERMS, **kwargs)
    ref = mjvec.make("Hopper-v5", N, **kwargs)
    ends = 0
    for got, want in zip(_run(env, 20), _run(ref, 20)):
        np.testing.assert_array_equal(got[0]["policy"], want[0])
        for x, y in zip(got[1:-1], want[1:-1]):
            np.testing.assert_array_equal(x, y)
        info, ref_info = got[-1], want[-1]
        assert set(info) == set(ref_info)
        if "final_obs" in info:
            ends += int(info["_final_obs"].sum())
            for i in np.flatnonzero(info["_final_obs"]):
                assert set(info["final_obs"][i]) == {"policy", "critic"}
                np.testing.assert_array_equal(info["final_obs"][i]["policy"], ref_info["final_obs"][i])
    assert mode != "same_step" or ends


def test_a_diverged_env_shows_the_last_finite_value_of_every_key():
    env = mjvec.make("HalfCheetah-v5", N, observations=TERMS)
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(np.zeros((N, 6), np.float32))
    env._backend.sim._qvel[1, 0] = np.nan  # test-only fault injection
    nxt, reward, terminated, truncated, info = env.step(np.zeros((N, 6), np.float32))
    assert info["diverged"][1] and truncated[1] and reward[1] == 0
    for key in TERMS:
        np.testing.assert_array_equal(nxt[key][1], obs[key][1])
        assert np.isfinite(nxt[key]).all()


def test_dict_observations_on_mjx_agree_with_the_cpu():
    pytest.importorskip("jax")
    kwargs = {"observations": {"a": "state", "b": "privileged"}, "autoreset_mode": "same_step",
              "max_episode_steps": 3, "reset_noise_scale": 0.0}
    cpu = mjvec.make("InvertedPendulum-v5", 2, **kwargs)
    mjx = mjvec.make("InvertedPendulum-v5", 2, backend="mjx", **kwargs)
    for got, want in zip(_run(mjx, 4), _run(cpu, 4)):
        for key in ("a", "b"):
            np.testing.assert_allclose(got[0][key], want[0][key], rtol=0, atol=1e-5)
    cpu.close(), mjx.close()


def test_bad_observations_are_refused_naming_the_terms():
    with pytest.raises(ValueError, match=r"'privilegd' is not an observation term.*did you mean 'privileged'"):
        mjvec.make("Hopper-v5", 2, observations={"critic": "privilegd"})
    with pytest.raises(TypeError, match=r"must name one of Hopper's observation terms"):
        mjvec.make("Hopper-v5", 2, observations={"pixels": 3})
    with pytest.raises(TypeError, match=r"non-empty dict"):
        mjvec.make("Hopper-v5", 2, observations={})


def test_sb3_and_gymnasium_wrappers_take_the_dict():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from mjvec.sb3 import SB3VecEnv

    venv = SB3VecEnv(mjvec.make("InvertedPendulum-v5", N, observations=TERMS))
    obs = venv.reset()
    assert set(obs) == {"policy", "critic"}
    PPO("MultiInputPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, device="cpu").learn(64)
    env = mjvec.make("InvertedPendulum-v5", N, observations=TERMS)
    wrapped = gym.wrappers.vector.RecordEpisodeStatistics(gym.wrappers.vector.FlattenObservation(env))
    obs, _ = wrapped.reset(seed=0)
    assert obs.shape == (N, 4 + 4)  # the Dict flattened, key by key
    obs, *_ = wrapped.step(np.zeros((N, 1), np.float32))
    assert obs.shape == (N, 8)


def test_ray_vec_env_joins_dict_observations():
    ray = pytest.importorskip("ray")
    import mjvec.distributed

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    env = mjvec.distributed.make("Hopper-v5", 5, num_actors=2, observations=TERMS, max_episode_steps=6)
    ref = mjvec.make("Hopper-v5", 5, observations=TERMS, max_episode_steps=6)
    try:
        for got, want in zip(_run(env, 10), _run(ref, 10)):
            for key in TERMS:
                np.testing.assert_array_equal(got[0][key], want[0][key])
    finally:
        env.close()


def test_cameras_draw_rgb_depth_and_segmentation_of_every_env(gl):
    size = {"width": 32, "height": 24}
    effects = dict.fromkeys(("shadows", "reflections", "skybox", "antialias"), True)  # env.render's scene
    env = mjvec.make("Hopper-v5", 3, render_mode="rgb_array", **size, observations={
        "state": "state", "pixels": mjvec.Camera(**size, **effects), "depth": mjvec.Camera(kind="depth", **size),
        "ids": mjvec.Camera(kind="segmentation", **size),
    })
    space = env.single_observation_space
    assert space["pixels"].shape == (24, 32, 3) and space["pixels"].dtype == np.uint8
    assert space["depth"].dtype == np.float32 and space["ids"].dtype == np.int32
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    for _ in range(3):
        frames = env.render(layout="batch")  # env.render's frames (tiled: tests/test_cameras.py)
        np.testing.assert_array_equal(obs["pixels"][0], frames[0])
        assert (obs["pixels"] != frames).any(-1).mean() < 0.1
        assert np.isfinite(obs["depth"]).all() and (obs["depth"] > 0).all()
        ids = np.unique(obs["ids"])
        assert ids[0] == -1 and set(ids[1:]) <= set(range(env.task.model.ngeom))  # geoms, and nothing hit
        obs, *_ = env.step(np.random.default_rng(0).uniform(-1, 1, (3, 3)).astype(np.float32))
    assert not np.array_equal(obs["pixels"][0], obs["pixels"][1])  # each env drawn in its own state
    env.close()
    fast = mjvec.make("Hopper-v5", 3, observations={"pixels": mjvec.Camera(**size)})
    plain, _ = fast.reset(seed=0)
    assert plain["pixels"].shape == (3, 24, 32, 3) and plain["pixels"].any()
    fast.close()


def test_cameras_are_refused_where_they_cannot_be_drawn():
    with pytest.raises(ValueError, match=r"`kind` must be one of \('rgb', 'depth', 'segmentation'\).*did you mean 'depth'"):
        mjvec.Camera(kind="dpeth")
    pytest.importorskip("mujoco.mjx")
    from mjvec.backends.mjx import UnsupportedFeatureError

    with pytest.raises(UnsupportedFeatureError, match=r"camera observations .* backend='mjx' .* impl='warp'") as e:
        mjvec.make("Hopper-v5", 2, backend="mjx", observations={"pixels": mjvec.Camera()})
    assert "mjvec.Camera" in e.value.feature
    with pytest.raises(ValueError, match=r"camera"):
        mjvec.make("Hopper-v5", 2, observations={"pixels": mjvec.Camera(camera="nope")})


_ROOM = """
<mujoco>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <geom name="east" type="box" pos="2.1 0 1" size="0.1 5 1"/>
    <geom name="west" type="box" pos="-2.1 0 1" size="0.1 5 1"/>
    <geom name="north" type="box" pos="0 3.1 1" size="5 0.1 1"/>
    <body name="probe" pos="0 0 0.5">
      <joint name="x" type="slide" axis="1 0 0"/>
      <geom type="sphere" size="0.1" mass="1" contype="0" conaffinity="0"/>
      <site name="eye"/>
    </body>
  </worldbody>
  <actuator><motor joint="x" gear="1"/></actuator>
</mujoco>
"""


def test_ray_sensors_measure_distances_and_hit_geoms():
    task = mjvec.Task.from_xml(_ROOM, frame_skip=1)
    env = mjvec.make(task, 2, observations={
        "lidar": mjvec.Rays.ring("eye", n=4, max_distance=2.5),
        "scan": mjvec.Rays.height_scan("eye", shape=(1, 1), max_distance=4.0),
    })
    space = env.single_observation_space
    assert space["lidar"]["distance"].shape == (4,) and space["lidar"]["geom"].dtype == np.int32
    obs, _ = env.reset(seed=0)
    x = env.get_state()[:, 1]  # each probe's x (qpos after time)
    ids = {name: mujoco.mj_name2id(task.model, mujoco.mjtObj.mjOBJ_GEOM, name) for name in ("floor", "east", "west", "north")}
    lidar = obs["lidar"]
    np.testing.assert_allclose(lidar["distance"][:, 0], 2.0 - x, atol=1e-6)  # +x: the east wall
    np.testing.assert_allclose(lidar["distance"][:, 2], 2.0 + x, atol=1e-6)  # -x: the west wall
    assert (lidar["geom"][:, 0] == ids["east"]).all() and (lidar["geom"][:, 2] == ids["west"]).all()
    # +y: the north wall is 3 m away, beyond max_distance: reported as no hit
    np.testing.assert_array_equal(lidar["distance"][:, 1], 2.5)
    assert (lidar["geom"][:, 1] == -1).all()
    np.testing.assert_allclose(obs["scan"]["distance"][:, 0], 0.5, atol=1e-6)  # straight down to the floor
    assert (obs["scan"]["geom"][:, 0] == ids["floor"]).all()
    with pytest.raises(ValueError, match=r"`site` 'eey' is not a site.*did you mean 'eye'"):
        mjvec.make(task, 2, observations={"lidar": mjvec.Rays.ring("eey")})
    with pytest.raises(ValueError, match=r"`fov` must be at most 360"):
        mjvec.Rays.ring("eye", fov=400)
