"""``mjvec.sb3.SB3VecEnv``: the Stable-Baselines3 adapter (the ``sb3`` extra).

The code is in ``mjvec.integrations.sb3``; this is its public name.
"""

from mjvec.integrations.sb3 import *  # noqa: F401,F403
from mjvec.integrations.sb3 import __all__  # noqa: F401
