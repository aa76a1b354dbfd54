"""``mjvec.Rays``: ray sensors as an observation source of ``observations=`` (both backends).

    env = mjvec.make(task, 64, observations={
        "state": "state",
        "lidar": mjvec.Rays.ring("head", n=32, max_distance=5.0),          # a ring in the site's xy plane
        "terrain": mjvec.Rays.height_scan("torso_site", shape=(5, 5), size=(1.0, 1.0)),
    })

Each is ``{"distance": float32 (nray,), "geom": int32 (nray,)}`` per env: the distance along
each ray to the first geom it hits (``max_distance`` where it hits none within it) and that
geom's id (-1 for none), from ``mujoco.batch.Batch.ray`` on the CPU (``mj_ray`` per
simulation) or ``mjx.ray`` on MJX (vmapped over envs and rays, in the jitted step; for
the geom types it meets), the geometry at the env's current state. A ring's rays leave the site in its own xy plane,
evenly over ``fov`` degrees from its x axis; a height scan's rays point straight down from a
world-aligned grid of points centred on the site. The site's pose is the one ``data.site_xpos``
and ``site_xmat`` give (after a step, one substep behind the state, as every derived field);
the site's own body is excluded.
"""

from __future__ import annotations

import mujoco
import numpy as np
from gymnasium import spaces

from mjvec import validation

__all__ = ["Rays"]


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a positive finite number, got {value!r}")
    return float(value)


class Rays:
    """Rays from a site (``Rays.ring`` or ``Rays.height_scan``); see the module docstring."""

    def __init__(self, site: str, pattern: str, local: np.ndarray, max_distance: float):
        if not isinstance(site, str):
            raise TypeError(f"`site` must be a site name, got {type(site).__name__}")
        self.site, self.pattern, self.max_distance = site, pattern, _positive(max_distance, "max_distance")
        self._local = local  # ring: (nray, 3) directions in the site frame; scan: (nray, 3) offsets, world

    @classmethod
    def ring(cls, site: str, n: int = 16, fov: float = 360.0, max_distance: float = 10.0) -> "Rays":
        """``n`` rays in the site's xy plane, evenly over ``fov`` degrees (centred on its x axis)."""
        n = validation.check_positive_int(n, "n")
        fov = _positive(fov, "fov")
        if fov > 360:
            raise ValueError(f"`fov` must be at most 360 degrees, got {fov}")
        if fov == 360:
            angles = np.arange(n) * (2 * np.pi / n)
        else:
            angles = np.radians(np.linspace(-fov / 2, fov / 2, n)) if n > 1 else np.zeros(1)
        local = np.stack((np.cos(angles), np.sin(angles), np.zeros(n)), axis=1)
        return cls(site, "ring", local, max_distance)

    @classmethod
    def height_scan(cls, site: str, shape: tuple[int, int] = (5, 5), size: tuple[float, float] = (1.0, 1.0),
                    max_distance: float = 10.0) -> "Rays":
        """Rays straight down from a ``shape`` grid of points, ``size`` metres across, centred on the site."""
        if not (isinstance(shape, (tuple, list)) and len(shape) == 2):
            raise TypeError(f"`shape` must be (rows, columns), got {shape!r}")
        rows, cols = (validation.check_positive_int(v, "shape") for v in shape)
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise TypeError(f"`size` must be (x metres, y metres), got {size!r}")
        sx, sy = (_positive(v, "size") for v in size)
        xs = np.linspace(-sx / 2, sx / 2, rows) if rows > 1 else np.zeros(1)
        ys = np.linspace(-sy / 2, sy / 2, cols) if cols > 1 else np.zeros(1)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        local = np.stack((gx.ravel(), gy.ravel(), np.zeros(rows * cols)), axis=1)
        return cls(site, "height_scan", local, max_distance)

    @property
    def num_rays(self) -> int:
        return len(self._local)

    def space(self, task) -> spaces.Dict:
        self.site_id(task)
        n = self.num_rays
        return spaces.Dict({
            "distance": spaces.Box(0.0, self.max_distance, (n,), np.float32),
            "geom": spaces.Box(-1, task.model.ngeom - 1, (n,), np.int32),
        })

    def site_id(self, task) -> int:
        model = task.model
        i = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, self.site)
        if i < 0:
            names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_SITE, k) for k in range(model.nsite)]
            raise ValueError(
                f"`site` {self.site!r} is not a site of {type(task).__name__}'s model"
                f"{validation.did_you_mean(self.site, [n for n in names if n])}; its sites: {names}"
            )
        return i

    def rays(self, xp, data, site: int):
        """``(origins, directions)``, each ``(n, nray, 3)``, from the batched site poses (over ``xp``)."""
        pos = data.site_xpos[:, site]  # (n, 3)
        n = pos.shape[0]
        local = xp.asarray(self._local, dtype=pos.dtype)
        if self.pattern == "ring":
            mat = xp.reshape(data.site_xmat[:, site], (n, 3, 3))
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
        return f"Rays.{self.pattern}({self.site!r}, {self.num_rays} rays, max_distance={self.max_distance})"
