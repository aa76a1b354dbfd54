"""Camera observations on backend="mjx", impl="warp": MuJoCo Warp's batch renderer inside the jitted step.

Against the CPU backend's camera observations (mujoco.Renderer's OpenGL, tiled) of the same
states. Not pixel for pixel: a ray tracer against a rasterizer. The same geoms at the same
depths (segmentation agrees but for edge pixels, depth to float32 rounding where both hit the
same geom), the colours close where the geom is untextured; the textured floor aliases in
Warp (no mipmaps) where OpenGL averages the checker, so there only the frame's mean colour is
close. The tolerances are measured (see each assert). Warp runs on JAX's CPU here: a few envs,
small frames. Skipped, with the reason, where warp-lang cannot load.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from parity import warp_skip_reason

import mjvec

pytest.importorskip("jax", reason="the MJX backend needs JAX: pip install 'mjvec[mjx]'")
pytest.importorskip("mujoco.mjx", reason="the MJX backend needs mujoco-mjx: pip install 'mjvec[mjx]'")


_REASON = warp_skip_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"impl='warp': {_REASON}")

N = 2
SIZE = {"width": 32, "height": 24}
HOPPER = "Hopper-v5"  # a model camera ("track"), a textured floor, capsules


@pytest.fixture(scope="module", autouse=True)
def _compilation_cache(tmp_path_factory):
    os.environ.setdefault("MJVEC_JAX_CACHE", str(tmp_path_factory.mktemp("jax-cache")))


# untextured geoms of every kind Warp's rays meet here: plane, box, sphere, capsule; one light
SCENE = """
<mujoco>
  <worldbody>
    <light pos="0 -1 3" dir="0 0.3 -1"/>
    <geom name="floor" type="plane" size="3 3 0.1" rgba="0.3 0.5 0.3 1"/>
    <geom name="wall" type="box" pos="0 1.5 0.5" size="2 0.1 0.5" rgba="0.2 0.3 0.8 1"/>
    <body name="ball" pos="0 0 0.3">
      <joint name="x" type="slide" axis="1 0 0"/>
      <geom name="ball" type="sphere" size="0.25" rgba="0.9 0.2 0.1 1"/>
      <geom name="arm" type="capsule" fromto="0 0 0 0.4 0 0.4" size="0.06" rgba="0.9 0.8 0.2 1"/>
    </body>
    <camera name="front" pos="0 -2.5 1.2" xyaxes="1 0 0 0 0.45 0.9"/>
  </worldbody>
  <actuator><motor joint="x" gear="1"/></actuator>
</mujoco>
"""


def _cameras(camera):
    return {"rgb": mjvec.Camera(camera, **SIZE), "depth": mjvec.Camera(camera, kind="depth", **SIZE),
            "seg": mjvec.Camera(camera, kind="segmentation", **SIZE)}


def _both(task, camera, states=None, steps=0):
    """The frames of the MJX (Warp) and CPU backends at the same states: those given, or the MJX env's
    after ``steps`` random steps."""
    env = mjvec.make(task, N, backend="mjx", impl="warp", observations=_cameras(camera))
    ref = mjvec.make(task, N, observations=_cameras(camera))
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        env.step(rng.uniform(-1, 1, env.action_space.shape))
    if states is None:
        states = env.get_state()
    got, _ = env.reset(options={"state": states})
    want, _ = ref.reset(options={"state": states})
    for key in ("rgb", "depth", "seg"):
        assert got[key].dtype == want[key].dtype and got[key].shape == want[key].shape
    assert got["rgb"].shape == (N, 24, 32, 3) and got["rgb"].dtype == np.uint8
    assert got["depth"].shape == (N, 24, 32) and got["depth"].dtype == np.float32 and got["seg"].dtype == np.int32
    env.close(), ref.close()
    return got, want


def _same_geom(got, want):
    seg = got["seg"]
    # the far plane where no geom is hit (the CPU's decoded from its depth buffer: 1e-4 off)
    np.testing.assert_allclose(got["depth"][seg < 0], want["depth"][seg < 0], rtol=1e-4)
    return (seg == want["seg"]) & (seg >= 0)


def test_warp_frames_agree_with_the_cpu_backends_of_the_same_states(gl):
    task = mjvec.Task.from_xml(SCENE, frame_skip=1)
    states = np.zeros((N, mjvec.make(task, 1).state_size))
    states[:, 1] = [-0.5, 0.4]  # the ball left and right of the centre (qpos after time)
    got, want = _both(task, "front", states)
    seg = got["seg"]
    assert (seg == want["seg"]).mean() > 0.99  # measured: every pixel
    assert set(np.unique(seg)) == {-1, 0, 1, 2, 3}  # the sky and every geom
    same = _same_geom(got, want)
    flat = same & (seg <= 1)  # the floor and the wall: depth to float32 rounding (measured 2e-6 m)
    np.testing.assert_allclose(got["depth"][flat], want["depth"][flat], rtol=1e-5)
    # the sphere and the capsule: OpenGL draws them as polygons, Warp's rays meet the surface (measured
    # 9.6e-3 m at most on the sphere of radius 0.25)
    np.testing.assert_allclose(got["depth"][same], want["depth"][same], atol=0.02)
    # rgb: untextured geoms lit by the same light: measured 0.4-1.5 levels off per pixel on average
    rgb, ref_rgb = got["rgb"].astype(int), want["rgb"].astype(int)
    for g in range(4):
        assert np.abs(rgb - ref_rgb)[same & (seg == g)].mean() < 4, f"geom {g}"
    assert np.abs(rgb - ref_rgb)[same].max() < 64  # no pixel of a geom far off (highlights)


def test_each_env_is_drawn_with_its_own_colours_light_and_camera_pose(gl):
    from mjvec.render_tiled import TiledRenderer

    task = mjvec.Task.from_xml(SCENE, frame_skip=1)
    env = mjvec.make(task, N, backend="mjx", impl="warp", observations=_cameras("front"), randomize={
        "geom_rgba": mjvec.Uniform([0, 0, 0, 1], [1, 1, 1, 1], mode="set"),
        "light_pos": mjvec.Uniform(-1, 1, mode="add"), "cam_pos": mjvec.Uniform(-0.2, 0.2, mode="add")})
    got, _ = env.reset(seed=0)
    # the CPU's renderer of the same states, each env with its own model (env.get_model(i))
    state = env._backend.render_state(np.arange(N))
    want = {key: TiledRenderer(task.model, camera_name="front", kind=kind, **SIZE).render(state)
            for key, kind in (("rgb", "rgb"), ("seg", "segmentation"))}
    seg = got["seg"]
    assert (seg == want["seg"]).mean() > 0.99  # each camera where its env put it (measured: every pixel)
    same = (seg == want["seg"]) & (seg >= 0)
    rgb, ref_rgb = got["rgb"].astype(int), want["rgb"].astype(int)
    assert np.abs(rgb - ref_rgb)[same].mean() < 4  # measured 1.5 (0.8 on the floor, 11 on the capsule's edges)
    floor = [rgb[i][seg[i] == 0].mean(axis=0) for i in range(N)]
    for i in range(N):
        np.testing.assert_allclose(floor[i], ref_rgb[i][seg[i] == 0].mean(axis=0), atol=4)
    assert np.abs(floor[0] - floor[1]).max() > 20  # the envs' own colours
    env.close()


def test_a_tasks_per_env_target_is_drawn_where_each_env_put_it(gl):
    # ReacherEasy draws its target's geom_pos per env at reset (Task.reset_model_fields); the target is a
    # static geom, whose pose MuJoCo Warp computes once, in make_data: the drawer computes it per env
    import copy

    import jax

    from mjvec.render import RenderState
    from mjvec.render_tiled import TiledRenderer

    env = mjvec.make("ReacherEasy-v0", N, backend="mjx", impl="warp",
                     observations=mjvec.Camera("fixed", kind="segmentation", **SIZE))
    got, _ = env.reset(seed=0)
    model = env.task.model
    geom_pos = np.asarray(jax.device_get(env._backend._state.params["geom_pos"]))
    target = [g for g in range(model.ngeom) if model.geom(g).name == "target"][0]
    assert np.abs(geom_pos[0, target] - geom_pos[1, target]).max() > 0.01  # two places

    def env_model(j):
        m = copy.copy(model)
        m.geom_pos[:] = geom_pos[j]
        return m

    s = env._backend.render_state(np.arange(N))
    want = TiledRenderer(model, camera_name="fixed", kind="segmentation", **SIZE).render(
        RenderState(model, s.qpos, s.qvel, s.act, s.mocap_pos, s.mocap_quat, models=env_model))
    assert (got == want).mean() > 0.99  # measured 99.8% (edge pixels)
    for j in range(N):  # the target's pixels where the CPU draws them (measured: within 0.1 pixel)
        np.testing.assert_allclose(np.argwhere(got[j] == target).mean(0), np.argwhere(want[j] == target).mean(0),
                                   atol=0.5)
    env.close()


def test_warp_frames_of_a_task_agree_with_the_cpu_backends(gl):
    # Hopper's tracking camera, textured floor and body: same geoms and depths; colours differ (below)
    got, want = _both(HOPPER, "track", steps=6)
    seg = got["seg"]
    assert (seg == want["seg"]).mean() > 0.99  # measured: 99.9% (an edge pixel of a capsule)
    assert {-1, 0} <= set(np.unique(seg)) and len(np.unique(seg)) >= 4  # sky, floor and the hopper's parts
    same = _same_geom(got, want)
    # depth: the floor to float32 rounding (measured 5e-6 m, 3-19 m away), the capsules as above (3.2e-3 m)
    np.testing.assert_allclose(got["depth"][same], want["depth"][same], atol=6e-3)
    # rgb: Warp samples the checker floor without mipmaps (it aliases where OpenGL averages it) and draws
    # the textured body ~20-35 levels darker; the frame's mean colour: measured < 0.3 levels off
    rgb, ref_rgb = got["rgb"].astype(int), want["rgb"].astype(int)
    assert np.abs(rgb.mean(axis=(1, 2)) - ref_rgb.mean(axis=(1, 2))).max() < 4


def test_stacked_frames_and_final_obs_are_those_of_a_run_without_a_time_limit():
    k = 2
    observations = {"state": "state", "pixels": mjvec.Camera("track", stack=k, **SIZE),
                    "depth": mjvec.Camera("track", kind="depth", **SIZE),
                    "small": mjvec.Camera(0, width=16, height=12)}  # another size: a second render context
    env = mjvec.make(HOPPER, N, backend="mjx", impl="warp", autoreset_mode="same_step", max_episode_steps=2,
                     observations=observations)
    ref = mjvec.make(HOPPER, N, backend="mjx", impl="warp", observations=observations)
    assert env.single_observation_space["pixels"].shape == (24, 32, 3 * k)
    assert env.single_observation_space["small"].shape == (12, 16, 3)
    actions = np.random.default_rng(1).uniform(-1, 1, (2, *env.action_space.shape))
    first, _ = env.reset(seed=3)
    ref_first, _ = ref.reset(seed=3)
    for key in first:  # the same seed, the same frames
        np.testing.assert_array_equal(first[key], ref_first[key])
    np.testing.assert_array_equal(first["pixels"][..., :3], first["pixels"][..., 3:])  # k copies of frame 0
    obs, *_ = env.step(actions[0])
    ref_obs, *_ = ref.step(actions[0])
    np.testing.assert_array_equal(obs["pixels"], ref_obs["pixels"])
    np.testing.assert_array_equal(obs["small"], ref_obs["small"])
    assert obs["small"].shape == (N, 12, 16, 3) and obs["small"].any()
    np.testing.assert_array_equal(obs["pixels"][..., :3], first["pixels"][..., 3:])  # oldest first
    obs, _, _, truncated, info = env.step(actions[1])  # the time limit: final_obs, new episodes
    ref_obs, *_ = ref.step(actions[1])
    assert truncated.all() and info["_final_obs"].all()
    for key in ("pixels", "depth", "small"):  # the terminal frames are kept, bit for bit
        np.testing.assert_array_equal(np.stack([f[key] for f in info["final_obs"]]), ref_obs[key])
    np.testing.assert_array_equal(obs["pixels"][..., :3], obs["pixels"][..., 3:])  # each new episode's frame 0
    assert env.observation_space.contains(obs)
    # env 1 diverges (a NaN velocity): its episode ends with its last finite frames, the other env goes on
    backend = env._backend
    data = backend._state.data
    backend._state = backend._state._replace(data=data.replace(qvel=data.qvel.at[1, 1].set(np.nan)))
    last = obs
    obs, _, _, truncated, info = env.step(actions[0])
    assert info["diverged"].tolist() == [False, True] and truncated.tolist() == [False, True]
    for key in ("pixels", "depth"):
        np.testing.assert_array_equal(info["final_obs"][1][key], last[key][1])
        assert np.isfinite(obs[key]).all()
    env.close(), ref.close()


def test_what_warps_renderer_cannot_draw_is_refused_by_name():
    from mjvec.backends.mjx import UnsupportedFeatureError

    with pytest.raises(UnsupportedFeatureError, match=r"camera observations .* impl='jax'.* pass impl='warp'") as e:
        mjvec.make(HOPPER, N, backend="mjx", impl="jax", observations={"pixels": mjvec.Camera("track")})
    assert "mjvec.Camera" in e.value.feature
    with pytest.raises(UnsupportedFeatureError, match=r"free camera \(camera=None.*cameras \['track'\]") as e:
        mjvec.make(HOPPER, N, backend="mjx", impl="warp", observations={"pixels": mjvec.Camera()})
    assert "camera=None" in e.value.feature
    with pytest.raises(UnsupportedFeatureError, match=r"free camera"):
        mjvec.make(HOPPER, N, backend="mjx", impl="warp", observations=mjvec.Camera(-1))
    with pytest.raises(UnsupportedFeatureError, match=r"reflections"):
        mjvec.make(HOPPER, N, backend="mjx", impl="warp", observations=mjvec.Camera("track", reflections=True))
    with pytest.raises(UnsupportedFeatureError, match=r"randomize= of \['cam_sensorsize'\].*per world") as e:
        mjvec.make(mjvec.Task.from_xml(SCENE, frame_skip=1), N, backend="mjx", impl="warp",
                   observations=mjvec.Camera("front"), randomize={"cam_sensorsize": mjvec.Uniform(0.9, 1.1)})
    assert "cam_sensorsize" in e.value.feature
    with pytest.raises(ValueError, match=r"'trak' is not a camera of the model.*did you mean 'track'"):
        mjvec.make(HOPPER, N, backend="mjx", impl="warp", observations=mjvec.Camera("trak"))
