"""The bare ``mujoco.batch`` loop that ``mjvec bench`` measures mjvec against.

The practical limit of stepping a task with resets on ``mujoco.batch`` at a given
thread count: the same native calls and observation as mjvec, none of mjvec's
bookkeeping. ``mjvec bench``'s ``limit`` is this loop on one thread, its rate scaled
by the thread count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from mjvec.backends.cpu_simulation import with_rne_post_constraint

__all__ = ["BareBatch", "BARE_TASKS", "check_bare_matches_mjvec"]


# -- the bare mujoco.batch loop ----------------------------------------------------
@dataclass(frozen=True)
class BareTask:
    """What the bare loop needs of a task: Gymnasium v5's defaults, as data."""

    xml_file: str
    frame_skip: int
    reset_noise: str  # "uniform-normal": qvel ~ N(0,1)*s; "uniform-uniform": qvel ~ U(-s,s)
    reset_noise_scale: float
    observe: Callable[[dict[str, np.ndarray]], list[np.ndarray]]  # the parts, concatenated
    healthy: Callable[[np.ndarray, np.ndarray], np.ndarray] | None  # (qpos, qvel) -> healthy mask
    fields: tuple[str, ...] = ()  # derived fields the observation reads
    max_episode_steps: int = 1000


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1)


def _ant_healthy(qpos, qvel):
    finite = np.isfinite(qpos).all(axis=1) & np.isfinite(qvel).all(axis=1)
    return finite & (0.2 <= qpos[:, 2]) & (qpos[:, 2] <= 1.0)


BARE_TASKS: dict[str, BareTask] = {
    "HalfCheetah-v5": BareTask(
        "half_cheetah.xml", 5, "uniform-normal", 0.1,
        lambda d: [d["qpos"][:, 1:], d["qvel"]], None),
    "Ant-v5": BareTask(
        "ant.xml", 5, "uniform-normal", 0.1,
        lambda d: [d["qpos"][:, 2:], d["qvel"], _flat(np.clip(d["cfrc_ext"][:, 1:], -1.0, 1.0))],
        _ant_healthy, ("cfrc_ext",)),
    "Humanoid-v5": BareTask(
        "humanoid.xml", 5, "uniform-uniform", 1e-2,
        lambda d: [d["qpos"][:, 2:], d["qvel"], _flat(d["cinert"][:, 1:]), _flat(d["cvel"][:, 1:]),
                   d["qfrc_actuator"][:, 6:], _flat(d["cfrc_ext"][:, 1:])],
        lambda qpos, qvel: (1.0 < qpos[:, 2]) & (qpos[:, 2] < 2.0),
        ("cinert", "cvel", "qfrc_actuator", "cfrc_ext")),
}


class BareBatch:
    """The stepping and resets of a task on a bare ``mujoco.batch.Batch``, as a vector env.

    Per ``step(actions)``: write ``ctrl``, one ``Batch.step(nstep=frame_skip)`` of the
    environments that did not end at the previous step; reset those that did
    (``Batch.reset`` without forward, ``qpos0`` + noise and noisy ``qvel`` from one
    vectorized generator, ``Batch.forward``); the task's observation (the same fields,
    slices, clipping and concatenation, into one buffer allocated once); the
    termination test (health) and the time limit. No reward, no ``info``, no input
    checks, no per-environment random streams. Tasks that observe ``cfrc_ext`` do
    what mjvec's CPU backend does for it: a model with a sensor that makes
    ``mj_forward`` compute it, the step's derived fields copied, then one
    ``Batch.forward`` at the new state.

    Returns Gymnasium's 5-tuple with ``None`` for reward and info.
    """

    def __init__(self, task_id: str, num_envs: int, nthread: int, *, seed: int = 0,
                 reset_noise_scale: float | None = None, max_episode_steps: int | None = None):
        import mujoco
        from mujoco import batch as mj_batch

        from mjvec.task import gymnasium_asset

        if task_id not in BARE_TASKS:
            raise ValueError(f"`task` {task_id!r} has no bare loop; known: {sorted(BARE_TASKS)}")
        self.cfg = cfg = BARE_TASKS[task_id]
        spec = mujoco.MjSpec.from_file(gymnasium_asset(cfg.xml_file))
        self.on_demand = "cfrc_ext" in cfg.fields
        self.model = model = with_rne_post_constraint(spec) if self.on_demand else spec.compile()
        self.num_envs = num_envs
        self.noise = cfg.reset_noise_scale if reset_noise_scale is None else reset_noise_scale
        self.max_episode_steps = cfg.max_episode_steps if max_episode_steps is None else max_episode_steps
        self.batch = mj_batch.Batch(model, num_envs, nthread, persistent=True)
        self.data = {f: self.batch.bind(f) for f in ("qpos", "qvel", *cfg.fields)}
        if self.on_demand:  # the observation reads copies, as in mjvec's CPU backend
            self.bound = self.data
            self.data = {f: np.array(b) if not b.flags.writeable else b for f, b in self.bound.items()}
        self.ctrl = self.batch.bind("ctrl")
        self.rng = np.random.default_rng(seed)
        self.elapsed = np.zeros(num_envs, dtype=np.int64)
        self.ended = np.zeros(num_envs, dtype=bool)
        self.nreset = 0
        self._reset(np.ones(num_envs, dtype=bool))
        parts = cfg.observe(self.data)
        self.obs = np.empty((num_envs, sum(p.shape[1] for p in parts)))

    def _reset(self, mask: np.ndarray) -> None:
        import mujoco

        n, s, m = int(mask.sum()), self.noise, self.model
        self.batch.reset(mask, stage=mujoco.mjtStage.mjSTAGE_NONE)
        self.data["qpos"][mask] = m.qpos0 + self.rng.uniform(-s, s, (n, m.nq))
        if self.cfg.reset_noise == "uniform-normal":
            self.data["qvel"][mask] = s * self.rng.standard_normal((n, m.nv))
        else:
            self.data["qvel"][mask] = self.rng.uniform(-s, s, (n, m.nv))
        self.batch.forward(mask)
        if self.on_demand:
            self._save(mask)
            self.data["cfrc_ext"][mask] = 0  # as Gymnasium after a reset
        self.elapsed[mask] = 0
        self.nreset += n

    def reset(self, *, seed: int | None = None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._reset(np.ones(self.num_envs, dtype=bool))
        self.ended[:] = False
        return np.concatenate(self.cfg.observe(self.data), axis=1, out=self.obs), None

    def step(self, actions: np.ndarray):
        resetting = self.ended
        if resetting.any():  # NEXT_STEP: the ended envs are reset, their actions ignored
            stepping = ~resetting
            self.ctrl[stepping] = actions[stepping]
            self._step(stepping)
            self._reset(resetting)
        else:
            self.ctrl[:] = actions
            self._step(None)
        obs = np.concatenate(self.cfg.observe(self.data), axis=1, out=self.obs)
        if self.cfg.healthy is None:
            terminated = np.zeros(self.num_envs, dtype=bool)
        else:
            terminated = ~self.cfg.healthy(self.data["qpos"], self.data["qvel"])
            terminated[resetting] = False
        truncated = self.elapsed >= self.max_episode_steps
        self.ended = terminated | truncated
        return obs, None, terminated, truncated, None

    def _step(self, mask: np.ndarray | None) -> None:
        self.batch.step(mask, nstep=self.cfg.frame_skip)
        self.elapsed += 1
        if self.on_demand:  # save the step's derived fields, then cfrc_ext at the new state
            self._save(mask, exclude="cfrc_ext")
            self.batch.forward(mask)
            self._save(mask, only="cfrc_ext")

    def _save(self, mask: np.ndarray | None, only: str | None = None, exclude: str | None = None) -> None:
        for f, b in self.bound.items():
            if b.flags.writeable or f == exclude or (only is not None and f != only):
                continue
            if mask is None:
                np.copyto(self.data[f], b)
            else:
                self.data[f][mask] = b[mask]

    def close(self) -> None:
        self.batch = None


def check_bare_matches_mjvec(task_id: str, *, num_envs: int = 8, nthread: int = 1, steps: int = 300,
                             max_episode_steps: int = 60, seed: int = 0) -> dict[str, Any]:
    """Step mjvec and the bare loop from identical states with identical actions.

    Both run with ``reset_noise_scale=0`` (every reset state is ``qpos0``, zero
    velocity) and a short time limit, so that terminations, truncations and resets
    happen on the same steps and every observation can be compared, bit for bit.
    Evidence that the bare loop does mjvec's simulation work, no more, no less.
    """
    import mjvec

    env = mjvec.make(task_id, num_envs, nthread=nthread, reset_noise_scale=0.0,
                     max_episode_steps=max_episode_steps)
    bare = BareBatch(task_id, num_envs, nthread, reset_noise_scale=0.0, max_episode_steps=max_episode_steps)
    try:
        rng = np.random.default_rng(seed)
        space = env.single_action_space
        obs_a, _ = env.reset(seed=seed)
        obs_b, _ = bare.reset(seed=seed)
        max_diff = float(np.max(np.abs(obs_a - obs_b)))
        same_ends, ends = True, 0
        for _ in range(steps):
            a = rng.uniform(space.low, space.high, (num_envs, *space.shape)).astype(space.dtype)
            obs_a, _, term_a, trunc_a, _ = env.step(a)
            obs_b, _, term_b, trunc_b, _ = bare.step(a)
            max_diff = max(max_diff, float(np.max(np.abs(obs_a - obs_b))))
            same_ends &= bool(np.array_equal(term_a, term_b) and np.array_equal(trunc_a, trunc_b))
            ends += int(np.count_nonzero(term_a | trunc_a))
    finally:
        env.close()
        bare.close()
    return {"task": task_id, "steps": steps, "num_envs": num_envs, "episode_ends": ends,
            "same_terminations_truncations": same_ends, "max_abs_obs_diff": max_diff,
            "identical": same_ends and max_diff == 0.0}


