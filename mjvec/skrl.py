"""``mjvec.skrl.FinalObservations``: the skrl glue (the ``skrl`` extra).

The code is in ``mjvec.integrations.skrl``; this is its public name.
"""

from mjvec.integrations.skrl import *  # noqa: F401,F403
from mjvec.integrations.skrl import __all__  # noqa: F401
