"""The CPU backend's copies of a task's model: what ``CpuSimulation`` compiles and checks."""

from __future__ import annotations

from typing import Any, Callable

import mujoco
import numpy as np

__all__ = [
    "with_rne_post_constraint", "simulated", "with_small_textures", "compile_variants", "forward_without_actuation",
    "DATA_SIZES",
]


# the MjModel sizes MjData's layout depends on: what per-env models must share
DATA_SIZES = (
    "nq", "nv", "nu", "na", "nbody", "njnt", "ngeom", "nsite", "ncam", "nlight", "nflex", "nflexvert",
    "nflexedge", "nflexelem", "nmesh", "nskin", "nhfield", "ntex", "nmat", "npair", "nexclude", "neq",
    "ntendon", "nwrap", "nsensor", "nsensordata", "nmocap", "nplugin", "npluginstate", "nuserdata",
    "nhistory", "nJmom", "nM", "nB", "nC", "nD", "ntree", "nbvh", "nbvhdynamic", "narena",
)


def simulated(model: mujoco.MjModel) -> mujoco.MjModel:
    # a diverged simulation is reset by the env, with the task's reset, not by the engine
    model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_AUTORESET
    return model


def with_rne_post_constraint(spec: mujoco.MjSpec) -> mujoco.MjModel:
    """Compile ``spec`` with a sensor that makes ``mj_forward`` compute cfrc_ext.

    MuJoCo computes ``cacc``/``cfrc_int``/``cfrc_ext`` (``mj_rnePostConstraint``)
    only when a sensor needs them. A world-body linear-acceleration sensor adds no
    site and nothing to the dynamics: the state evolves bit for bit as without it.
    """
    spec = spec.copy()
    spec.add_sensor(
        name="mjvec_rne_post_constraint",
        type=mujoco.mjtSensor.mjSENS_FRAMELINACC,
        objtype=mujoco.mjtObj.mjOBJ_XBODY,
        objname="world",
    )
    return spec.compile()


def with_small_textures(model: mujoco.MjModel, spec: mujoco.MjSpec | None, compile) -> mujoco.MjModel:
    """``model`` compiled again, by ``compile(spec)``, with its builtin textures one pixel a side, or
    ``model`` itself where the two differ in anything else (a task that edited its compiled model).

    For the models of one env each (a task that draws asset data per env, escape's heightfield):
    nothing simulated reads textures, and a frame takes them from the render context, which is made
    from the task's full model. Quadruped's skybox alone is 11.5 MB per model; 0.2 MB is left.
    """
    if spec is None:
        return model
    spec = spec.copy()
    for texture in spec.textures:
        if texture.builtin != mujoco.mjtBuiltin.mjBUILTIN_NONE and not texture.file:
            texture.width = texture.height = 1
    small = compile(spec)
    return small if _same_but_textures(model, small) else model


def _same_but_textures(a, b, depth: int = 0) -> bool:
    """Whether every array and number of ``a`` and ``b`` (and of their option, visual and statistic
    structs) is equal, the textures' (``tex_*``, ``ntexdata``) and the buffer's size aside."""
    for name in dir(a):
        if name.startswith(("_", "tex_")) or name in ("ntexdata", "nbuffer"):
            continue
        x = getattr(a, name, None)
        if callable(x):
            continue
        y = getattr(b, name, None)
        if isinstance(x, (np.ndarray, int, float, bool, np.number)):
            if np.shape(x) != np.shape(y) or not np.array_equal(x, y, equal_nan=True):
                return False
        elif depth < 2 and type(x).__module__.startswith("mujoco") and not isinstance(x, str):
            if name in ("opt", "vis", "stat") or depth > 0:
                if not _same_but_textures(x, y, depth + 1):
                    return False
    return True


def compile_variants(spec: mujoco.MjSpec, variants: Callable[[mujoco.MjSpec, int], Any], num_envs: int,
                     compile: Callable[[mujoco.MjSpec], mujoco.MjModel], model: mujoco.MjModel) -> list[mujoco.MjModel]:
    """Env ``i``'s model compiled from ``variants(copy of spec, i)``, each checked to give MjData
    ``model``'s layout."""
    models = []
    for i in range(num_envs):
        edited = spec.copy()
        variants(edited, i)
        try:
            compiled = compile(edited)
        except ValueError as e:
            raise ValueError(f"`variants` made a spec for env {i} that does not compile: {e}") from None
        differ = [f"{k}: {getattr(model, k)} -> {getattr(compiled, k)}" for k in DATA_SIZES
                  if getattr(compiled, k) != getattr(model, k)]
        if differ:
            raise ValueError(
                f"`variants` changed the size of MjData for env {i} ({', '.join(differ)}): every env's model"
                " must give MjData the same layout; vary parameters and shapes, not the number of objects"
            )
        models.append(compiled)
    return models


def forward_without_actuation(batch, flags, mask: np.ndarray) -> None:
    """``batch.forward(mask)`` with ``mjDSBL_ACTUATION`` set for that call only (dm_control's
    ``physics.after_reset()``). ``flags``: the batch's expanded ``opt.disableflags`` (one per
    simulation), or the model (or per-env models) the batch runs on."""
    off = int(mujoco.mjtDisableBit.mjDSBL_ACTUATION)
    if isinstance(flags, np.ndarray):
        saved = flags[mask]
        flags[mask] = saved | off
        try:
            batch.forward(mask)
        finally:
            flags[mask] = saved
        return
    models = [flags] if isinstance(flags, mujoco.MjModel) else [flags[i] for i in np.flatnonzero(mask)]
    models = list({id(m): m for m in models}.values())  # one model may be shared by all
    saved = [m.opt.disableflags for m in models]
    for m in models:
        m.opt.disableflags = m.opt.disableflags | off
    try:
        batch.forward(mask)
    finally:
        for m, value in zip(models, saved):
            m.opt.disableflags = value
