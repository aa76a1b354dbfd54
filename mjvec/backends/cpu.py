"""CPU backend: the episode rules run eagerly over NumPy on ``mujoco.batch.Batch``.

The simulations are ``CpuSimulation`` (``mjvec.backends.cpu_simulation``): one
MjData per environment on MuJoCo's persistent native thread pool, one native call
per vector step. This module is the backend's edge: it runs the episode rules
(``mjvec.core.episode``) over them and hands the caller its own NumPy arrays.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import numpy as np
from gymnasium.utils.seeding import np_random

from mjvec import validation
from mjvec.backends.cpu_simulation import CpuSimulation
from mjvec.core import episode, outputs, rollout
from mjvec.core.episode import Episodes, Rules, Seeding
from mjvec.core.ops import NumpyOps
from mjvec.core.tree import tree_map
from mjvec.core.torch_arrays import TorchArrays

__all__ = ["CpuBackend", "default_nthread"]


def default_nthread() -> int:
    """The CPUs this process may run on; in a Ray worker, the CPUs Ray reserved for it.

    Ray neither pins its workers to cores nor caps their threads, so without this an
    env made in each RLlib env runner or Ray actor of a node would take every core of
    the node. A fraction of a CPU counts as one thread; an actor that reserved none
    (``num_cpus=0``) gets the process's CPUs.
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    reserved = _ray_reserved_cpus()
    if reserved is None:
        return usable
    return max(1, min(usable, math.floor(reserved)))


def _ray_reserved_cpus() -> float | None:
    """The CPUs Ray reserved for this worker process (actor or task), or None outside one."""
    ray = sys.modules.get("ray")  # looked up, never imported: Ray is an extra
    if ray is None or not getattr(ray, "is_initialized", lambda: False)():
        return None
    try:
        context = ray.get_runtime_context()
        # the driver (SCRIPT_MODE) has no reservation; only workers (WORKER_MODE) do
        if context.worker.mode != ray._private.worker.WORKER_MODE:
            return None
        return context.get_assigned_resources().get("CPU")
    except Exception:  # noqa: BLE001 - a Ray without these internals: fall back to the affinity
        return None


class CpuBackend:
    """``num_envs`` copies of a task on ``mujoco.batch.Batch``, stepped by the episode rules.

    Args:
      rules: the episode rules' static part (task, autoreset mode, time limit,
        randomization).
      num_envs: number of environments.
      observation_space: the task's batched observation space (the shape of ``last_obs``).
      nthread: threads of the batch; None for every CPU this process may use (in a
        Ray worker, the CPUs Ray reserved for it).
      actions: the bound ``ActionSpec``; randomization, variants: as ``MjVecEnv``'s.
      obs_dtypes: the observations' dtypes for the caller (``obs_dtype=``), or None for the task's.
      array_type: ``"numpy"``, or ``"torch"``: the same arrays as torch tensors sharing
        their memory (``torch.from_numpy``); torch tensors are taken as actions too.
    """

    def __init__(self, rules: Rules, num_envs: int, observation_space, *, nthread: int | None = None,
                 actions=None, variants=None, obs_dtypes=None, array_type: str = "numpy"):
        if nthread is None:
            nthread = default_nthread()
        nthread = validation.check_positive_int(nthread, "nthread", none_ok=True)
        self.rules = rules
        self.num_envs = num_envs
        self.actions = actions
        self.sim = CpuSimulation(
            rules.task, num_envs, nthread=nthread, actions=actions, randomization=rules.randomization,
            variants=variants,
        )
        self.nthread = self.sim.nthread
        self.state_size = self.sim.state_size
        self.description = {"backend": "cpu", "nthread": self.nthread}
        self._ops = NumpyOps(num_envs)
        self._obs_dtypes = obs_dtypes
        self.array_type = array_type
        self._torch = TorchArrays() if array_type == "torch" else None
        resample = None if rules.randomization is None else rules.randomization.resample
        self._seeding = Seeding(num_envs, resample)
        self._episodes = Episodes(
            elapsed=np.zeros(num_envs, dtype=np.int64),
            ended=np.zeros(num_envs, dtype=np.bool_),
            last_obs=outputs.zeros_of(observation_space),
            streams=[None] * num_envs,
            faults={},
        )

    def check_actions(self, actions: Any) -> np.ndarray:
        if self._torch is not None:
            actions = self._torch.actions(actions)
        actions = validation.check_actions(actions, (self.num_envs, *self.actions.space.shape))
        self.actions.check(actions)
        return actions

    def reset(self, mask: np.ndarray, seeds, states: np.ndarray | None = None) -> tuple[Any, dict]:
        reseed, draw = self._seeding.plan(mask, seeds)
        streams = self._episodes.streams
        for i in np.flatnonzero(reseed):
            streams[i], _ = np_random(seeds[i])
        ops = self._ops
        mask = ops.everyone if mask.all() else mask
        self._episodes, out = episode.reset(
            ops, self.rules, self._episodes, self.sim, mask, ops.some(draw), states
        )
        result = outputs.reset_result(self.rules.task, out, self._obs_dtypes)
        return result if self._torch is None else self._torch.tensors(result)

    def rollout(self, actions: np.ndarray, start: np.ndarray | None, states: bool) -> rollout.RolloutResult:
        """T steps of every env in one native call, evaluated at once (``mjvec.core.rollout``)."""
        if start is not None:  # new episodes from the given states, as reset(options={"state": ...})
            self.reset(np.ones(self.num_envs, dtype=np.bool_), [None] * self.num_envs, start)
        task, ep = self.rules.task, self._episodes
        fields = tuple(dict.fromkeys(("qpos", "qvel", *task.fields)))
        first, records, diverged_at, state_records, faults = self.sim.rollout(actions, fields, states)
        obs, reward, terminated, truncated, valid, info, ended = rollout.evaluate(
            task, actions, first, records, ep.elapsed, self.rules.max_episode_steps, diverged_at, ep.last_obs
        )
        t = actions.shape[1]
        counts = {"diverged": diverged_at < t}
        if faults is not None:
            counts.update(faults.counts)
        self._episodes = ep._replace(
            elapsed=ep.elapsed + t, ended=ended,
            last_obs=rollout.last_observation(obs, valid),
            faults=self._ops.add_counts(ep.faults, counts),
        )
        if self._obs_dtypes is not None:
            obs = tree_map(lambda x, dtype: x.astype(dtype, copy=False), obs, self._obs_dtypes)
        return rollout.RolloutResult(obs, reward, terminated, truncated, valid, info, state_records)

    def ray(self, origins: np.ndarray, directions: np.ndarray, exclude_body: int) -> tuple[np.ndarray, np.ndarray]:
        """``(dist, geomid)``, ``(num_envs, nray)``: ``mj_ray`` in every simulation (``Batch.ray``)."""
        return self.sim._batch.ray(origins, directions, bodyexclude=exclude_body)

    def ray_caster(self, exclude_body: int):
        """``cast(origins, directions, data)``: ``Batch.ray`` in every simulation (``data`` is the batch's own)."""
        return lambda origins, directions, data: self.ray(origins, directions, exclude_body)

    def functional(self):
        raise NotImplementedError(
            "`functional()` gives the MJX backend's jitted step as pure JAX functions: make the env with"
            " backend='mjx'; on the CPU, `rollout()` runs many steps in one native call"
        )

    def get_state(self, env_ids: np.ndarray) -> np.ndarray:
        return self.sim.get_state(env_ids)

    def set_state(self, state: np.ndarray, env_ids: np.ndarray) -> None:
        self.sim.set_state(env_ids, state)

    def step(self, actions: np.ndarray) -> tuple[Any, Any, Any, Any, dict]:
        self._episodes, out = episode.step(self._ops, self.rules, self._episodes, self.sim, actions)
        result = outputs.step_result(self.rules.task, out, self._obs_dtypes)
        return result if self._torch is None else self._torch.tensors(result)

    def fault_counts(self) -> dict[str, np.ndarray]:
        return dict(self._episodes.faults)

    def fault_messages(self) -> dict[str, str]:
        return dict(self.sim.messages)

    def get_model(self, i: int):
        """Env ``i``'s model as simulated: its per-env parameters or variant."""
        return self.sim.get_model(i)

    def render_state(self, env_ids: np.ndarray):
        return self.sim.render_state(env_ids)

    def task_changed(self) -> None:
        """Nothing to do: the rules read the task's attributes at every step and reset."""

    def close(self) -> None:
        self.sim.close()
