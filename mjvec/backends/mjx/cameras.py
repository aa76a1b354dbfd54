"""Camera observations on the MJX backend: what the installed MJX can draw, and the refusal.

MuJoCo MJX draws images only through MuJoCo Warp's batch renderer (``mjx.render``,
``mjx.create_render_context``), for models put with ``impl="warp"``. mjvec's MJX backend does
not call that renderer yet (with either ``impl``), so ``mjvec.Camera`` on ``backend="mjx"`` is an
``UnsupportedFeatureError`` saying so and what the installed MJX has.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util

from mjvec.backends.mjx.backend import UnsupportedFeatureError
from mjvec.backends.mjx.engine import mjx

__all__ = ["unsupported_cameras"]

FEATURE = "camera observations (mjvec.Camera) on backend='mjx'"


def unsupported_cameras() -> UnsupportedFeatureError:
    """The error for ``mjvec.Camera`` in ``observations=`` with ``backend="mjx"``, naming what is missing."""
    version = importlib.metadata.version("mujoco-mjx")
    if not hasattr(mjx, "render"):
        what = f"MuJoCo MJX {version} has no batch renderer (no mjx.render)"
    else:
        warp = all(importlib.util.find_spec(m) is not None for m in ("warp", "mujoco_warp"))
        what = (
            f"MuJoCo MJX {version} draws images only through MuJoCo Warp's batch renderer (mjx.render, for models"
            " put with impl='warp'; mjx.render raises NotImplementedError for impl='jax'), and mjvec's MJX backend"
            " does not call that renderer yet, with either impl"
            + ("" if warp else "; MuJoCo Warp is not installed here either (pip install 'mjvec[warp]')")
        )
    return UnsupportedFeatureError(
        f"{FEATURE} cannot be drawn: {what}. Draw camera observations on backend='cpu' (mujoco.Renderer), or keep"
        " backend='mjx' for the state and draw frames with env.render() (on the host, each env with its own model)",
        FEATURE,
    )
