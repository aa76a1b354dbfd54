"""Env-steps/s of the Control Suite: dm_control's own environment against mjvec, one env and N envs.

Run in an environment where dm_control imports (MuJoCo 3.17, e.g. `.venv-dmc`):

    python scripts/bench_dm_control.py --tasks CheetahRun-v0 WalkerWalk-v0 --num-envs 1 16 64 --seconds 3

dm_control with N envs is N `suite.load` environments stepped in a Python loop (what a
`SyncVectorEnv` of them does, without its wrapper overhead); mjvec is one `MjVecEnv` of N envs.
Both take the same uniform random actions, drawn before the timed loop; resets are included
(dm_control's after its 1000th step, mjvec's autoreset).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "disable")

import numpy as np
from dm_control import suite

import mjvec
from mjvec.envs.dm_control import SUITE

_REF = {row[0]: row[3] for row in SUITE}


def _timed(step, actions, seconds: float) -> float:
    """Calls of ``step`` per second over about ``seconds``, cycling through ``actions``."""
    k, calls, start = len(actions), 0, time.perf_counter()
    while True:
        for _ in range(50):
            step(actions[calls % k])
            calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed


def dm_control_rate(env_id: str, n: int, seconds: float) -> float:
    domain, task = _REF[env_id]
    envs = [suite.load(domain, task, task_kwargs={"random": i}) for i in range(n)]
    for env in envs:
        env.reset()
    spec = envs[0].action_spec()
    actions = np.random.default_rng(0).uniform(spec.minimum, spec.maximum, (64, n, *spec.shape))

    def step(a):
        for env, ai in zip(envs, a):
            env.step(ai)  # dm_control resets by itself on the step after the last

    return n * _timed(step, actions, seconds)


def mjvec_rate(env_id: str, n: int, nthread: int, seconds: float) -> float:
    env = mjvec.make(env_id, n, nthread=nthread)
    env.reset(seed=0)
    space = env.single_action_space
    actions = np.random.default_rng(0).uniform(space.low, space.high, (64, n, *space.shape)).astype(np.float32)
    try:
        return n * _timed(env.step, actions, seconds)
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["CartpoleSwingup-v0", "CheetahRun-v0", "WalkerWalk-v0"])
    parser.add_argument("--num-envs", nargs="+", type=int, default=[1, 16, 64])
    parser.add_argument("--nthread", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| task | N | dm_control steps/s | " + " | ".join(f"mjvec nthread={t}" for t in args.nthread) + " |")
    print("|---|---|---|" + "---|" * len(args.nthread))
    for env_id in args.tasks:
        for n in args.num_envs:
            ref = dm_control_rate(env_id, n, args.seconds)
            ours = [mjvec_rate(env_id, n, t, args.seconds) for t in args.nthread if t <= n]
            cells = " | ".join(f"{r:,.0f} ({r / ref:.1f}x)" for r in ours)
            print(f"| {env_id} | {n} | {ref:,.0f} | {cells} |", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
