"""mjvec.Rays on backend="mjx" (mjx.ray, vmapped over envs and rays) against the CPU's Batch.ray."""

from __future__ import annotations

import numpy as np
import pytest

import mjvec

pytest.importorskip("mujoco.mjx")

# every geom type mjx.ray meets, around a probe that slides and turns
SHAPES = """
<mujoco>
  <asset>
    <mesh name="wedge" vertex="0 0 0  .4 0 0  0 .4 0  0 0 .4"/>
  </asset>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <geom name="wall" type="box" pos="2 0 1" size="0.1 3 1"/>
    <geom name="ball" type="sphere" pos="0 1.5 0.5" size="0.3"/>
    <geom name="pill" type="capsule" pos="-1.5 0 0.5" size="0.2 0.5" euler="30 0 0"/>
    <geom name="egg" type="ellipsoid" pos="0 -1.5 0.5" size="0.3 0.2 0.4"/>
    <geom name="wedge" type="mesh" mesh="wedge" pos="1.03 1.17 0.3" euler="0 0 17"/>
    <body name="probe" pos="0 0 0.5">
      <joint name="x" type="slide" axis="1 0 0"/>
      <joint name="yaw" type="hinge" axis="0 0 1"/>
      <geom type="sphere" size="0.1" mass="1" contype="0" conaffinity="0"/>
      <site name="eye"/>
    </body>
  </worldbody>
  <actuator><motor joint="x"/><motor joint="yaw"/></actuator>
</mujoco>
"""
SENSORS = {
    "lidar": lambda: mjvec.Rays.ring("eye", n=64, max_distance=4.0),
    "scan": lambda: mjvec.Rays.height_scan("eye", shape=(7, 7), size=(3.0, 3.0), max_distance=4.0),
}


def _states(env, rng, n):
    state = np.tile(env.get_state()[:1], (n, 1))
    state[:, 1] = rng.uniform(-0.8, 0.8, n)  # qpos after time: x, then yaw
    state[:, 2] = rng.uniform(-np.pi, np.pi, n)
    return state


def test_mjx_rays_agree_with_the_cpu_rays():
    task, n = mjvec.Task.from_xml(SHAPES, frame_skip=2), 5
    sources = {k: make() for k, make in SENSORS.items()}
    cpu = mjvec.make(task, n, observations=sources)
    mjx = mjvec.make(task, n, backend="mjx", observations=sources)
    assert mjx.observation_space == cpu.observation_space
    cpu.reset(seed=0)
    rng = np.random.default_rng(0)
    hits = set()
    for _ in range(3):
        state = _states(cpu, rng, n)
        got = [env.reset(seed=0, options={"state": state})[0] for env in (cpu, mjx)]
        action = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
        got += [env.step(action)[0] for env in (cpu, mjx)]  # a step: the geometry moves with the state
        for want, have in (got[:2], got[2:]):
            for key in SENSORS:
                np.testing.assert_array_equal(have[key]["geom"], want[key]["geom"])
                np.testing.assert_allclose(have[key]["distance"], want[key]["distance"], rtol=2e-5, atol=2e-5)
                assert have[key]["distance"].dtype == np.float32 and have[key]["geom"].dtype == np.int32
                hits |= set(want[key]["geom"].ravel().tolist())
    assert set(range(task.model.ngeom - 1)) | {-1} <= hits  # every shape (not the probe's own ball) seen
    cpu.close()
    mjx.close()


def test_mjx_refuses_rays_through_geoms_it_cannot_meet():
    xml = SHAPES.replace('<geom name="wall" type="box"', '<geom name="drum" type="cylinder" size="0.3 0.5"/>\n'
                         '    <geom name="wall" type="box"')
    task = mjvec.Task.from_xml(xml, frame_skip=1)
    from mjvec.backends.mjx import UnsupportedFeatureError

    with pytest.raises(UnsupportedFeatureError, match=r"mjx.ray .* would pass through drum \(cylinder\).*backend='cpu'") as e:
        mjvec.make(task, 2, backend="mjx", observations={"lidar": mjvec.Rays.ring("eye")})
    assert "cylinder" in e.value.feature
    mjvec.make(task, 2, observations={"lidar": mjvec.Rays.ring("eye")}).close()  # the CPU meets it
