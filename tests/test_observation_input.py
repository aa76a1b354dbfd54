"""Bad cameras and ray sensors are refused at make, before anything is simulated, saying why."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import mjvec

ROOM = """
<mujoco>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="probe" pos="0 0 0.5">
      <joint name="x" type="slide" axis="1 0 0"/>
      <geom type="sphere" size="0.1" mass="1" contype="0" conaffinity="0"/>
      <site name="eye"/>
    </body>
  </worldbody>
  <actuator><motor joint="x"/></actuator>
</mujoco>
"""


def test_unknown_names_are_refused_with_close_matches():
    task = mjvec.Task.from_xml(ROOM, frame_skip=1)
    with pytest.raises(ValueError, match=r"'trak' is not a camera of the model \(did you mean 'track'\?\)"):
        mjvec.make("Hopper-v5", 2, observations={"pixels": mjvec.Camera(camera="trak")})
    with pytest.raises(ValueError, match=r"`site` 'eey' is not a site of .*did you mean 'eye'.*its sites: \['eye'\]"):
        mjvec.make(task, 2, observations={"lidar": mjvec.Rays.ring("eey")})
    with pytest.raises(ValueError, match=r"`body` 'prob' is not a body of .*did you mean 'probe'.*its bodies"):
        mjvec.make(task, 2, observations={"scan": mjvec.Rays.height_scan(body="prob")})
    with pytest.raises(TypeError, match=r"a `site` or a `body`"):
        mjvec.Rays.ring("eye", body="probe")
    with pytest.raises(TypeError, match=r"a `site` or a `body`"):
        mjvec.Rays.height_scan()


def test_rays_leave_from_a_body_as_from_a_site_at_its_origin():
    task = mjvec.Task.from_xml(ROOM, frame_skip=1)
    env = mjvec.make(task, 2, observations={
        "site": mjvec.Rays.height_scan("eye", shape=(3, 3)), "body": mjvec.Rays.height_scan(body="probe", shape=(3, 3)),
    })
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs["body"]["distance"], obs["site"]["distance"])
    np.testing.assert_allclose(obs["body"]["distance"], 0.5, atol=1e-6)
    env.close()


@pytest.mark.parametrize("make, message", [
    (lambda: mjvec.Camera(width=0), r"`width` must be >= 1"),
    (lambda: mjvec.Camera(height=-84), r"`height` must be >= 1"),
    (lambda: mjvec.Rays.ring("eye", n=0), r"`n` must be >= 1"),
    (lambda: mjvec.Rays.ring("eye", max_distance=0.0), r"`max_distance` must be a positive"),
    (lambda: mjvec.Rays.height_scan("eye", shape=(0, 3)), r"`shape` must be >= 1"),
    (lambda: mjvec.Rays.height_scan("eye", size=(1.0, -1.0)), r"`size` must be a positive"),
    (lambda: mjvec.Camera(kind="dpeth"), r"`kind` must be one of .*did you mean 'depth'"),
])
def test_sizes_and_kinds_out_of_range_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_images_larger_than_the_memory_are_refused_with_the_estimate():
    # 50000 x 50000 rgb is 7 GiB a frame: refused before a space allocates its bounds
    with pytest.raises(ValueError, match=r"need at least [\d,.]+ GiB .*'pixels' 50000x50000 rgb: 7,152.6 MiB.*available"):
        mjvec.make("Hopper-v5", 4, observations={"pixels": mjvec.Camera(width=50_000, height=50_000)})


def test_stacked_frames_count_in_the_memory_estimate():
    # 4000 x 4000 rgb is 45.8 MiB a frame, within this machine's memory for 4 envs; 200 stacked frames are not
    with pytest.raises(ValueError, match=r"'pixels' 4000x4000 rgb x 200 frames: 9,155.3 MiB"):
        mjvec.make("Hopper-v5", 4, observations={"pixels": mjvec.Camera(width=4000, height=4000, stack=200)})


def test_ray_patterns_larger_than_the_memory_are_refused_with_the_estimate():
    with pytest.raises(ValueError, match=r"`shape`=\(1000000, 1000000\) asks for 1,000,000,000,000 rays, which need at least"
                       r" [\d,.]+ GiB"):
        mjvec.Rays.height_scan("eye", shape=(10**6, 10**6))
    with pytest.raises(ValueError, match=r"`n`=10,000,000,000,000 asks for"):
        mjvec.Rays.ring("eye", n=10**13)


def test_a_frame_larger_than_opengl_makes_is_refused_at_make(gl):
    with pytest.raises(ValueError, match=r"a 100000x16 camera is larger than the offscreen framebuffer"):
        mjvec.make("Hopper-v5", 2, observations={"pixels": mjvec.Camera(width=100_000, height=16)})


@pytest.mark.skipif(bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")), reason="a display")
def test_no_opengl_context_is_refused_at_make_saying_what_to_install():
    code = (
        "import mjvec\n"
        "try:\n"
        "    mjvec.make('Hopper-v5', 2, observations={'pixels': mjvec.Camera(width=16, height=16)})\n"
        "except mjvec.render.GLUnavailableError as e:\n"
        "    print('REFUSED', e)\n"
    )
    env = {**os.environ, "MUJOCO_GL": "glfw"}  # GLFW needs a display, and there is none
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert "REFUSED" in done.stdout, done.stdout + done.stderr
    assert "MUJOCO_GL='glfw'" in done.stdout and "MUJOCO_GL=egl or MUJOCO_GL=osmesa" in done.stdout
    assert "apt-get install libosmesa6" in done.stdout
