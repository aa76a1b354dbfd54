"""Frames/s of mjvec's camera and ray observations against bare loops: ``mjvec bench --observations``.

Rows, each stepping ``N`` environments of Hopper-v5 with the same random actions, every env
observed at every step (a "frame" is one env's image):

- ``camera``: ``mjvec.make(task, N, observations=mjvec.Camera(width, height))``: rgb, the
  task's free camera, no shadows, reflections, skybox or multisampling (the defaults).
- ``camera-bare``: the bare tiled render loop: ``mujoco.batch.Batch`` steps, then per env
  ``mj_forward`` into one scratch ``MjData``, ``mjv_updateScene`` and ``mjr_render`` into
  its tile of one offscreen framebuffer, and one ``mjr_readPixels`` of the grid, cut into
  ``(N, H, W, 3)`` frames: the same GL work with none of mjvec's bookkeeping.
- ``rays``: ``observations=mjvec.Rays.height_scan(site, shape=(32, 32))``: a 32 x 32 grid
  of rays straight down from a site on the torso, distance and geom id of each (a depth
  image of 1024 rays).
- ``rays-bare``: ``Batch.step`` then one ``Batch.ray`` of the same rays, their misses masked.

Method: every row is built, reset and warmed up; the steps per round are set so that the
bare loop takes about ``--seconds`` a round; then ``--rounds`` rounds, the order rotated
each round. Reported: the median frames/s over rounds, min and max, and "paired": the
median over rounds of the ratio to the bare loop within a round (steadier when other
processes load the machine). JSON with ``--json``.
"""

from __future__ import annotations

import copy
import math
import os
import statistics
import sys
import time

import mujoco
import numpy as np

from mjvec.tools.bench_common import machine, write_json

__all__ = ["run_obs", "ROWS"]

ROWS = ("camera", "camera-bare", "rays", "rays-bare")
TASK = "Hopper-v5"
SITE = "scan"
SHAPE = (32, 32)


def _task_with_site():
    """Hopper-v5 with a site on its torso, for the ray rows (the task has none)."""
    import mjvec

    task = mjvec.make_task(TASK)
    spec = mujoco.MjSpec.from_string(task.spec.to_xml()) if task.spec is not None else None
    if spec is None:
        raise RuntimeError(f"{TASK} has no MjSpec to add a site to")
    spec.body("torso").add_site(name=SITE, pos=[0, 0, 0])
    return mjvec.Task.from_xml(spec.to_xml(), frame_skip=task.frame_skip)


class _Bare:
    """A bare ``Batch`` stepped with ``frame_skip`` substeps a step."""

    def __init__(self, model: mujoco.MjModel, num_envs: int, nthread: int, frame_skip: int):
        from mujoco import batch as mj_batch

        self.model, self.num_envs, self.frame_skip = model, num_envs, frame_skip
        self.batch = mj_batch.Batch(model, num_envs, nthread, persistent=True)
        self.ctrl = self.batch.bind("ctrl")
        self.qpos, self.qvel = self.batch.bind("qpos"), self.batch.bind("qvel")
        self.batch.forward()

    def advance(self, action: np.ndarray) -> None:
        self.ctrl[:] = action
        self.batch.step(nstep=self.frame_skip)


class BareCamera(_Bare):
    """The bare tiled render loop (see the module docstring)."""

    def __init__(self, model, num_envs, nthread, frame_skip, width, height, camera_config):
        from mujoco.rendering.classic import gl_context

        from mjvec.opengl import gl_backend

        super().__init__(model, num_envs, nthread, frame_skip)
        gl_backend()
        self.w, self.h = width, height
        self.cols = math.ceil(math.sqrt(num_envs))
        self.rows = math.ceil(num_envs / self.cols)
        drawn = copy.copy(model)
        drawn.vis.global_.offwidth, drawn.vis.global_.offheight = self.cols * width, self.rows * height
        drawn.vis.quality.offsamples = 0
        self.gl = gl_context.GLContext(self.cols * width, self.rows * height)
        self.gl.make_current()
        self.context = mujoco.MjrContext(drawn, mujoco.mjtFontScale.mjFONTSCALE_150.value)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN.value, self.context)
        self.scene = mujoco.MjvScene(model, maxgeom=10_000)
        for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION, mujoco.mjtRndFlag.mjRND_SKYBOX):
            self.scene.flags[flag] = False
        self.data, self.option = mujoco.MjData(model), mujoco.MjvOption()
        mujoco.mj_forward(model, self.data)
        self.camera = mujoco.MjvCamera()  # Gymnasium's free camera: the median geom, the extent away
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.camera.lookat[:] = np.median(self.data.geom_xpos, axis=0)
        self.camera.distance = model.stat.extent
        for key, value in (camera_config or {}).items():
            if isinstance(value, np.ndarray):
                getattr(self.camera, key)[:] = value
            else:
                setattr(self.camera, key, value)
        self.grid = np.empty((self.rows * height, self.cols * width, 3), np.uint8)
        self.rects = [mujoco.MjrRect(c * width, r * height, width, height)
                      for r, c in (divmod(j, self.cols) for j in range(num_envs))]

    def step(self, action: np.ndarray) -> np.ndarray:
        self.advance(action)
        m, d, h, w = self.model, self.data, self.h, self.w
        self.gl.make_current()
        for j in range(self.num_envs):
            d.qpos[:], d.qvel[:] = self.qpos[j], self.qvel[j]
            mujoco.mj_forward(m, d)
            mujoco.mjv_updateScene(m, d, self.option, None, self.camera, mujoco.mjtCatBit.mjCAT_ALL, self.scene)
            mujoco.mjr_render(self.rects[j], self.scene, self.context)
        mujoco.mjr_readPixels(self.grid, None, mujoco.MjrRect(0, 0, self.cols * w, self.rows * h), self.context)
        tiles = self.grid.reshape(self.rows, h, self.cols, w, 3)[:, ::-1].swapaxes(1, 2)
        return tiles.reshape(-1, h, w, 3)[: self.num_envs].copy()

    def close(self) -> None:
        with self.gl.as_current():
            self.context.free()
        self.gl.free()


class BareRays(_Bare):
    """``Batch.step``, then one ``Batch.ray`` of a height-scan grid under the site."""

    def __init__(self, model, num_envs, nthread, frame_skip, rays):
        super().__init__(model, num_envs, nthread, frame_skip)
        self.site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, SITE)
        self.body = int(model.site_bodyid[self.site])
        self.site_xpos = self.batch.bind("site_xpos")
        self.local, self.max_distance = rays._local, rays.max_distance
        self.down = np.broadcast_to(np.array([0.0, 0.0, -1.0]), (num_envs, len(self.local), 3))

    def step(self, action: np.ndarray):
        self.advance(action)
        origins = self.site_xpos[:, self.site][:, None] + self.local[None]
        dist, geom = self.batch.ray(origins, self.down, bodyexclude=self.body)
        miss = (geom < 0) | (dist > self.max_distance)
        return np.where(miss, self.max_distance, dist).astype(np.float32), np.where(miss, -1, geom).astype(np.int32)

    def close(self) -> None:
        pass


def _rows(num_envs: int, threads: int, width: int, height: int, seed: int) -> dict:
    import mjvec

    task = mjvec.make_task(TASK)
    scan = mjvec.Rays.height_scan(SITE, shape=SHAPE, size=(1.0, 1.0), max_distance=5.0)
    site_task = _task_with_site()
    envs = {
        "camera": mjvec.make(TASK, num_envs, nthread=threads,
                             observations=mjvec.Camera(width=width, height=height)),
        "camera-bare": BareCamera(task.model, num_envs, threads, task.frame_skip, width, height,
                                  task.default_camera_config),
        "rays": mjvec.make(site_task, num_envs, nthread=threads, observations=scan),
        "rays-bare": BareRays(site_task.model, num_envs, threads, site_task.frame_skip, scan),
    }
    for name, env in envs.items():
        if name in ("camera", "rays"):
            env.reset(seed=seed)
    return envs


def verify(envs: dict, pool: np.ndarray, steps: int = 3) -> dict:
    """Do the bare loops observe what mjvec does? Each bare batch is set to its mjvec env's state,
    both step with the same actions, and their observations are compared (the camera's tiles are
    in the same places, so equal pixel for pixel is expected)."""
    out = {}
    for kind in ("camera", "rays"):
        env, bare = envs[kind], envs[f"{kind}-bare"]
        env.reset(seed=0)
        state, nq, nv = env.get_state(), bare.model.nq, bare.model.nv
        bare.qpos[:], bare.qvel[:] = state[:, 1 : 1 + nq], state[:, 1 + nq : 1 + nq + nv]
        bare.batch.forward()
        same = True
        for i in range(steps):
            got, want = env.step(pool[i])[0], bare.step(pool[i])
            if kind == "camera":
                same &= bool(np.array_equal(got, want))
            else:
                same &= bool(np.array_equal(got["distance"], want[0]) and np.array_equal(got["geom"], want[1]))
        out[kind] = same
        env.reset(seed=0)
    return out


def run_obs(args) -> int:
    """``mjvec bench --observations``: the four rows at each ``--num-envs``; a table, and JSON with ``--json``."""
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    num_envs_list = args.num_envs or [16]
    rounds = args.rounds or (2 if args.quick else 7)
    seconds = 0.3 if args.quick else 1.5
    info = machine()
    results = []
    for num_envs in num_envs_list:
        log(f"observations: {TASK} N={num_envs}, rgb {args.width}x{args.height}, rays {SHAPE[0]}x{SHAPE[1]}")
        envs = _rows(num_envs, args.threads, args.width, args.height, args.seed)
        space = envs["camera"].single_action_space
        rng = np.random.default_rng(args.seed)
        pool = rng.uniform(space.low, space.high, (64, num_envs, *space.shape))
        check = verify(envs, pool)
        log(f"verify: bare loops observe what mjvec does: {check}")
        steps, rates = {}, {name: [] for name in envs}
        for kind in ("camera", "rays"):  # steps per round: the bare loop takes ~`seconds`
            bare = envs[f"{kind}-bare"]
            t0 = time.perf_counter()
            for i in range(5):
                bare.step(pool[i % 64])
            steps[kind] = args.steps or max(5, int(seconds / ((time.perf_counter() - t0) / 5)))
        for name, env in envs.items():  # warm-up
            for i in range(3):
                env.step(pool[i])
        names = list(envs)
        for r in range(rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                n = steps[name.split("-")[0]]
                t0 = time.perf_counter()
                for i in range(n):
                    envs[name].step(pool[i % 64])
                rates[name].append(num_envs * n / (time.perf_counter() - t0))
        for env in envs.values():
            env.close()
        for name, values in rates.items():
            kind = name.split("-")[0]
            bare = rates[f"{kind}-bare"]
            results.append({
                "row": name, "task": TASK, "num_envs": num_envs, "threads": args.threads,
                "frame": f"rgb {args.width}x{args.height}" if kind == "camera" else f"rays {SHAPE[0]}x{SHAPE[1]}",
                "steps_per_round": steps[kind], "frames_per_s": statistics.median(values),
                "frames_per_s_min": min(values), "frames_per_s_max": max(values), "frames_per_s_rounds": values,
                "vs_bare": statistics.median(values) / statistics.median(bare),
                "vs_bare_paired": statistics.median(a / b for a, b in zip(values, bare)),
                "bare_observes_the_same": check[kind],
            })
    info["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    print(f"\nframes/s (one env's image a step), median of {rounds} interleaved rounds; x bare: ratio of medians;"
          " paired: median of the per-round ratios")
    if info["load_average"]:
        print(f"machine: {info['cpu']}, {info['usable_cores']} usable cores; 1-min load average"
              f" {info['load_average'][0]:.1f} at start, {info['load_average_end'][0]:.1f} at end")
    head = f"{'row':<13}{'N':>5}  {'frame':<14}{'frames/s':>10}{'min':>10}{'max':>10}{'x bare':>8}{'paired':>8}"
    print(head + "\n" + "-" * len(head))
    for r in results:
        print(f"{r['row']:<13}{r['num_envs']:>5}  {r['frame']:<14}{r['frames_per_s']:>10,.0f}"
              f"{r['frames_per_s_min']:>10,.0f}{r['frames_per_s_max']:>10,.0f}{r['vs_bare']:>8.2f}"
              f"{r['vs_bare_paired']:>8.2f}")
    write_json(args, info, results)
    return 0
