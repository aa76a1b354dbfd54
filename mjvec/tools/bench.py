"""Env-steps per second of mjvec against its peers: ``mjvec bench`` / ``scripts/bench.py``.

Contenders, each stepping ``N`` environments of one task with the same actions:

- ``mjvec``: ``mjvec.make(task, N, nthread=T)``.
- ``bare``: a bare ``mujoco.batch.Batch(model, N, T, persistent=True)`` loop (see
  ``BareBatch``): the same stepping, resets and observation, nothing else. What
  mjvec spends beyond it is mjvec's overhead.
- ``limit``: the same bare loop on one thread (``nthread=1``: MuJoCo runs it on the
  calling thread), timed like the others, its env-steps/s multiplied by
  ``min(T, N)``: the same native work with perfect scaling over the threads (a
  batch of N environments cannot keep more than N threads busy). Not a run at that
  speed but a bound on it. ``bare / limit`` is the bare loop's scaling efficiency
  (its Python part runs on one thread whatever T); ``mjvec / limit`` below 1 is
  mjvec's Python overhead and the imperfect scaling together. It assumes T idle
  cores. With ``T = 1`` it is the bare loop again, measured apart.
- ``rollout``: mjvec's ``env.rollout`` of an env in DISABLED mode, T steps (at most
  100, dividing a round) per native call, ended envs reset between rollouts
  (``mjvec.tools.bench_rollout``); a row for planners and data collection.
- ``envpool``: ``envpool.make_gymnasium(task, num_envs=N, num_threads=T, seed=...)``.
- ``gym-sync``: ``gymnasium.make_vec(task, N, vectorization_mode="sync")``, one
  thread by nature.
- ``gym-async``: ``vectorization_mode="async"``, one process per environment; by
  default only for ``N <= 64`` (``--async-max-envs``), as it starts N processes.

Episodes end and reset as the tasks say (termination and the 1000-step time
limit), in Gymnasium's default NEXT_STEP autoreset for everyone. Actions are
uniform in the action space, drawn once before timing (a pool of batches that
every contender cycles through in the same order), so sampling costs no one.

Method: each contender is built, reset with the same seed and warmed up; then
``--rounds`` interleaved rounds, in each of which every contender (in an order
rotated every round) runs ``--steps`` vector steps. Reported: the median over
rounds of env-steps/s (``N * steps / seconds``, times ``min(T, N)`` for ``limit``),
min and max, ratios of medians to EnvPool, to the bare loop and to ``limit``
("fraction of limit"), and "paired" ratios: the median over rounds of the ratio
within a round, steadier when other processes load the machine. ``limit`` starts
from the same seed and cycles through the same actions as ``bare``, so it steps the
same episodes and resets (MuJoCo's batch gives the same numbers at any thread
count). A contender that fails to build or run is skipped with a note.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import warnings
from typing import Any, Callable

import numpy as np

from mjvec.tools.bench_bare import BareBatch, check_bare_matches_mjvec
from mjvec.tools.bench_rollout import RolloutSteps, horizon_for
from mjvec.tools.bench_common import Runner, machine, write_json

__all__ = ["main", "run", "arg_parser", "CONTENDERS"]

CONTENDERS = ("mjvec", "rollout", "bare", "limit", "envpool", "gym-sync", "gym-async")
FULL = {"tasks": ["HalfCheetah-v5", "Ant-v5", "Humanoid-v5"], "num_envs": [16, 64, 256], "rounds": 9,
        "env_steps": 16384, "warmup": 0.25}
QUICK = {"tasks": ["HalfCheetah-v5"], "num_envs": [16], "rounds": 2, "env_steps": 2048, "warmup": 0.25}


# -- contenders ----------------------------------------------------------------------
def _limit_scale(num_envs: int, nthread: int) -> int:
    """What ``limit`` multiplies one thread's env-steps/s by: perfect scaling over the threads that can work."""
    return min(nthread, num_envs)


def _make_env(name: str, task: str, num_envs: int, nthread: int, seed: int, nstep: int = 100):
    """``(env, note)``; raises whatever the contender raises when it cannot run."""
    if name in ("mjvec", "rollout"):
        import mjvec

        if name == "mjvec":
            return mjvec.make(task, num_envs, nthread=nthread), f"nthread={nthread}"
        horizon = horizon_for(nstep)
        env = mjvec.make(task, num_envs, nthread=nthread, autoreset_mode="disabled")
        return RolloutSteps(env, horizon), f"nthread={nthread}, T={horizon} per rollout"
    if name == "bare":
        return BareBatch(task, num_envs, nthread, seed=seed), f"nthread={nthread}"
    if name == "limit":  # the bare loop's work on one thread, scaled in bench_config
        return BareBatch(task, num_envs, 1, seed=seed), f"{_limit_scale(num_envs, nthread)} x bare at nthread=1"
    if name == "envpool":
        import envpool

        env = envpool.make_gymnasium(task, num_envs=num_envs, num_threads=nthread, seed=seed)
        return env, f"num_threads={nthread}"
    import gymnasium

    if name == "gym-sync":
        return gymnasium.make_vec(task, num_envs, vectorization_mode="sync"), "1 thread (sequential by design)"
    if name == "gym-async":
        return gymnasium.make_vec(task, num_envs, vectorization_mode="async"), f"{num_envs} worker processes"
    raise ValueError(f"unknown contender {name!r}")


def _action_pool(task: str, num_envs: int, pool: int, seed: int) -> tuple[np.ndarray, Any]:
    """``pool`` batches of uniform random actions in the task's action space (float64)."""
    import mjvec

    space = mjvec.make_task(task).single_action_space
    rng = np.random.default_rng(seed)
    return rng.uniform(space.low, space.high, (pool, num_envs, *space.shape)), space


def _why(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]


def bench_config(task: str, num_envs: int, args, log) -> tuple[list[dict], list[dict]]:
    """Results and skips of every contender on one (task, N)."""
    skipped: list[dict] = []
    skip = lambda name, reason: (skipped.append(  # noqa: E731
        {"task": task, "num_envs": num_envs, "contender": name, "reason": reason}), log(f"  skip {name}: {reason}"))
    nstep = args.steps or max(1, math.ceil(args.env_steps / num_envs))
    scale = {"limit": _limit_scale(num_envs, args.threads)}  # env-steps/s multiplier; 1 for the others
    warmup = max(1, int(nstep * args.warmup))
    try:
        actions, space = _action_pool(task, num_envs, min(nstep, 256), args.seed)
    except Exception as e:  # noqa: BLE001 - a task that does not exist for the reference
        for name in args.contenders:
            skip(name, f"no action space: {_why(e)}")
        return [], skipped
    runners: list[Runner] = []
    for name in args.contenders:
        if name == "gym-async" and num_envs > args.async_max_envs:
            skip(name, f"N={num_envs} > --async-max-envs {args.async_max_envs} (one process per env)")
            continue
        t0 = time.perf_counter()
        try:
            env, note = _make_env(name, task, num_envs, args.threads, args.seed, nstep)
        except ImportError as e:
            skip(name, f"not installed ({_why(e)})")
            continue
        except Exception as e:  # noqa: BLE001 - any failure skips the contender, not the run
            skip(name, f"cannot build: {_why(e)}")
            continue
        dtype = getattr(getattr(env, "single_action_space", None), "dtype", None) or space.dtype
        runner = Runner(name, env, np.ascontiguousarray(actions.astype(dtype)), note)
        try:
            # EnvPool takes its seed at construction and warns that reset(seed=) is ignored
            env.reset() if name == "envpool" else env.reset(seed=args.seed)
            runner.run(warmup)
            if isinstance(env, RolloutSteps):
                env.flush()  # the timed rounds start on a rollout boundary
        except Exception as e:  # noqa: BLE001
            skip(name, f"failed while warming up: {_why(e)}")
            _close(env)
            continue
        runner.setup_s = time.perf_counter() - t0
        runners.append(runner)
    try:
        for r in range(args.rounds):
            k = r % max(1, len(runners))
            for runner in runners[k:] + runners[:k]:  # a rotated order each round
                if runner.failed:
                    continue
                try:
                    seconds, _ = runner.run(nstep)
                except Exception as e:  # noqa: BLE001
                    skip(runner.name, f"failed in round {r}: {_why(e)}")
                    runner.failed = True
                    continue
                runner.seconds.append(seconds)
                runner.steps_per_s.append(scale.get(runner.name, 1) * num_envs * nstep / seconds)
    finally:
        for runner in runners:
            _close(runner.env)
    results = []
    for runner in runners:
        if runner.failed:
            continue
        total = args.rounds * nstep * num_envs + warmup * num_envs
        k = scale.get(runner.name, 1)
        results.append({
            "task": task, "num_envs": num_envs, "threads": args.threads, "contender": runner.name,
            "note": runner.note, "steps_per_round": nstep, "warmup_steps": warmup,
            "scale": k,  # steps_per_s* are k x the measured rate (k = min(threads, N) for limit, else 1)
            "steps_per_s": statistics.median(runner.steps_per_s),
            "steps_per_s_min": min(runner.steps_per_s), "steps_per_s_max": max(runner.steps_per_s),
            "steps_per_s_rounds": runner.steps_per_s,
            "steps_per_s_total": k * num_envs * nstep * len(runner.seconds) / sum(runner.seconds),
            "episode_ends_per_1k_steps": 1000.0 * runner.ends / total,
            "setup_s": runner.setup_s,
        })
    by_name = {res["contender"]: res for res in results}
    for res in results:
        for ref in ("envpool", "bare", "limit"):
            other = by_name.get(ref)
            res[f"vs_{ref}"] = None if other is None else res["steps_per_s"] / other["steps_per_s"]
            # the median of per-round ratios: both sides of each ratio ran seconds apart,
            # under the same load, so this is the steadier figure on a shared machine
            res[f"vs_{ref}_paired"] = None if other is None else statistics.median(
                a / b for a, b in zip(res["steps_per_s_rounds"], other["steps_per_s_rounds"]))
    return results, skipped


def _close(env) -> None:
    try:
        if env is not None:
            env.close()
    except Exception:  # noqa: BLE001 - closing is best effort in a benchmark
        pass


# -- table, plot ---------------------------------------------------------------------
def table(results: list[dict]) -> str:
    head = f"{'task':<16}{'N':>5}  {'contender':<10}{'steps/s':>11}{'min':>10}{'max':>10}"
    head += f"{'x limit':>9}{'paired':>8}{'x envpool':>10}{'paired':>8}{'x bare':>8}{'paired':>8}{'ends/1k':>9}  note"
    lines = [head, "-" * len(head)]
    fmt = lambda x, spec: "-" if x is None else format(x, spec)  # noqa: E731
    for r in results:
        lines.append(
            f"{r['task']:<16}{r['num_envs']:>5}  {r['contender']:<10}{r['steps_per_s']:>11,.0f}"
            f"{r['steps_per_s_min']:>10,.0f}{r['steps_per_s_max']:>10,.0f}"
            f"{fmt(r['vs_limit'], '.2f'):>9}{fmt(r['vs_limit_paired'], '.2f'):>8}"
            f"{fmt(r['vs_envpool'], '.2f'):>10}{fmt(r['vs_envpool_paired'], '.2f'):>8}"
            f"{fmt(r['vs_bare'], '.2f'):>8}{fmt(r['vs_bare_paired'], '.2f'):>8}"
            f"{r['episode_ends_per_1k_steps']:>9.1f}  {r['note']}")
    return "\n".join(lines)


def plot(results: list[dict], path: str, threads: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in results))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for name in CONTENDERS:
            rows = sorted((r for r in results if r["task"] == task and r["contender"] == name),
                          key=lambda r: r["num_envs"])
            if rows:
                style = "o--" if name == "limit" else "o-"  # a bound, not a run
                ax.plot([r["num_envs"] for r in rows], [r["steps_per_s"] for r in rows], style, label=name)
        ax.set(title=f"{task}, {threads} threads", xlabel="num_envs", ylabel="env-steps/s (median)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- command line --------------------------------------------------------------------
def _list(kind: Callable[[str], Any]) -> Callable[[str], list]:
    return lambda text: [kind(x) for x in text.replace(",", " ").split()]


def _contenders(text: str) -> list[str]:
    names = _list(str)(text)
    for name in names:
        if name not in CONTENDERS:
            from mjvec.validation import did_you_mean

            raise argparse.ArgumentTypeError(
                f"unknown contender {name!r}{did_you_mean(name, CONTENDERS)}; known: {', '.join(CONTENDERS)}")
    return names


def arg_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mjvec bench", add_help=add_help,
        description="Env-steps/s of mjvec, a bare mujoco.batch loop, EnvPool and Gymnasium's vector envs,"
        " each also as a fraction of 'limit': min(T, N) x the bare loop's env-steps/s on one thread.")
    p.add_argument("--tasks", type=_list(str), help=f"comma-separated (default: {','.join(FULL['tasks'])})")
    p.add_argument("--num-envs", type=_list(int), help="comma-separated N (default: 16,64,256)")
    p.add_argument("--threads", type=int, default=2,
                   help="threads T for mjvec, bare and EnvPool; limit is min(T, N) x bare on 1 thread (default 2)")
    p.add_argument("--contenders", type=_contenders, default=list(CONTENDERS),
                   help=f"comma-separated subset of {','.join(CONTENDERS)} (default: all)")
    p.add_argument("--rounds", type=int, help=f"interleaved timed rounds (default {FULL['rounds']}; --quick 2)")
    p.add_argument("--steps", type=int, help="vector steps per contender per round"
                   " (default: enough for --env-steps env-steps)")
    p.add_argument("--env-steps", type=int, help="env-steps per contender per round when --steps is not"
                   f" given (default {FULL['env_steps']}; --quick {QUICK['env_steps']})")
    p.add_argument("--async-max-envs", type=int, default=64, help="run gym-async only for N <= this (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip checking that the bare loop's observations equal mjvec's")
    p.add_argument("--json", metavar="PATH", help="write results and machine description as JSON")
    p.add_argument("--plot", metavar="PATH", help="write a PNG plot (needs matplotlib)")
    p.add_argument("--quick", action="store_true", help="a small smoke run (< 1 min)")
    p.add_argument("--backend", choices=("cpu", "mjx"), default="cpu",
                   help="cpu (default): mjvec against its CPU peers; mjx: the MJX backend against a bare"
                   " jit(vmap(mjx.step)) scan on JAX's default device, compile time apart (see mjvec/tools/bench_mjx.py)")
    p.add_argument("--observations", action="store_true",
                   help="frames/s of camera (rgb) and ray (32x32) observations against bare tiled-render and"
                   " Batch.ray loops, Hopper-v5 (default N=16; see mjvec/tools/bench_obs.py)")
    p.add_argument("--width", type=int, default=84, help="--observations: camera frame width (default 84)")
    p.add_argument("--height", type=int, default=84, help="--observations: camera frame height (default 84)")
    p.add_argument("--impl", dest="impls", type=_list(str),
                   help="--backend mjx: MJX implementations to measure, comma-separated (warp,jax; default: the one"
                   " mjvec.make picks), each against a bare scan of the same impl")
    p.add_argument("--jax-cache", action="store_true",
                   help="--backend mjx: keep JAX's persistent compilation cache on (compile times then not cold)")
    return p


def run(args: argparse.Namespace) -> int:
    if getattr(args, "observations", False):
        from mjvec.tools.bench_obs import run_obs

        return run_obs(args)
    if getattr(args, "backend", "cpu") == "mjx":
        from mjvec.tools.bench_mjx import run_mjx

        return run_mjx(args)
    defaults = QUICK if args.quick else FULL
    args.tasks = args.tasks or defaults["tasks"]
    args.num_envs = args.num_envs or defaults["num_envs"]
    args.rounds = args.rounds or defaults["rounds"]
    args.env_steps = args.env_steps or defaults["env_steps"]
    args.warmup = defaults["warmup"]
    for name in ("threads", "rounds", "async_max_envs"):
        if getattr(args, name) < 1:
            raise SystemExit(f"mjvec bench: --{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if any(n < 1 for n in args.num_envs) or (args.steps is not None and args.steps < 1):
        raise SystemExit("mjvec bench: --num-envs and --steps must be >= 1")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    warnings.filterwarnings("ignore", message=".*settotalmass.*")  # Gymnasium's MJCF files, MuJoCo 4.0

    info = machine()
    log(f"mjvec bench: {info['cpu']}, {info['usable_cores']} usable cores, threads={args.threads},"
        f" contenders={','.join(args.contenders)}")
    if "limit" in args.contenders and info["usable_cores"] and args.threads > info["usable_cores"]:
        log(f"note: --threads {args.threads} > {info['usable_cores']} usable cores: limit assumes a core per thread")
    verify = []
    if args.verify and "mjvec" in args.contenders and {"bare", "limit"} & set(args.contenders):
        for task in args.tasks:
            try:
                check = check_bare_matches_mjvec(task, seed=args.seed)
                log(f"verify {task}: bare loop == mjvec: {check['identical']} (max |obs diff|"
                    f" {check['max_abs_obs_diff']:.3g}, {check['episode_ends']} episode ends compared)")
            except Exception as e:  # noqa: BLE001
                check = {"task": task, "identical": None, "error": _why(e)}
                log(f"verify {task}: not checked ({check['error']})")
            verify.append(check)

    results, skipped = [], []
    for task in args.tasks:
        for num_envs in args.num_envs:
            log(f"{task} N={num_envs}")
            res, sk = bench_config(task, num_envs, args, log)
            results += res
            skipped += sk

    info["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    print(f"\nenv-steps/s, median of {args.rounds} interleaved rounds; x limit / x envpool / x bare: ratio of"
          f" medians; paired: median of the per-round ratios. limit: min({args.threads}, N) x the bare loop's"
          f" env-steps/s on 1 thread (perfect scaling, a bound). {args.threads} threads for mjvec, bare and envpool;"
          f" gym-sync is single-threaded by nature; gym-async runs one process per env and only for"
          f" N <= {args.async_max_envs}. ends/1k: episode ends per 1000 env-steps.")
    if info["load_average"]:  # not on Windows
        print(f"machine: {info['cpu']}, {info['usable_cores']} usable cores; 1-min load average"
              f" {info['load_average'][0]:.1f} at start, {info['load_average_end'][0]:.1f} at end")
    print(table(results))
    for s in skipped:
        print(f"skipped: {s['task']} N={s['num_envs']} {s['contender']}: {s['reason']}")

    if args.plot:
        try:
            plot(results, args.plot, args.threads)
            print(f"plot: {args.plot}")
        except ImportError as e:
            print(f"plot skipped: matplotlib is not installed ({_why(e)}); pip install 'mjvec[bench]'")
    write_json(args, info, results, skipped=skipped, verify_bare_loop=verify)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``mjvec bench``: parse ``argv`` (``sys.argv[1:]`` when None) and run."""
    return run(arg_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
