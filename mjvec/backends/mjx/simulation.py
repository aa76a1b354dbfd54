"""``MjxSimulation``: a batched ``mjx.Data`` advanced and reset functionally, inside the jit.

The episode rules call it as they call the CPU backend's simulations
(``mjvec.backends.base.Simulation``); each call replaces the traced arrays it holds.
Resets and parameter draws are computed for every env (JAX draws dense rows) and
kept where the mask says; their expensive part (``mjx.forward``, the derived
constants) runs only when some env is marked (``lax.cond``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from jax import lax

from mjvec.backends.mjx.engine import MAXVAL, ON_DEMAND_FIELDS, DataView, mjx, unflatten_state
from mjvec.backends.mjx.impls import batch_data, select_data, static_geom_poses, with_rne_postconstraint
from mjvec.backends.mjx.ops import where
from mjvec.backends.mjx.randomize import derived_constants, with_params
from mjvec.core.episode import Faults
from mjvec.randomize import is_visual

__all__ = ["MjxSimulation", "BAD_KINDS"]

#: MuJoCo's checks, counted per substep as the CPU's warning counters
BAD_KINDS = ("badqpos", "badqvel", "badqacc")


def _bad(x: jax.Array) -> jax.Array:
    """``(n,)``: a NaN, an inf or an entry beyond mjMAXVAL, as MuJoCo's checks."""
    return jnp.logical_not(jnp.all(jnp.abs(x) <= MAXVAL, axis=-1))


def _with_on_demand(data, fields: dict):
    return data.replace(_impl=data._impl.replace(**fields))


def _batched(fn, model, params: dict):
    """``fn(model, d)`` vmapped over data, with each env's ``params`` swapped into ``model``.

    The carried fields that only drawing reads are left out: the physics never sees them.
    """
    params = {k: v for k, v in params.items() if not is_visual(k)}
    if not params:
        return jax.vmap(fn, in_axes=(None, 0))
    return lambda m, data: jax.vmap(lambda p, d: fn(with_params(m, p), d))(params, data)


def _without_actuation(model):
    """``model`` with ``mjDSBL_ACTUATION`` set: the reset's forward of ``Task.reset_without_actuation``."""
    opt = model.opt
    return model.replace(opt=opt.replace(disableflags=opt.disableflags | mjx.DisableBit.ACTUATION))


#: What ``mj_step1`` leaves as the last substep's ``mj_step2`` computed it (actuation, acceleration,
#: constraint forces, the solver's warm start)
_STEP2_FIELDS = (
    "qacc", "qacc_warmstart", "act_dot", "qfrc_actuator", "actuator_force", "qfrc_smooth", "qacc_smooth",
    "qfrc_constraint", "qfrc_inverse",
)


def step1_function(mjm):
    """``mj_step1(m, d)`` for ``mjm``'s MJX model: the position- and velocity-dependent fields and
    sensors of ``d``'s state, the rest as the last step left them.

    MJX has the position and velocity stages (``fwd_position``, ``sensor_pos``, ...) for
    ``impl="jax"`` only; for ``impl="warp"`` it is a whole ``mjx.forward`` at the state, with the
    ``mj_step2`` fields and the acceleration-stage sensor rows put back from ``d`` (the extra
    acceleration stage costs about one more forward per control step).
    """
    stages = np.repeat(mjm.sensor_needstage, mjm.sensor_dim)
    acc_rows = np.flatnonzero(stages == int(mujoco.mjtStage.mjSTAGE_ACC))

    def step1(m, d):
        if m.impl != mjx.Impl.WARP:
            d = mjx.sensor_pos(m, mjx.fwd_position(m, d))
            return mjx.sensor_vel(m, mjx.fwd_velocity(m, d))
        f = mjx.forward(m, d)
        sensordata = f.sensordata.at[acc_rows].set(d.sensordata[acc_rows]) if acc_rows.size else f.sensordata
        return f.replace(sensordata=sensordata, **{k: getattr(d, k) for k in _STEP2_FIELDS})

    return step1


def _post(m, d) -> dict:
    """The on-demand fields (``mj_rnePostConstraint``) of a forward pass at ``d``'s state."""
    if m.impl == mjx.Impl.WARP:  # MuJoCo Warp runs it inside forward when its option asks
        f = mjx.forward(with_rne_postconstraint(m), d)
    else:
        f = mjx.rne_postconstraint(m, mjx.forward(m, d))
    return {k: getattr(f._impl, k) for k in ON_DEMAND_FIELDS}


class MjxSimulation:
    """The simulations of one traced step: ``raw`` (batched ``mjx.Data``) and ``params``.

    Args:
      program: the static ``Program`` (task, actions, randomization, sizes).
      model: the ``mjx.Model``; template: the ``mjx.Data`` that ``mj_resetData`` makes.
      raw: the batched data; params: ``{field: (n, ...)}`` per-env model parameters.
    """

    def __init__(self, program, model, template, raw, params: dict):
        self.program, self.model, self.template = program, model, template
        self.raw, self.params = raw, params
        self.repeat_reward = None  # set by advance() with Task.action_repeat > 1
        # impl="warp": the static geoms' poses an env's own values move, written after each forward
        # (MuJoCo Warp computes them once, in make_data)
        self._static = static_geom_poses(program.task.model, params) if program.impl == "warp" else None

    @property
    def data(self) -> DataView:
        return self._view(self.raw)

    def _view(self, raw) -> DataView:
        timestep = self.params.get("opt.timestep")
        if timestep is None:
            timestep = jnp.broadcast_to(self.model.opt.timestep, (self.program.num_envs,))
        return DataView(raw, timestep, self.repeat_reward, self.params)

    def detach(self, values: dict[str, Any]) -> dict[str, Any]:
        return values  # traced values are immutable

    def advance(self, action, mask) -> Faults:
        """Write ``action``, run ``frame_skip`` substeps of every env (a masked env's result is replaced by its reset)."""
        program, model, params, data = self.program, self.model, self.params, self.raw
        actions = program.actions
        if actions.passthrough:
            data = data.replace(ctrl=action.astype(data.ctrl.dtype))
        else:
            data = data.replace(**actions.write(jnp, action, {f: getattr(data, f) for f in actions.fields}))
        step = _batched(mjx.step, model, params)

        def substep(d, _):
            d = step(model, d)
            return d, jnp.stack((_bad(d.qpos), _bad(d.qvel), _bad(d.qacc)))

        step1 = _batched(step1_function(program.task.model), model, params) if program.step1_after_step else None
        if program.action_repeat == 1:
            data, bad = lax.scan(substep, data, None, length=program.frame_skip)
            if step1 is not None:  # Task.step_stage = mjSTAGE_VEL (the Control Suite's legacy_step)
                data = step1(model, data)
        else:
            data, bad = self._repeated_steps(data, substep, step1)
        if program.on_demand:
            # as the CPU backend: cfrc_ext (cacc, cfrc_int) from a forward at the new state;
            # the other derived fields stay the last substep's
            data = _with_on_demand(data, _batched(_post, model, params)(model, data))
        self.raw = data
        bad = jnp.sum(bad, axis=0, dtype=jnp.int32)
        return Faults(jnp.any(bad > 0, axis=0), dict(zip(BAD_KINDS, bad)))

    def _repeated_steps(self, data, substep, step1):
        """``Task.action_repeat`` control steps; the task's reward after each but the last summed in
        order into ``repeat_reward`` (as the CPU backend's ``_repeated_steps``)."""
        program, model, repeat = self.program, self.model, self.program.action_repeat

        def control_step(d, _):
            d, bad = lax.scan(substep, d, None, length=program.frame_skip // repeat)
            if step1 is not None:
                d = step1(model, d)
            return d, (bad, program.task.reward(jnp, self._view(d)))

        data, (bad, rewards) = lax.scan(control_step, data, None, length=repeat)
        partial = 0.0
        for k in range(repeat - 1):
            partial = partial + rewards[k]
        self.repeat_reward = partial
        return data, jnp.reshape(bad, (-1, *bad.shape[2:]))

    def _forward(self, model):
        """``mjx.forward`` of every env with its own parameters (and its own static geoms' poses on warp)."""
        if self._static is None:
            return _batched(mjx.forward, model, self.params)
        fix = self._static
        return _batched(lambda m, d: fix(m, mjx.forward(m, d)), model, self.params)

    def _reset_model(self):
        """The model of the reset's ``mjx.forward``: without actuation for ``Task.reset_without_actuation``."""
        return _without_actuation(self.model) if self.program.reset_without_actuation else self.model

    def reset(self, mask, qpos, qvel, act=None) -> None:
        """Gymnasium's order for the masked envs: ``mj_resetData`` (the template), the state (``act``
        too where the task sets it), ``mjx.forward`` (if the task reads derived fields); on-demand
        fields are zero."""
        program, model, n = self.program, self.model, self.program.num_envs
        forward_model = self._reset_model()

        def fresh():
            data = batch_data(self.template, n)
            data = data.replace(qpos=jnp.asarray(qpos, data.qpos.dtype), qvel=jnp.asarray(qvel, data.qvel.dtype))
            if act is not None:
                data = data.replace(act=jnp.asarray(act, data.act.dtype))
            if program.forward_at_reset or program.settle_steps or self._static is not None:
                data = self._forward(forward_model)(forward_model, data)
            if program.settle_steps:  # Task.settle_steps: zero controls, then the clock restarts
                step = _batched(mjx.step, model, self.params)
                data, _ = lax.scan(lambda d, _: (step(model, d), None), data, None, length=program.settle_steps)
                data = data.replace(time=jnp.zeros_like(data.time))
                data = self._forward(forward_model)(forward_model, data)
            if program.on_demand:
                data = _with_on_demand(data, {k: jnp.zeros_like(getattr(data._impl, k)) for k in ON_DEMAND_FIELDS})
            return select_data(mask, data, self.raw)

        self.raw = lax.cond(jnp.any(mask), fresh, lambda: self.raw)

    def reset_to(self, mask, states) -> None:
        """``mj_resetData`` (the template), the given ``(n, nstate)`` states where ``mask``, ``mjx.forward``."""
        program, model, n = self.program, self._reset_model(), self.program.num_envs

        def fresh():
            data = batch_data(self.template, n)
            data = self._forward(model)(model, unflatten_state(data, program.state_layout, states))
            if program.on_demand:
                data = _with_on_demand(data, {k: jnp.zeros_like(getattr(data._impl, k)) for k in ON_DEMAND_FIELDS})
            return select_data(mask, data, self.raw)

        self.raw = lax.cond(jnp.any(mask), fresh, lambda: self.raw)

    def set_state(self, mask, states) -> None:
        """The given ``(n, nstate)`` states where ``mask``, then ``mjx.forward`` (on-demand fields at that state)."""
        program, model = self.program, self.model
        data = self._forward(model)(model, unflatten_state(self.raw, program.state_layout, states))
        if program.on_demand:
            data = _with_on_demand(data, _batched(_post, model, self.params)(model, data))
        self.raw = select_data(mask, data, self.raw)

    def set_params(self, mask, values: dict[str, Any]) -> None:
        """The drawn parameters (and the constants MuJoCo derives from them) for the masked envs."""
        program, params = self.program, self.params

        task_fields = set(getattr(program.task, "reset_model_fields", ()))

        def drawn():
            new = dict(values)
            if program.derived and not set(new) <= task_fields:  # randomize='s draw, not the task's own
                base = self.model if program.impl == "jax" else program.jax_model()
                new.update(jax.vmap(lambda p: derived_constants(base, program.task.model, p))(new))
            new = {k: jnp.asarray(v, params[k].dtype) for k, v in new.items()}
            return {**params, **where(mask, new, {k: params[k] for k in new})}

        self.params = lax.cond(jnp.any(mask), drawn, lambda: params)
