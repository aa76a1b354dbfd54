"""The MJX backend (``backend="mjx"``): the episode rules and MuJoCo MJX in one jitted step.

- ``backend``: ``MjxBackend``, the edge (seeds, inputs and outputs between host and device).
- ``program``: the jitted vector step and reset, and their static ``Program``.
- ``simulation``: ``MjxSimulation``, a batched ``mjx.Data`` advanced and reset functionally.
- ``ops``: ``JaxOps``, the episode rules' primitives under ``jit``.
- ``random``: ``JaxRandom``, one key per env; ``randomize``: per-env model parameters.
- ``devices``: JAX devices, sharding, the compilation cache; ``engine``: ``mujoco.mjx`` itself.

Importing this package imports JAX; ``import mjvec`` never does.
"""

from mjvec.backends.mjx.backend import FAULT_KINDS, MjxBackend, UnsupportedFeatureError, put_model
from mjvec.backends.mjx.devices import configure_compilation_cache, env_sharding, local_devices
from mjvec.backends.mjx.engine import mjx

__all__ = [
    "MjxBackend", "UnsupportedFeatureError", "put_model", "FAULT_KINDS", "configure_compilation_cache",
    "env_sharding", "local_devices", "mjx",
]
