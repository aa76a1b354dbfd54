"""The MJX backend's env axis on 1 device against the same batch sharded over several.

    pip install -e ".[mjx]"
    python scripts/bench_sharding.py --out docs/scaling/bench_sharding.json
    python scripts/bench_sharding.py --tasks Hopper-v5 --num-envs 512 --rounds 9

On a machine without several accelerators this runs on JAX's CPU split into
``--devices`` host devices (``XLA_FLAGS=--xla_force_host_platform_device_count``, set
here before JAX starts unless already set): the same sharding code path as several
GPUs, with each device a share of this machine's cores. Contenders, each stepping the
same task with the same random actions, NumPy out (what a Gymnasium learner gets):

- ``mjx 1dev``: ``mjvec.make(task, N, backend="mjx", devices=1)``, the whole batch on
  the first device;
- ``mjx {k}dev``: ``devices=k``, the env axis split over ``k`` devices (the default
  when ``k`` devices exist);
- ``cpu {t}t``: the CPU backend with ``t`` threads: what the same cores do without JAX.

Method, as ``mjvec bench``: every contender is compiled and warmed up first (compile
time reported apart), then ``--rounds`` rounds of ``--steps`` vector steps each,
the order rotated each round; a figure is the median over rounds, a ratio the median
of the per-round ratios (paired) to ``mjx 1dev``. Also recorded: this process's CPU
time per env-step and the cores it kept busy (CPU time over wall time), and the
load average. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path


def _force_host_devices(count: int) -> None:
    flag = f"--xla_force_host_platform_device_count={count}"
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {flag}".strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["HalfCheetah-v5", "Hopper-v5"])
    parser.add_argument("--num-envs", nargs="+", type=int, default=[64, 256, 512])
    parser.add_argument("--devices", type=int, default=2, help="host devices to split JAX's CPU into")
    parser.add_argument("--cpu-threads", type=int, default=2, help="threads of the CPU-backend reference")
    parser.add_argument("--steps", type=int, default=20, help="vector steps per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, the order rotated each round")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args(argv)
    _force_host_devices(args.devices)  # before JAX starts

    import jax
    import numpy as np

    import mjvec
    from mjvec.tools.bench_common import Runner, machine
    from mjvec.tools.bench_mjx import TASK_KWARGS

    warnings.filterwarnings("ignore", message="compiler attribute 'settotalmass'")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    devices = jax.local_devices()
    if len(devices) < args.devices:
        raise SystemExit(f"asked for {args.devices} devices, JAX has {len(devices)}: {devices}")
    platform = devices[0].platform
    log(f"JAX {jax.__version__} on {len(devices)} x {devices[0].device_kind} ({platform}); XLA_FLAGS="
        f"{os.environ.get('XLA_FLAGS', '')!r}")
    names = ["mjx 1dev", f"mjx {args.devices}dev", f"cpu {args.cpu_threads}t"]
    info = machine()
    results = []
    for task_id in args.tasks:
        kwargs = TASK_KWARGS.get(task_id, {})
        space = mjvec.make_task(task_id, **kwargs).single_action_space
        for n in args.num_envs:
            if n % args.devices:
                log(f"skipping N={n}: not a multiple of {args.devices} devices")
                continue
            pool = np.random.default_rng(args.seed).uniform(space.low, space.high, (16, n, *space.shape))
            runners, cpu_s = [], {}  # cpu_s[name]: the process's CPU seconds of each round
            for name in names:
                t0 = time.perf_counter()
                if name.startswith("mjx"):
                    env = mjvec.make(task_id, n, backend="mjx", devices=int(name.split()[1][:-3]), **kwargs)
                    actions = pool.astype(np.float32)
                else:
                    env = mjvec.make(task_id, n, nthread=args.cpu_threads, **kwargs)
                    actions = pool
                env.reset(seed=args.seed)
                runner = Runner(name, env, actions)
                runner.run(3)  # compiles (MJX), then warms up
                runner.setup_s = time.perf_counter() - t0
                log(f"{task_id} N={n} {name}: ready in {runner.setup_s:.1f} s")
                runners.append(runner)
                cpu_s[name] = []
            for r in range(args.rounds):
                k = r % len(runners)
                for runner in runners[k:] + runners[:k]:
                    wall, cpu = runner.run(args.steps)
                    runner.seconds.append(wall)
                    cpu_s[runner.name].append(cpu)
            base = runners[0]
            for runner in runners:
                rates = [n * args.steps / s for s in runner.seconds]
                cpu = cpu_s[runner.name]
                results.append({
                    "task": task_id, "num_envs": n, "contender": runner.name, "setup_s": runner.setup_s,
                    "steps_per_s": statistics.median(rates), "steps_per_s_rounds": rates,
                    "vs_1dev_paired": statistics.median(a / b for a, b in zip(base.seconds, runner.seconds)),
                    "cpu_us_per_step": 1e6 * statistics.median(cpu) / (n * args.steps),
                    "cores_busy": statistics.median(c / s for c, s in zip(cpu, runner.seconds)),
                })
                runner.env.close()
            log(table(results[-len(runners):]))
    info["load_average_after"] = list(os.getloadavg())
    print(f"\nenv-steps/s, median of {args.rounds} interleaved rounds of {args.steps} vector steps; paired: median"
          f" of per-round ratios to 'mjx 1dev'; JAX {platform} as {args.devices} devices; NumPy out; load average"
          f" before {info['load_average'][0]:.2f}, after {info['load_average_after'][0]:.2f}")
    print(table(results))
    if args.out:
        config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        info["jax"] = {"version": jax.__version__, "platform": platform, "devices": [str(d) for d in devices],
                       "xla_flags": os.environ.get("XLA_FLAGS", "")}
        args.out.write_text(json.dumps({"machine": info, "config": config, "results": results}, indent=2))
        print(f"wrote {args.out}")
    return 0


def table(results: list[dict]) -> str:
    head = f"{'task':<16}{'N':>6}  {'contender':<10}{'ready s':>9}{'steps/s':>10}{'paired':>8}{'CPU us/step':>13}"
    head += f"{'cores busy':>12}"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['task']:<16}{r['num_envs']:>6}  {r['contender']:<10}{r['setup_s']:>9.1f}{r['steps_per_s']:>10,.0f}"
            f"{r['vs_1dev_paired']:>8.2f}{r['cpu_us_per_step']:>13.1f}{r['cores_busy']:>12.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
