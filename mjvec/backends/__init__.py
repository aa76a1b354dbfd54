"""Backends advance a batch of simulations: ``cpu`` (mujoco.batch) and, later, ``mjx``."""

from mjvec.backends.base import Backend

__all__ = ["Backend", "make_backend", "BACKENDS"]

BACKENDS = ("cpu",)


def make_backend(name: str, task, num_envs: int, **options) -> Backend:
    """The backend called ``name`` for ``num_envs`` copies of ``task``."""
    if name == "cpu":
        from mjvec.backends.cpu import CpuBackend

        return CpuBackend(task, num_envs, **options)
    raise ValueError(f"`backend` must be one of {BACKENDS}, got {name!r}")
