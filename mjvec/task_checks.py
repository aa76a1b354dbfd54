"""The checks ``Task.from_xml`` makes of a user's functions before anything is simulated.

The functions are written over batched fields (``data.qpos`` is ``(num_envs, nq)``).
A mistake on the env axis (``d.qpos[0]`` for ``d.qpos[:, 0]``, a sum over every env)
passes unseen on one env, so they are called on a few envs in distinct states, all
together and each alone: the shapes must have one row per env, and row ``i`` of the
batched result must be env ``i``'s own. The calls also record which MjData fields the
functions read, so that the CPU backend binds only those.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import mujoco
import numpy as np

__all__ = ["probe", "PROBE_ENVS"]

#: the user's functions are checked on this many envs in distinct states
PROBE_ENVS = 3


class _Recorder:
    """A batched ``data`` over a few ``MjData`` that records which MjData fields a function reads."""

    def __init__(self, datas: Sequence[mujoco.MjData], timestep: float):
        self._datas = datas
        self.timestep = np.full(len(datas), timestep)  # as backends give it: not an MjData field
        self.read: list[str] = []

    def __getattr__(self, name: str):
        values = [np.array(getattr(d, name)) for d in self._datas]  # AttributeError names the field
        if name not in self.read:
            self.read.append(name)
        return np.stack(values)


def _probe_data(model: mujoco.MjModel, n: int) -> tuple[list[mujoco.MjData], np.random.Generator]:
    """``n`` MjData in distinct states (positions moved along random velocities, so that
    quaternions stay unit), each after ``mj_forward``."""
    rng = np.random.default_rng(0)
    datas = []
    for _ in range(n):
        d = mujoco.MjData(model)
        d.qvel[:] = rng.uniform(-1, 1, model.nv)
        mujoco.mj_integratePos(model, d.qpos, d.qvel, 0.1)
        mujoco.mj_forward(model, d)
        datas.append(d)
    return datas, rng


_HINTS = {
    "observe": "one row of k values per env; a single value per env is `x[:, None]`",
    "reward": "one value per env; index the env axis first (`d.qpos[:, 0]`, not `d.qpos[0]`), reduce `axis=-1`",
}
_HINTS["terminated"] = _HINTS["reward"]


class _ShapeError(ValueError):
    """A result without one row per env; ``fn`` names the function."""

    def __init__(self, message: str, fn: str):
        super().__init__(message)
        self.fn = fn


def _shape_error(fn: str, n: int, got: tuple) -> ValueError:
    want = f"({n}, k)" if fn == "observe" else f"({n},)"
    message = f"`{fn}` must return an array of shape {want} for n={n} envs, got shape {got} ({_HINTS[fn]})"
    return _ShapeError(message, fn)


def _results(task: Any, rec: _Recorder, action: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """The task's functions' results for ``n`` envs, their shapes and types checked."""
    before = task.before_step(np, rec)
    if not isinstance(before, Mapping):
        raise TypeError(f"`before_step` must return a dict of values, got {type(before).__name__}")
    obs = np.asarray(task.observe(np, rec))
    if obs.ndim != 2 or obs.shape[0] != n:
        raise _shape_error("observe", n, obs.shape)
    if task._reward_fn is not None:
        args = (np, rec, action, before) if task._before_fn is not None else (np, rec, action)
        out = task._reward_fn(*args)
        if isinstance(out, tuple) and (len(out) != 2 or not isinstance(out[1], Mapping)):
            raise TypeError(
                "`reward` must return the rewards, or a tuple (rewards, info dict), got a tuple of"
                f" {[type(x).__name__ for x in out]}"
            )
    reward, terminated, info = task.evaluate(np, rec, action, before)
    results = {"observe": obs, "reward": np.asarray(reward), "terminated": np.asarray(terminated)}
    for fn in ("reward", "terminated"):
        if results[fn].shape != (n,):
            raise _shape_error(fn, n, results[fn].shape)
    for key, value in info.items():
        value = np.asarray(value)
        if value.ndim == 0 or value.shape[0] != n:
            raise _ShapeError(
                f"`reward`'s info value {key!r} must have one row per env, shape ({n}, ...) for n={n} envs,"
                f" got shape {value.shape}", "reward",
            )
        results[("reward", key)] = value
    return results


def probe(task: Any, n: int = PROBE_ENVS) -> tuple[int, list[str], np.dtype]:
    """Check a ``CustomTask``'s functions on ``n`` envs: ``(observation size, fields read, its dtype)``.

    Raises ``ValueError`` naming the function for a wrong shape or a result that mixes
    envs, ``TypeError`` for a wrong type, before anything is simulated.
    """
    datas, rng = _probe_data(task.model, n)
    space = task.single_action_space
    low, high = (np.where(np.isfinite(b), b, s) for b, s in ((space.low, -1.0), (space.high, 1.0)))
    action = rng.uniform(low, high, (n, *space.shape)).astype(space.dtype)
    rec = _Recorder(datas, task.model.opt.timestep)
    together = _results(task, rec, action, n)
    for i, d in enumerate(datas):
        try:
            alone = _results(task, _Recorder([d], task.model.opt.timestep), action[i : i + 1], 1)
        except _ShapeError as e:
            raise ValueError(
                f"`{e.fn}` mixes environments: its results have one row per env for {n} envs in distinct states,"
                f" but for env {i} alone: {e}"
            ) from None
        for name, value in together.items():
            if not np.allclose(value[i], alone[name][0], rtol=1e-9, atol=1e-12, equal_nan=True):
                fn, what = (name, "") if isinstance(name, str) else ("reward", f" (its info value {name[1]!r})")
                raise ValueError(
                    f"`{fn}`{what} mixes environments: for {n} envs in distinct states, row {i} of its result"
                    f" is {value[i]!r}, but for env {i} alone it is {alone[name][0]!r}; each env's row must"
                    " come from that env's row of every field (`d.qpos[:, 0]`, not `d.qpos[0]`; `axis=-1`,"
                    " not a sum over every env)"
                )
    return together["observe"].shape[1], rec.read, together["observe"].dtype
