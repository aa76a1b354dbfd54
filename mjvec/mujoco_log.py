"""MuJoCo's warning channel, routed to Python's ``logging`` once per distinct message.

By default MuJoCo prints every warning (``WARNING: Nan, Inf or huge value in QVEL
...``, or at every ``MjModel.from_xml_path`` of Gymnasium's MJCF files, the
deprecation of ``settotalmass``) to stderr and appends it to ``MUJOCO_LOG.TXT`` in
the working directory. mjvec counts the engine's warnings per simulation itself
(``env.diagnostics()``), so the text is only a hint: the first message of each kind
goes to the ``mjvec.mujoco`` logger, the rest are dropped, and no file is written.

The handler is MuJoCo's process-wide ``mju_user_warning``. ``import mjvec`` installs
it only if none is installed: a handler of the user's own is never replaced (and
then decides what is printed or written); one installed later replaces mjvec's.
"""

from __future__ import annotations

import logging
import re
import threading

import mujoco

__all__ = ["route_mujoco_warnings", "logger"]

logger = logging.getLogger("mjvec.mujoco")

_lock = threading.Lock()
_seen: set[str] = set()
# numbers (DOF, time, sizes) vary between occurrences of one kind of warning
_NUMBER = re.compile(r"[-+]?\d+(\.\d*)?([eE][-+]?\d+)?")


def _on_warning(message: str) -> None:
    # called from MuJoCo's threads (the batch's workers): no exception may escape
    key = _NUMBER.sub("#", message)
    with _lock:
        if key in _seen:
            return
        _seen.add(key)
    logger.warning("MuJoCo: %s (messages like this one are not repeated)", message.strip())


def route_mujoco_warnings() -> bool:
    """Install mjvec's handler unless one is installed; whether mjvec's is in place."""
    current = mujoco.get_mju_user_warning()
    if current is None:
        mujoco.set_mju_user_warning(_on_warning)
        return True
    return current is _on_warning
