"""The checks every mjvec ``VectorEnv`` makes of its calls: ``MjVecEnv`` and ``RayVecEnv``.

``reset``'s seeds, options and mask, ``step``'s order (reset first; in DISABLED mode
no ended env), and the one-thread guard: all refused before anything runs, with the
same messages whichever env is called.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from mjvec import validation

__all__ = ["CheckedCalls", "exclusive", "autoreset_mode"]


def autoreset_mode(mode: Any) -> AutoresetMode:
    """``mode`` as Gymnasium's ``AutoresetMode`` (or its name, in any case)."""
    if isinstance(mode, AutoresetMode):
        return mode
    if isinstance(mode, str):
        for m in AutoresetMode:
            if mode in (m.value, m.name, m.name.lower()):
                return m
        names = [m.name.lower() for m in AutoresetMode]
        raise ValueError(
            f"`autoreset_mode` must be an AutoresetMode or one of {names},"
            f" got {mode!r}{validation.did_you_mean(mode, names)}"
        )
    raise TypeError(f"`autoreset_mode` must be an AutoresetMode or a str, got {type(mode).__name__}")


def exclusive(method):
    """A method that refuses to run while another thread is inside a guarded method of the same env."""

    name = method.__name__

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        self._acquire(name)  # inline rather than `with self._exclusive()`: a third of the cost per step
        try:
            return method(self, *args, **kwargs)
        finally:
            self._lock.release()

    return guarded


class CheckedCalls:
    """What ``reset`` and ``step`` check before anything runs; mixed into a ``VectorEnv``.

    The env sets ``num_envs`` and ``autoreset_mode`` and calls ``_init_calls()``;
    ``_check_usable()`` is its own (closed, failed).
    """

    def _init_calls(self) -> None:
        self._ended = np.zeros(self.num_envs, dtype=np.bool_)  # DISABLED: ended, not yet reset
        self._needs_reset = True
        self._broken: str | None = None  # why the state may be inconsistent: a call that did not finish
        self._lock = threading.Lock()

    def _interrupted(self, method: str, error: BaseException) -> None:
        """A ``step``/``reset`` stopped midway (Ctrl-C, an error in a task function): the simulations may
        have advanced while the episode state did not, so the env needs a full ``reset()``."""
        self._needs_reset = True
        self._broken = f"the previous `{method}()` did not finish ({type(error).__name__}"
        self._broken += f": {error})" if str(error) else ")"

    def _check_usable(self) -> None:
        """Raise if the env can no longer be used (closed)."""

    @contextlib.contextmanager
    def _exclusive(self, method: str):
        """Refuse a call while another thread is inside one.

        Serializing would hide a bug (two learners stepping one batch interleave their
        episodes); a non-blocking lock costs well under a microsecond.
        """
        self._acquire(method)
        try:
            yield
        finally:
            self._lock.release()

    def _acquire(self, method: str) -> None:
        self._check_usable()
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(
                f"`{method}()` was called while another thread is inside a call of this {type(self).__name__}:"
                " an env may be used from one thread at a time; give each thread its own env, or serialize"
                " the calls with your own lock"
            )

    def _reset_args(self, seed: Any, options: Any) -> tuple[np.ndarray | None, list, dict]:
        """``(mask or None for all, one seed per env, options)`` of a ``reset`` call, checked."""
        options = validation.check_options(options)
        seeds = validation.check_seeds(seed, self.num_envs)
        mask = None
        if "reset_mask" in options:
            if self._needs_reset:
                why = f"{self._broken}, so the env may be inconsistent: it" if self._broken else "it"
                raise RuntimeError(f"`options['reset_mask']` cannot be used now: {why} needs a `reset()` of all"
                                   " environments first")
            mask = validation.check_reset_mask(options["reset_mask"], self.num_envs)
        return mask, list(seeds), options

    def _reset_done(self, mask: np.ndarray | None) -> None:
        self._ended = np.zeros_like(self._ended) if mask is None else self._ended & ~mask
        self._needs_reset = False
        self._broken = None

    def _check_step(self) -> None:
        if self._needs_reset:
            if self._broken:
                raise RuntimeError(
                    f"{self._broken}: the simulations may have advanced while the episode state did not; call"
                    " `env.reset()` first"
                )
            raise RuntimeError("`step()` was called before `reset()`: call `env.reset()` first")
        if self.autoreset_mode is AutoresetMode.DISABLED and self._ended.any():
            raise RuntimeError(
                f"environments {np.flatnonzero(self._ended)[:10].tolist()} have ended and `autoreset_mode` is"
                " DISABLED: reset them with `env.reset(options={'reset_mask': mask})` before stepping"
            )

    def _step_done(self, terminated: Any, truncated: Any) -> None:
        if self.autoreset_mode is AutoresetMode.DISABLED:
            self._ended = np.asarray(terminated | truncated)
