"""Backends: ``cpu`` (mujoco.batch) and ``mjx`` (JAX), behind one protocol (``base.Backend``).

``make_backend`` is the one place that refuses the options a backend cannot honour,
with the reason. ``mjx`` is imported only when asked for: the core never imports JAX.
"""

from __future__ import annotations

from typing import Any

from mjvec.backends.base import Backend
from mjvec.validation import did_you_mean

__all__ = ["Backend", "make_backend", "BACKENDS", "ARRAY_TYPES", "MJX_IMPLS"]

BACKENDS = ("cpu", "mjx")
#: MJX's implementations (``impl=``; None picks warp on one CUDA device where it loads, else jax)
MJX_IMPLS = ("warp", "jax")
#: what ``array_type`` each backend can hand out
ARRAY_TYPES = {"cpu": ("numpy", "torch"), "mjx": ("numpy", "jax", "torch")}
# the options only one backend has, and why the other cannot honour them
_ONLY = {
    "nthread": ("cpu", "`nthread` sets the CPU backend's threads; backend='mjx' runs on JAX's devices"),
    "variants": (
        "cpu",
        "`variants` (per-env compiled models) are not available on backend='mjx': vary model parameters"
        " with `randomize=`, or use backend='cpu'",
    ),
    "devices": ("mjx", "`devices` picks the JAX devices of backend='mjx'; the CPU backend's threads are set by `nthread`"),
    "impl": ("mjx", "`impl` picks MJX's implementation ('warp' or 'jax') of backend='mjx'; the CPU backend runs MuJoCo"
             " itself"),
}


def check_backend_options(name: Any, array_type: Any, **options: Any) -> str:
    """``name`` checked, and the options it cannot honour refused (``None`` is always allowed)."""
    if not isinstance(name, str):
        raise TypeError(f"`backend` must be a str, got {type(name).__name__}")
    if name not in BACKENDS:
        raise ValueError(f"`backend` must be one of {BACKENDS}, got {name!r}{did_you_mean(name, BACKENDS)}")
    if not isinstance(array_type, str):
        raise TypeError(f"`array_type` must be a str, got {type(array_type).__name__}")
    allowed = ARRAY_TYPES[name]
    if array_type not in allowed:
        every = sorted({t for types in ARRAY_TYPES.values() for t in types})
        if array_type in every:
            raise ValueError(
                f"`array_type` must be {' or '.join(map(repr, allowed))} with backend={name!r}, got {array_type!r}:"
                f" {array_type} arrays come from backend={next(b for b, t in ARRAY_TYPES.items() if array_type in t)!r}"
            )
        raise ValueError(
            f"`array_type` must be one of {allowed} with backend={name!r}, got {array_type!r}"
            f"{did_you_mean(array_type, every)}"
        )
    impl = options.get("impl")
    if impl is not None and name == "mjx":
        if not isinstance(impl, str):
            raise TypeError(f"`impl` must be None, 'warp' or 'jax', got {type(impl).__name__}")
        if impl not in MJX_IMPLS:
            raise ValueError(f"`impl` must be None, 'warp' or 'jax', got {impl!r}{did_you_mean(impl, MJX_IMPLS)}")
    for option, value in options.items():
        only, why = _ONLY[option]
        if value is not None and name != only:
            raise ValueError(f"{why}, got {option}={value!r} with backend={name!r}")
    return name


def make_backend(name: str, rules, num_envs: int, observation_space, *, array_type: str = "numpy",
                 nthread: int | None = None, variants=None, devices=None, actions=None,
                 obs_dtypes=None, impl=None) -> Backend:
    """The backend called ``name`` for ``num_envs`` envs under the episode ``rules``.

    ``observation_space`` is the task's (batched); ``obs_dtypes``, the dtypes the caller
    gets (a tree shaped as the observation, ``outputs.obs_dtypes``), or None for the task's.
    """
    check_backend_options(name, array_type, nthread=nthread, variants=variants, devices=devices, impl=impl)
    if name == "cpu":
        from mjvec.backends.cpu import CpuBackend

        return CpuBackend(rules, num_envs, observation_space, nthread=nthread, actions=actions, variants=variants,
                          obs_dtypes=obs_dtypes, array_type=array_type)
    if getattr(rules.task, "rejects_reset", False):
        raise ValueError(
            f"{type(rules.task).__name__} draws its reset states again until the simulated state is accepted"
            " (Task.reset_rejected, e.g. no contact), an eager loop that backend='mjx' does not run inside its jit;"
            " use backend='cpu'"
        )
    try:
        from mjvec.backends.mjx import MjxBackend
    except ImportError as e:
        raise ImportError(
            f"backend='mjx' needs JAX and MuJoCo MJX ({e}): pip install 'mjvec[mjx]'"
            " (or jax[cuda12] for NVIDIA GPUs, see docs/mjx.md)"
        ) from e
    return MjxBackend(rules, num_envs, observation_space, array_type=array_type, actions=actions, devices=devices,
                      obs_dtypes=obs_dtypes, impl=impl)
