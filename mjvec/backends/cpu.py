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


class CpuBackend:
    """``num_envs`` simulations of ``task`` on ``mujoco.batch.Batch``.

    For a task that reads on-demand fields (``cfrc_ext``...), a vector step is two
    native calls: ``step`` (whose derived fields, from the last substep, the task
    reads as usual) and ``forward`` at the new state, which computes ``cfrc_ext``
    there with the same controls. Gymnasium instead runs ``mj_rnePostConstraint``
    on the last substep's derived fields, which for RK4 models are those of the
    last Runge-Kutta stage, and which ``mujoco.batch`` cannot run per simulation:
    see docs/parity.md. After a reset these fields are zero, as in Gymnasium.
    """

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
        fields = tuple(dict.fromkeys(("qpos", "qvel", *task.fields)))
        on_demand = [f for f in fields if f in ON_DEMAND_FIELDS]
        model = task.model
        if on_demand:
            if task.spec is None:
                raise ValueError(
                    f"{type(task).__name__} reads {on_demand}, which the engine computes on demand;"
                    " the task must keep the MjSpec it was compiled from (`task.spec`)"
                )
            model = with_rne_post_constraint(task.spec)
        self.model = model
        self._batch = mj_batch.Batch(model, num_envs, self.nthread, persistent=True)
        bound = {f: self._batch.bind(f) for f in fields}
        self._ctrl = self._batch.bind("ctrl")
        self._qpos = self._batch.bind("qpos")
        self._qvel = self._batch.bind("qvel")
        # With on-demand fields, the task reads copies: the step's derived fields
        # are saved before the forward call overwrites them.
        self._on_demand = {f: np.zeros_like(bound[f]) for f in on_demand}
        self._derived = {}
        if on_demand:
            self._derived = {
                f: np.zeros_like(b) for f, b in bound.items() if not b.flags.writeable and f not in on_demand
            }
        self._bound = bound
        self.data = types.SimpleNamespace(**{**bound, **self._derived, **self._on_demand})

    def snapshot(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: np.array(v) for k, v in values.items()}

    def step(self, action: np.ndarray, mask: np.ndarray | None) -> None:
        if mask is None:
            self._ctrl[:] = action
        else:
            self._ctrl[mask] = action[mask]
        self._batch.step(mask, nstep=self.task.frame_skip)
        if self._on_demand:
            self._save(self._derived, mask)
            self._batch.forward(mask)
            self._save(self._on_demand, mask)

    def reset(self, mask: np.ndarray, rng: Any) -> None:
        # mj_resetData, the task's fresh state, mj_forward: Gymnasium's reset order
        self._batch.reset(mask, stage=mujoco.mjtStage.mjSTAGE_NONE)
        qpos, qvel = self.task.reset_state(np, rng, self.task.init_qpos, self.task.init_qvel)
        self._qpos[mask] = qpos
        self._qvel[mask] = qvel
        self._batch.forward(mask)
        if self._on_demand:
            self._save(self._derived, mask)
            for buf in self._on_demand.values():
                buf[mask] = 0  # mj_resetData clears them and mj_forward does not compute them

    def _save(self, buffers: dict[str, np.ndarray], mask: np.ndarray | None) -> None:
        for f, buf in buffers.items():
            if mask is None:
                np.copyto(buf, self._bound[f])
            else:
                buf[mask] = self._bound[f][mask]

    def close(self) -> None:
        self._batch = None
        self.data = None
