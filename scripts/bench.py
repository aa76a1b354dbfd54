"""Benchmark mjvec against Gymnasium's vector envs, EnvPool and a bare mujoco.batch loop.

    python scripts/bench.py --json bench.json --plot bench.png     # same as `mjvec bench ...`
    python scripts/bench.py --quick                                # a smoke run, < 1 min

Options, method and what each contender does: `python scripts/bench.py --help`
and the docstring of `mjvec/tools/bench.py`.
"""

import sys

from mjvec.tools.bench import main

if __name__ == "__main__":
    sys.exit(main())
