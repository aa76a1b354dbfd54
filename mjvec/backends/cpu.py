"""CPU backend: MuJoCo's own persistent thread pool, ``mujoco.batch.Batch``.

One ``Batch`` holds one MjData per environment (``persistent=True``); a vector
step is one native call that runs ``frame_skip`` substeps of every stepped
environment on ``nthread`` threads. Results are bit-identical to a loop of
``mj_step`` over one MjData per environment, at any thread count.
"""

from __future__ import annotations

import os
import types
from typing import Any

import mujoco
import numpy as np
from mujoco import batch as mj_batch

__all__ = ["CpuBackend", "default_nthread"]

# Fields the engine computes only when something asks: mj_rnePostConstraint
# fills them, which mj_forward runs only for models with acceleration sensors.
ON_DEMAND_FIELDS = frozenset({"cacc", "cfrc_int", "cfrc_ext"})


def default_nthread() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def with_rne_post_constraint(spec: mujoco.MjSpec) -> mujoco.MjModel:
    """Compile ``spec`` with one accelerometer, so every step computes cfrc_ext.

    MuJoCo computes ``cacc``/``cfrc_int``/``cfrc_ext`` (``mj_rnePostConstraint``)
    inside ``mj_forward`` only when a sensor needs them. A sensor adds nothing to
    the dynamics: the state evolves bit for bit as in the model without it.
    """
    spec = spec.copy()
    site = spec.worldbody.add_site(name="mjvec_rne_post_constraint")
    spec.add_sensor(
        name="mjvec_rne_post_constraint",
        type=mujoco.mjtSensor.mjSENS_ACCELEROMETER,
        objtype=mujoco.mjtObj.mjOBJ_SITE,
        objname=site.name,
    )
    return spec.compile()


class CpuBackend:
    """``num_envs`` simulations of ``task`` on ``mujoco.batch.Batch``."""

    xp = np

    def __init__(self, task, num_envs: int, *, nthread: int | None = None):
        if nthread is None:
            nthread = default_nthread()
        if not isinstance(nthread, (int, np.integer)) or isinstance(nthread, bool):
            raise TypeError(f"`nthread` must be an int or None, got {type(nthread).__name__}")
        if nthread < 1:
            raise ValueError(f"`nthread` must be >= 1, got {nthread}")
        self.task = task
        self.num_envs = num_envs
        self.nthread = int(nthread)
        fields = ("qpos", "qvel", *task.fields)
        model = task.model
        if ON_DEMAND_FIELDS.intersection(fields):
            if task.spec is None:
                raise ValueError(
                    f"{type(task).__name__} reads {sorted(ON_DEMAND_FIELDS.intersection(fields))},"
                    " which the engine computes on demand; the task must keep its MjSpec (`task.spec`)"
                )
            model = with_rne_post_constraint(task.spec)
        self.model = model
        self._batch = mj_batch.Batch(model, num_envs, self.nthread, persistent=True)
        self.data = types.SimpleNamespace(**{f: self._batch.bind(f) for f in dict.fromkeys(fields)})
        self._ctrl = self._batch.bind("ctrl")
        self._qpos = self._batch.bind("qpos")
        self._qvel = self._batch.bind("qvel")
        self._on_demand = [getattr(self.data, f) for f in ON_DEMAND_FIELDS.intersection(fields)]

    def snapshot(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: np.array(v) for k, v in values.items()}

    def step(self, action: np.ndarray, mask: np.ndarray | None) -> None:
        if mask is None:
            self._ctrl[:] = action
        else:
            self._ctrl[mask] = action[mask]
        self._batch.step(mask, nstep=self.task.frame_skip)

    def reset(self, mask: np.ndarray, rng: Any) -> None:
        # mj_resetData, the task's fresh state, mj_forward: Gymnasium's reset order
        self._batch.reset(mask, stage=mujoco.mjtStage.mjSTAGE_NONE)
        qpos, qvel = self.task.reset_state(np, rng, self.task.init_qpos, self.task.init_qvel)
        self._qpos[mask] = qpos
        self._qvel[mask] = qvel
        self._batch.forward(mask)

    def close(self) -> None:
        self._batch = None
        self.data = None
