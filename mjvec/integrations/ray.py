"""RayVecEnv: one Gymnasium ``VectorEnv`` whose environments live in several Ray actors.

    import ray, mjvec.distributed
    ray.init()                                   # or ray.init(address="auto") on a cluster
    env = mjvec.distributed.make("Ant-v5", num_envs=256, num_actors=4, num_cpus_per_actor=8)
    obs, info = env.reset(seed=0)                # env i gets seed 0 + i, whichever actor holds it

Each actor holds one ``MjVecEnv`` of a contiguous block of envs, built in the actor
from a picklable constructor (an ``MjVecEnv`` holds a native thread pool and refuses
pickling). ``step``/``reset`` fan out each actor's block through Ray's object store
and concatenate the results. Each actor's env does its own autoreset, so with the
same seeds and actions a ``RayVecEnv`` returns what one ``MjVecEnv`` of all the envs
returns, bit for bit, in every autoreset mode. A dead actor is not restarted: the
call that finds it raises ``EnvActorDiedError`` naming its envs, and so does every
later call. docs/scaling.md says why, and when Ray is worth it.

Ray is an extra (``pip install "mjvec[ray]"``); ``import mjvec`` never imports it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from mjvec.integrations.extras import require_extra

try:
    import ray
    from ray.exceptions import RayActorError
except ModuleNotFoundError as e:  # pragma: no cover - exercised only without the extra
    require_extra(e, ("ray",), "mjvec.distributed", "Ray", "ray")

from mjvec import validation
from mjvec.core.outputs import batched_space, zeros_of
from mjvec.core.tree import tree_map
from mjvec.render import BatchRenderer, check_render_call, tile
from mjvec.integrations.ray_actors import (
    _CLOSE_TIMEOUT_S,
    EnvActorDiedError,
    RemoteEnvActor,
    options_per_actor,
    join_states,
    merge_diagnostics,
    merge_infos,
)
from mjvec.env_attributes import EnvAttributes, one_value
from mjvec.vector_calls import CheckedCalls
from mjvec.vector_env import MjVecEnv

__all__ = ["EnvActorDiedError", "RayVecEnv"]


class RayVecEnv(EnvAttributes, CheckedCalls, VectorEnv):
    """A Gymnasium ``VectorEnv`` over ``MjVecEnv``s held by Ray actors, one per constructor.

    Args:
      env_fns: one picklable callable per actor, each returning an ``MjVecEnv``
        (e.g. ``functools.partial(mjvec.make, "Ant-v5", 64, nthread=8)``). Actor
        ``k`` holds environments ``offset_k .. offset_k + n_k - 1``, in order. All
        must have the same single spaces and autoreset mode.
      actor_options: Ray's actor options (``num_cpus``, ``resources``,
        ``scheduling_strategy``, ...), one dict for every actor or one per actor;
        default ``{"num_cpus": 1}``. Actors are never restarted (``max_restarts=0``).
      start_timeout_s: how long to wait for every actor to be placed and to build
        its env before raising ``TimeoutError`` (a cluster without the CPUs asked
        for would otherwise wait forever); ``None`` to wait as long as Ray does.

    Ray must be initialized to pick the cluster (``ray.init(address=...)``);
    otherwise Ray starts a local one. ``mjvec.distributed.make`` builds the
    constructors for a registered task. The env is used from one thread at a time.

    ``call``, ``get_attr`` and ``set_attr`` are ``MjVecEnv``'s, each env's answer from
    the actor holding it; ``set_attr`` needs equal values within each actor's block.
    """

    def __init__(
        self,
        env_fns: Sequence[Callable[[], MjVecEnv]],
        *,
        actor_options: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
        start_timeout_s: float | None = 300.0,
    ):
        self.closed = True  # until the actors exist, close() has nothing to do
        if isinstance(env_fns, (str, bytes)) or not isinstance(env_fns, Sequence):
            raise TypeError(f"`env_fns` must be a sequence of callables, got {type(env_fns).__name__}")
        if len(env_fns) == 0:
            raise ValueError("`env_fns` must hold at least one constructor, got an empty sequence")
        for k, fn in enumerate(env_fns):
            if not callable(fn):
                raise TypeError(f"`env_fns[{k}]` must be callable (returning an MjVecEnv), got {type(fn).__name__}")
        options = options_per_actor(actor_options, len(env_fns))
        if start_timeout_s is not None and (
            isinstance(start_timeout_s, bool) or not isinstance(start_timeout_s, (int, float)) or start_timeout_s <= 0
        ):
            raise ValueError(f"`start_timeout_s` must be a positive number or None, got {start_timeout_s!r}")

        self._actors = [RemoteEnvActor.options(**opts).remote() for opts in options]
        self.closed = False
        try:
            refs = [actor.open.remote(fn) for actor, fn in zip(self._actors, env_fns)]
            _, pending = ray.wait(refs, num_returns=len(refs), timeout=start_timeout_s)
            if pending:
                raise TimeoutError(
                    f"{len(pending)} of the {len(refs)} Ray actors of this RayVecEnv did not start within"
                    f" `start_timeout_s` = {start_timeout_s} s: each asks for {options[0]} and Ray has"
                    f" {ray.available_resources()} available of {ray.cluster_resources()}; free or add CPUs,"
                    " or ask for fewer (`num_cpus_per_actor`, `actor_options`)"
                )
            self._described = [ray.get(ref) for ref in refs]
            self._check_alike(self._described)
        except BaseException:
            self._kill_actors()
            self.closed = True
            raise

        sizes = [d["num_envs"] for d in self._described]
        offsets = [0, *itertools.accumulate(sizes)]
        self.actor_env_ids: tuple[range, ...] = tuple(itertools.starmap(range, itertools.pairwise(offsets)))
        self._slices = [slice(r.start, r.stop) for r in self.actor_env_ids]
        self._starts = np.array(offsets[:-1])
        first = self._described[0]
        self.num_envs = offsets[-1]
        self.single_observation_space = first["single_observation_space"]
        self.single_action_space = first["single_action_space"]
        self.observation_space = batched_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = dict(first["metadata"])
        self.autoreset_mode: AutoresetMode = self.metadata["autoreset_mode"]
        self.render_mode = first["render_mode"]
        self._action_shape = self.action_space.shape
        self._last_obs = zeros_of(self.observation_space)  # an array, or a dict of them
        self._init_calls()
        self._failure: EnvActorDiedError | None = None
        self._renderer: BatchRenderer | None = None  # draws "overlay" frames, made on the first
        self._render_model = None

    @property
    def actors(self) -> tuple[Any, ...]:
        """The Ray actor handles, in env order (``actor_env_ids[k]`` are actor ``k``'s envs)."""
        return tuple(self._actors)

    @property
    def actor_info(self) -> tuple[dict[str, Any], ...]:
        """Where each actor runs: ``{"env_ids": range, "pid": int, "node_id": str}``."""
        return tuple(
            {"env_ids": ids, "pid": d["pid"], "node_id": d["node_id"]}
            for ids, d in zip(self.actor_env_ids, self._described)
        )

    # -- Gymnasium API -------------------------------------------------------------
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset all environments, or those in ``options["reset_mask"]``.

        Seeds as ``MjVecEnv``: an int ``s`` seeds environment ``i`` with ``s + i``,
        whichever actor holds it. Actors with no environment in the mask are not called.
        """
        with self._exclusive("reset"):
            mask, seeds, options = self._reset_args(seed, options)
            marked = np.ones(self.num_envs, dtype=np.bool_) if mask is None else mask
            states = options.get("state")
            if states is not None:  # one row per reset env, in env order: each actor gets its rows
                states = validation.check_states(
                    states, int(marked.sum()), self._described[0]["state_size"], "options['state']"
                )
                row = np.cumsum(marked) - 1
            calls = []
            for k, sl in enumerate(self._slices):
                actor_options = dict(options)
                if mask is not None:
                    if not mask[sl].any():
                        continue
                    actor_options["reset_mask"] = mask[sl].copy()
                if states is not None:
                    actor_options["state"] = states[row[sl][marked[sl]]]
                actor_seeds = list(seeds[sl])
                actor_seed = None if all(s is None for s in actor_seeds) else actor_seeds
                calls.append((k, self._actors[k].reset.remote(actor_seed, actor_options or None)))
            results = self._gather(calls)
            obs = tree_map(np.array, self._last_obs)  # the envs of actors not called keep their observation
            for k, (actor_obs, _) in results.items():
                tree_map(lambda whole, part, sl=self._slices[k]: whole.__setitem__(sl, part), obs, actor_obs)
            info = merge_infos([(self._slices[k], info) for k, (_, info) in results.items()], self.num_envs)
            self._reset_done(mask)
            self._last_obs = tree_map(np.array, obs)
            return obs, info

    def step(self, actions):
        """Step every environment with its row of ``actions``, shape ``(num_envs, action size)``."""
        with self._exclusive("step"):
            self._check_step()
            # checked here, with global env ids in the messages, before any actor steps
            actions = validation.check_actions(actions, self._action_shape)
            calls = [(k, self._actors[k].step.remote(actions[sl])) for k, sl in enumerate(self._slices)]
            results = self._gather(calls)
            parts = [results[k] for k in range(len(self._actors))]
            obs = tree_map(lambda *xs: np.concatenate(xs), *[p[0] for p in parts])
            reward, terminated, truncated = (np.concatenate([p[i] for p in parts]) for i in (1, 2, 3))
            info = merge_infos([(sl, p[4]) for sl, p in zip(self._slices, parts)], self.num_envs)
            self._step_done(terminated, truncated)
            self._last_obs = tree_map(np.array, obs)
            return obs, reward, terminated, truncated, info

    def diagnostics(self) -> dict[str, dict[str, Any]]:
        """``MjVecEnv.diagnostics()`` of all actors, with global env ids."""
        with self._exclusive("diagnostics"):
            results = self._gather([(k, actor.diagnostics.remote()) for k, actor in enumerate(self._actors)])
            return merge_diagnostics(results, self.actor_env_ids)

    def get_model(self, i: int):
        """Env ``i``'s ``mujoco.MjModel`` as simulated (``MjVecEnv.get_model``), from its actor."""
        with self._exclusive("get_model"):
            i = validation.check_env_index(i, self.num_envs)
            k = self._actor_of(np.array([i]))[0]
            return self._gather([(k, self._actors[k].get_model.remote(i - self.actor_env_ids[k].start))])[k]

    @property
    def state_size(self) -> int:
        """Entries of one env's physics state (``MjVecEnv.state_size``)."""
        return self._described[0]["state_size"]

    def get_state(self, env_ids: Any = None) -> np.ndarray:
        """``(n, state_size)``: the physics states of the envs ``env_ids`` (global ids), from their actors."""
        with self._exclusive("get_state"):
            ids = validation.check_env_ids(env_ids, self.num_envs)
            parts = self._by_actor(ids)
            results = self._gather([(k, self._actors[k].get_state.remote(local)) for k, _, local in parts])
            out = np.empty((ids.size, self.state_size))
            for k, rows, _ in parts:
                out[rows] = results[k]
            return out

    def set_state(self, state: np.ndarray, env_ids: Any = None) -> None:
        """Set the physics states of the envs ``env_ids`` (``MjVecEnv.set_state``), each in its actor."""
        with self._exclusive("set_state"):
            if self._needs_reset:
                raise RuntimeError("`set_state()` needs a first `reset()` of all environments")
            ids = validation.check_env_ids(env_ids, self.num_envs)
            state = validation.check_states(state, ids.size, self.state_size)
            parts = self._by_actor(ids)
            self._gather([(k, self._actors[k].set_state.remote(state[rows], local)) for k, rows, local in parts])

    def render(self, *, env_ids: Any = None, layout: str = "frames"):
        """Frames of the environments ``env_ids`` (global ids; all by default), as ``MjVecEnv.render``.

        Each actor draws its own envs, in parallel and with its own node's OpenGL, and
        the frames come back in the order of ``env_ids``. ``"overlay"`` draws every env
        into one scene in this process, from the actors' states: it needs OpenGL here.
        """
        with self._exclusive("render"):
            ids = check_render_call(
                self.render_mode is not None, self._needs_reset, layout, env_ids, self.num_envs,
                make_call="mjvec.distributed.make(env_id, num_envs, num_actors=2, render_mode='rgb_array')",
            )
            parts = self._by_actor(ids)
            calls = [(k, self._actors[k].render_state.remote(local) if layout == "overlay" else
                      self._actors[k].render.remote(local, "batch")) for k, _, local in parts]
            if layout == "overlay" and self._renderer is None:
                calls.append((-1, self._actors[0].renderer_args.remote()))
            results = self._gather(calls)
            if layout == "overlay":
                if -1 in results:
                    args = results.pop(-1)
                    self._render_model = args["model"]  # the renderer's context is made for this object
                    self._renderer = BatchRenderer(**args)
                return self._renderer.render(join_states(results, self._actor_of(ids), self._render_model), "overlay")
            first = next(iter(results.values()))
            frames = np.empty((len(ids), *first.shape[1:]), dtype=first.dtype)
            for k, rows, _ in parts:
                frames[rows] = results[k]
            if layout == "batch":
                return frames
            return tile(frames) if layout == "tiled" else tuple(frames)

    def _call_envs(self, name: str, args: tuple, kwargs: dict) -> tuple:
        calls = [(k, actor.call.remote(name, args, kwargs)) for k, actor in enumerate(self._actors)]
        results = self._gather(calls, keeps_episodes=True)
        return tuple(value for k in range(len(self._actors)) for value in results[k])

    def _set_envs(self, name: str, values: list) -> None:
        # checked here for every block first, so that no actor sets a value the next one refuses
        for k, sl in enumerate(self._slices):
            one_value(name, values[sl], f"actor {k}'s MjVecEnv (envs {sl.start}..{sl.stop - 1})", sl.start)
        calls = [(k, actor.set_attr.remote(name, values[sl])) for k, (actor, sl) in
                 enumerate(zip(self._actors, self._slices))]
        self._gather(calls, keeps_episodes=True)

    def close_extras(self, **kwargs: Any) -> None:
        """Close every live actor's env, then end the actors."""
        if not ray.is_initialized():
            return  # Ray was shut down first: the actors went with it
        if self._renderer is not None:
            self._renderer.close()
        refs = [actor.close.remote() for actor in self._actors]
        try:
            ray.wait(refs, num_returns=len(refs), timeout=_CLOSE_TIMEOUT_S)
        finally:
            self._kill_actors()

    def __getstate__(self):
        raise TypeError(
            "a RayVecEnv cannot be pickled: two copies would step the same Ray actors. Send its"
            " constructors (`env_fns`) instead"
        )

    def __repr__(self) -> str:
        return f"RayVecEnv({len(getattr(self, '_actors', ()))} actors, num_envs={getattr(self, 'num_envs', '?')})"

    # -- helpers ---------------------------------------------------------------
    def _check_usable(self) -> None:
        if self.closed:
            raise RuntimeError("this RayVecEnv is closed: create a new one")
        if self._failure is not None:
            raise self._failure

    def _gather(self, calls: list[tuple[int, Any]], keeps_episodes: bool = False) -> dict[int, Any]:
        """``{actor index: result}`` of every call; a dead actor fails the env for good.

        An error raised in an actor requires a reset, unless the calls ``keeps_episodes``
        (they read or set attributes, and no episode moved).
        """
        results, dead, error = {}, [], None
        try:
            for k, ref in calls:
                try:
                    results[k] = ray.get(ref)
                except RayActorError as e:
                    dead.append((k, e))
                except Exception as e:  # noqa: BLE001 - the env's own exception, raised in the actor
                    error = error or e
        except BaseException:  # interrupted (Ctrl-C) with some actors done and others not
            self._needs_reset = True
            raise
        if dead:
            k, cause = dead[0]
            held = [f"{self.actor_env_ids[j].start}..{self.actor_env_ids[j].stop - 1}" for j, _ in dead]
            described = self._described[k]
            self._failure = EnvActorDiedError(
                f"the Ray actor{'s' if len(dead) > 1 else ''} {[j for j, _ in dead]} of this RayVecEnv"
                f" (pid {described['pid']} on node {described['node_id'][:12]}...) died, losing"
                f" environments {', '.join(held)} of {self.num_envs}; the other actors' episodes"
                " went on without them, so this RayVecEnv cannot continue: close it and create a new one"
                f" (cause: {str(cause).splitlines()[0] if str(cause) else type(cause).__name__})",
                actor_index=k,
                env_ids=self.actor_env_ids[k],
            )
            raise self._failure from cause
        if error is not None:
            # some actors may have stepped and others not: only a full reset is consistent
            self._needs_reset = self._needs_reset or not keeps_episodes
            raise error
        return results

    def _actor_of(self, ids: np.ndarray) -> np.ndarray:
        """The index of the actor holding each of the (global) env ``ids``."""
        return np.searchsorted(self._starts, ids, side="right") - 1

    def _by_actor(self, ids: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(actor, rows of ids it holds, their local ids)`` for each actor holding some of ``ids``."""
        owner = self._actor_of(ids)
        return [(int(k), owner == k, ids[owner == k] - self.actor_env_ids[k].start) for k in np.unique(owner)]

    def _check_alike(self, described: list[dict[str, Any]]) -> None:
        first = described[0]
        for k, d in enumerate(described[1:], start=1):
            for key in ("single_observation_space", "single_action_space", "render_mode"):
                if d[key] != first[key]:
                    raise ValueError(
                        f"every env of `env_fns` must have the same {key}: env_fns[0] gives {first[key]},"
                        f" env_fns[{k}] gives {d[key]}"
                    )
            if d["metadata"]["autoreset_mode"] is not first["metadata"]["autoreset_mode"]:
                raise ValueError(
                    "every env of `env_fns` must have the same autoreset_mode: env_fns[0] gives"
                    f" {first['metadata']['autoreset_mode']}, env_fns[{k}] gives {d['metadata']['autoreset_mode']}"
                )

    def _kill_actors(self) -> None:
        for actor in self._actors:
            try:
                ray.kill(actor)
            except (RayActorError, ValueError):
                pass  # already gone

