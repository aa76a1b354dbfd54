"""MuJoCo MJX as the backend reads it: the quiet import, and ``mjx.Data`` read as tasks read MjData."""

from __future__ import annotations

import contextlib
import dataclasses
import io

import mujoco

with contextlib.redirect_stdout(io.StringIO()):
    # without MuJoCo Warp installed, mjx prints "Failed to import warp" twice
    from mujoco import mjx

__all__ = ["mjx", "DataView", "has_field", "ON_DEMAND_FIELDS", "MAXVAL"]

# computed only by mj_rnePostConstraint, as on the CPU (mjvec.backends.cpu_simulation)
ON_DEMAND_FIELDS = ("cacc", "cfrc_int", "cfrc_ext")
# MuJoCo's mj_isBad: a state entry beyond this (or NaN) fails mj_checkPos/Vel/Acc
MAXVAL = float(getattr(mujoco, "mjMAXVAL", 1e10))


class DataView:
    """A batched ``mjx.Data`` read as tasks read MjData: every field an attribute.

    MJX keeps some fields (``cinert``, ``cfrc_ext``, ``ten_velocity``...) in
    ``data._impl`` and warns when they are read from ``data``.
    """

    __slots__ = ("_data", "timestep")
    _public = None

    def __init__(self, data, timestep):
        self._data = data
        self.timestep = timestep  # (n,): each env's opt.timestep (randomize= may vary it)

    def __getattr__(self, name: str):
        data = self._data
        if DataView._public is None:
            DataView._public = frozenset(f.name for f in dataclasses.fields(type(data)))
        return getattr(data, name) if name in DataView._public else getattr(data._impl, name)


def has_field(data, name: str) -> bool:
    public = {f.name for f in dataclasses.fields(type(data))}
    return name in public or hasattr(data._impl, name)
