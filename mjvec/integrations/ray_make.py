"""``mjvec.distributed.make``: a ``RayVecEnv`` of a registered task, its envs split over actors."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from mjvec import validation
from mjvec.integrations.ray import RayVecEnv
from mjvec.registration import make as make_mjvec

__all__ = ["make"]


def make(
    env_id: str,
    num_envs: int,
    *,
    num_actors: int,
    num_cpus_per_actor: float = 1,
    actor_options: dict[str, Any] | None = None,
    start_timeout_s: float | None = 300.0,
    **make_kwargs: Any,
) -> RayVecEnv:
    """A ``RayVecEnv`` of ``num_envs`` copies of a registered task over ``num_actors`` actors.

    The environments are split in contiguous blocks as evenly as possible (the first
    ``num_envs % num_actors`` actors hold one more). Each actor reserves
    ``num_cpus_per_actor`` CPUs from Ray and gives its ``MjVecEnv`` as many threads
    (``nthread``, at least 1; override with ``nthread=``). ``make_kwargs`` go to
    ``mjvec.make`` (``autoreset_mode``, ``max_episode_steps``, task arguments, ...);
    ``actor_options`` are Ray's, added to ``num_cpus``; ``start_timeout_s`` as in
    ``RayVecEnv``.
    """
    num_envs = validation.check_num_envs(num_envs)
    if isinstance(num_actors, bool) or not isinstance(num_actors, (int, np.integer)):
        raise TypeError(f"`num_actors` must be an int, got {type(num_actors).__name__}")
    if not 1 <= num_actors <= num_envs:
        raise ValueError(f"`num_actors` must be between 1 and num_envs ({num_envs}), got {num_actors}")
    if isinstance(num_cpus_per_actor, bool) or not isinstance(num_cpus_per_actor, (int, float, np.number)):
        raise TypeError(f"`num_cpus_per_actor` must be a number, got {type(num_cpus_per_actor).__name__}")
    if not num_cpus_per_actor > 0:
        raise ValueError(f"`num_cpus_per_actor` must be > 0, got {num_cpus_per_actor}")
    if actor_options is not None and not isinstance(actor_options, dict):
        raise TypeError(f"`actor_options` must be a dict or None, got {type(actor_options).__name__}")
    make_kwargs.setdefault("nthread", max(1, math.floor(num_cpus_per_actor)))
    sizes = [num_envs // num_actors + (k < num_envs % num_actors) for k in range(num_actors)]
    env_fns = [functools.partial(make_mjvec, env_id, n, **make_kwargs) for n in sizes]
    return RayVecEnv(
        env_fns,
        actor_options={**(actor_options or {}), "num_cpus": num_cpus_per_actor},
        start_timeout_s=start_timeout_s,
    )
