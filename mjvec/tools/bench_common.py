"""What the benchmarks share: the timed loop (``Runner``) and the machine's description (``machine``).

Imported by ``mjvec.tools.bench``, ``mjvec.tools.bench_mjx`` and ``scripts/bench_sharding.py``;
it imports none of them, so the benchmarks' import graph has no cycle.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Runner", "machine", "write_json"]


@dataclass
class Runner:
    """One contender: a vector env stepped through a pool of action batches, in timed runs."""

    name: str
    env: Any
    actions: np.ndarray  # (pool, N, action size), in the env's action dtype
    note: str = ""
    setup_s: float = 0.0
    failed: bool = False
    cursor: int = 0
    ends: int = 0
    seconds: list[float] = field(default_factory=list)
    steps_per_s: list[float] = field(default_factory=list)

    def run(self, nstep: int) -> tuple[float, float]:
        """Wall and process-CPU seconds for ``nstep`` vector steps (episode ends are counted on the way)."""
        step, actions, pool = self.env.step, self.actions, len(self.actions)
        i, ends = self.cursor, 0
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(nstep):
            _, _, terminated, truncated, _ = step(actions[i])
            ends += np.count_nonzero(terminated | truncated)
            i = i + 1 if i + 1 < pool else 0
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        self.cursor, self.ends = i, self.ends + int(ends)
        return seconds, cpu_seconds


def machine() -> dict[str, Any]:
    """CPU, cores and package versions."""
    from importlib import metadata

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for pkg in ("mjvec", "mujoco", "gymnasium", "envpool", "numpy", "matplotlib"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "usable_cores": usable,
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "platform": platform.platform(), "python": platform.python_version(), "versions": versions}


def write_json(args, info: dict[str, Any], results: list, **extra: Any) -> None:
    """The run as JSON at ``args.json`` (when asked): the machine, the command's options and the results."""
    if not args.json:
        return
    config = {k: v for k, v in vars(args).items() if k not in ("json", "plot", "func", "command")}
    with open(args.json, "w") as f:
        json.dump({"machine": info, "config": config, "results": results, **extra}, f, indent=2)
    print(f"json: {args.json}")
