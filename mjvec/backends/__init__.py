"""Backends advance a batch of simulations: ``cpu`` (mujoco.batch) and ``mjx`` (JAX).

``mjx`` is imported only when asked for: the core never imports JAX.
"""

from mjvec.backends.base import Backend

__all__ = ["Backend", "make_backend", "BACKENDS", "ARRAY_TYPES"]

BACKENDS = ("cpu", "mjx")
ARRAY_TYPES = ("numpy", "jax")


def make_backend(
    name: str,
    task,
    num_envs: int,
    *,
    array_type: str = "numpy",
    autoreset_mode=None,
    max_episode_steps: int | None = None,
    devices=None,
    **options,
) -> Backend:
    """The backend called ``name`` for ``num_envs`` copies of ``task``.

    ``autoreset_mode`` and ``max_episode_steps`` are for a backend that runs whole
    vector steps (``mjx``); the CPU backend leaves them to ``MjVecEnv``. ``devices``
    picks the JAX devices of ``mjx``.
    """
    if not isinstance(name, str):
        raise TypeError(f"`backend` must be a str, got {type(name).__name__}")
    if name == "cpu":
        if array_type != "numpy":
            raise ValueError(
                f"`array_type` must be 'numpy' with backend='cpu', got {array_type!r}:"
                " JAX arrays come from backend='mjx'"
            )
        if devices is not None:
            raise ValueError(
                f"`devices` picks the JAX devices of backend='mjx', got devices={devices!r} with backend='cpu',"
                " whose threads `nthread` sets"
            )
        from mjvec.backends.cpu import CpuBackend

        return CpuBackend(task, num_envs, **options)
    if name == "mjx":
        try:
            from mjvec.backends.mjx.backend import MjxBackend
        except ImportError as e:
            raise ImportError(
                f"backend='mjx' needs JAX and MuJoCo MJX ({e}): pip install 'mjvec[mjx]'"
                " (or jax[cuda12] for NVIDIA GPUs, see docs/mjx.md)"
            ) from e
        return MjxBackend(
            task, num_envs, array_type=array_type, autoreset_mode=autoreset_mode,
            max_episode_steps=max_episode_steps, devices=devices, **options,
        )
    from mjvec.validation import did_you_mean

    raise ValueError(f"`backend` must be one of {BACKENDS}, got {name!r}{did_you_mean(name, BACKENDS)}")
