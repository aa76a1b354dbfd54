"""What mjvec uses of MuJoCo that differs between 3.17 (the oldest with ``mujoco.batch``) and 4.0.

mjvec supports ``mujoco >= 3.17``: dm_control 1.0.50, the reference of the Control Suite's
parity tests, loads under 3.17 but not under 4.0. Under 4.0 every helper here is the plain
4.0 call, so behaviour there is unchanged.
"""

from __future__ import annotations

from typing import Any

import mujoco

__all__ = ["caller_models", "state_bit"]


def caller_models(batch: Any):
    """``Batch.models`` (4.0): the models given to ``set_models``, a tuple of per-simulation ones, or None.

    MuJoCo 3.17's ``Batch`` has no ``models`` property; it keeps the same record in ``_models``.
    """
    if isinstance(getattr(type(batch), "models", None), property):
        return batch.models
    models = batch.__dict__.get("_models")
    if models is None or isinstance(models, mujoco.MjModel):
        return models
    return tuple(models)


def state_bit(name: str):
    """The ``mujoco.mjtState`` member ``name``, or None where this MuJoCo has no such component
    (``mjSTATE_PLASTIC`` is new in 4.0): a component the engine lacks holds nothing."""
    return getattr(mujoco.mjtState, name, None)
