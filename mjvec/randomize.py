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

from mjvec.validation import did_you_mean

__all__ = ["Uniform", "Normal", "LogUniform", "Randomization", "BoundRandomization"]

MODES = ("scale", "add", "set")


class Distribution:
    """A distribution of one model field's elements, and how a draw changes the nominal value.

    ``mode``: ``"scale"`` multiplies the nominal value by the draw, ``"add"`` adds the
    draw, ``"set"`` replaces the value. ``names``: only these rows of the field (bodies
    for ``body_*``, geoms for ``geom_*``, ...), by name; all rows by default.
    Parameters broadcast against one row of the field (e.g. ``(3,)`` for
    ``geom_friction``).
    """

    def __init__(self, mode: str = "scale", names: Sequence[str] | None = None):
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}, got {mode!r}{did_you_mean(str(mode), MODES)}")
        if names is not None and (isinstance(names, str) or not all(isinstance(n, str) for n in names)):
            raise TypeError(f"`names` must be a list of names (str), got {names!r}")
        self.mode = mode
        self.names = None if names is None else list(names)

    def draw(self, xp, u, z):
        """Values from ``u`` (uniform on [0, 1)) and ``z`` (standard normal), same shape."""
        raise NotImplementedError

    #: which base draws ``draw`` needs: "uniform" or "normal"
    base = "uniform"

    def _params(self) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def support(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lowest, highest)`` value a draw can take, per parameter element (may be infinite)."""
        return self._params()

    def __repr__(self) -> str:
        params = ", ".join(repr(np.asarray(p).tolist()) for p in self._params())
        return f"{type(self).__name__}({params}, mode={self.mode!r})"


def _param(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a number or an array of numbers, got {value!r}") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must be finite, got {value!r}")
    return arr


class Uniform(Distribution):
    """Uniform on ``[low, high)``."""

    def __init__(self, low: Any, high: Any, *, mode: str = "scale", names: Sequence[str] | None = None):
        super().__init__(mode, names)
        self.low, self.high = _param("low", low), _param("high", high)
        if not (np.broadcast_to(self.low, np.broadcast_shapes(self.low.shape, self.high.shape)) <= self.high).all():
            raise ValueError(f"Uniform needs low <= high, got {low!r} and {high!r}")

    def draw(self, xp, u, z):
        return self.low + (self.high - self.low) * u

    def _params(self):
        return self.low, self.high


class LogUniform(Distribution):
    """``exp(Uniform(log low, log high))``: scales spread evenly over orders of magnitude."""

    def __init__(self, low: Any, high: Any, *, mode: str = "scale", names: Sequence[str] | None = None):
        super().__init__(mode, names)
        self.low, self.high = _param("low", low), _param("high", high)
        if not ((self.low > 0).all() and (self.high > 0).all()):
            raise ValueError(f"LogUniform needs low > 0 and high > 0, got {low!r} and {high!r}")
        if not (np.broadcast_to(self.low, np.broadcast_shapes(self.low.shape, self.high.shape)) <= self.high).all():
            raise ValueError(f"LogUniform needs low <= high, got {low!r} and {high!r}")

    def draw(self, xp, u, z):
        log_low, log_high = np.log(self.low), np.log(self.high)
        return xp.exp(log_low + (log_high - log_low) * u)

    def _params(self):
        return self.low, self.high


class Normal(Distribution):
    """Normal with mean ``mean`` and standard deviation ``std``."""

    base = "normal"

    def __init__(self, mean: Any, std: Any, *, mode: str = "scale", names: Sequence[str] | None = None):
        super().__init__(mode, names)
        self.mean, self.std = _param("mean", mean), _param("std", std)
        if (self.std < 0).any():
            raise ValueError(f"Normal needs std >= 0, got {std!r}")

    def draw(self, xp, u, z):
        return self.mean + self.std * z

    def _params(self):
        return self.mean, self.std

    def support(self):
        spread = np.where(self.std > 0, np.inf, 0.0)
        return self.mean - spread, self.mean + spread


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
}
RESAMPLE = ("reset", "once")
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


def _check_domain(name: str, dist: Distribution, base: np.ndarray) -> None:
    """Refuse, before anything is simulated, a distribution that can draw a physically invalid value."""
    if name not in POSITIVE and name not in NONNEGATIVE:
        return
    lo, hi = (np.broadcast_to(x, base.shape) for x in dist.support())
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
            if nominal.dtype.kind != "f":
                raise ValueError(f"`randomize[{name!r}]`: {name} holds {nominal.dtype} values, not real numbers")
            if nominal.size == 0:  # e.g. sensor_* of a model without sensors
                raise ValueError(f"`randomize[{name!r}]`: the model has no elements of {name} to vary (shape"
                                 f" {nominal.shape})")
            rows = self._rows(model, name, dist, nominal)
            shape = nominal[rows].shape if rows is not None else nominal.shape
            for p in dist._params():
                try:
                    np.broadcast_shapes(p.shape, shape)
                except ValueError:
                    raise ValueError(
                        f"`randomize[{name!r}]`: parameters of shape {p.shape} do not broadcast to {shape},"
                        f" the {'selected rows' if rows is not None else 'field'}"
                    ) from None
            _check_domain(name, dist, nominal[rows] if rows is not None else nominal)
            self._plans.append((name, dist, rows, shape))
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
                    f"`randomize[{name!r}]` names {n!r}, which the model has no {obj.name[6:].lower()} called"
                    f"{did_you_mean(n, known)}"
                )
            rows.append(i)
        return np.array(rows)

    def sample(self, xp, rng) -> dict[str, Any]:
        """``{field: (n, *shape) values}`` for the ``n`` envs ``rng`` draws for.

        Draws, per env and in ``fields`` order, every element of a field from
        ``rng.uniform(0, 1, size)`` or ``rng.standard_normal(size)``.
        """
        out = {}
        for name, dist, rows, shape in self._plans:
            size = int(np.prod(shape))
            if dist.base == "normal":
                z = xp.reshape(rng.standard_normal(size), (-1, *shape))
                u = None
            else:
                u = xp.reshape(rng.uniform(0.0, 1.0, size), (-1, *shape))
                z = None
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
            out[name] = value
        if self._scale_inertia:
            # the bodies keep their density: inertia scales with mass
            mass = self.nominal["body_mass"]
            ratio = xp.where(mass > 0, out["body_mass"] / np.where(mass > 0, mass, 1.0), 1.0)
            out["body_inertia"] = self.nominal["body_inertia"] * ratio[..., None]
        return out

    def __repr__(self) -> str:
        return f"BoundRandomization({list(self.fields)}, resample={self.resample!r})"
