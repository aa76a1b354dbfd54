"""Per-environment model parameters: what to vary and how to sample it.

    env = mjvec.make("HalfCheetah-v5", num_envs=64, randomize={
        "body_mass": mjvec.Uniform(0.8, 1.2),                       # scale every body's mass
        "geom_friction": mjvec.Uniform([0.5, 1, 1], [1.5, 1, 1]),   # sliding friction only
        "opt.gravity": mjvec.Normal(0.0, [0, 0, 0.5], mode="add"),
    })

Every element of a field is drawn independently, per env, from the env's own seeded
stream, before its reset state, whenever the env resets (``resample="reset"``) or only
when it is seeded (``resample="once"``: its first reset and resets with a seed). Fields
are named as in ``mujoco.MjModel``, ``MjOption`` fields as ``"opt.<name>"``: any field
``mujoco.batch`` can give per-simulation values. Scaling a body's mass scales its
inertia by the same factor; the constants MuJoCo derives from the changed fields are
recomputed (``mj_setConst``).

``BoundRandomization.sample(xp, rng)`` is written over an array namespace and a random
source with ``uniform``/``standard_normal`` (``mjvec.task.NumpyRandom`` on the CPU), so
the MJX backend draws the same distributions inside its jit.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import mujoco
import numpy as np

from mjvec.distributions import Choice, Distribution, LogUniform, Normal, Uniform
from mjvec.validation import did_you_mean

__all__ = ["Uniform", "Normal", "LogUniform", "Choice", "Randomization", "BoundRandomization", "is_visual"]

# the MjModel size that counts the rows of a field, by prefix, and the object type of its names
_ROWS = {
    "body_": mujoco.mjtObj.mjOBJ_BODY,
    "jnt_": mujoco.mjtObj.mjOBJ_JOINT,
    "dof_": mujoco.mjtObj.mjOBJ_DOF,
    "geom_": mujoco.mjtObj.mjOBJ_GEOM,
    "site_": mujoco.mjtObj.mjOBJ_SITE,
    "actuator_": mujoco.mjtObj.mjOBJ_ACTUATOR,
    "tendon_": mujoco.mjtObj.mjOBJ_TENDON,
    "eq_": mujoco.mjtObj.mjOBJ_EQUALITY,
    "pair_": mujoco.mjtObj.mjOBJ_PAIR,
    "cam_": mujoco.mjtObj.mjOBJ_CAMERA,
    "light_": mujoco.mjtObj.mjOBJ_LIGHT,
    "mat_": mujoco.mjtObj.mjOBJ_MATERIAL,
}
RESAMPLE = ("reset", "once")
# what only drawing reads (colours, materials, textures, lights, cameras): the MJX backend
# carries their draws for env.render and get_model without giving them to the physics
_VISUAL_PREFIXES = ("mat_", "light_", "cam_")
_VISUAL = ("geom_rgba", "site_rgba", "tendon_rgba", "flex_rgba", "geom_matid", "site_matid", "tendon_matid",
           "flex_matid")


def is_visual(name: str) -> bool:
    """Whether model field ``name`` changes how the scene is drawn and nothing that is simulated."""
    return name in _VISUAL or name.startswith(_VISUAL_PREFIXES)
# fields whose values MuJoCo cannot simulate outside a domain: > 0 where the model's value is
# (a zero mass sends bodies flying, a negative one is no mass at all), >= 0 elsewhere
POSITIVE = ("body_mass", "body_inertia", "opt.timestep")
NONNEGATIVE = ("geom_size", "geom_friction", "dof_damping", "dof_armature", "dof_frictionloss", "jnt_stiffness",
               "tendon_stiffness", "tendon_damping", "opt.density", "opt.viscosity")


class Randomization:
    """Which model fields vary per env, their distributions, and when they are redrawn.

    Args:
      fields: ``{field name: Distribution}``.
      resample: ``"reset"`` (whenever an env resets, autoresets included) or
        ``"once"`` (when an env is seeded: its first reset and resets with a seed;
        kept across its episodes).
    """

    def __init__(self, fields: Mapping[str, Distribution], *, resample: str = "reset"):
        if not isinstance(fields, Mapping):
            raise TypeError(f"`randomize` must be a dict {{model field: distribution}}, got {type(fields).__name__}")
        if not fields:
            raise ValueError("`randomize` must name at least one model field")
        for name, dist in fields.items():
            if not isinstance(name, str):
                raise TypeError(f"`randomize` keys must be model field names (str), got {type(name).__name__}")
            if not isinstance(dist, Distribution):
                raise TypeError(
                    f"`randomize[{name!r}]` must be an mjvec.Uniform, Normal or LogUniform, got {type(dist).__name__}"
                )
        if resample not in RESAMPLE:
            raise ValueError(f"`resample` must be one of {RESAMPLE}, got {resample!r}")
        self.fields = dict(fields)
        self.resample = resample

    @classmethod
    def coerce(cls, randomize: "Randomization | Mapping[str, Distribution] | None") -> "Randomization | None":
        """``randomize=`` as given to ``mjvec.make``: a Randomization, a dict, or None."""
        if randomize is None or isinstance(randomize, Randomization):
            return randomize
        return cls(randomize)

    def bind(self, model: mujoco.MjModel) -> "BoundRandomization":
        return BoundRandomization(self, model)

    def __repr__(self) -> str:
        return f"Randomization({self.fields!r}, resample={self.resample!r})"


def _model_value(model: mujoco.MjModel, name: str) -> np.ndarray:
    if name.startswith("opt."):
        return np.atleast_1d(np.asarray(getattr(model.opt, name[4:])))
    return np.asarray(getattr(model, name))


def _check_domain(name: str, dist: Distribution, base: np.ndarray, table: np.ndarray | None = None) -> None:
    """Refuse, before anything is simulated, a distribution that can draw a physically invalid value."""
    if name not in POSITIVE and name not in NONNEGATIVE:
        return
    support = dist.support() if table is None else (table.min(axis=1), table.max(axis=1))
    lo, hi = (np.broadcast_to(x, base.shape) for x in support)
    if dist.mode == "scale":  # base * draw; a zero base stays zero
        with np.errstate(invalid="ignore"):  # 0 * inf, replaced
            ends = [np.where(base == 0, 0.0, base * x) for x in (lo, hi)]
    elif dist.mode == "add":
        ends = [base + lo, base + hi]
    else:
        ends = [lo, hi]
    lowest = np.minimum(*ends)
    bad = lowest < 0
    if name in POSITIVE:
        bad |= (lowest <= 0) & (base > 0)
    if bad.any():
        i = np.unravel_index(np.flatnonzero(bad)[0], bad.shape)
        where = f" at {list(map(int, i))}" if base.ndim else ""
        need = "> 0 (>= 0 where the model's value is 0)" if name in POSITIVE else ">= 0"
        unbounded = " (a Normal with std > 0 can draw any value)" if isinstance(dist, Normal) else ""
        raise ValueError(
            f"`randomize[{name!r}]`: {dist!r} can draw {float(lowest[i])!r} for {name}{where} (model value"
            f" {float(base[i])!r}){unbounded}, which MuJoCo cannot simulate: {name} must stay {need}. Draw from"
            " a distribution that keeps it so, e.g. mjvec.Uniform(0.5, 1.5) or mjvec.LogUniform(0.5, 2.0) to scale it"
        )


class BoundRandomization:
    """A ``Randomization`` resolved against a model.

    Attributes:
      fields: the model fields drawn (``"opt.gravity"`` style for options), plus
        ``body_inertia`` when ``body_mass`` varies.
      nominal: ``{field: value}``, the model's values, which draws scale or shift.
      set_const: whether ``mj_setConst`` must follow a change.
    """

    def __init__(self, spec: Randomization, model: mujoco.MjModel):
        from mujoco import batch as mj_batch

        self.spec = spec
        self.resample = spec.resample
        self._plans = []
        for name, dist in spec.fields.items():
            if name not in mj_batch.MODEL_FIELDS:
                known = sorted(mj_batch.MODEL_FIELDS)
                raise ValueError(
                    f"`randomize` names {name!r}, which is not a model field mujoco.batch can vary"
                    f"{did_you_mean(name, known)}"
                )
            nominal = _model_value(model, name)
            if nominal.dtype.kind != "f" and not isinstance(dist, Choice):
                raise ValueError(
                    f"`randomize[{name!r}]`: {name} holds {nominal.dtype} values (ids, flags), not real numbers:"
                    " pick among given values with mjvec.Choice([...])"
                )
            if nominal.size == 0:  # e.g. sensor_* of a model without sensors
                raise ValueError(f"`randomize[{name!r}]`: the model has no elements of {name} to vary (shape"
                                 f" {nominal.shape})")
            rows = self._rows(model, name, dist, nominal)
            shape = nominal[rows].shape if rows is not None else nominal.shape
            if isinstance(dist, Choice):  # (rows, options, *row shape), the options as row values
                table = dist.table(model, name, nominal[rows] if rows is not None else nominal)
                _check_domain(name, dist, nominal[rows] if rows is not None else nominal, table)
                self._plans.append((name, dist, rows, shape, table))
                continue
            for p in dist._params():
                try:
                    np.broadcast_shapes(p.shape, shape)
                except ValueError:
                    raise ValueError(
                        f"`randomize[{name!r}]`: parameters of shape {p.shape} do not broadcast to {shape},"
                        f" the {'selected rows' if rows is not None else 'field'}"
                    ) from None
            _check_domain(name, dist, nominal[rows] if rows is not None else nominal)
            self._plans.append((name, dist, rows, shape, None))
        self.fields = tuple(name for name, *_ in self._plans)
        self._scale_inertia = "body_mass" in self.fields and "body_inertia" not in self.fields
        if self._scale_inertia:
            self.fields += ("body_inertia",)
        self.nominal = {f: _model_value(model, f).copy() for f in self.fields}
        setconst = set(mujoco.MjModel._setconst_inputs)
        self.set_const = any(f in setconst or f.startswith("opt.") for f in self.fields)

    @staticmethod
    def _rows(model, name, dist, nominal):
        if dist.names is None:
            return None
        prefix = next((p for p in _ROWS if name.startswith(p)), None)
        if prefix is None or name.startswith("opt."):
            raise ValueError(f"`randomize[{name!r}]`: `names` selects rows of per-object fields, not of {name}")
        obj = _ROWS[prefix]
        rows = []
        for n in dist.names:
            i = mujoco.mj_name2id(model, obj, n)
            if i < 0:
                count = nominal.shape[0]
                known = [k for k in (mujoco.mj_id2name(model, obj, j) for j in range(count)) if k]
                raise ValueError(
                    f"`randomize[{name!r}]` names {n!r}, which is not a {obj.name[6:].lower()} of the model"
                    f"{did_you_mean(n, known)}; its {obj.name[6:].lower()}s: {known}"
                )
            rows.append(i)
        return np.array(rows)

    def sample(self, xp, rng) -> dict[str, Any]:
        """``{field: (n, *shape) values}`` for the ``n`` envs ``rng`` draws for.

        Draws, per env and in ``fields`` order, every element of a field from
        ``rng.uniform(0, 1, size)`` or ``rng.standard_normal(size)`` (a ``Choice``: one
        uniform per row, the option it falls on). Quaternions (``*_quat``) and
        ``light_dir`` are normalized after the draw: they stay rotations and directions.
        """
        out = {}
        for name, dist, rows, shape, table in self._plans:
            size = int(np.prod(shape))
            if table is not None:
                k = table.shape[1]
                u = xp.reshape(rng.uniform(0.0, 1.0, shape[0]), (-1, shape[0]))
                pick = xp.minimum(xp.floor(u * k), k - 1).astype(np.int32)
                value = xp.asarray(table)[np.arange(shape[0]), pick]
            elif dist.base == "normal":
                z = xp.reshape(rng.standard_normal(size), (-1, *shape))
                u = None
            else:
                u = xp.reshape(rng.uniform(0.0, 1.0, size), (-1, *shape))
                z = None
            if table is None:
                value = dist.draw(xp, u, z)
            nominal = self.nominal[name]
            base = nominal[rows] if rows is not None else nominal
            if dist.mode == "scale":
                value = base * value
            elif dist.mode == "add":
                value = base + value
            value = xp.broadcast_to(value, (value.shape[0], *shape))
            if rows is not None:
                full = xp.broadcast_to(nominal, (value.shape[0], *nominal.shape))
                mask = np.zeros(nominal.shape[0], dtype=bool)
                mask[rows] = True
                index = np.zeros(nominal.shape[0], dtype=np.int64)
                index[rows] = np.arange(len(rows))
                mask = mask.reshape(-1, *([1] * (nominal.ndim - 1)))
                value = xp.where(mask, value[:, index], full)
            if name.endswith("_quat") or name == "light_dir":
                norm = xp.sqrt(xp.sum(value * value, axis=-1, keepdims=True))
                value = value / xp.maximum(norm, 1e-12)
            out[name] = value
        if self._scale_inertia:
            # the bodies keep their density: inertia scales with mass
            mass = self.nominal["body_mass"]
            ratio = xp.where(mass > 0, out["body_mass"] / np.where(mass > 0, mass, 1.0), 1.0)
            out["body_inertia"] = self.nominal["body_inertia"] * ratio[..., None]
        return out

    def __repr__(self) -> str:
        return f"BoundRandomization({list(self.fields)}, resample={self.resample!r})"
