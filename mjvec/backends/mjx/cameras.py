"""Camera observations on the MJX backend: MuJoCo Warp's batch renderer, inside the jitted step.

MuJoCo MJX draws images through MuJoCo Warp's batch renderer (``mjx.create_render_context``,
``mjx.refit_bvh``, ``mjx.render``), a ray tracer over a BVH of the scene, for models put with
``impl="warp"``. ``camera_drawer`` makes one render context per group of ``mjvec.Camera``
sources that share a model camera, a size and the drawing flags (the kinds of a group are drawn
in one pass), sized for the batch (``nworld = num_envs``), and returns a function traced in the
step: ``mjx.forward`` at each env's current state (as the CPU backend draws after
``mj_forward``; the step's own derived fields are one substep behind), then for each group
``refit_bvh`` and ``render``, and each key's frames unpacked:

- rgb: Warp's packed 8-bit channels, as uint8 ``(H, W, 3)``;
- depth: Warp's depth, already the distance along the camera's axis (planar, as
  ``mujoco.Renderer``'s); where no geom is hit, Warp writes 0 and mjvec the far plane
  (``vis.map.zfar * stat.extent``), as ``mujoco.Renderer`` reads its cleared depth buffer;
- segmentation: the geom id of each pixel, -1 where no geom is hit (a flex hit is -1 too,
  as on the CPU, whose segmentation names geoms only).

The frames are a ray tracer's, not OpenGL's: the same geoms at the same depths, but textures
are sampled without mipmaps (a distant checker floor aliases where OpenGL averages it) and
lighting differs in detail (``tests/test_mjx_cameras.py`` measures both against the CPU).

Each env is drawn with its own model values (``randomize=``'s draws and a task's
``reset_model_fields``): the forward pass and the renderer run per world under ``vmap``, with
the env's values swapped into the model, colours, materials, lights and camera poses included.

What Warp's renderer cannot draw is an ``UnsupportedFeatureError`` naming it: ``impl="jax"``,
the free camera (``camera=None``), ``reflections=True``, and ``randomize=`` of a drawn field that
MuJoCo Warp does not read per world (e.g. ``cam_sensorsize``; ``site_rgba``: Warp draws no sites).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import io

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from mjvec.backends.mjx.engine import mjx
from mjvec.backends.mjx.impls import UnsupportedFeatureError, batchable_model_field, static_geom_poses
from mjvec.backends.mjx.program import fingerprint
from mjvec.randomize import is_visual
from mjvec.render import resolve_camera

__all__ = ["camera_drawer", "unsupported_cameras", "FEATURE"]

FEATURE = "camera observations (mjvec.Camera) on backend='mjx'"


def _version() -> str:
    return importlib.metadata.version("mujoco-mjx")


def unsupported_cameras(impl: str) -> UnsupportedFeatureError | None:
    """The error for ``mjvec.Camera`` on ``backend="mjx"`` with ``impl``, or None where they can be drawn."""
    if not hasattr(mjx, "render"):
        what = f"MuJoCo MJX {_version()} has no batch renderer (no mjx.render)"
    elif impl != "warp":
        what = (
            f"MuJoCo MJX {_version()} draws images only through MuJoCo Warp's batch renderer (mjx.render raises"
            f" NotImplementedError for impl={impl!r}); pass impl='warp' to draw them inside the jitted step"
        )
        if not all(importlib.util.find_spec(m) is not None for m in ("warp", "mujoco_warp")):
            what += " (MuJoCo Warp is not installed here: pip install 'mjvec[warp]')"
    else:
        return None
    return UnsupportedFeatureError(
        f"{FEATURE} cannot be drawn with impl={impl!r}: {what}. Or draw camera observations on backend='cpu'"
        " (mujoco.Renderer), or keep this backend for the state and draw frames with env.render()",
        FEATURE,
    )


def _refuse(why: str, feature: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"{FEATURE} (impl='warp', MuJoCo Warp's batch renderer of MuJoCo MJX {_version()}) cannot draw {why}."
        " Use backend='cpu' for it (mujoco.Renderer)",
        feature,
    )


def _check(task, key: str, camera, randomization) -> int:
    """The model camera id of ``camera`` (``observations[key]``), or the refusal of what Warp cannot draw."""
    model = task.model
    names = [model.camera(i).name or str(i) for i in range(model.ncam)]
    name = camera.camera if isinstance(camera.camera, str) else None
    cam_id = resolve_camera(model, None if name is not None else camera.camera, name)  # -1: the free camera
    if cam_id < 0:
        where = f"one of the model's cameras {names}" if names else "a camera (the model has none: add one to it)"
        raise _refuse(
            f"`observations[{key!r}]` = {camera!r}: the free camera (camera=None or -1, env.render's view); Warp's"
            f" renderer draws the model's own cameras only: name {where}",
            "mjvec.Camera(camera=None) on backend='mjx'",
        )
    if camera.reflections:
        raise _refuse(f"`observations[{key!r}]` = {camera!r}: reflections (a ray tracer of first hits has none)",
                      "mjvec.Camera(reflections=True) on backend='mjx'")
    if randomization is not None:
        fixed = [f for f in randomization.fields if is_visual(f) and not batchable_model_field(f)]
        if fixed:
            raise _refuse(
                f"`observations[{key!r}]` with randomize= of {fixed}: MuJoCo Warp's renderer does not read"
                " them per world (nor draws sites or tendons), so each env's own values would not show;"
                " leave them out of randomize= on backend='mjx'",
                "randomize= of " + ", ".join(fixed) + " with mjvec.Camera on backend='mjx'",
            )
    return cam_id


def _has_skybox(model: mujoco.MjModel) -> bool:
    return any(int(t) == int(mujoco.mjtTexture.mjTEXTURE_SKYBOX) for t in model.tex_type)


def camera_drawer(task, model, num_envs: int, cameras: dict, randomization=None):
    """``draw(data) -> {key: (num_envs, H, W, ...) frames}`` of the ``mjvec.Camera`` sources ``cameras``.

    ``model``: the ``impl="warp"`` ``mjx.Model``; ``data``: the step's batched fields (the
    ``DataView`` a task's ``observe`` reads, traced). Raises ``UnsupportedFeatureError`` for
    what Warp's renderer cannot draw.
    """
    groups = {}  # (camera id, width, height, shadows, skybox, antialias) -> {key: kind}
    for key, camera in cameras.items():
        cam_id = _check(task, key, camera, randomization)
        skybox = camera.skybox and _has_skybox(task.model)  # no skybox texture: the background, as on the CPU
        groups.setdefault((cam_id, camera.width, camera.height, camera.shadows, skybox, camera.antialias), {})[key] = (
            camera.kind)
    mj = task.model
    far = np.float32(mj.vis.map.zfar * mj.stat.extent)
    # the static geoms' poses an env's own values move (MuJoCo Warp computes them once, in make_data);
    # the simulation keeps them written, and a forward here does not move them: for a drawer given other data
    drawn = set(getattr(task, "reset_model_fields", ())) | set(() if randomization is None else randomization.fields)
    static = static_geom_poses(mj, drawn)
    contexts = [(_context(mj, num_envs, group, frozenset(kinds.values())), group[2], group[1], kinds)
                for group, kinds in groups.items()]

    def draw_world(params, d):  # one env: its own model values (the batch axis is vmap's)
        m = _with_drawn_params(model, params)
        d = mjx.forward(m, d)
        if static is not None:
            d = static(m, d)
        frames = {}
        for pytree, h, w, kinds in contexts:
            d = mjx.refit_bvh(m, d, pytree)
            if "segmentation" in kinds.values():
                rgb, depth, seg, d = mjx.render_with_segmentation(m, d, pytree)
            else:
                (rgb, depth, d), seg = mjx.render(m, d, pytree), None
            # one active camera per context: its pixels are the first h * w of each world's buffers
            for key, kind in kinds.items():
                if kind == "rgb":
                    packed = rgb[: h * w].reshape(h, w)
                    frames[key] = jnp.stack([(packed >> s) & 0xFF for s in (16, 8, 0)], axis=-1).astype(jnp.uint8)
                elif kind == "depth":
                    raw = depth[: h * w].reshape(h, w).astype(jnp.float32)
                    frames[key] = jnp.where(raw > 0, raw, far)
                else:
                    pairs = seg[: h * w].reshape(h, w, 2)
                    geom = pairs[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM)
                    frames[key] = jnp.where(geom, pairs[..., 0], -1).astype(jnp.int32)
        return frames

    def draw(data):
        return jax.vmap(draw_world)(data.model_params, data._data)

    return draw


def _with_drawn_params(model, params: dict):
    """``model`` with one env's values of every field in ``params``, the drawn ones included
    (``with_params`` leaves those out: the physics never reads them)."""
    opt = {k[4:]: v for k, v in params.items() if k.startswith("opt.")}
    fields = {k: v for k, v in params.items() if not k.startswith("opt.")}
    if opt:
        fields["opt"] = model.opt.replace(**opt)
    return model.replace(**fields)


#: the render contexts made, by (model, nworld, group, kinds): equal envs share a compiled step
#: (``Program``'s key is the task's), which names its context by key, so a context lives as long
#: as the process, one per distinct configuration (its buffers: nworld x pixels)
_CONTEXTS: dict = {}


def _context(mj: mujoco.MjModel, num_envs: int, group: tuple, kinds: frozenset):
    """The ``RenderContextPytree`` of one group's render context (made once per configuration)."""
    key = (fingerprint(mj), num_envs, group, kinds)
    if key not in _CONTEXTS:
        cam_id, width, height, shadows, skybox, antialias = group
        with contextlib.redirect_stdout(io.StringIO()):  # MuJoCo Warp's kernel-load log
            context = mjx.create_render_context(
                mjm=mj, nworld=num_envs, cam_res=(width, height), cam_active=[cam_id],
                render_rgb="rgb" in kinds, render_depth="depth" in kinds, render_seg="segmentation" in kinds,
                use_shadows=shadows, render_skybox=skybox,
                samples_per_pixel=2 if antialias else 1,  # 2x2 samples a pixel, averaged
            )
        _CONTEXTS[key] = context  # its __del__ would drop its buffers from MJX's registry
    return _CONTEXTS[key].pytree()
