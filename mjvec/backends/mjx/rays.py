"""Ray sensors on the MJX backend: ``mjx.ray`` vmapped over envs and rays, inside the jitted step.

As ``mujoco.batch.Batch.ray`` on the CPU, the rays meet the geometry at each env's current
state: ``mjx.kinematics`` first (the step's own derived fields are one substep behind).
``mjx.ray`` meets planes, spheres, capsules, ellipsoids, boxes and meshes; a model with a
geom of another type (cylinder, height field, SDF) that a ray could meet is refused, since
MJX's rays would pass through it.
"""

from __future__ import annotations

import importlib.metadata

import jax
import jax.numpy as jnp
import mujoco

from mjvec.backends.mjx.engine import mjx

__all__ = ["ray_caster", "RAY_GEOMS"]

#: the geom types mjx.ray intersects
RAY_GEOMS = ("mjGEOM_PLANE", "mjGEOM_SPHERE", "mjGEOM_CAPSULE", "mjGEOM_ELLIPSOID", "mjGEOM_BOX", "mjGEOM_MESH")


def ray_caster(task, model, exclude_body: int, error):
    """``cast(origins, directions, data) -> (dist, geomid)``, each ``(n, nray)``, traced over JAX.

    ``model``: the ``mjx.Model``; ``error(message, feature)``: the ``UnsupportedFeatureError``
    raised for a geom type ``mjx.ray`` does not meet.
    """
    mj = task.model
    types = {int(getattr(mujoco.mjtGeom, t)) for t in RAY_GEOMS}
    missed = [g for g in range(mj.ngeom) if int(mj.geom_type[g]) not in types and mj.geom_bodyid[g] != exclude_body]
    if missed:
        names = [f"{mj.geom(g).name or g} ({mujoco.mjtGeom(int(mj.geom_type[g])).name[7:].lower()})" for g in missed]
        version = importlib.metadata.version("mujoco-mjx")
        raise error(
            f"ray sensors (mjvec.Rays) cannot run on the MJX backend with {type(task).__name__}'s model: mjx.ray of"
            f" MuJoCo MJX {version} meets {', '.join(t[7:].lower() for t in RAY_GEOMS)} geoms only, and its rays"
            f" would pass through {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}. Use backend='cpu'"
            " (mujoco.batch's rays meet every geom type)",
            "mjx.ray of " + ", ".join(sorted({n.rsplit(" (", 1)[1][:-1] for n in names})) + " geoms",
        )

    if mj.nmat == 0:  # mjx.ray reads mat_rgba[geom_matid] even where geom_matid is -1: give it one row
        model = model.replace(mat_rgba=jnp.ones((1, 4), dtype=model.geom_rgba.dtype))

    def one_ray(d, pnt, vec):
        return mjx.ray(model, d, pnt, vec, bodyexclude=exclude_body)

    def one_env(d, pnts, vecs):
        d = mjx.kinematics(model, d)
        return jax.vmap(one_ray, in_axes=(None, 0, 0))(d, pnts, vecs)

    def cast(origins, directions, data):
        return jax.vmap(one_env)(data._data, origins, directions)

    return cast
