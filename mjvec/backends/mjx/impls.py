"""MJX's two implementations, ``impl="jax"`` and ``impl="warp"``, as the backend uses them.

``impl="warp"`` is MuJoCo Warp's kernels called through JAX's FFI (``mujoco.mjx.warp``,
the ``warp-lang`` package): under ``jit`` and ``vmap`` as ``impl="jax"``, but its
``mjx.Data`` holds buffers shared by all the worlds of a batch (the contact and
constraint lists, sized for every world together: ``naconmax``), which are not given a
batch axis. So a batch of Warp data is made the way MJX intends, by ``vmap`` over the
template (``DataWarp`` is registered with JAX's batching and keeps those fields
unbatched), never by broadcasting every leaf; and two batches are merged field by
field, the shared buffers kept (``mjx.Data.where``'s rule, for a per-env mask).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import io
import os
from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from mjvec.backends.mjx.engine import mjx
from mjvec.backends.mjx.ops import where
from mjvec.envs import TASKS

__all__ = [
    "static_geom_poses",
    "UnsupportedFeatureError", "unsupported_feature", "put_model", "warp_unavailable", "resolve_impl",
    "make_template", "batch_data",
    "select_data", "with_rne_postconstraint", "batchable_model_field", "DEFAULT_ENV",
]


def warp_unavailable() -> str | None:
    """Why MJX's Warp implementation cannot load here, or None when it can."""
    import mujoco.mjx.warp as mjxw

    if not mjxw.WARP_INSTALLED:
        return "warp-lang is not installed: pip install 'mjvec[warp]' (mujoco-mjx[warp], warp-lang 1.18)"
    try:
        import warp

        quiet = os.environ.get("MJVEC_WARP_VERBOSE", "") == ""  # its kernel-load log, one line per kernel
        warp.config.quiet = quiet
        if quiet and hasattr(warp, "LOG_WARNING"):  # warp-lang 1.18 logs module loads at INFO
            warp.config.log_level = warp.LOG_WARNING
        with contextlib.redirect_stdout(io.StringIO()):
            warp.init()
    except Exception as e:  # a driver or library that does not load: say which
        return f"warp-lang does not initialize here: {type(e).__name__}: {e}"
    return None


def _cuda_default() -> bool:
    return jax.default_backend() == "gpu" and any(d.platform == "gpu" for d in jax.local_devices())


#: sets the default implementation of a process (``impl=None``), as MJX's own ``MJX_GPU_DEFAULT_WARP``
DEFAULT_ENV = "MJVEC_MJX_IMPL"


def resolve_impl(impl: str | None, device_count: int) -> str:
    """The implementation to run: ``impl``, or the default: ``$MJVEC_MJX_IMPL`` if set, else
    Warp on one CUDA device where it loads, else JAX.

    Raises ``ValueError``/``ImportError`` for a Warp that cannot run here, before anything is compiled.
    """
    if impl is None and os.environ.get(DEFAULT_ENV):
        impl = os.environ[DEFAULT_ENV]
        if impl not in ("warp", "jax"):
            raise ValueError(f"${DEFAULT_ENV} must be 'warp' or 'jax' (or unset), got {impl!r}")
    if impl is None:
        if _cuda_default() and device_count == 1 and warp_unavailable() is None:
            return "warp"
        return "jax"
    if impl == "warp":
        if device_count > 1:
            raise ValueError(
                f"impl='warp' runs the batch on one device (MuJoCo Warp's contact and constraint buffers are shared"
                f" by all the worlds of a batch and cannot be split), got {device_count} devices: pass `devices=1`,"
                " or use impl='jax' to split the env axis over several devices"
            )
        reason = warp_unavailable()
        if reason is not None:
            raise ImportError(f"impl='warp' cannot run: {reason}")
        if jax.default_backend() not in ("gpu", "cpu") or (jax.default_backend() == "gpu" and not _cuda_default()):
            raise ValueError(
                f"impl='warp' needs a CUDA GPU or JAX's CPU, JAX's default backend is {jax.default_backend()!r}"
            )
    return impl


def make_template(mj_model: mujoco.MjModel, model, impl: str, num_envs: int):
    """The ``mjx.Data`` that ``mj_resetData`` makes, for one env of a batch of ``num_envs``.

    Warp's contact list is shared by the batch: it is sized ``num_envs`` times MuJoCo
    Warp's own per-world default (``naconmax``); ``njmax`` is per world.
    """
    if impl == "jax":
        return mjx.make_data(model)
    one = mjx.make_data(mj_model, impl="warp")  # nworld=1: MuJoCo Warp's per-world default sizes
    per_world = int(one._impl.naconmax)
    return mjx.make_data(mj_model, impl="warp", naconmax=per_world * num_envs, njmax=int(one._impl.njmax))


def batch_data(template, num_envs: int):
    """``num_envs`` copies of ``template`` as one batched ``mjx.Data`` (Warp's shared buffers unbatched)."""
    return jax.vmap(lambda _: template)(jnp.zeros(num_envs))


def _shared_fields(data) -> tuple[str, ...]:
    if data.impl != mjx.Impl.WARP:
        return ()
    from mujoco.mjx.warp import types as warp_types

    return tuple(sorted(warp_types.DATA_NON_VMAP & set(type(data._impl).__dataclass_fields__)))


def select_data(mask, new, old):
    """Per env: ``new`` where ``mask``, else ``old``; Warp's shared buffers are ``old``'s (``mjx.Data.where``)."""
    shared = _shared_fields(old)
    if not shared:
        return where(mask, new, old)
    kept = {k: getattr(old._impl, k) for k in shared}
    blank = dict.fromkeys(shared)

    def strip(d):
        return d.replace(_impl=d._impl.replace(**blank))

    merged = where(mask, strip(new), strip(old))
    return merged.replace(_impl=merged._impl.replace(**kept))


def with_rne_postconstraint(model):
    """``model`` whose ``mjx.forward`` also computes ``cacc``, ``cfrc_int``, ``cfrc_ext`` (Warp's option)."""
    opt = model.opt
    return model.replace(opt=opt.replace(_impl=opt._impl.replace(run_rne_postconstraint=True)))


def static_geom_poses(mjm: mujoco.MjModel, drawn):
    """``fix(m, d)``: ``d`` with the poses of the static geoms (on bodies welded to the world, not
    under a mocap body) computed from ``m``'s own ``geom_pos``/``geom_quat`` and their bodies' poses;
    or ``None`` where none of ``drawn`` (the per-env fields) moves one.

    MuJoCo Warp computes static geoms' poses once, in ``make_data``, from the model it is given,
    and never again: where an env's own values move one (reacher's target, ``randomize=`` of a
    floor's ``geom_pos``), its collisions, observations and frames would see the nominal pose. Run
    after a forward (``xpos``, ``xmat`` of the bodies); the steps then keep the poses written.
    """
    body = mjm.geom_bodyid
    static = np.flatnonzero((mjm.body_weldid[body] == 0) & (mjm.body_mocapid[mjm.body_rootid[body]] == -1))
    if not static.size or not set(drawn) & {"geom_pos", "geom_quat", "body_pos", "body_quat"}:
        return None
    body = body[static]

    def fix(m, d):
        xmat = d.xmat[body]  # (k, 3, 3)
        xpos = d.xpos[body] + jnp.einsum("kij,kj->ki", xmat, m.geom_pos[static])
        w, x, y, z = jnp.moveaxis(m.geom_quat[static], -1, 0)
        local = jnp.stack([  # MuJoCo's mju_quat2Mat, row-major
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ], axis=-1).reshape(-1, 3, 3)
        return d.replace(geom_xpos=d.geom_xpos.at[static].set(xpos),
                         geom_xmat=d.geom_xmat.at[static].set(jnp.matmul(xmat, local)))

    return fix


def batchable_model_field(name: str) -> bool:
    """Whether MuJoCo Warp reads ``name`` (``"opt.<name>"`` for options) per world, so it can vary per env."""
    from mujoco.mjx.warp import types as warp_types

    if name.startswith("opt."):
        return bool(warp_types._BATCH_DIM["Option"].get(name[4:], False))
    return bool(warp_types._BATCH_DIM["Model"].get(name, False))


# -- the model, or the feature MJX lacks ------------------------------------------------
class UnsupportedFeatureError(NotImplementedError):
    """The task's model uses a feature that MJX does not implement.

    ``feature`` names it (e.g. ``"mjtSolver.mjSOL_PGS"``).
    """

    def __init__(self, message: str, feature: str):
        super().__init__(message)
        self.feature = feature


def _registered_name(task) -> str | None:
    path = f"{type(task).__module__}:{type(task).__qualname__}"
    return next((entry.name for entry in TASKS if entry.task == path), None)


def unsupported_feature(task, feature: str, why: str, impl: str = "jax") -> UnsupportedFeatureError:
    name = type(task).__name__
    version = importlib.metadata.version("mujoco-mjx")
    message = (
        f"{name} cannot run on the MJX backend with impl={impl!r}: its model uses {feature}, which MuJoCo MJX"
        f" {version} ({'MuJoCo Warp' if impl == 'warp' else 'its JAX implementation'}) does not implement ({why})."
        " mjvec does not change a model's physics behind your back."
    )
    if "mjtSolver" in feature and "solver" in inspect.signature(type(task)).parameters:
        env_id = _registered_name(task) or name
        message += (
            f" {name} has an explicit MJX variant with a solver MJX implements:"
            f" `mjvec.make({env_id!r}, num_envs, backend='mjx', solver='newton')` (docs/mjx.md)."
        )
    else:
        message += " Run it with backend='cpu', or change the model yourself (e.g. its MJCF <option>)."
    return UnsupportedFeatureError(message, feature)


def put_model(task, impl: str = "jax") -> Any:
    """The task's model as an ``mjx.Model`` of implementation ``impl``, or ``UnsupportedFeatureError``."""
    model = task.mjx_model()
    if impl == "jax" and model.opt.noslip_iterations > 0:  # MJX-JAX would silently skip the noslip solver
        raise unsupported_feature(task, "the noslip solver (opt.noslip_iterations > 0)", "MJX has no noslip solver",
                           impl)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # MuJoCo Warp's kernel-load log
            return mjx.put_model(model, impl=impl)
    except NotImplementedError as e:
        raise unsupported_feature(task, _feature(str(e)), "mujoco.mjx.put_model raised NotImplementedError", impl) from e


# MuJoCo Warp names an unsupported enum value as "mjSOL_PGS is unsupported.", MJX-JAX as
# "mjtSolver.mjSOL_PGS": one spelling for both
_ENUMS = {"mjSOL_": "mjtSolver", "mjINT_": "mjtIntegrator", "mjCONE_": "mjtCone", "mjJAC_": "mjtJacobian"}


def _feature(message: str) -> str:
    name = message.removesuffix(" is unsupported.")
    enum = next((e for prefix, e in _ENUMS.items() if name.startswith(prefix)), None)
    return f"{enum}.{name}" if enum is not None and name.isidentifier() else message
