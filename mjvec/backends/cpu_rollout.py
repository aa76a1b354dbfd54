"""Rollouts of the CPU backend's simulations: T steps of every env in one ``Batch.rollout`` call.

A mixin of ``CpuSimulation``: the inputs each step's action writes are computed first
(``ActionSpec.write``), held for the step's ``frame_skip`` substeps as ``Batch.rollout``'s
controls, and the fields the task reads are recorded after each step, as ``step`` leaves
them; ``mjvec.core.rollout`` then evaluates the task over them.
"""

from __future__ import annotations

import mujoco
import numpy as np
from mujoco import batch as mj_batch

__all__ = ["RolloutRecording", "MAXVAL"]

# the inputs an action can drive, as Batch.rollout's control components (mjtState bits, in order)
_CONTROL_BITS = {
    "ctrl": mujoco.mjtState.mjSTATE_CTRL, "qfrc_applied": mujoco.mjtState.mjSTATE_QFRC_APPLIED,
    "xfrc_applied": mujoco.mjtState.mjSTATE_XFRC_APPLIED, "eq_active": mujoco.mjtState.mjSTATE_EQ_ACTIVE,
    "mocap_pos": mujoco.mjtState.mjSTATE_MOCAP_POS, "mocap_quat": mujoco.mjtState.mjSTATE_MOCAP_QUAT,
}
# MuJoCo's mj_isBad bound: a state entry beyond it fails mj_checkPos/Vel
MAXVAL = float(getattr(mujoco, "mjMAXVAL", 1e10))



class RolloutRecording:
    """``rollout``: what ``CpuSimulation`` adds for ``env.rollout``."""

    def rollout(self, actions: np.ndarray, fields: tuple[str, ...], states: bool) -> tuple:
        """``T = actions.shape[1]`` steps of every simulation in one ``Batch.rollout`` call.

        Returns ``(first, records, diverged_at, state_records)``: the ``fields`` before the
        first step ``(N, ...)`` and after each step ``(N, T, ...)`` (as ``step`` leaves them),
        the step at which each simulation diverged (``T`` if none), and the
        ``(N, T, state_size)`` states when ``states``.
        """
        if self._stage != int(mujoco.mjtStage.mjSTAGE_NONE):
            raise NotImplementedError(
                f"`rollout()` on the CPU backend records each step's derived fields as mj_step leaves them;"
                f" {type(self.task).__name__} reads them at the new state (step_stage={self._stage}, as dm_control's"
                " legacy_step), which Batch.rollout cannot record: call step() T times, or use backend='mjx'"
            )
        n, t = actions.shape[:2]
        fs = self.task.frame_skip
        order = [f for f in _CONTROL_BITS if f in self._actions.fields]
        written = self._controls(actions)
        control = np.concatenate([written[f].reshape(n, t, -1) for f in order], axis=2)
        spec = sum(int(_CONTROL_BITS[f]) for f in order)
        first = {f: np.array(getattr(self.data, f)) for f in fields}
        on_demand = [f for f in fields if f in self._on_demand]
        recorded = [f for f in fields if f not in self._on_demand]
        keep_states = states or bool(on_demand)
        record = recorded + ([mujoco.mjtState.mjSTATE_INTEGRATION] if keep_states else [])
        try:
            out = self._batch.rollout(t * fs, np.repeat(control, fs, axis=1), spec, record=record)
        except mj_batch.SimulationError as e:
            ids = e.ids.tolist()
            raise RuntimeError(
                f"the simulations of environments {ids} failed inside `rollout()` ({self._batch.error(ids[0])});"
                " the others ran to completion: reset the failed ones with `reset(options={'reset_mask': ...})`"
            ) from e
        records = {f: out[f][:, fs - 1 :: fs] for f in recorded}
        state_records = out[mujoco.mjtState.mjSTATE_INTEGRATION][:, fs - 1 :: fs] if keep_states else None
        if on_demand:
            records.update(self._on_demand_at(state_records, on_demand, {f: records[f][:, -1] for f in self._derived}))
        # each env's own timestep (Task.step_dt), constant over the rollout
        first["timestep"] = np.array(self.data.timestep)
        records["timestep"] = np.repeat(first["timestep"][:, None], t, axis=1)
        faults = self._faults({}) if np.count_nonzero(self._warnings) else None
        diverged_at = np.full(n, t)
        if faults is not None:
            for i in np.flatnonzero(faults.diverged):
                bad = ~(np.abs(records["qpos"][i]) <= MAXVAL).all(axis=1) | ~(np.abs(records["qvel"][i]) <= MAXVAL).all(axis=1)
                diverged_at[i] = int(bad.argmax()) if bad.any() else t - 1
        return first, records, diverged_at, state_records if states else None, faults

    def _on_demand_at(self, state_records: np.ndarray, fields: list[str], last_derived: dict) -> dict:
        """``cfrc_ext`` and the other on-demand fields after each step, as ``step`` computes them.

        ``step`` runs a forward pass at each step's final state; here the recorded states are
        loaded one step at a time (T native calls of ``forward``, warmstart included) and the
        fields read. Afterwards the simulations are at the last step's state, the task's copies
        of the derived fields as ``step`` leaves them (``last_derived``, one substep behind).
        """
        t = state_records.shape[1]
        out = {f: np.empty((self.num_envs, t, *self._on_demand[f].shape[1:])) for f in fields}
        for k in range(t):
            self._state[...] = state_records[:, k]
            self._batch.forward()
            for f in fields:
                out[f][:, k] = self._bound[f]
        for f, value in last_derived.items():
            self._derived[f][...] = value
        for f in fields:
            self._on_demand[f][...] = out[f][:, -1]
        return out

    def _controls(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        """The inputs each step's action writes, ``{field: (N, T, ...)}`` (``ActionSpec.write``)."""
        n, t = actions.shape[:2]
        current = {f: np.array(v) for f, v in self._inputs.items()}
        if any(e.component == "delta_pos" for e in self._actions.layout):  # each step moves from the last
            steps = []
            for k in range(t):
                current = self._actions.write(np, actions[:, k], current)
                steps.append(current)
            return {f: np.stack([s[f] for s in steps], axis=1) for f in current}
        tiled = {f: np.repeat(v[:, None], t, axis=1).reshape(n * t, *v.shape[1:]) for f, v in current.items()}
        written = self._actions.write(np, actions.reshape(n * t, -1), tiled)
        return {f: v.reshape(n, t, *v.shape[1:]) for f, v in written.items()}

