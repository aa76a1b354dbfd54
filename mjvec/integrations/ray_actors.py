"""The Ray side of ``RayVecEnv``: the actor that holds one ``MjVecEnv``, and the pieces that
join the actors' answers into one env's (info, render states, actor options)."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import ray

from mjvec.render import RenderState
from mjvec.vector_env import MjVecEnv

__all__ = ["EnvActorDiedError", "RemoteEnvActor", "options_per_actor", "join_states", "merge_infos", "merge_diagnostics"]

# how long close() waits for an actor to close its env before killing it anyway
_CLOSE_TIMEOUT_S = 10.0


class EnvActorDiedError(RuntimeError):
    """A Ray actor of a ``RayVecEnv`` died; ``env_ids`` are the environments it held."""

    def __init__(self, message: str, *, actor_index: int, env_ids: range):
        super().__init__(message)
        self.actor_index = actor_index
        self.env_ids = env_ids


class _EnvActor:
    """One ``MjVecEnv`` in a Ray actor; each method is one call of that env."""

    def __init__(self):
        self.env: MjVecEnv | None = None

    def open(self, env_fn: Callable[[], MjVecEnv]) -> dict[str, Any]:
        # built here rather than in __init__ so that a constructor error reaches the
        # caller as itself (a ValueError stays a ValueError), not as a dead actor
        env = env_fn()
        if not isinstance(env, MjVecEnv):
            if hasattr(env, "close"):
                env.close()
            raise TypeError(f"each of `env_fns` must return an mjvec.MjVecEnv, got {type(env).__name__}")
        if env._backend.array_type != "numpy":  # the driver joins the actors' NumPy arrays
            env.close()
            raise ValueError(
                f"each of `env_fns` must return an env with array_type='numpy' (a RayVecEnv joins NumPy"
                f" arrays), got array_type={env._backend.array_type!r}"
            )
        self.env = env
        return {
            "num_envs": env.num_envs,
            "single_observation_space": env.single_observation_space,
            "single_action_space": env.single_action_space,
            "metadata": env.metadata,
            "render_mode": env.render_mode,
            "state_size": env.state_size,
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id(),
        }

    def reset(self, seed, options):
        return self.env.reset(seed=seed, options=options)

    def step(self, actions):
        return self.env.step(actions)

    def diagnostics(self):
        return self.env.diagnostics()

    def get_model(self, i):
        return self.env.get_model(i)

    def get_state(self, env_ids):
        return self.env.get_state(env_ids)

    def set_state(self, state, env_ids):
        return self.env.set_state(state, env_ids)

    def call(self, name, args, kwargs):
        return self.env.call(name, *args, **kwargs)

    def set_attr(self, name, values):
        return self.env.set_attr(name, values)

    def render(self, env_ids, layout):
        return self.env.render(env_ids=env_ids, layout=layout)

    def render_state(self, env_ids):
        """The rows' state for the driver to draw; each row's own model where they differ."""
        state = self.env._backend.render_state(env_ids)  # what MjVecEnv.render draws
        models = None if state.models is None else [copy.copy(state.models(j)) for j in range(len(env_ids))]
        return state._replace(model=None, models=models)

    def renderer_args(self):
        """``BatchRenderer``'s arguments to draw as this env does (its model, size and camera)."""
        r = self.env._renderer
        return {"model": self.env.task.model, "width": r.width, "height": r.height, "camera_id": r.camera_id,
                "default_camera_config": r.default_camera_config}

    def close(self):
        if self.env is not None:
            self.env.close()


RemoteEnvActor = ray.remote(_EnvActor)


def options_per_actor(actor_options: Any, num_actors: int) -> list[dict[str, Any]]:
    if actor_options is None:
        actor_options = {"num_cpus": 1}
    if isinstance(actor_options, dict):
        per_actor = [dict(actor_options) for _ in range(num_actors)]
    elif isinstance(actor_options, Sequence) and not isinstance(actor_options, (str, bytes)):
        if len(actor_options) != num_actors:
            raise ValueError(
                f"`actor_options` as a sequence must have one dict per actor ({num_actors}), got {len(actor_options)}"
            )
        if not all(isinstance(o, dict) for o in actor_options):
            raise TypeError("`actor_options` as a sequence must hold dicts")
        per_actor = [dict(o) for o in actor_options]
    else:
        raise TypeError(
            f"`actor_options` must be a dict, a sequence of dicts or None, got {type(actor_options).__name__}"
        )
    for opts in per_actor:
        for key in ("max_restarts", "max_task_retries"):
            if opts.get(key, 0) != 0:
                raise ValueError(
                    f"`actor_options['{key}']` must be 0 (a RayVecEnv does not restart actors: see"
                    f" docs/scaling.md), got {opts[key]!r}"
                )
        opts["max_restarts"] = 0
    return per_actor


def join_states(parts: dict[int, RenderState], owner: np.ndarray, model) -> RenderState:
    """One ``RenderState`` of all rows: row ``j`` from actor ``owner[j]``'s part, in order."""
    rows = {k: np.flatnonzero(owner == k) for k in parts}

    def join(name: str) -> np.ndarray | None:
        values = {k: getattr(part, name) for k, part in parts.items()}
        first = next(iter(values.values()))
        if first is None:  # act and mocap: absent from the model, so from every part
            return None
        out = np.empty((len(owner), *first.shape[1:]), dtype=first.dtype)
        for k, value in values.items():
            out[rows[k]] = value
        return out

    models = None
    if any(part.models is not None for part in parts.values()):
        table = [model] * len(owner)  # an actor without per-env models draws with the shared one
        for k, part in parts.items():
            for j, row_model in zip(rows[k], part.models or ()):
                table[j] = row_model
        models = table.__getitem__
    return RenderState(model, join("qpos"), join("qvel"), join("act"), join("mocap_pos"), join("mocap_quat"), models)


def merge_infos(parts: list[tuple[slice, dict[str, Any]]], num_envs: int) -> dict[str, Any]:
    """One vector ``info`` from the actors' ``(envs, info)`` blocks.

    A key missing from a block is zero there (``None`` for object arrays, False for
    ``_key`` masks), as Gymnasium's ``VectorEnv._add_info`` leaves it.
    """
    out: dict[str, Any] = {}
    keys = list(dict.fromkeys(key for _, info in parts for key in info))
    for key in keys:
        present = [(sl, info[key]) for sl, info in parts if key in info]
        if isinstance(present[0][1], dict):
            out[key] = merge_infos(present, num_envs)
            continue
        first = np.asarray(present[0][1])
        shape = (num_envs,) + first.shape[1:]
        merged = np.full(shape, None, dtype=object) if first.dtype == object else np.zeros(shape, first.dtype)
        for sl, value in present:
            merged[sl] = value
        out[key] = merged
    return out




def merge_diagnostics(parts: dict[int, dict], actor_env_ids) -> dict[str, dict[str, Any]]:
    """One ``diagnostics()`` from each actor's (``{actor: {kind: entry}}``), with global env ids."""
    out: dict[str, dict[str, Any]] = {}
    for k in sorted(parts):
        for kind, entry in parts[k].items():
            merged = out.setdefault(kind, {"count": 0, "env_ids": []})
            merged["count"] += entry["count"]
            merged["env_ids"] += [actor_env_ids[k][i] for i in entry["env_ids"]]
            if "message" in entry:
                merged.setdefault("message", entry["message"])
    return out
