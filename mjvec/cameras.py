"""``mjvec.Camera``: camera images as an observation source of ``observations=``.

    env = mjvec.make("Hopper-v5", 16, observations={
        "state": "state", "pixels": mjvec.Camera(width=84, height=84, stack=3),
        "depth": mjvec.Camera(kind="depth"), "ids": mjvec.Camera(kind="segmentation"),
    })

Each camera draws every env's current state with its own model parameters: rgb is uint8
``(H, W, 3)``; depth float32 ``(H, W)``, metres along the camera's axis; segmentation int32
``(H, W)`` geom ids, -1 where no geom is hit. ``camera`` names a model camera (or its index);
None is the free camera of ``env.render`` (the task's ``default_camera_config``).
``stack=k`` stacks the last ``k`` frames (``ObservedTask.stack_observation``).

On the CPU backend all envs of a step are drawn into one tiled OpenGL framebuffer read back
once (``mjvec.render_tiled.TiledRenderer``). On ``backend="mjx"`` with ``impl="warp"`` they
are drawn inside the jitted step by MuJoCo Warp's batch renderer, a ray tracer
(``mjvec.backends.mjx.cameras``: model cameras only; ``impl="jax"`` cannot draw them).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from mjvec import validation
from mjvec.render import KINDS
from mjvec.render_tiled import TiledRenderer

__all__ = ["Camera"]


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a bool, got {type(value).__name__}")
    return value


class Camera:
    """A camera observation: ``Camera(camera=None, width=84, height=84, kind="rgb", stack=None)``.

    Args:
      camera: a model camera's name or index; None: the free camera of ``env.render`` (CPU
        backend only: MuJoCo Warp's renderer on MJX draws model cameras only).
      width, height: pixels of one frame.
      kind: ``"rgb"`` (uint8 ``(H, W, 3)``), ``"depth"`` (float32 ``(H, W)``, metres) or
        ``"segmentation"`` (int32 ``(H, W)``, geom ids, -1 for none).
      stack: None, or the number ``k`` of last frames to stack, oldest first, on the last
        axis: rgb ``(H, W, 3k)``, depth and segmentation ``(H, W, k)`` (the layout of SB3's
        ``VecFrameStack``, an image SB3's ``CnnPolicy`` takes). A new episode starts with its
        first frame in all ``k`` places; the terminal observation (``final_obs``) holds the
        ended episode's last ``k``.
      shadows, reflections, skybox, antialias: draw the scene's shadows, reflections and
        skybox, and multisample its edges (the model's ``offsamples``). All off by default:
        an observation is for a policy, and software OpenGL draws about 8x faster without
        shadows and reflections and 2-4x faster without multisampling. All True: the
        frames of ``env.render``. On MJX (Warp's ray tracer): shadows are its ``use_shadows``,
        skybox its ``render_skybox``, antialias 2 x 2 samples a pixel; reflections are refused.
    """

    def __init__(self, camera: int | str | None = None, width: int = 84, height: int = 84, kind: str = "rgb", *,
                 stack: int | None = None, shadows: bool = False, reflections: bool = False, skybox: bool = False,
                 antialias: bool = False):
        if camera is not None and (isinstance(camera, bool) or not isinstance(camera, (int, str))):
            raise TypeError(f"`camera` must be a camera name, an index or None, got {type(camera).__name__}")
        if kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}, got {kind!r}{validation.did_you_mean(str(kind), KINDS)}")
        self.camera = camera
        self.width = validation.check_positive_int(width, "width", unit="pixels")
        self.height = validation.check_positive_int(height, "height", unit="pixels")
        self.kind = kind
        self.stack = None if stack is None else validation.check_positive_int(stack, "stack", unit="frames", none_ok=True)
        self.shadows = _flag(shadows, "shadows")
        self.reflections = _flag(reflections, "reflections")
        self.skybox = _flag(skybox, "skybox")
        self.antialias = _flag(antialias, "antialias")

    def renderer(self, task) -> TiledRenderer:
        """A renderer of this camera for ``task``'s model (bad camera names raise here)."""
        name = self.camera if isinstance(self.camera, str) else None
        index = self.camera if isinstance(self.camera, int) else None
        return TiledRenderer(task.model, width=self.width, height=self.height, camera_id=index, camera_name=name,
                             default_camera_config=getattr(task, "default_camera_config", None), kind=self.kind,
                             shadows=self.shadows, reflections=self.reflections, skybox=self.skybox,
                             antialias=self.antialias)

    @property
    def channels(self) -> int:
        """Values per pixel of one frame: 3 for rgb, 1 for depth and segmentation."""
        return 3 if self.kind == "rgb" else 1

    def space(self, task) -> spaces.Box:
        """One env's image space (with the stacked frames on the last axis where ``stack`` is set)."""
        h, w = self.height, self.width
        shape = (h, w, 3) if self.kind == "rgb" else (h, w)
        if self.stack is not None:
            shape = (h, w, self.channels * self.stack)
        if self.kind == "rgb":
            return spaces.Box(0, 255, shape, np.uint8)
        if self.kind == "depth":
            return spaces.Box(0.0, np.inf, shape, np.float32)
        return spaces.Box(-1, task.model.ngeom - 1, shape, np.int32)

    def __repr__(self) -> str:
        flags = "".join(f", {name}=True" for name in ("shadows", "reflections", "skybox", "antialias") if getattr(self, name))
        return (f"Camera(camera={self.camera!r}, width={self.width}, height={self.height}, kind={self.kind!r},"
                f" stack={self.stack}{flags})")
