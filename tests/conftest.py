import warnings

import pytest

# Gymnasium's MJCF files use `settotalmass`, which MuJoCo 4.0 deprecates; the
# reference envs and ours compile the same files.
warnings.filterwarnings("ignore", message=".*settotalmass.*")
