"""Per-env model parameters on the MJX backend: ``randomize=`` as a batch axis of the model.

The drawn fields (and the constants derived from them) are arrays with a leading
``num_envs`` axis, kept in the env state and resampled inside the jitted reset; each
substep runs ``vmap`` over (parameters, data) with the fields swapped into the shared
``mjx.Model``. The draws are ``BoundRandomization.sample``, the CPU backend's code, on
``JaxRandom``.

Exact or refused, never approximate: a field is accepted when MJX reads it as an array
and no constant MuJoCo derives from it (``mj_setConst``) changes, or when the constants
MJX reads are recomputed here: ``body_mass``, ``body_inertia`` and ``dof_armature``
change ``body_subtreemass``, ``body_invweight0`` and ``dof_invweight0`` (MuJoCo's
``set0``, at ``qpos0``). Other fields that need ``mj_setConst`` (sizes, positions,
gears...) are refused with an error.

Fields only drawing reads (``mjvec.randomize.is_visual``: colours, materials, textures,
lights, model cameras) are carried: drawn and kept per env like the others, never given
to the physics, and written into ``get_model(i)`` (hence ``env.render``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from mjvec.backends.mjx.engine import mjx
from mjvec.randomize import is_visual
from mjvec.backends.mjx.impls import batchable_model_field

__all__ = ["check_randomization", "with_params", "derived_constants", "RECOMPUTED"]

# fields whose derived constants are recomputed here, and what MJX reads of those constants
RECOMPUTED = ("body_mass", "body_inertia", "dof_armature")
DERIVED = ("body_subtreemass", "body_invweight0", "dof_invweight0")
_FLUID = ("opt.density", "opt.viscosity", "opt.wind")
MINVAL = 1e-15  # MuJoCo's mjMINVAL


def _get(model, name: str):
    if name.startswith("opt."):
        return getattr(model.opt, name[4:], None)
    return getattr(model, name, None)


def check_randomization(randomization, model, mj_model: mujoco.MjModel, impl: str = "jax") -> tuple[str, ...]:
    """The fields MJX (of implementation ``impl``) can vary exactly; raises ``ValueError`` naming the others.

    Returns the derived constants to recompute (empty when none).
    """
    setconst = set(mujoco.MjModel._setconst_inputs)
    refused = []
    for name in randomization.fields:
        if is_visual(name):
            continue  # carried, not simulated
        value = _get(model, name)
        if not isinstance(value, jax.Array):
            refused.append(f"{name} (MJX holds it as a compile-time constant)")
        elif impl == "warp" and not batchable_model_field(name):
            refused.append(f"{name} (MuJoCo Warp does not read it per world: impl='jax' can vary it)")
        elif name in setconst and name not in RECOMPUTED:
            refused.append(f"{name} (its constants derived by mj_setConst are not recomputed on MJX)")
        elif name in _FLUID and not (mj_model.opt.density > 0 or mj_model.opt.viscosity > 0 or mj_model.opt.wind.any()):
            refused.append(f"{name} (MJX compiles fluid forces out of models without them)")
    if refused:
        raise ValueError(
            f"`randomize` varies fields the MJX backend cannot vary exactly: {'; '.join(refused)}."
            " Use backend='cpu' for these, or leave them out (docs/mjx.md)"
        )
    if not any(f in RECOMPUTED for f in randomization.fields):
        return ()
    if mj_model.ntendon or (mj_model.actuator_dyntype == mujoco.mjtDyn.mjDYN_MUSCLE).any():
        raise ValueError(
            "`randomize` varies mass or inertia of a model with tendons or muscles, whose constants"
            " (tendon_invweight0, actuator_acc0) the MJX backend does not recompute: use backend='cpu'"
        )
    return DERIVED


def with_params(model, params: dict[str, Any]):
    """``model`` with one env's ``params`` (``{field: value}``, options as ``"opt.<name>"``)."""
    opt = {k[4:]: v for k, v in params.items() if k.startswith("opt.")}
    fields = {k: v for k, v in params.items() if not k.startswith("opt.") and not is_visual(k)}
    if opt:
        fields["opt"] = model.opt.replace(**opt)
    return model.replace(**fields)


def derived_constants(model, mj_model: mujoco.MjModel, params: dict[str, Any]) -> dict[str, Any]:
    """``body_subtreemass``, ``body_invweight0``, ``dof_invweight0`` of one env's model, as ``mj_setConst``.

    ``mj_model`` gives the static structure (parents, joints, which bodies are static or
    simple); the numbers come from ``params`` swapped into ``model``, an ``impl="jax"``
    model (MJX's JAX functions compute them for either implementation).
    """
    m = with_params(model, params)
    mass = m.body_mass
    subtree = [mass[i] for i in range(mj_model.nbody)]
    for i in range(mj_model.nbody - 1, 0, -1):
        parent = int(mj_model.body_parentid[i])
        subtree[parent] = subtree[parent] + subtree[i]
    d = mjx.make_data(m).replace(qpos=m.qpos0)
    d = mjx.crb(m, mjx.com_pos(m, mjx.kinematics(m, d)))
    minv = jnp.linalg.inv(mjx.full_m(m, d))
    nv = mj_model.nv
    body = [jnp.zeros(2, dtype=minv.dtype)]
    for i in range(1, mj_model.nbody):
        if mj_model.body_weldid[i] == 0:  # static body
            body.append(jnp.zeros(2, dtype=minv.dtype))
        elif mj_model.body_simple[i] == 2:  # simple body without rotations
            body.append(jnp.stack((1.0 / jnp.maximum(MINVAL, mass[i]), jnp.zeros((), minv.dtype))))
        else:
            jacp, jacr = mjx.jac(m, d, d.xipos[i], i)
            jac = jnp.concatenate((jacp.T, jacr.T)) if nv else jnp.zeros((6, 0))
            a = jac @ minv @ jac.T
            body.append(jnp.stack((jnp.trace(a[:3, :3]) / 3, jnp.trace(a[3:, 3:]) / 3)))
    dof = [None] * nv
    for j in range(mj_model.njnt):
        adr, b = int(mj_model.jnt_dofadr[j]), int(mj_model.jnt_bodyid[j])
        kind = mujoco.mjtJoint(mj_model.jnt_type[j])
        count = {mujoco.mjtJoint.mjJNT_FREE: 6, mujoco.mjtJoint.mjJNT_BALL: 3}.get(kind, 1)
        if mj_model.body_simple[b] == 2:
            values = [1.0 / jnp.maximum(MINVAL, mass[b])] * count
        else:
            diag = jnp.diagonal(minv)[adr : adr + count]
            if count == 6:
                values = [jnp.mean(diag[:3])] * 3 + [jnp.mean(diag[3:])] * 3
            elif count == 3:
                values = [jnp.mean(diag)] * 3
            else:
                values = [diag[0]]
        dof[adr : adr + count] = values
    return {
        "body_subtreemass": jnp.stack(subtree),
        "body_invweight0": jnp.stack(body),
        "dof_invweight0": jnp.stack(dof) if nv else jnp.zeros(0, minv.dtype),
    }


def nominal_params(model, randomization, derived: tuple[str, ...], num_envs: int) -> dict[str, Any]:
    """The model's own values of the drawn fields and derived constants, per env: before any draw."""
    names = tuple(randomization.fields) + derived

    def value(f):  # a carried field as the MjModel holds it (MJX may not hold it as an array)
        return randomization.nominal[f] if is_visual(f) else _get(model, f)

    return {f: jnp.array(jnp.broadcast_to(value(f), (num_envs, *np.shape(value(f))))) for f in names}
