"""Frames of a batch of simulations: one per env, a tiled grid, or all envs overlaid in one scene.

Rendering is off the step path. A backend hands over the state of the envs to draw
(``RenderState``: ``qpos``, ``qvel``, ``act``, mocap poses, and each env's model with its
own parameters); each env's state goes into one scratch ``MjData``, ``mj_forward``
computes its kinematics, and one ``mujoco.Renderer`` (an OpenGL context, made on first
use) draws it. Any backend that can hand over these arrays can be drawn: the CPU
backend's ``mujoco.batch`` and MJX alike. See docs/rendering.md.

OpenGL: the first frame picks a headless platform where ``MUJOCO_GL`` is unset
(``mjvec.opengl``). Videos: ``write_video`` (``mjvec.video``).
"""

from __future__ import annotations

import copy
import math
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import mujoco
import numpy as np

from mjvec import validation
from mjvec.opengl import GL_INSTALL, GLUnavailableError, gl_backend
from mjvec.video import write_video

__all__ = [
    "DEFAULT_SIZE",
    "LAYOUTS",
    "KINDS",
    "RENDER_MODES",
    "BatchRenderer",
    "GLUnavailableError",
    "RenderState",
    "check_env_ids",
    "check_layout",
    "check_render_call",
    "gl_backend",
    "tile",
    "write_video",
]

#: ``render(layout=...)``: a tuple of frames (Gymnasium's vector contract), one
#: ``(k, H, W, 3)`` array, one grid image, or all envs drawn into one scene.
LAYOUTS = ("frames", "batch", "tiled", "overlay")
RENDER_MODES = ("rgb_array",)
DEFAULT_SIZE = 480  # Gymnasium's MuJoCo envs: 480 x 480 frames
#: what a frame is: rgb uint8 (H, W, 3); depth float32 (H, W), metres along the camera's axis
#: (mujoco.Renderer's depth rendering); segmentation int32 (H, W) geom ids, -1 where no geom is hit
KINDS = ("rgb", "depth", "segmentation")
_FRAME = {"rgb": (np.uint8, (3,)), "depth": (np.float32, ()), "segmentation": (np.int32, ())}

class RenderState(NamedTuple):
    """The state of ``k`` environments, for drawing them; what a backend's ``render_state`` returns.

    Attributes:
      model: the ``MjModel`` the simulations are built from (sizes, meshes, cameras);
        the same object at every call, since the OpenGL context is made for it.
      qpos: ``(k, nq)``; qvel: ``(k, nv)``.
      act: ``(k, na)`` actuator activations, or None when ``na == 0``.
      mocap_pos: ``(k, nmocap, 3)``; mocap_quat: ``(k, nmocap, 4)``; None when ``nmocap == 0``.
      models: ``models(j)`` is row ``j``'s model with its own parameters (with the
        layout of ``model``; it may be overwritten by the next call), or None when
        every row runs on ``model`` itself.
    """

    model: mujoco.MjModel
    qpos: np.ndarray
    qvel: np.ndarray
    act: np.ndarray | None = None
    mocap_pos: np.ndarray | None = None
    mocap_quat: np.ndarray | None = None
    models: Callable[[int], mujoco.MjModel] | None = None


def resolve_camera(model: mujoco.MjModel, camera_id: Any = None, camera_name: Any = None) -> int:
    """The camera id ``camera_id``/``camera_name`` name in ``model``; -1 (the free camera) for neither."""
    if camera_id is not None and camera_name is not None:
        raise ValueError(
            f"give `camera_id` or `camera_name`, not both: got camera_id={camera_id!r}, camera_name={camera_name!r}"
        )
    names = [model.camera(i).name for i in range(model.ncam)]
    if camera_name is not None:
        if not isinstance(camera_name, str):
            raise TypeError(f"`camera_name` must be a str, got {type(camera_name).__name__}")
        if camera_name not in names:
            raise ValueError(
                f"`camera_name` {camera_name!r} is not a camera of the model"
                f"{validation.did_you_mean(camera_name, names)}; its cameras: {[n for n in names if n]}"
            )
        return names.index(camera_name)
    if camera_id is None:
        return -1
    if isinstance(camera_id, bool) or not isinstance(camera_id, (int, np.integer)):
        raise TypeError(f"`camera_id` must be an int, got {type(camera_id).__name__}")
    if not -1 <= camera_id < model.ncam:
        raise ValueError(
            f"`camera_id` must be -1 (the free camera) or a camera of the model, 0..{model.ncam - 1}, got {camera_id}"
        )
    return int(camera_id)


def check_layout(layout: Any) -> str:
    if not isinstance(layout, str):
        raise TypeError(f"`layout` must be a str, one of {list(LAYOUTS)}, got {type(layout).__name__}")
    if layout not in LAYOUTS:
        raise ValueError(
            f"`layout` must be one of {list(LAYOUTS)}, got {layout!r}{validation.did_you_mean(layout, LAYOUTS)}"
        )
    return layout


def check_render_call(
    enabled: bool, needs_reset: bool, layout: Any, env_ids: Any, num_envs: int, *, make_call: str
) -> np.ndarray:
    """Check a vector env's ``render(env_ids=, layout=)`` call; the env ids as an int array.

    ``enabled``: the env was made with ``render_mode="rgb_array"``; ``needs_reset``: it
    has not been reset yet; ``make_call``: how to make one that renders, for the message.
    """
    if not enabled:
        raise RuntimeError(
            f"`render()` needs envs made with `render_mode='rgb_array'`, e.g. `{make_call}`;"
            " this one has render_mode=None"
        )
    if needs_reset:
        raise RuntimeError("`render()` was called before `reset()`: call `env.reset()` first")
    check_layout(layout)
    return check_env_ids(env_ids, num_envs)


def check_env_ids(env_ids: Any, num_envs: int) -> np.ndarray:
    """``env_ids`` (None: all; an int; a sequence or 1-D array of ints) as an int array."""
    if env_ids is None:
        return np.arange(num_envs)
    if isinstance(env_ids, (int, np.integer)) and not isinstance(env_ids, (bool, np.bool_)):
        env_ids = [env_ids]
    ids = np.asarray(env_ids)
    if ids.size == 0:
        raise ValueError("`env_ids` is empty: name at least one environment")
    if ids.dtype.kind not in "iu" or ids.ndim != 1:
        raise TypeError(
            f"`env_ids` must be None, an int or a 1-D sequence of ints, got {type(env_ids).__name__}"
            f" with dtype {ids.dtype} and shape {ids.shape}"
            + (" (for a boolean mask, pass np.flatnonzero(mask))" if ids.dtype == np.bool_ else "")
        )
    bad = ids[(ids < 0) | (ids >= num_envs)]
    if bad.size:
        raise ValueError(f"`env_ids` must be in [0, {num_envs}), got {bad[:10].tolist()}")
    return ids.astype(np.intp)


def check_camera_config(config: Any) -> dict[str, Any] | None:
    """``default_camera_config``: ``MjvCamera`` attributes of the free camera, as Gymnasium's tasks take."""
    if config is None:
        return None
    if not isinstance(config, dict):
        raise TypeError(f"`default_camera_config` must be a dict or None, got {type(config).__name__}")
    known = [a for a in dir(mujoco.MjvCamera()) if not a.startswith("_")]
    for key in config:
        if key not in known:
            raise ValueError(
                f"`default_camera_config` key {key!r} is not an MjvCamera attribute"
                f"{validation.did_you_mean(str(key), known)}; known: {known}"
            )
    return dict(config)


class BatchRenderer:
    """Draws environments of one model with one OpenGL context, made on the first frame.

    Args:
      model: the model the camera arguments are checked against.
      width, height: pixels of one frame (Gymnasium's MuJoCo default: 480 x 480).
      camera_id, camera_name: a camera of the model (at most one of them); neither or
        ``camera_id=-1``: the free camera, set up as Gymnasium's MuJoCo envs set theirs.
      default_camera_config: attributes of the free camera (``distance``, ``lookat``,
        ``elevation``, ``azimuth``, ...), as the Gymnasium v5 tasks' argument.
    """

    #: geoms one scene holds at first; an overlay of many envs grows it as it needs
    max_geom = 10_000

    def __init__(
        self,
        model: mujoco.MjModel,
        *,
        width: int = DEFAULT_SIZE,
        height: int = DEFAULT_SIZE,
        camera_id: int | None = None,
        camera_name: str | None = None,
        default_camera_config: dict[str, Any] | None = None,
        kind: str = "rgb",
        shadows: bool = True,
        reflections: bool = True,
        skybox: bool = True,
        antialias: bool = True,
    ):
        if kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}, got {kind!r}{validation.did_you_mean(str(kind), KINDS)}")
        self.kind = kind
        # the scene's effects: without shadows and reflections software OpenGL draws ~8x faster
        self.shadows, self.reflections, self.skybox = bool(shadows), bool(reflections), bool(skybox)
        self.antialias = bool(antialias)  # False: no multisampling (the model's offsamples: 4 by default)
        self.width = validation.check_positive_int(width, "width", unit="pixels")
        self.height = validation.check_positive_int(height, "height", unit="pixels")
        self.camera_id = resolve_camera(model, camera_id, camera_name)
        self.default_camera_config = check_camera_config(default_camera_config)
        self._renderer: mujoco.Renderer | None = None
        self._model: mujoco.MjModel | None = None  # the model the context and scratch data are for
        self._finalizer: weakref.finalize | None = None
        self._option = mujoco.MjvOption()
        self._perturb = mujoco.MjvPerturb()

    def render(self, state: RenderState, layout: str = "frames"):
        """Draw the ``k`` environments of ``state`` as ``layout`` says (one of ``LAYOUTS``).

        Returns a tuple of ``k`` ``(height, width, 3)`` uint8 frames (``"frames"``), one
        ``(k, height, width, 3)`` array (``"batch"``), one grid image (``"tiled"``, see
        ``tile``) or one ``(height, width, 3)`` image of all environments in one scene
        (``"overlay"``: the first env's scene, with every other env's moving bodies added).
        """
        check_layout(layout)
        k = len(state.qpos)
        self._open(state.model)
        renderer, scene = self._renderer, self._renderer.scene
        if layout == "overlay":
            for j in range(k):
                model = self._load(state, j)
                if j == 0:  # the static scene, terrain included, is the first env's
                    self._sync_hfields(model)
                    mujoco.mjv_updateScene(
                        model, self._data, self._option, None, self._camera, mujoco.mjtCatBit.mjCAT_ALL, scene
                    )
                    if scene.ngeom * k > scene.maxgeom:  # each env adds at most as many geoms as the first
                        self._open(state.model, max_geom=scene.ngeom * k)
                        return self.render(state, layout)
                else:
                    mujoco.mjv_addGeoms(
                        model, self._data, self._option, self._perturb, mujoco.mjtCatBit.mjCAT_DYNAMIC, scene
                    )
            return self._renderer.render()
        if self.kind != "rgb" and layout != "batch":
            raise ValueError(f"{self.kind} frames come as layout='batch' only, got layout={layout!r}")
        frames = np.empty((k, self.height, self.width, *_FRAME[self.kind][1]), dtype=_FRAME[self.kind][0])
        for j in range(k):
            model = self._load(state, j)
            self._sync_hfields(model)
            mujoco.mjv_updateScene(
                model, self._data, self._option, None, self._camera, mujoco.mjtCatBit.mjCAT_ALL, scene
            )
            if self.kind == "segmentation":  # (object id, object type) per pixel: geom ids, -1 for the rest
                ids = renderer.render()
                frames[j] = np.where(ids[..., 1] == mujoco.mjtObj.mjOBJ_GEOM, ids[..., 0], -1)
            else:
                renderer.render(out=frames[j])
        if layout == "batch":
            return frames
        if layout == "tiled":
            return tile(frames)
        return tuple(frames)

    def close(self) -> None:
        """Free the OpenGL context; idempotent. A later ``render`` makes a new one."""
        if self._finalizer is not None:
            self._finalizer()
        self._renderer = self._finalizer = self._model = None

    # -- helpers ---------------------------------------------------------------
    def _open(self, model: mujoco.MjModel, max_geom: int | None = None) -> None:
        """Make the context, scene, scratch data and camera for ``model``, unless they exist."""
        max_geom = max(max_geom or 0, self.max_geom)
        if self._renderer is not None and self._model is model and self._renderer.scene.maxgeom >= max_geom:
            return
        self.close()
        name = gl_backend()
        # as Gymnasium's MujocoEnv: grow the offscreen buffer to the frame size, on a copy
        drawn = copy.copy(model)
        drawn.vis.global_.offwidth = max(drawn.vis.global_.offwidth, self.width)
        drawn.vis.global_.offheight = max(drawn.vis.global_.offheight, self.height)
        if not self.antialias:
            drawn.vis.quality.offsamples = 0
        try:
            renderer = mujoco.Renderer(drawn, self.height, self.width, max_geom=max_geom)
        except Exception as e:  # OpenGL failures arrive as ImportError, RuntimeError, OSError, GLError...
            raise gl_error(name, e) from e
        self._set_flags(renderer.scene)
        if self.kind == "depth":
            renderer.enable_depth_rendering()
        elif self.kind == "segmentation":
            renderer.enable_segmentation_rendering()
        # closed before interpreter teardown, where the context's own __del__ fails noisily
        self._finalizer = weakref.finalize(self, renderer.close)
        self._renderer, self._model = renderer, model
        self._uploaded = _hfields(drawn)
        self._data = mujoco.MjData(model)
        self._camera = self._make_camera(model)

    def _set_flags(self, scene: mujoco.MjvScene) -> None:
        """The scene's shadows, reflections and skybox as asked (the model's own flags otherwise)."""
        for flag, on in ((mujoco.mjtRndFlag.mjRND_SHADOW, self.shadows),
                         (mujoco.mjtRndFlag.mjRND_REFLECTION, self.reflections),
                         (mujoco.mjtRndFlag.mjRND_SKYBOX, self.skybox)):
            if not on:
                scene.flags[flag] = False

    def _make_camera(self, model: mujoco.MjModel) -> mujoco.MjvCamera:
        camera = mujoco.MjvCamera()
        if self.camera_id >= 0:
            resolve_camera(model, self.camera_id)  # the state's model must have it too
            camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
            camera.fixedcamid = self.camera_id
            return camera
        # Gymnasium's OffScreenViewer: a free camera at the median geom position, the
        # model's extent away, then the task's default_camera_config. Gymnasium takes the
        # positions at its first frame; here they are the model's initial pose (qpos0),
        # so the camera does not depend on which env was drawn first, or when.
        mujoco.mj_forward(model, self._data)
        camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        camera.fixedcamid = -1
        camera.lookat[:] = np.median(self._data.geom_xpos, axis=0)
        camera.distance = model.stat.extent
        for key, value in (self.default_camera_config or {}).items():
            if isinstance(value, np.ndarray):
                getattr(camera, key)[:] = value
            else:
                setattr(camera, key, value)
        return camera

    def _contexts(self):
        """``(OpenGL context or None, MjrContext)`` the frames are drawn with."""
        return self._renderer._gl_context, self._renderer._mjr_context  # mujoco.Renderer keeps them so

    def _sync_hfields(self, model: mujoco.MjModel) -> None:
        """Upload ``model``'s heightfields to the context where they differ from those it holds: the
        context copies them when it is made, and a task may draw them per env at every reset
        (quadruped escape's terrain), so each env is drawn on its own (``mjr_uploadHField``, as
        dm_control does after drawing one). The comparison costs ~5 us for escape's 201 x 201 points,
        an upload ~20 ms on software OpenGL (docs/dm_control.md)."""
        for h, uploaded in enumerate(self._uploaded):
            values = model.hfield_data[int(model.hfield_adr[h]):int(model.hfield_adr[h]) + uploaded.size]
            if not np.array_equal(values, uploaded):
                gl, context = self._contexts()
                if gl is not None:
                    gl.make_current()
                mujoco.mjr_uploadHField(model, context, h)
                uploaded[...] = values

    def _load(self, state: RenderState, j: int) -> mujoco.MjModel:
        """Row ``j``'s state into the scratch data, kinematics computed; returns its model."""
        model = state.model if state.models is None else state.models(j)
        data = self._data
        data.qpos[:] = state.qpos[j]
        data.qvel[:] = state.qvel[j]
        if state.act is not None:
            data.act[:] = state.act[j]
        if state.mocap_pos is not None:
            data.mocap_pos[:] = state.mocap_pos[j]
            data.mocap_quat[:] = state.mocap_quat[j]
        mujoco.mj_forward(model, data)
        return model


def _hfields(model: mujoco.MjModel) -> list[np.ndarray]:
    """Copies of each heightfield's data of ``model``: what a render context made from it holds."""
    sizes = model.hfield_nrow * model.hfield_ncol
    return [model.hfield_data[int(a):int(a) + int(n)].copy() for a, n in zip(model.hfield_adr, sizes)]


def gl_error(name: str, e: BaseException) -> GLUnavailableError:
    """What to raise when MuJoCo could not make an OpenGL context on platform ``name``."""
    return GLUnavailableError(
        f"MuJoCo could not make an OpenGL context with MUJOCO_GL={name!r}: {type(e).__name__}: {e}."
        f" It needs {GL_INSTALL.get(name, 'a working OpenGL')}; MUJOCO_GL=osmesa needs"
        f" {GL_INSTALL['osmesa']}"
    )


def tile(frames: np.ndarray) -> np.ndarray:
    """``(k, H, W, C)`` frames as one ``(rows * H, cols * W, C)`` image.

    ``cols = ceil(sqrt(k))``, ``rows = ceil(k / cols)``; frames fill the grid row by
    row and cells with no frame are black.
    """
    k, h, w, c = frames.shape
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    grid = np.zeros((rows * cols, h, w, c), dtype=frames.dtype)
    grid[:k] = frames
    return grid.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)
