"""``os.fork()`` and the CPU backend: a child has the parent's memory but none of its threads.

A batch with worker threads cannot step in a forked child (it waits for threads that are not
there) nor be destroyed there (its destructor joins them): in the child, such a simulation
refuses every call with an error saying what to do (``CpuSimulation._check_process``), and its
batch is never destroyed (the operating system frees the child's memory at exit).
"""

from __future__ import annotations

import ctypes
import os
import weakref

__all__ = ["watch_forks"]

_LIVE: weakref.WeakSet = weakref.WeakSet()


def watch_forks(sim) -> None:
    """Mark ``sim`` (with ``_batch``, ``nthread``, ``_pid``, ``_forked_from``) as made in another
    process in a forked child."""
    _LIVE.add(sim)


def _after_fork_in_child() -> None:
    for sim in list(_LIVE):
        if sim._batch is not None and sim.nthread > 1:
            sim._forked_from = sim._pid
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(sim._batch))  # never destroyed in this process


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
