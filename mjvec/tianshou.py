"""``mjvec.tianshou.TianshouVectorEnv``: the Tianshou adapter (the ``tianshou`` extra).

The code is in ``mjvec.integrations.tianshou``; this is its public name.
"""

from mjvec.integrations.tianshou import *  # noqa: F401,F403
from mjvec.integrations.tianshou import __all__  # noqa: F401
