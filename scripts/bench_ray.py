"""Env-steps/s of one MjVecEnv against a RayVecEnv of 1 and 2 Ray actors, on one machine.

    pip install -e ".[ray]"
    python scripts/bench_ray.py --out docs/scaling/bench_ray.json      # ~4 min
    python scripts/bench_ray.py --tasks Humanoid-v5 --num-envs 256 --rounds 9

Configurations, each stepping the same task with the same random actions:

- ``local 1t`` / ``local 2t``: one ``MjVecEnv`` in this process, 1 or 2 threads (the
  batch's own thread pool: what a single machine should use);
- ``ray 1x1t`` / ``ray 1x2t``: a ``RayVecEnv`` of one actor with 1 or 2 threads: the
  cost of the Ray round trip alone;
- ``ray 2x1t``: two actors of one thread each, half the envs each: the scale-out
  shape, here squeezed onto one machine.

The local Ray cluster is bound to the loopback interface. Also measured: the
round trip of a no-op call to 1 and 2 actors (the floor of a Ray step). Method,
as ``mjvec bench``: every configuration stays open, and ``--rounds`` rounds each
time every configuration for ``--seconds``, the order rotated each round; a figure
is the median over rounds, and a ratio is "paired": the median over rounds of the
ratio within a round, which holds up better against other load on a shared
machine. Also recorded: CPU microseconds per env-step, summed over this process and
the actor processes (what a configuration costs in work, which other load does not
stretch), and the load average. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

# Ray's single-machine mode: all of Ray's processes bind to and talk over 127.0.0.1.
# Read when ray is imported.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import mujoco  # noqa: E402
import ray  # noqa: E402

import mjvec  # noqa: E402
import mjvec.distributed  # noqa: E402

# MuJoCo 4.0 deprecates an attribute of Gymnasium's MJCF files: once per model, not news here
warnings.filterwarnings("ignore", message="compiler attribute 'settotalmass'")

# name -> (actors, threads per actor); actors 0: an MjVecEnv in this process
CONFIGS = {
    "local 1t": (0, 1),
    "local 2t": (0, 2),
    "ray 1x1t": (1, 1),
    "ray 1x2t": (1, 2),
    "ray 2x1t": (2, 1),
}


def _make(task: str, num_envs: int, actors: int, threads: int):
    if actors == 0:
        return mjvec.make(task, num_envs, nthread=threads)
    return mjvec.distributed.make(task, num_envs, num_actors=actors, num_cpus_per_actor=threads)


def _base(names: list[str]) -> str:
    """The configuration ratios are taken to: one MjVecEnv on 2 threads, what one machine should use."""
    return "local 2t" if "local 2t" in names else names[0]


def _cpu_seconds(env) -> float:
    """CPU time of this process and of the env's actor processes (Linux /proc), all threads."""
    total = time.process_time()
    for info in getattr(env, "actor_info", ()):
        with open(f"/proc/{info['pid']}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return total


def _window(env, actions: np.ndarray, seconds: float) -> tuple[float, float]:
    """env-steps/s of one window of about ``seconds``, and CPU microseconds per env-step.

    CPU time is not stretched by other load the way wall time is: it shows what the
    Ray round trip costs in work, where the machine is too busy to show it in speed.
    """
    steps, cpu, start = 0, _cpu_seconds(env), time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        env.step(actions[steps % len(actions)])
        steps += 1
    env_steps = steps * env.num_envs
    return env_steps / elapsed, (_cpu_seconds(env) - cpu) / env_steps * 1e6


def _measure(task: str, num_envs: int, args: argparse.Namespace) -> dict:
    """Every configuration on the same actions, in interleaved rounds; medians and paired ratios."""
    probe = mjvec.make(task, 1, nthread=1)
    space = probe.single_action_space
    probe.close()
    actions = np.random.default_rng(0).uniform(space.low, space.high, (64, num_envs, *space.shape))
    envs = {}
    try:
        for name in args.configs:
            actors, threads = CONFIGS[name]
            if actors <= num_envs:
                envs[name] = _make(task, num_envs, actors, threads)
                envs[name].reset(seed=0)
                for a in actions[:10]:  # warm-up
                    envs[name].step(a)
        rounds: dict[str, list[float]] = {name: [] for name in envs}
        cpu: dict[str, list[float]] = {name: [] for name in envs}
        names = list(envs)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                rate, cpu_us = _window(envs[name], actions, args.seconds)
                rounds[name].append(rate)
                cpu[name].append(cpu_us)
    finally:
        for env in envs.values():
            env.close()
    base = rounds[_base(names)]
    rates = {
        name: {
            "median": statistics.median(values),
            "paired_ratio": statistics.median(v / b for v, b in zip(values, base)),
            "all": values,
            "cpu_us_per_env_step": statistics.median(cpu[name]),
        }
        for name, values in rounds.items()
    }
    return {"task": task, "num_envs": num_envs, "rates": rates, "load_avg": os.getloadavg()[0]}


@ray.remote(num_cpus=0)
class _Echo:
    def step(self, actions):
        return actions


def _round_trip_us(num_actors: int, calls: int = 300) -> float:
    """Median microseconds of a fan-out/gather of no-op calls to ``num_actors`` actors."""
    actors = [_Echo.remote() for _ in range(num_actors)]
    payload = np.zeros((32, 8))
    ray.get([a.step.remote(payload) for a in actors])
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        ray.get([a.step.remote(payload) for a in actors])
        times.append(time.perf_counter() - start)
    for a in actors:
        ray.kill(a)
    return statistics.median(times) * 1e6


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["HalfCheetah-v5", "Humanoid-v5"])
    parser.add_argument("--num-envs", nargs="+", type=int, default=[16, 64, 256])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timed window")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, the order rotated each round")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args(argv)

    cpus = len(os.sched_getaffinity(0))
    # all configurations stay open at once so that their windows interleave; an env not
    # being stepped is idle, so Ray's CPU count is a logical one, large enough for all
    ray.init(num_cpus=4 * cpus, include_dashboard=False, log_to_driver=False)
    results = []
    try:
        round_trip = {n: _round_trip_us(n) for n in (1, 2)}
        print(f"Ray no-op fan-out/gather: {round_trip[1]:.0f} us (1 actor), {round_trip[2]:.0f} us (2 actors)")
        base = _base(args.configs)
        header = f"{'task':<16} {'N':>5} " + " ".join(f"{c:>10}" for c in args.configs)
        print(f"\nenv-steps/s, median of {args.rounds} interleaved rounds of {args.seconds}s"
              f" (in brackets: paired ratio to {base!r}), {cpus} CPUs\n{header}")
        for task in args.tasks:
            for num_envs in args.num_envs:
                results.append(row := _measure(task, num_envs, args))
                cells = " ".join(
                    f"{row['rates'][c]['median']:>10.0f}" if c in row["rates"] else f"{'-':>10}" for c in args.configs
                )
                ratios = " ".join(
                    f"{'(' + format(row['rates'][c]['paired_ratio'], '.2f') + ')':>10}" if c in row["rates"]
                    else f"{'':>10}" for c in args.configs
                )
                cpu_cells = " ".join(
                    f"{format(row['rates'][c]['cpu_us_per_env_step'], '.1f') + ' us':>10}" if c in row["rates"]
                    else f"{'':>10}" for c in args.configs
                )
                print(f"{task:<16} {num_envs:>5} {cells}\n{'':<22} {ratios}\n{'CPU per env-step':<22} {cpu_cells}")
    finally:
        ray.shutdown()

    report = {
        "what": "env-steps/s: one MjVecEnv in-process vs RayVecEnv with 1 and 2 actors",
        "configs": {name: {"actors": a, "threads_per_actor": t} for name, (a, t) in CONFIGS.items()},
        "ray_round_trip_us": {str(k): v for k, v in round_trip.items()},
        "machine": {
            "cpus": cpus,
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "mujoco": mujoco.__version__,
            "ray": ray.__version__,
            "load_avg_at_end": os.getloadavg(),
        },
        "settings": {"seconds": args.seconds, "rounds": args.rounds, "paired_ratio_to": _base(args.configs)},
        "results": results,
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
