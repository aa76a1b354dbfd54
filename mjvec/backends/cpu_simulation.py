"""The CPU backend's simulations: MuJoCo's own persistent thread pool, ``mujoco.batch.Batch``.

One ``Batch`` holds one MjData per environment (``persistent=True``); ``advance`` is
one native call that runs ``frame_skip`` substeps of every stepped environment on
``nthread`` threads. Results are bit-identical to a loop of ``mj_step`` over one
MjData per environment, at any thread count.

Divergence: MuJoCo's own auto-reset is disabled on the backend's copy of the
model, so a diverged simulation keeps its bad state instead of silently restarting
from ``qpos0``; the engine's per-simulation warning counters (bad qpos, qvel,
qacc, ctrl) and ``SimulationError`` say which simulations diverged in a step, and
the episode rules reset them with the task's own reset. See docs/reliability.md.
"""

from __future__ import annotations

import copy
import os
import types
from typing import Any, Callable, Sequence

import mujoco
import numpy as np
from mujoco import batch as mj_batch

from mjvec.actions import ActionSpec, BoundActions
from mjvec.backends.cpu_fork import watch_forks
from mjvec.backends.cpu_rollout import RolloutRecording
from mjvec.backends.cpu_models import (
    compile_variants, forward_without_actuation, simulated, with_rne_post_constraint, with_small_textures,
)
from mjvec.core.episode import Faults
from mjvec.mujoco_compat import caller_models
from mjvec.randomize import BoundRandomization
from mjvec.render import RenderState

__all__ = ["CpuSimulation", "with_rne_post_constraint", "ON_DEMAND_FIELDS", "WARNINGS"]

# mjtWarning names by index ("inertia", ..., "badctrl"), as in MjData.warning
WARNINGS = tuple(
    mujoco.mjtWarning(i).name.removeprefix("mjWARN_").lower() for i in range(mujoco.mjtWarning.mjNWARNING)
)
# the warnings of mj_checkPos/Vel/Acc and bad controls: the state is no longer valid
_DIVERGED = np.array([w in ("badqpos", "badqvel", "badqacc", "badctrl") for w in WARNINGS])

# Fields the engine computes only when something asks: mj_rnePostConstraint
# fills them, which mj_forward runs only for models with acceleration sensors.
ON_DEMAND_FIELDS = frozenset({"cacc", "cfrc_int", "cfrc_ext"})


class CpuSimulation(RolloutRecording):
    """``num_envs`` simulations of ``task`` on ``mujoco.batch.Batch`` (``mjvec.backends.base.Simulation``).

    For a task that reads on-demand fields (``cfrc_ext``...), a vector step is two
    native calls: ``step`` (whose derived fields, from the last substep, the task
    reads as usual) and ``forward`` at the new state, which computes ``cfrc_ext``
    there with the same controls. Gymnasium instead runs ``mj_rnePostConstraint``
    on the last substep's derived fields, which for RK4 models are those of the
    last Runge-Kutta stage, and which ``mujoco.batch`` cannot run per simulation:
    see docs/parity.md. After a reset these fields are zero, as in Gymnasium.
    """

    def __init__(
        self,
        task,
        num_envs: int,
        *,
        nthread: int,
        actions: BoundActions | None = None,
        randomization: BoundRandomization | None = None,
        variants: Callable[[mujoco.MjSpec, int], Any] | None = None,
    ):
        self.task = task
        self.num_envs = num_envs
        self.nthread = int(nthread)
        fields = tuple(dict.fromkeys(("qpos", "qvel", *task.fields)))
        on_demand = [f for f in fields if f in ON_DEMAND_FIELDS]
        if (on_demand or variants is not None) and task.spec is None:
            need = f"reads {on_demand}, which the engine computes on demand" if on_demand else "was given `variants`"
            raise ValueError(
                f"{type(task).__name__} {need}; the task must keep the MjSpec it was compiled from (`task.spec`)"
            )
        self.model = self._compile(task.spec, on_demand) if on_demand else simulated(copy.copy(task.model))
        self._batch = mj_batch.Batch(self.model, num_envs, self.nthread, persistent=True)
        self._pid, self._forked_from = os.getpid(), None
        watch_forks(self)
        if variants is not None:
            if randomization is not None:
                raise ValueError(
                    "`variants` and `randomize` cannot be combined: each env already has its own compiled model;"
                    " vary its parameters in the `variants` function"
                )
            self._batch.set_models(compile_variants(task.spec, variants, num_envs,
                                                    lambda spec: self._compile(spec, on_demand), self.model))
        self._actions = actions if actions is not None else ActionSpec().bind(self.model)
        self._inputs = {f: self._batch.bind(f) for f in self._actions.fields}
        self._randomization = randomization
        #: the last message per kind of fault, where the engine gave one
        self.messages: dict[str, str] = {}
        # the model fields the task itself draws at every reset (Task.reset_model: reacher's target)
        task_fields = tuple(getattr(task, "reset_model_fields", ()))
        if task_fields and (variants is not None or (randomization is not None
                                                     and set(task_fields) & set(randomization.fields))):
            raise ValueError(
                f"{type(task).__name__} draws {list(task_fields)} itself at every reset: `randomize` cannot vary"
                " them too, and `variants` cannot be combined with it"
            )
        # a field mujoco.batch holds once for all simulations (asset data: escape's heightfield) cannot be
        # expanded: then each simulation runs on a model of its own, the task's fields written into it
        self._own_models = None
        if any(f not in mj_batch.MODEL_FIELDS for f in task_fields):
            if randomization is not None:
                raise ValueError(
                    f"{type(task).__name__} draws {list(task_fields)} itself at every reset, which mujoco.batch holds"
                    " once for all simulations (asset data), so each env runs on its own copy of the model;"
                    " `randomize` (per-env values of one shared model) cannot be combined with it"
                )
            own = with_small_textures(self.model, task.spec, lambda spec: self._compile(spec, on_demand))
            self._own_models = [copy.copy(own) for _ in range(num_envs)]
            self._own_fields = task_fields
            self._batch.set_models(self._own_models)
            task_fields = ()
        self._expanded = {f: self._batch.expand(f) for f in task_fields}
        if randomization is not None:
            # live (num_envs, ...) per-simulation values of each randomized field
            self._expanded.update({f: self._batch.expand(f) for f in randomization.fields})
            for f in randomization.fields:
                target = self._expanded[f]
                # the sensor added for cfrc_ext (with_rne_post_constraint) comes after the task's
                # sensors: a drawn sensor_* field is the task's rows, the added one keeps its value
                rows = randomization.nominal[f].shape[0] if randomization.nominal[f].ndim else None
                if f.startswith("sensor_") and rows is not None and target.shape[1] != rows:
                    self._expanded[f] = target[:, :rows]
        # Task.reset_without_actuation: where the reset's mj_forward turns mjDSBL_ACTUATION on, each
        # env's opt.disableflags (per simulation, as randomize='s fields) or, with variants, its model
        self._reset_flags = None
        if getattr(task, "reset_without_actuation", False):
            caller = caller_models(self._batch)
            self._reset_flags = caller if caller is not None else self._batch.expand("opt.disableflags")
        self._act = self._batch.bind("act") if self.model.na else None
        # the physics state rows (mjSTATE_INTEGRATION, warmstart included): what get_state returns
        self._state = self._batch.state
        self.state_size = int(self._batch.nstate)
        # occurrences of each mjtWarning per simulation: (num_envs, mjNWARNING), zeroed once read
        self._warnings = self._batch.warning[..., 1]
        bound = {f: self._batch.bind(f) for f in fields}
        if on_demand and "sensordata" in bound:  # the task's sensors, not the one added for cfrc_ext
            bound["sensordata"] = bound["sensordata"][:, : task.model.nsensordata]
        self._ctrl = self._batch.bind("ctrl")
        self._stage = int(getattr(task, "step_stage", mujoco.mjtStage.mjSTAGE_NONE))
        # Batch.step's own default (no stages at the new state) unless the task asks
        self._stage_kwargs = {"stage": self._stage} if self._stage != int(mujoco.mjtStage.mjSTAGE_NONE) else {}
        self._settle = int(getattr(task, "settle_steps", 0))
        self._time = self._batch.bind("time")
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
        # views of the buffers, as the bound fields are: what a task returns as is gets copied
        # before it reaches the caller (mjvec.core.ops.NumpyOps.own)
        self.data = types.SimpleNamespace(**{**bound, **{f: b[...] for f, b in {**self._derived, **self._on_demand}.items()}})
        self.data.timestep = self._timestep()
        self._repeat = int(getattr(task, "action_repeat", 1))
        if self._repeat > 1:
            if on_demand:
                raise ValueError(f"{type(task).__name__}: `action_repeat` cannot be combined with {on_demand}")
            self.data.repeat_reward = np.zeros(num_envs)

    def _timestep(self) -> np.ndarray:
        """``(num_envs,)``: each simulation's ``opt.timestep``, live where ``randomize=`` draws it."""
        if self._randomization is not None and "opt.timestep" in self._randomization.fields:
            return self._expanded["opt.timestep"][...]
        models = caller_models(self._batch)
        if isinstance(models, tuple):  # variants: a compiled model per env
            values = np.array([m.opt.timestep for m in models])
        else:
            values = np.full(self.num_envs, self.model.opt.timestep)
        values.flags.writeable = False
        return values[...]  # a view, as the other fields: what a task returns as is gets copied

    def detach(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: np.array(v) for k, v in values.items()}

    @staticmethod
    def _compile(spec: mujoco.MjSpec, on_demand: Sequence[str]) -> mujoco.MjModel:
        return simulated(with_rne_post_constraint(spec) if on_demand else spec.compile())

    def get_model(self, i: int) -> mujoco.MjModel:
        """Env ``i``'s model as simulated: its per-env parameters or variant (with its own model,
        the task's full model, textures included, holding what the task drew for env ``i``)."""
        if self._own_models is None:
            return self._batch.get_model(i)
        model = copy.copy(self.model)
        for f in self._own_fields:
            getattr(model, f)[...] = getattr(self._own_models[i], f)
        return model

    def render_state(self, env_ids: np.ndarray) -> RenderState:
        """The state of simulations ``env_ids`` for drawing them (``mjvec.render.RenderState``)."""
        ids = np.asarray(env_ids, dtype=np.intp)
        batch, model = self._batch, self.model
        caller = caller_models(batch)  # per-env compiled models (variants), or None
        if isinstance(caller, tuple):

            def models(j: int) -> mujoco.MjModel:
                return caller[ids[j]]

        elif caller is None and self._randomization is None:
            models = None  # every env runs on `model` itself: nothing per env to write
        else:
            # 4 us per env: the batch writes env i's parameters (randomize=) into one copy
            scratch = copy.copy(caller if caller is not None else model)

            def models(j: int) -> mujoco.MjModel:
                return batch.get_model(int(ids[j]), scratch)

        act = batch.bind("act")[ids] if model.na else None
        mocap = (batch.bind("mocap_pos")[ids], batch.bind("mocap_quat")[ids]) if model.nmocap else (None, None)
        return RenderState(model, self._qpos[ids], self._qvel[ids], act, *mocap, models=models)

    def _check_process(self) -> None:
        if self._forked_from is not None:
            raise RuntimeError(
                f"this env was made in process {self._forked_from} before os.fork(): MuJoCo's {self.nthread} worker"
                f" threads do not exist in this process ({os.getpid()}), so it cannot run here. Make the env after"
                " the fork (in the child), use multiprocessing's 'spawn' or 'forkserver' start method, or make it"
                " with nthread=1 (no worker threads: it then works in a forked child)"
            )

    def advance(self, action: np.ndarray, mask: np.ndarray | None) -> Faults | None:
        self._check_process()
        if self._actions.passthrough:
            if mask is None:
                self._ctrl[:] = action
            else:
                self._ctrl[mask] = action[mask]
        else:
            self._write(action, mask)
        errors: dict[int, str] = {}
        if self._repeat > 1:
            self._repeated_steps(mask, errors)
        else:
            self._call(self._batch.step, mask, errors, nstep=self.task.frame_skip, **self._stage_kwargs)
        if self._on_demand:
            self._save(self._derived, mask)
            self._call(self._batch.forward, mask, errors)
            self._save(self._on_demand, mask)
        if not errors and not np.count_nonzero(self._warnings):
            return None
        return self._faults(errors)

    def _repeated_steps(self, mask, errors: dict[int, str]) -> None:
        """``Task.action_repeat`` control steps of ``frame_skip / action_repeat`` substeps each; the
        task's reward after each but the last summed in order into ``data.repeat_reward``."""
        chunk = self.task.frame_skip // self._repeat
        partial = 0.0
        for _ in range(self._repeat - 1):
            self._call(self._batch.step, mask, errors, nstep=chunk, **self._stage_kwargs)
            partial = partial + self.task.reward(np, self.data)
        self._call(self._batch.step, mask, errors, nstep=chunk, **self._stage_kwargs)
        self.data.repeat_reward[...] = partial

    def _call(self, call, mask: np.ndarray | None, errors: dict[int, str], **kwargs) -> None:
        """``call(mask)``; the simulations that raise are recorded in ``errors``.

        The others ran to completion: ``SimulationError`` is raised after the call.
        """
        try:
            call(mask, **kwargs)
        except mj_batch.SimulationError as e:
            for i in e.ids.tolist():
                errors.setdefault(i, self._batch.error(i))

    def _faults(self, errors: dict[int, str]) -> Faults:
        warnings = self._warnings
        diverged = (warnings[:, _DIVERGED] > 0).any(axis=1)
        counts = {
            name: warnings[:, k].astype(np.int64) for k, name in enumerate(WARNINGS) if warnings[:, k].any()
        }
        if errors:
            ids = np.fromiter(errors, dtype=np.int64)
            diverged[ids] = True
            counts["simulation_error"] = np.zeros(self.num_envs, dtype=np.int64)
            counts["simulation_error"][ids] = 1
            self.messages["simulation_error"] = errors[int(ids[-1])]
        warnings[...] = 0  # written through to each MjData: the next step counts anew
        return Faults(diverged, counts)

    def _write(self, action: np.ndarray, mask: np.ndarray | None) -> None:
        inputs = self._inputs
        if mask is not None and not mask.any():
            return  # every env is being reset (NEXT_STEP): nothing to write
        if mask is None:
            for f, value in self._actions.write(np, action, inputs).items():
                inputs[f][...] = value
        else:
            current = {f: v[mask] for f, v in inputs.items()}
            for f, value in self._actions.write(np, action[mask], current).items():
                inputs[f][mask] = value

    def set_params(self, mask: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """The drawn model parameters (one row per masked simulation), before their reset."""
        self._check_process()
        if self._own_models is not None:
            self._set_own_models(mask, values)
            return
        for f, value in values.items():
            target = self._expanded[f]
            target[mask] = np.reshape(value, target[mask].shape)
        if self._randomization is not None and self._randomization.set_const:
            self._batch.set_const(mask)

    def _set_own_models(self, mask: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """The drawn values written into each masked simulation's own model, which the batch is then
        given again; nothing of it runs per step."""
        ids = np.flatnonzero(mask)
        for f, value in values.items():
            rows = np.reshape(value, (len(ids), *np.shape(getattr(self.model, f))))
            for i, row in zip(ids.tolist(), rows):
                getattr(self._own_models[i], f)[...] = row
        self._batch.set_models(self._own_models)  # as Batch.set_models asks after editing a model

    def reset(self, mask: np.ndarray, qpos: np.ndarray, qvel: np.ndarray, act: np.ndarray | None = None) -> None:
        self._check_process()
        # mj_resetData, the task's fresh state, mj_forward: Gymnasium's reset order
        self._batch.reset(mask, stage=mujoco.mjtStage.mjSTAGE_NONE)
        self._qpos[mask] = qpos
        self._qvel[mask] = qvel
        if act is not None:
            if self._act is None:
                raise ValueError(f"{type(self.task).__name__}.reset_state returned `act`, but the model has no activations")
            self._act[mask] = act
        self._reset_forward(mask)
        if self._settle:  # Task.settle_steps: zero controls (mj_resetData's), then the clock restarts
            self._batch.step(mask, nstep=self._settle, stage=self._stage)
            self._time[mask] = 0.0
            self._reset_forward(mask)
        if self._on_demand:
            self._save(self._derived, mask)
            for buf in self._on_demand.values():
                buf[mask] = 0  # mj_resetData clears them and mj_forward does not compute them

    def reset_to(self, mask: np.ndarray, states: np.ndarray) -> None:
        """``mj_resetData``, the given state rows (one per masked simulation), ``mj_forward``."""
        self._batch.reset(mask, stage=mujoco.mjtStage.mjSTAGE_NONE)
        self._state[mask] = states
        self._reset_forward(mask)
        if self._on_demand:
            self._save(self._derived, mask)
            for buf in self._on_demand.values():
                buf[mask] = 0  # as after any reset

    def _reset_forward(self, mask: np.ndarray) -> None:
        """``mj_forward`` of the reset simulations (without actuation for ``Task.reset_without_actuation``)."""
        if self._reset_flags is None:
            self._batch.forward(mask)
        else:
            forward_without_actuation(self._batch, self._reset_flags, mask)

    def get_state(self, ids: np.ndarray) -> np.ndarray:
        """``(len(ids), state_size)`` copies of the simulations' state rows."""
        return self._state[ids]

    def set_state(self, ids: np.ndarray, states: np.ndarray) -> None:
        """Write the simulations' state rows, then ``mj_forward`` (on-demand fields at that state)."""
        self._state[ids] = states
        mask = np.zeros(self.num_envs, dtype=np.bool_)
        mask[ids] = True
        self._batch.forward(mask)
        if self._on_demand:
            self._save(self._derived, mask)
            self._save(self._on_demand, mask)

    def _save(self, buffers: dict[str, np.ndarray], mask: np.ndarray | None) -> None:
        for f, buf in buffers.items():
            if mask is None:
                np.copyto(buf, self._bound[f])
            else:  # a third of the cost of buf[mask] = bound[mask]
                np.copyto(buf, self._bound[f], where=mask.reshape(mask.shape + (1,) * (buf.ndim - 1)))

    def close(self) -> None:
        """Release the batch, its threads and its memory, even while the env is still referenced.

        Every array bound to the batch is a view that keeps it alive: all of them are dropped.
        """
        for name in ("_batch", "data", "_bound", "_inputs", "_expanded", "_own_models", "_warnings", "_ctrl", "_qpos",
                     "_qvel", "_time", "_on_demand", "_derived", "_state"):
            if hasattr(self, name):
                setattr(self, name, None)
