"""Camera observations of a batch: every env of a step drawn into one tiled framebuffer, read back once.

``TiledRenderer`` draws ``k`` environments with one OpenGL context: each env's state goes
into the scratch ``MjData`` (``mj_forward``), its scene is built from its own model (the
per-env model of ``RenderState.models``, so per-env colours, lights and camera poses show)
and ``mjr_render`` draws it into its own tile, a viewport of an offscreen framebuffer of
``rows x cols`` tiles; one ``mjr_readPixels`` then reads the whole grid. Software OpenGL
(Mesa's llvmpipe) defers drawing to the readback, so one readback per pass keeps its
threads busy on one large frame instead of synchronizing once per env.

The frames are those of ``mujoco.Renderer`` (``BatchRenderer``) with the same scene flags,
up to rasterization: the tile at the framebuffer's origin is equal pixel for pixel (but where
lines of the tile above, quadruped escape's rangefinders, reach over its top row); a tile
elsewhere is the same scene drawn at an offset window position, where the rasterizer's
rounding moves a few edge pixels (about 0.2% of them, by a few levels in 0..255:
``tests/test_observations.py``).
"""

from __future__ import annotations

import copy
import math
import weakref

import mujoco
import numpy as np

from mjvec.opengl import gl_backend
from mjvec.render import _FRAME, BatchRenderer, RenderState, _hfields, gl_error

__all__ = ["TiledRenderer"]


def _free(gl_context, mjr_context) -> None:
    """Free the MuJoCo render context (its context current), then the OpenGL context."""
    try:
        with gl_context.as_current():  # as mujoco.Renderer.close (a no-op once EGL has shut down)
            mjr_context.free()
    finally:
        gl_context.free()


class TiledRenderer(BatchRenderer):
    """Draws environments as ``BatchRenderer`` does, many to one framebuffer (``layout="batch"`` only).

    Takes ``BatchRenderer``'s arguments. A pass draws up to ``rows x cols`` envs, the grid
    chosen on the first frame for the number of envs drawn (at most ``max_pass_pixels``
    pixels and ``max_side`` pixels a side); more envs take more passes.
    """

    max_pass_pixels = 1 << 21  # 2M pixels: 16 x 16 envs of 84 x 84 in one pass, ~64 MB with 4x MSAA
    max_side = 4096

    def render(self, state: RenderState, layout: str = "batch") -> np.ndarray:
        """``(k, height, width, ...)`` frames of the ``k`` environments of ``state`` (``KINDS``' dtypes)."""
        if layout != "batch":
            raise ValueError(f"a TiledRenderer draws layout='batch' only, got layout={layout!r}")
        k = len(state.qpos)
        self._open_grid(state.model, k)
        dtype, channels = _FRAME[self.kind]
        frames = np.empty((k, self.height, self.width, *channels), dtype=dtype)
        per_pass = self._rows * self._cols
        for start in range(0, k, per_pass):
            self._pass(state, start, min(k, start + per_pass), frames)
        return frames

    def close(self) -> None:
        super().close()
        self._context = None

    # -- helpers ---------------------------------------------------------------
    def _grid(self, k: int) -> tuple[int, int]:
        """``(rows, cols)`` of one pass for ``k`` envs."""
        w, h = self.width, self.height
        tiles = max(1, min(k, self.max_pass_pixels // (w * h)))
        cols = max(1, min(math.ceil(math.sqrt(tiles)), self.max_side // w))
        rows = max(1, min(math.ceil(tiles / cols), self.max_side // h))
        return rows, cols

    def _open_grid(self, model: mujoco.MjModel, k: int) -> None:
        """The context, framebuffer, scene and scratch data for ``model``, unless they exist."""
        if getattr(self, "_context", None) is not None and self._model is model:
            return
        self.close()
        from mujoco.rendering.classic import gl_context  # after gl_backend() has picked the platform

        rows, cols = self._grid(k)
        name = gl_backend()
        drawn = copy.copy(model)  # the offscreen buffer sized to the grid, on a copy
        drawn.vis.global_.offwidth = cols * self.width
        drawn.vis.global_.offheight = rows * self.height
        if not self.antialias:
            drawn.vis.quality.offsamples = 0
        gl = None
        try:
            gl = gl_context.GLContext(cols * self.width, rows * self.height)
            gl.make_current()
            context = mujoco.MjrContext(drawn, mujoco.mjtFontScale.mjFONTSCALE_150.value)
            mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN.value, context)
            context.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR  # as mujoco.Renderer
        except Exception as e:  # OpenGL failures arrive as ImportError, RuntimeError, OSError, GLError...
            if gl is not None:
                gl.free()
            raise gl_error(name, e) from e
        self._finalizer = weakref.finalize(self, _free, gl, context)
        self._gl, self._context, self._model = gl, context, model
        self._uploaded = _hfields(drawn)
        self._rows, self._cols = rows, cols
        self._scene = mujoco.MjvScene(model, maxgeom=self.max_geom)
        self._set_flags(self._scene)
        if self.kind != "rgb":  # ids as colours; for depth too, as mujoco.Renderer (more precise far away)
            self._scene.flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = True
            self._scene.flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = True
        self._data = mujoco.MjData(model)
        self._camera = self._make_camera(model)

    def _contexts(self):
        return self._gl, self._context

    def _pass(self, state: RenderState, start: int, stop: int, frames: np.ndarray) -> None:
        """Envs ``start:stop`` drawn into their tiles and read back into ``frames[start:stop]``."""
        h, w, cols, scene, context = self.height, self.width, self._cols, self._scene, self._context
        self._gl.make_current()
        decode = []  # per env: depth's (near, far, orthographic), segmentation's segid -> geom id table
        count = stop - start
        for t in range(count):
            model = self._load(state, start + t)
            # each env's own heightfield, uploaded before its tile is drawn: GL runs the commands in
            # order, so the tiles drawn before still show theirs at the one readback
            self._sync_hfields(model)
            mujoco.mjv_updateScene(model, self._data, self._option, None, self._camera,
                                   mujoco.mjtCatBit.mjCAT_ALL, scene)
            row, col = divmod(t, cols)
            mujoco.mjr_render(mujoco.MjrRect(col * w, row * h, w, h), scene, context)
            if self.kind == "depth":
                extent = model.stat.extent
                decode.append((model.vis.map.znear * extent, model.vis.map.zfar * extent,
                               bool(scene.camera[0].orthographic)))
            elif self.kind == "segmentation":
                decode.append(_geom_ids(scene))
        rows = math.ceil(count / cols)
        rect = mujoco.MjrRect(0, 0, cols * w, rows * h)
        if self.kind == "depth":
            grid = np.empty((rows * h, cols * w), dtype=np.float32)
            mujoco.mjr_readPixels(None, grid, rect, context)
        else:
            grid = np.empty((rows * h, cols * w, 3), dtype=np.uint8)
            mujoco.mjr_readPixels(grid, None, rect, context)
        # row r of tiles is rows r*h..(r+1)*h from the bottom, each tile upside down
        tiles = grid.reshape(rows, h, cols, w, *grid.shape[2:])[:, ::-1].swapaxes(1, 2)
        tiles = tiles.reshape(rows * cols, h, w, *grid.shape[2:])[:count]
        out = frames[start:stop]
        if self.kind == "rgb":
            out[:] = tiles
        elif self.kind == "depth":
            for t, (near, far, orthographic) in enumerate(decode):
                out[t] = _metres(tiles[t], near, far, orthographic)
        else:
            ids = tiles.astype(np.int32)
            segid = ids[..., 0] + (ids[..., 1] << 8) + (ids[..., 2] << 16)
            for t, table in enumerate(decode):
                out[t] = table[np.minimum(segid[t], len(table) - 1)]


def _geom_ids(scene: mujoco.MjvScene) -> np.ndarray:
    """``table[segid + 1]``: the geom id a segmentation colour stands for, -1 for the rest (0: nothing).

    One entry past the scene's geoms, -1, for colours no geom has (never expected).
    """
    table = np.full(scene.ngeom + 2, -1, dtype=np.int32)
    for g in scene.geoms[: scene.ngeom]:
        if g.segid != -1 and g.objtype == mujoco.mjtObj.mjOBJ_GEOM:
            table[g.segid + 1] = g.objid
    return table


def _metres(depth: np.ndarray, near: float, far: float, orthographic: bool) -> np.ndarray:
    """OpenGL's reversed-z depth buffer values as metres along the camera axis, as ``mujoco.Renderer``."""
    zfar, znear = np.float32(far), np.float32(near)
    z = depth.astype(np.float64)
    if orthographic:
        return (zfar - z * (zfar - znear)).astype(np.float32)
    c = np.float32(-0.5) * (-(zfar + znear) / (zfar - znear)) - np.float32(0.5)
    d = np.float32(-0.5) * (-(np.float32(2) * zfar * znear) / (zfar - znear))
    return (d / (z + c)).astype(np.float32)
