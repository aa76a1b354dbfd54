"""A scratch copy of a task's model and data, for the resets dm_control finds by simulating
candidate states one env at a time (manipulator's and quadruped's contact checks). CPU only: the
tasks that use it are refused on MJX by name."""

from __future__ import annotations

import copy

import mujoco

__all__ = ["Scratch"]


class Scratch:
    """``model`` (a copy, free to edit: a target moved per candidate) and one ``data`` for it."""

    def __init__(self, model: mujoco.MjModel):
        self.model = copy.copy(model)
        self.data = mujoco.MjData(self.model)

    def reset(self) -> None:
        """dm_control's ``physics.reset()``: ``mj_resetData``."""
        mujoco.mj_resetData(self.model, self.data)

    def after_reset(self) -> None:
        """dm_control's ``physics.after_reset()``: ``mj_forward`` with actuation disabled."""
        flags = self.model.opt.disableflags
        self.model.opt.disableflags = flags | int(mujoco.mjtDisableBit.mjDSBL_ACTUATION)
        mujoco.mj_forward(self.model, self.data)
        self.model.opt.disableflags = flags
