"""Cost of domain randomization redrawn at every reset: ``python scripts/bench_randomize.py``.

Two envs of one task side by side in one process, the same seed and actions:
``plain`` (``mjvec.make(task, N)``) and ``randomized`` (the same with ``randomize=``
over masses (and so inertias), friction, damping, actuator gears and gravity, all
redrawn at every reset, followed by ``mj_setConst``). Episodes end at the time
limit (1000 steps for HalfCheetah-v5), so every env resets once per 1000 steps, as
in training; ``--episode-steps`` shortens episodes to show the per-reset cost.

Method: ``--rounds`` interleaved rounds (order alternating), each running both envs
``--steps`` vector steps; reported: median env-steps/s of each, and the median of
the within-round ratio (steadier on a loaded machine). Writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

import mjvec

RANDOMIZE = {
    "body_mass": mjvec.Uniform(0.8, 1.2),
    "geom_friction": mjvec.Uniform([0.5, 1, 1], [1.5, 1, 1]),
    "dof_damping": mjvec.Uniform(0.8, 1.2),
    "actuator_gear": mjvec.Uniform(0.9, 1.1),
    "opt.gravity": mjvec.Normal(0.0, [0.0, 0.0, 0.3], mode="add"),
}


def run(env, actions: np.ndarray, steps: int, start: int) -> float:
    t = time.perf_counter()
    for k in range(start, start + steps):
        env.step(actions[k % len(actions)])
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="HalfCheetah-v5")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--nthread", type=int, default=None)
    p.add_argument("--episode-steps", type=int, nargs="+", default=[1000, 100])
    p.add_argument("--steps", type=int, default=2000, help="vector steps per contender per round")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--out", default=os.path.join("docs", "bench", "randomize.json"))
    args = p.parse_args()

    results = []
    for episode in args.episode_steps:
        envs = {
            "plain": mjvec.make(args.task, args.num_envs, nthread=args.nthread, max_episode_steps=episode),
            "randomized": mjvec.make(
                args.task, args.num_envs, nthread=args.nthread, max_episode_steps=episode, randomize=RANDOMIZE
            ),
        }
        space = envs["plain"].action_space
        space.seed(0)
        actions = np.stack([space.sample() for _ in range(256)])
        for env in envs.values():
            env.reset(seed=0)
            run(env, actions, min(args.steps, 500), 0)  # warm-up
        rates = {k: [] for k in envs}
        ratios = []
        step = 0
        for r in range(args.rounds):
            order = list(envs) if r % 2 == 0 else list(envs)[::-1]
            secs = {k: run(envs[k], actions, args.steps, step) for k in order}
            step += args.steps
            for k, s in secs.items():
                rates[k].append(args.num_envs * args.steps / s)
            ratios.append(secs["plain"] / secs["randomized"])
        row = {
            "task": args.task,
            "num_envs": args.num_envs,
            "episode_steps": episode,
            "plain_steps_per_s": statistics.median(rates["plain"]),
            "randomized_steps_per_s": statistics.median(rates["randomized"]),
            "paired_ratio": statistics.median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
        }
        results.append(row)
        for env in envs.values():
            env.close()

    print(f"{'task':16} {'N':>4} {'episode':>7} {'plain/s':>10} {'randomized/s':>12} {'randomized/plain':>16}")
    for r in results:
        print(
            f"{r['task']:16} {r['num_envs']:>4} {r['episode_steps']:>7} {r['plain_steps_per_s']:>10.0f}"
            f" {r['randomized_steps_per_s']:>12.0f} {r['paired_ratio']:>10.3f} [{r['ratio_min']:.3f}, {r['ratio_max']:.3f}]"
        )
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                   "args": vars(args), "randomize": {k: repr(v) for k, v in RANDOMIZE.items()},
                   "results": results}, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
