"""``mjvec.Rays``: ray sensors as an observation source of ``observations=`` (both backends).

    env = mjvec.make(task, 64, observations={
        "state": "state",
        "lidar": mjvec.Rays.ring("head", n=32, max_distance=5.0),          # a ring in the site's xy plane
        "terrain": mjvec.Rays.height_scan(body="torso", shape=(5, 5), size=(1.0, 1.0)),
    })

Each is ``{"distance": float32 (nray,), "geom": int32 (nray,)}`` per env: the distance along
each ray to the first geom it hits (``max_distance`` where it hits none within it) and that
geom's id (-1 for none), from ``mujoco.batch.Batch.ray`` on the CPU (``mj_ray`` per
simulation) or ``mjx.ray`` on MJX (vmapped over envs and rays, in the jitted step; for
the geom types it meets), the geometry at the env's current state. A ring's rays leave the site in its own xy plane,
evenly over ``fov`` degrees from its x axis; a height scan's rays point straight down from a
world-aligned grid of points centred on the site. ``body=`` instead of a site: the rays leave
from the body's frame (``data.xpos``, ``xmat``). The pose is the one ``data.site_xpos`` and
``site_xmat`` (``xpos``, ``xmat``) give (after a step, one substep behind the state, as every
derived field); the site's own body (or the body) is excluded.
"""

from __future__ import annotations

import mujoco
import numpy as np
from gymnasium import spaces

from mjvec import validation
from mjvec.backends.memory import available_memory

__all__ = ["Rays"]


def _check_count(count: int, what: str) -> None:
    """Refuse a ray pattern whose directions (and per-step origins) would not fit in memory, before allocating it."""
    # the pattern, and each step's origins, directions and answers: ~6 float64 triples per ray
    need, available = count * 6 * 3 * 8, available_memory()
    if available is not None and need > available:
        raise ValueError(
            f"{what} asks for {count:,} rays, which need at least {need / 2**30:,.1f} GiB per env (6 x 24 bytes a ray),"
            f" more than the {available / 2**30:.1f} GiB this machine has available: cast fewer rays"
        )


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a positive finite number, got {value!r}")
    return float(value)


class Rays:
    """Rays from a site (``Rays.ring`` or ``Rays.height_scan``); see the module docstring."""

    def __init__(self, site: str | None, pattern: str, local: np.ndarray, max_distance: float, body: str | None = None):
        if (site is None) == (body is None):
            raise TypeError(f"give the rays a `site` or a `body` to leave from (one of them), got site={site!r}, body={body!r}")
        for name, value in (("site", site), ("body", body)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"`{name}` must be a {name} name, got {type(value).__name__}")
        self.site, self.body, self.pattern = site, body, pattern
        self.max_distance = _positive(max_distance, "max_distance")
        self._local = local  # ring: (nray, 3) directions in the frame; scan: (nray, 3) offsets, world

    @classmethod
    def ring(cls, site: str | None = None, n: int = 16, fov: float = 360.0, max_distance: float = 10.0, *,
             body: str | None = None) -> "Rays":
        """``n`` rays in the site's (or body's) xy plane, evenly over ``fov`` degrees (centred on its x axis)."""
        n = validation.check_positive_int(n, "n")
        _check_count(n, f"`n`={n:,}")
        fov = _positive(fov, "fov")
        if fov > 360:
            raise ValueError(f"`fov` must be at most 360 degrees, got {fov}")
        if fov == 360:
            angles = np.arange(n) * (2 * np.pi / n)
        else:
            angles = np.radians(np.linspace(-fov / 2, fov / 2, n)) if n > 1 else np.zeros(1)
        local = np.stack((np.cos(angles), np.sin(angles), np.zeros(n)), axis=1)
        return cls(site, "ring", local, max_distance, body)

    @classmethod
    def height_scan(cls, site: str | None = None, shape: tuple[int, int] = (5, 5),
                    size: tuple[float, float] = (1.0, 1.0), max_distance: float = 10.0, *,
                    body: str | None = None) -> "Rays":
        """Rays straight down from a ``shape`` grid of points, ``size`` metres across, centred on the site (or body)."""
        if not (isinstance(shape, (tuple, list)) and len(shape) == 2):
            raise TypeError(f"`shape` must be (rows, columns), got {shape!r}")
        rows, cols = (validation.check_positive_int(v, "shape") for v in shape)
        _check_count(rows * cols, f"`shape`={tuple(shape)}")
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise TypeError(f"`size` must be (x metres, y metres), got {size!r}")
        sx, sy = (_positive(v, "size") for v in size)
        xs = np.linspace(-sx / 2, sx / 2, rows) if rows > 1 else np.zeros(1)
        ys = np.linspace(-sy / 2, sy / 2, cols) if cols > 1 else np.zeros(1)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        local = np.stack((gx.ravel(), gy.ravel(), np.zeros(rows * cols)), axis=1)
        return cls(site, "height_scan", local, max_distance, body)

    @property
    def num_rays(self) -> int:
        return len(self._local)

    def space(self, task) -> spaces.Dict:
        self.frame(task)
        n = self.num_rays
        return spaces.Dict({
            "distance": spaces.Box(0.0, self.max_distance, (n,), np.float32),
            "geom": spaces.Box(-1, task.model.ngeom - 1, (n,), np.int32),
        })

    @property
    def fields(self) -> tuple[str, str]:
        """The MjData fields of the frame the rays leave from: its position and orientation."""
        return ("site_xpos", "site_xmat") if self.body is None else ("xpos", "xmat")

    def frame(self, task) -> tuple[int, int]:
        """``(index, body)``: the site's (or body's) index in its fields, and the body whose geoms the rays skip."""
        model = task.model
        kind, name = ("site", self.site) if self.body is None else ("body", self.body)
        obj = mujoco.mjtObj.mjOBJ_SITE if kind == "site" else mujoco.mjtObj.mjOBJ_BODY
        i = mujoco.mj_name2id(model, obj, name)
        if i < 0:
            count = model.nsite if kind == "site" else model.nbody
            names = [n for n in (mujoco.mj_id2name(model, obj, k) for k in range(count)) if n]
            raise ValueError(
                f"`{kind}` {name!r} is not a {kind} of {type(task).__name__}'s model"
                f"{validation.did_you_mean(name, names)}; its {'sites' if kind == 'site' else 'bodies'}: {names}"
            )
        return i, int(model.site_bodyid[i]) if kind == "site" else i

    def site_id(self, task) -> int:
        return self.frame(task)[0]

    def rays(self, xp, data, index: int):
        """``(origins, directions)``, each ``(n, nray, 3)``, from the batched frame poses (over ``xp``)."""
        pos_field, mat_field = self.fields
        pos = getattr(data, pos_field)[:, index]  # (n, 3)
        n = pos.shape[0]
        local = xp.asarray(self._local, dtype=pos.dtype)
        if self.pattern == "ring":
            mat = xp.reshape(getattr(data, mat_field)[:, index], (n, 3, 3))
            return xp.broadcast_to(pos[:, None], (n, self.num_rays, 3)), xp.einsum("nij,rj->nri", mat, local)
        down = xp.broadcast_to(xp.asarray([0.0, 0.0, -1.0], dtype=pos.dtype), (n, self.num_rays, 3))
        return pos[:, None] + local[None], down

    def read(self, xp, dist, geom) -> dict:
        """The rays' answers as the observation: misses and hits beyond ``max_distance`` alike."""
        miss = (geom < 0) | (dist > self.max_distance)
        return {
            "distance": xp.where(miss, self.max_distance, dist).astype(np.float32),
            "geom": xp.where(miss, -1, geom).astype(np.int32),
        }

    def __repr__(self) -> str:
        frame = repr(self.site) if self.body is None else f"body={self.body!r}"
        return f"Rays.{self.pattern}({frame}, {self.num_rays} rays, max_distance={self.max_distance})"
