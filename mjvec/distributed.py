"""``mjvec.distributed``: ``RayVecEnv`` and ``make`` over Ray actors (the ``ray`` extra).

The code is in ``mjvec.integrations.ray`` (RayVecEnv) and ``ray_make`` (make); this is its public name.
"""

from mjvec.integrations.ray import EnvActorDiedError, RayVecEnv
from mjvec.integrations.ray_make import make

__all__ = ["EnvActorDiedError", "RayVecEnv", "make"]
