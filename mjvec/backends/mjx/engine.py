"""MuJoCo MJX as the backend reads it: the quiet import, and ``mjx.Data`` read as tasks read MjData."""

from __future__ import annotations

import contextlib
import dataclasses
import io

import jax.numpy as jnp
import mujoco

from mjvec.mujoco_compat import state_bit

with contextlib.redirect_stdout(io.StringIO()):
    # without MuJoCo Warp installed, mjx prints "Failed to import warp" twice
    from mujoco import mjx

__all__ = [
    "mjx", "DataView", "has_field", "ON_DEMAND_FIELDS", "MAXVAL", "state_layout", "flatten_state", "unflatten_state",
]

# computed only by mj_rnePostConstraint, as on the CPU (mjvec.backends.cpu_simulation)
ON_DEMAND_FIELDS = ("cacc", "cfrc_int", "cfrc_ext")
# MuJoCo's mj_isBad: a state entry beyond this (or NaN) fails mj_checkPos/Vel/Acc
MAXVAL = float(getattr(mujoco, "mjMAXVAL", 1e10))


class DataView:
    """A batched ``mjx.Data`` read as tasks read MjData: every field an attribute.

    MJX keeps some fields (``cinert``, ``cfrc_ext``, ``ten_velocity``...) in
    ``data._impl`` and warns when they are read from ``data``.
    """

    __slots__ = ("_data", "timestep", "repeat_reward", "model_params")
    _public = None

    def __init__(self, data, timestep, repeat_reward=None, model_params=None):
        self._data = data
        self.timestep = timestep  # (n,): each env's opt.timestep (randomize= may vary it)
        self.repeat_reward = repeat_reward  # (n,) with Task.action_repeat > 1: the earlier control steps' rewards
        # {field: (n, ...)}: each env's model values (randomize=, Task.reset_model_fields), for drawing cameras
        self.model_params = {} if model_params is None else model_params

    def __getattr__(self, name: str):
        data = self._data
        if DataView._public is None:
            DataView._public = frozenset(f.name for f in dataclasses.fields(type(data)))
        return getattr(data, name) if name in DataView._public else getattr(data._impl, name)


def has_field(data, name: str) -> bool:
    public = {f.name for f in dataclasses.fields(type(data))}
    return name in public or hasattr(data._impl, name)


# the components of mjSTATE_INTEGRATION in mj_getState's order, as mjx.Data's fields
_STATE_FIELDS = (
    ("time", "mjSTATE_TIME"), ("qpos", "mjSTATE_QPOS"), ("qvel", "mjSTATE_QVEL"), ("act", "mjSTATE_ACT"),
    ("history", "mjSTATE_HISTORY"), ("qacc_warmstart", "mjSTATE_WARMSTART"), ("ctrl", "mjSTATE_CTRL"),
    ("qfrc_applied", "mjSTATE_QFRC_APPLIED"), ("xfrc_applied", "mjSTATE_XFRC_APPLIED"),
    ("eq_active", "mjSTATE_EQ_ACTIVE"), ("mocap_pos", "mjSTATE_MOCAP_POS"), ("mocap_quat", "mjSTATE_MOCAP_QUAT"),
    ("userdata", "mjSTATE_USERDATA"), ("plugin_state", "mjSTATE_PLUGIN"), ("plastic", "mjSTATE_PLASTIC"),
)


def state_layout(model: mujoco.MjModel) -> tuple[tuple[str, int], ...]:
    """``(field, size)`` of each non-empty component of ``mjSTATE_INTEGRATION``, in its order.

    The MJX backend's states are laid out as ``mujoco.mj_getState``'s, so they are the CPU
    backend's and can be passed between the two.
    """
    layout = []
    for field, name in _STATE_FIELDS:
        bit = state_bit(name)
        size = 0 if bit is None else mujoco.mj_stateSize(model, bit)
        if size:
            layout.append((field, size))
    total = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_INTEGRATION)
    if sum(size for _, size in layout) != total:
        raise NotImplementedError(f"mjSTATE_INTEGRATION has components the MJX backend does not know: {total}")
    return tuple(layout)


def flatten_state(data, layout):
    """``(n, nstate)``: the batched ``data``'s physics states."""
    n = data.qpos.shape[0]
    dtype = data.qpos.dtype
    return jnp.concatenate([jnp.reshape(getattr(data, f), (n, -1)).astype(dtype) for f, _ in layout], axis=1)


def unflatten_state(data, layout, states):
    """``data`` with its physics state fields taken from the ``(n, nstate)`` ``states``."""
    fields, start = {}, 0
    for f, size in layout:
        current = getattr(data, f)
        fields[f] = jnp.reshape(states[:, start : start + size], current.shape).astype(current.dtype)
        start += size
    return data.replace(**fields)
