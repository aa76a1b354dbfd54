"""A scratch copy of a task's model and data, for the resets dm_control finds by simulating
candidate states one env at a time (manipulator's and quadruped's contact checks). CPU only: the
tasks that use it are refused on MJX by name."""

from __future__ import annotations

import copy

import mujoco

__all__ = ["Scratch", "ContactFreeCandidates", "eager_reset_error"]


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


class ContactFreeCandidates:
    """The candidate loop of dm_control's ``initialize_episode`` for the rejection sampler: each
    ``draw`` (a subclass's) starts from ``begin``, on one scratch model and data kept from one
    candidate to the next of an env, as dm_control's physics is, and reset when a new env starts;
    ``accept`` takes a candidate whose row ends in no contacts (``ncon`` last)."""

    def __init__(self, task):
        self.task, self.scratch, self._fresh = task, Scratch(task.model), True

    def begin(self):
        """``(task, model, data)`` for the next candidate; a new env first gets ``physics.reset()``."""
        if self._fresh:
            self.scratch.reset()
            self._fresh = False
        return self.task, self.scratch.model, self.scratch.data

    def accept(self, xp, sample):
        ok = sample[-1] == 0
        self._fresh = bool(ok)
        return ok


def eager_reset_error(task, what: str) -> ValueError:
    """The refusal a task raises from ``mjx_model``: its reset runs ``what`` on a scratch model."""
    return ValueError(
        f"{type(task).__name__} {what} by simulating candidate states one env at a time (dm_control's loop, on a"
        " scratch copy of the model), an eager CPU loop that backend='mjx' does not run; use backend='cpu'"
    )
