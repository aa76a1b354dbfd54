"""The CPU backend's copies of a task's model: what ``CpuSimulation`` compiles and checks."""

from __future__ import annotations

import mujoco

__all__ = ["with_rne_post_constraint", "simulated", "DATA_SIZES"]


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
