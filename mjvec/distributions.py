"""The distributions of ``randomize=``: how one model field's elements are drawn per env.

``Uniform``, ``LogUniform`` and ``Normal`` draw real numbers and scale, shift or set the
model's values; ``Choice`` picks, per env and per row, one of a list of options (colours,
materials, textures by name), for integer fields (``geom_matid``, ``mat_texid``) as for real
ones. Each is written over an array namespace ``xp`` so both backends draw the same way.
"""

from __future__ import annotations

from typing import Any, Sequence

import mujoco
import numpy as np

from mjvec.validation import did_you_mean

__all__ = ["Distribution", "Uniform", "LogUniform", "Normal", "Choice", "MODES"]

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


# the objects a name option of a Choice names, by how the field's name ends
_NAMED = {"matid": mujoco.mjtObj.mjOBJ_MATERIAL, "texid": mujoco.mjtObj.mjOBJ_TEXTURE}
_RGB = int(mujoco.mjtTextureRole.mjTEXROLE_RGB)


class Choice(Distribution):
    """One of ``options`` per env and per row of the field, each equally likely (``mode="set"``).

    An option is a value of one row (broadcast against it: a number, or an array such as an
    rgba), or a name: of a material for ``geom_matid``, ``site_matid`` and the other
    ``*_matid`` fields, of a texture for ``mat_texid`` (the material's RGB texture,
    ``mjTEXROLE_RGB``; its other roles keep theirs) and ``light_texid``. Integer fields
    (ids) can vary only through a ``Choice``.

        "geom_matid": mjvec.Choice(["wood", "metal", "plastic"], names=["table"])
        "mat_texid": mjvec.Choice(["grid", "marble"], names=["floor_mat"])
    """

    def __init__(self, options: Sequence[Any], *, names: Sequence[str] | None = None):
        super().__init__("set", names)
        if isinstance(options, (str, bytes)) or not isinstance(options, (Sequence, np.ndarray)):
            raise TypeError(f"`options` must be a list of values or names, got {options!r}")
        if len(options) == 0:
            raise ValueError("`options` must hold at least one value or name")
        self.options = [o if isinstance(o, str) else _param("options", o) for o in options]

    def table(self, model: mujoco.MjModel, field: str, base: np.ndarray) -> np.ndarray:
        """``(rows, k, *row shape)``: option ``j`` as row ``r``'s value, in the field's dtype."""
        rows, shape = base.shape[0], base.shape[1:]
        out = np.empty((rows, len(self.options), *shape), dtype=base.dtype)
        for j, option in enumerate(self.options):
            if isinstance(option, str):
                obj = next((o for end, o in _NAMED.items() if field.endswith(end)), None)
                if obj is None:
                    raise TypeError(
                        f"`randomize[{field!r}]`: a Choice names materials (for *_matid fields) or textures"
                        f" (*_texid), not values of {field}; got {option!r}"
                    )
                ident = mujoco.mj_name2id(model, obj, option)
                if ident < 0:
                    kind = obj.name[6:].lower()
                    count = model.nmat if obj == mujoco.mjtObj.mjOBJ_MATERIAL else model.ntex
                    known = [n for n in (mujoco.mj_id2name(model, obj, i) for i in range(count)) if n]
                    raise ValueError(
                        f"`randomize[{field!r}]`: the model has no {kind} called {option!r}"
                        f"{did_you_mean(option, known)}; its {kind}s: {known}"
                    )
                if field == "mat_texid":
                    out[:, j] = base
                    out[:, j, ..., _RGB] = ident
                else:
                    out[:, j] = ident
                continue
            try:
                value = np.broadcast_to(option, shape)
            except ValueError:
                raise ValueError(
                    f"`randomize[{field!r}]`: a Choice option of shape {option.shape} does not broadcast to one"
                    f" row of {field}, {shape}"
                ) from None
            if base.dtype.kind in "iu" and not np.array_equal(value, np.round(value)):
                raise ValueError(f"`randomize[{field!r}]`: {field} holds integers, got the option {option.tolist()!r}")
            out[:, j] = value
        return out

    def draw(self, xp, u, z):
        raise TypeError("a Choice picks rows of its table (BoundRandomization.sample), it draws no numbers")

    def _params(self):
        return (np.array([o if isinstance(o, str) else o.tolist() for o in self.options], dtype=object),)

    def __repr__(self) -> str:
        options = [o if isinstance(o, str) else o.tolist() for o in self.options]
        return f"Choice({options!r})"
