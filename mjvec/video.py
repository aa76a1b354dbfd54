"""Videos from frames: MP4 (H.264) through imageio's FFmpeg plugin, GIF through Pillow."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_video"]


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float) -> Path:
    """Write RGB ``frames`` to ``path`` as a video of ``fps`` frames per second; returns the path.

    ``.mp4``: H.264 through imageio's FFmpeg plugin, whose ``imageio-ffmpeg`` package
    ships an ffmpeg binary (no system ffmpeg needed); frames of an odd size are padded
    with one black row or column (H.264's 4:2:0 needs even sizes). ``.gif``: through
    Pillow. ``frames``: a ``(T, H, W, 3)`` uint8 array or any iterable of ``(H, W, 3)``
    uint8 frames, written as they come (an MP4 need not fit in memory). Needs the
    ``render`` extra: ``pip install "mjvec[render]"``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"`path` must end in .mp4 or .gif, got {str(path)!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise TypeError(f"`fps` must be a number, got {type(fps).__name__}")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"`fps` must be a finite number > 0, got {fps}")
    if not isinstance(frames, Iterable):
        raise TypeError(f"`frames` must be an array or an iterable of frames, got {type(frames).__name__}")
    try:
        import imageio.v2 as imageio
    except ImportError as e:
        raise ImportError('write_video needs imageio and imageio-ffmpeg: pip install "mjvec[render]"') from e
    checked = _checked_frames(frames)
    first = next(checked, None)
    if first is None:
        raise ValueError("`frames` is empty: a video needs at least one frame")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        imageio.mimwrite(path, [first, *checked], format="GIF", duration=1000.0 / fps, loop=0)
        return path
    # yuv420p (4:2:0) plays everywhere; macro_block_size=1 keeps imageio from resizing
    with imageio.get_writer(
        path, format="FFMPEG", mode="I", fps=fps, codec="libx264", pixelformat="yuv420p",
        macro_block_size=1, ffmpeg_log_level="error",
    ) as writer:
        for frame in _chain(first, checked):
            h, w = frame.shape[:2]
            if h % 2 or w % 2:
                frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)))
            writer.append_data(frame)
    return path


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]):
    yield first
    yield from rest


def _checked_frames(frames: Iterable[Any]):
    """Each frame as a ``(H, W, 3)`` uint8 array of the first frame's shape, or an exact error."""
    shape = None
    for t, frame in enumerate(frames):
        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            raise TypeError(f"`frames` must be uint8 RGB images, got dtype {frame.dtype} at frame {t}")
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"`frames` must be (H, W, 3) RGB images, got shape {frame.shape} at frame {t}")
        if shape is None:
            shape = frame.shape
        elif frame.shape != shape:
            raise ValueError(f"`frames` must all have one shape, got {shape} and then {frame.shape} at frame {t}")
        yield frame
