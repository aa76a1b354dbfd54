"""Where the MJX backend's arrays live: JAX's devices, the env axis split over them, and the
persistent compilation cache."""

from __future__ import annotations

import os
import warnings
from typing import Any

import jax
import mujoco
import numpy as np

from mjvec import validation

__all__ = ["configure_compilation_cache", "local_devices", "env_sharding", "warn_cpu_lapack", "CPU_LAPACK_SAFE_BATCH"]


def configure_compilation_cache() -> str | None:
    """Point JAX's persistent compilation cache at ``MJVEC_JAX_CACHE``, by default
    ``$XDG_CACHE_HOME/mjvec/jax`` (``~/.cache/mjvec/jax``); returns the folder, or None.

    A recompile of the same program then takes about a second instead of tens. A
    cache folder the user configured in JAX is kept; ``MJVEC_JAX_CACHE=0`` turns
    this off. JAX reads it at its first compilation in the process.
    """
    setting = os.environ.get("MJVEC_JAX_CACHE")
    if setting is not None and setting.strip().lower() in ("", "0", "off", "false", "none"):
        return None
    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    if not setting:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        setting = os.path.join(base, "mjvec", "jax")
    jax.config.update("jax_compilation_cache_dir", setting)
    return setting


configure_compilation_cache()


def local_devices(devices: Any = None) -> list:
    """The local JAX devices ``devices`` names: None for all, a count (the first ``k``), or a list."""
    local = jax.local_devices()
    if devices is None:
        return local
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, (bool, np.bool_)):
        k = validation.check_positive_int(devices, "devices")
        if k > len(local):
            raise ValueError(f"`devices`={k}, but this process has {len(local)} local JAX devices: {local}")
        return local[:k]
    if isinstance(devices, jax.Device):
        devices = [devices]
    if isinstance(devices, (str, bytes)) or not hasattr(devices, "__iter__"):
        raise TypeError(
            f"`devices` must be None, a device count or a sequence of jax.Device, got {type(devices).__name__}"
        )
    devices = list(devices)
    if not devices:
        raise ValueError("`devices` is empty: give None for every local device, or at least one device")
    for d in devices:
        if not isinstance(d, jax.Device):
            raise TypeError(f"`devices` must hold jax.Device objects (jax.local_devices()), got {type(d).__name__}")
        if d not in local:
            raise ValueError(f"`devices`: {d} is not a local device of this process; local devices: {local}")
    if len(set(devices)) != len(devices):
        raise ValueError(f"`devices` names a device more than once: {devices}")
    return devices


def env_sharding(num_envs: int, devices: Any = None):
    """A ``NamedSharding`` that splits the env axis over ``devices`` (all local ones by default), or None.

    None (JAX's default device) when ``devices`` is None and there is one local device,
    and, with a warning, when ``num_envs`` is not a multiple of the local device count:
    the batch then runs on the first device. Devices chosen by the caller must divide
    ``num_envs``.
    """
    chosen = local_devices(devices)
    if devices is None and len(chosen) < 2:
        return None
    if num_envs % len(chosen):
        if devices is not None:
            raise ValueError(
                f"num_envs={num_envs} is not a multiple of the {len(chosen)} devices in `devices`: each device"
                " steps an equal share of the envs"
            )
        warnings.warn(
            f"num_envs={num_envs} is not a multiple of the {len(chosen)} local JAX devices: the MJX batch runs"
            f" on {chosen[0]} alone; make num_envs a multiple of {len(chosen)} to use them all"
            " (or pick devices with `devices=`)",
            stacklevel=4,
        )
        return None
    mesh = jax.sharding.Mesh(np.array(chosen), ("envs",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("envs"))


#: envs per JAX CPU device above which ``_warn_cpu_lapack`` warns (docs/mjx.md#jaxs-cpu)
CPU_LAPACK_SAFE_BATCH = 512


def warn_cpu_lapack(task, per_device: int) -> None:
    """Warn of jaxlib's batched-Cholesky deadlock on JAX's CPU for large batches (Newton solver).

    The batch is on the default backend's devices: ``local_devices`` accepts no others.
    """
    if per_device <= CPU_LAPACK_SAFE_BATCH or task.model.opt.solver != mujoco.mjtSolver.mjSOL_NEWTON:
        return
    if jax.default_backend() != "cpu":
        return
    warnings.warn(
        f"backend='mjx' on JAX's CPU with {per_device} envs per device: jaxlib's batched LAPACK Cholesky (MJX's"
        " Newton solver) can deadlock at this size on a machine with few cores; it was seen with 1024 envs on"
        f" 2 cores, jaxlib 0.10.2 (docs/mjx.md#jaxs-cpu). Keep <= {CPU_LAPACK_SAFE_BATCH} envs per CPU device"
        " (or split them over host devices, XLA_FLAGS=--xla_force_host_platform_device_count=k), or use"
        " backend='cpu', the fast path on CPUs",
        stacklevel=4,
    )


