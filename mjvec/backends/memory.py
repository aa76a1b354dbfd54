"""A batch too large for the machine is refused before anything is allocated.

``make(..., num_envs=10**6)`` would otherwise allocate for minutes (the batched spaces'
bounds, then one MjData per env) and fail deep inside MuJoCo with "Could not allocate
memory", naming nothing. The estimate is a lower bound of what a batch touches: the
host arrays sized by ``num_envs`` and, on the CPU backend, each MjData's buffer and
fixed part. The arena each MjData reserves (``narena``) is not counted: its pages are
touched only as used.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

__all__ = ["available_memory", "check_memory", "check_observation_memory", "MJDATA_STRUCT_BYTES"]

#: the fixed part of each MjData: mostly its solver statistics (mjNISLAND x mjNSOLVER
#: mjSolverStat of 40 bytes); 166 KiB in all, measured with MuJoCo 4.0
MJDATA_STRUCT_BYTES = mujoco.mjNISLAND * mujoco.mjNSOLVER * 40 + 6 * 1024


def available_memory() -> int | None:
    """Bytes this machine can still give (MemAvailable + SwapFree), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return (int(info["MemAvailable"].split()[0]) + int(info.get("SwapFree", "0 kB").split()[0])) * 1024
    except (OSError, KeyError, ValueError):
        return None


def _nbytes(space: spaces.Space) -> int:
    """Bytes of one sample of a Box or a Dict of Boxes."""
    if isinstance(space, spaces.Dict):
        return sum(_nbytes(s) for s in space.spaces.values())
    return int(np.prod(space.shape)) * np.dtype(space.dtype).itemsize


def check_memory(task: Any, num_envs: int, backend: Any, single_observation_space, single_action_space) -> None:
    """Refuse ``num_envs`` envs of ``task`` whose memory exceeds what the machine has left."""
    # the batched spaces' low and high, the last and the returned observations, the actions
    per_env = 4 * _nbytes(single_observation_space) + 3 * _nbytes(single_action_space)
    what = "host arrays"
    if backend == "cpu":
        per_env += mujoco.MjData(task.model).nbuffer + MJDATA_STRUCT_BYTES
        what = "MjData and host arrays"
    need, available = num_envs * per_env, available_memory()
    if available is not None and need > available:
        raise ValueError(
            f"`num_envs`={num_envs:,} needs at least {need / 2**30:.1f} GiB of memory ({per_env / 1024:.0f} KiB of"
            f" {what} per env), more than the {available / 2**30:.1f} GiB this machine has available: use at most"
            f" about {available // per_env:,} envs here, or several processes or machines"
        )


# bytes of one pixel of a camera image, by kind: rgb uint8 x 3, depth float32, segmentation int32
_PIXEL_BYTES = {"rgb": 3, "depth": 4, "segmentation": 4}


def check_observation_memory(sources, num_envs: int) -> None:
    """Refuse cameras (and rays) whose batched observations exceed the memory left, before any space is built.

    A Gymnasium Box allocates its bounds at its full shape, so a huge image would be
    allocated (twice per env) before ``check_memory`` could run. Counted as ``check_memory``
    counts: the bounds, the last and the returned observation, per env.
    """
    parts, per_env = [], 0
    if not isinstance(sources, dict):  # one source: the observation itself
        sources = {"observation": sources}
    for key, source in sources.items():
        if hasattr(source, "kind") and hasattr(source, "width"):  # mjvec.Camera
            frames = getattr(source, "stack", None) or 1  # stack=k keeps k frames in each observation
            nbytes = source.width * source.height * _PIXEL_BYTES[source.kind] * frames
            stacked = f" x {frames} frames" if frames > 1 else ""
            parts.append(f"{key!r} {source.width}x{source.height} {source.kind}{stacked}: {nbytes / 2**20:,.1f} MiB")
        elif hasattr(source, "num_rays"):  # mjvec.Rays: float32 distances, int32 geom ids
            nbytes = source.num_rays * 8
            parts.append(f"{key!r} {source.num_rays:,} rays: {nbytes / 2**20:,.1f} MiB")
        else:
            continue
        per_env += 4 * nbytes
    need, available = num_envs * per_env, available_memory()
    if available is not None and need > available:
        raise ValueError(
            f"`observations` for `num_envs`={num_envs:,} need at least {need / 2**30:,.1f} GiB of memory"
            f" ({per_env / 2**20:,.1f} MiB per env, 4 copies of each observation: {'; '.join(parts)}), more than the"
            f" {available / 2**30:.1f} GiB this machine has available: use smaller images, fewer rays or fewer envs"
        )
