"""``mjvec.distributed``: ``RayVecEnv`` and ``make`` over Ray actors (the ``ray`` extra).

The code is in ``mjvec.integrations.ray``; this is its public name.
"""

from mjvec.integrations.ray import *  # noqa: F401,F403
from mjvec.integrations.ray import __all__  # noqa: F401
