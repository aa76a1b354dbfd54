"""Tasks made from any MJCF model: ``Task.from_xml`` and ``Task.from_spec``.

    task = mjvec.Task.from_xml(xml, frame_skip=5,
                               reward=lambda xp, data, action: data.qvel[:, 0])
    env = mjvec.make(task, num_envs=64, max_episode_steps=500)

The functions a user passes are written as the built-in tasks' are: over batched
fields (``data.qpos`` is ``(num_envs, nq)``) and an array namespace ``xp``, without
in-place writes, so they run on both backends. The MjData fields they read, and the
observation size, are found by calling them once on a single ``MjData``.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import mujoco
import numpy as np

from mjvec.actions import ActionSpec
from mjvec.task import Task

__all__ = ["CustomTask", "load_model_source"]


def load_model_source(xml: str | os.PathLike) -> mujoco.MjSpec:
    """An MjSpec from an MJCF string or a path to an MJCF file."""
    if isinstance(xml, os.PathLike):
        xml = os.fspath(xml)
    if not isinstance(xml, str):
        raise TypeError(f"`xml` must be an MJCF string or a path, got {type(xml).__name__}")
    if xml.lstrip().startswith("<"):
        return mujoco.MjSpec.from_string(xml)
    if not os.path.exists(xml):
        raise ValueError(f"`xml` is neither MJCF text (it does not start with '<') nor an existing file: {xml!r}")
    return mujoco.MjSpec.from_file(xml)


class _Recorder:
    """A single-env ``data`` that records which MjData fields a function reads."""

    def __init__(self, data: mujoco.MjData):
        self._data = data
        self.read: list[str] = []

    def __getattr__(self, name: str):
        value = getattr(self._data, name)  # AttributeError names the field
        if name not in self.read:
            self.read.append(name)
        return np.array(value)[None]


class CustomTask(Task):
    """A task over any model: default observation ``qpos, qvel`` (and ``sensordata``), reward 0.

    Args:
      spec: the ``mujoco.MjSpec``.
      frame_skip: MuJoCo substeps per env step.
      observe: ``f(xp, data) -> (n, k)``; by default ``qpos`` then ``qvel``.
      reward: ``f(xp, data, action) -> (n,)`` (with ``before_step``:
        ``f(xp, data, action, before)``); may return ``(reward, info dict)``. 0 by default.
      terminated: ``f(xp, data) -> (n,) bool``; never by default.
      before_step: ``f(xp, data) -> dict`` of values read before a step.
      sensordata: append ``sensordata`` to the default observation.
      reset_noise_scale: ``qpos0 + U(-s, s)`` and ``U(-s, s)`` velocities at reset.
      actions: the default ``ActionSpec``; every actuator's ``ctrl`` if None.
      fields: MjData fields the functions read, besides those found by calling them.
    """

    def __init__(
        self,
        spec: mujoco.MjSpec,
        frame_skip: int = 1,
        *,
        observe: Callable | None = None,
        reward: Callable | None = None,
        terminated: Callable | None = None,
        before_step: Callable | None = None,
        sensordata: bool = False,
        reset_noise_scale: float = 0.0,
        actions: ActionSpec | None = None,
        fields: Sequence[str] = (),
    ):
        if not isinstance(spec, mujoco.MjSpec):
            raise TypeError(f"`spec` must be a mujoco.MjSpec, got {type(spec).__name__}")
        for name, fn in (("observe", observe), ("reward", reward), ("terminated", terminated),
                         ("before_step", before_step)):
            if fn is not None and not callable(fn):
                raise TypeError(f"`{name}` must be a function, got {type(fn).__name__}")
        if actions is not None and not isinstance(actions, ActionSpec):
            raise TypeError(f"`actions` must be an mjvec.ActionSpec or None, got {type(actions).__name__}")
        try:
            super().__init__(spec, frame_skip)
        except ValueError as e:
            raise ValueError(f"the model does not compile: {e}") from None
        self._observe_fn, self._reward_fn, self._terminated_fn = observe, reward, terminated
        self._before_fn = before_step
        self._sensordata = bool(sensordata)
        self.reset_noise_scale = float(reset_noise_scale)
        self._actions = actions
        size, read = self._probe()
        self.fields = tuple(dict.fromkeys((*fields, *(f for f in read if f not in ("qpos", "qvel")))))
        self.single_observation_space = self.observation_box(size)

    def _probe(self) -> tuple[int, list[str]]:
        """Call the functions once on one MjData: the observation size and the fields read."""
        data = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, data)
        rec = _Recorder(data)
        action = np.zeros((1, self.single_action_space.shape[0]), dtype=self.single_action_space.dtype)
        before = self.before_step(np, rec)
        obs = np.asarray(self.observe(np, rec))
        if obs.ndim != 2 or obs.shape[0] != 1:
            raise ValueError(f"`observe` must return an (n, k) array for n envs, got shape {obs.shape} for n=1")
        reward, terminated, _ = self.evaluate(np, rec, action, before)
        if np.shape(reward) != (1,) or np.shape(terminated) != (1,):
            raise ValueError(
                f"`reward` and `terminated` must return (n,) arrays for n envs, got shapes {np.shape(reward)}"
                f" and {np.shape(terminated)} for n=1"
            )
        return obs.shape[1], rec.read

    def default_actions(self) -> ActionSpec:
        return self._actions if self._actions is not None else ActionSpec(ctrl="all")

    def before_step(self, xp, data):
        return {} if self._before_fn is None else self._before_fn(xp, data)

    def observe(self, xp, data):
        if self._observe_fn is not None:
            return self._observe_fn(xp, data)
        parts = (data.qpos, data.qvel, data.sensordata) if self._sensordata else (data.qpos, data.qvel)
        return xp.concatenate(parts, axis=-1)

    def evaluate(self, xp, data, action, before):
        n = data.qpos.shape[0]
        info: dict[str, Any] = {}
        if self._reward_fn is None:
            reward = xp.zeros(n)
        else:
            args = (xp, data, action, before) if self._before_fn is not None else (xp, data, action)
            reward = self._reward_fn(*args)
            if isinstance(reward, tuple):
                reward, info = reward
        if self._terminated_fn is None:
            terminated = xp.zeros(n, dtype=bool)
        else:
            terminated = self._terminated_fn(xp, data)
        return reward, terminated, info

    def __repr__(self) -> str:
        return f"CustomTask(frame_skip={self.frame_skip}, nq={self.model.nq}, nv={self.model.nv})"
