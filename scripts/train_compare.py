"""The same Stable-Baselines3 run on mjvec and on Gymnasium's own MuJoCo env, side by side.

    python scripts/train_compare.py HalfCheetah-v5 --algo ppo --steps 1000000 --out docs/training/halfcheetah

Both sides run ``mjvec.tools.train.train`` with the same hyperparameters (``mjvec/tools/hyperparams.toml``
plus ``--hp`` overrides), number of environments, seed, evaluation schedule and torch
threads; only the environments differ:

- ``mjvec``: ``SB3VecEnv(mjvec.make(ENV, N, nthread=...))``;
- ``gymnasium``: SB3's usual path, ``make_vec_env(ENV, n_envs=N)``: a ``DummyVecEnv`` of
  ``Monitor(gymnasium.make(ENV))``, i.e. Gymnasium's own single environments stepped one
  after the other.

By default the two runs go side by side, one process each (``--sequential``: one after
the other), so that both see the same load from whatever else runs on the machine. Each
writes its output folder (``OUT/mjvec``, ``OUT/gymnasium``: model, metrics.json,
learning_curve.png, train.log); then ``OUT/compare.json`` holds both metrics and
``OUT/compare.png`` both learning curves, against env-steps and training wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SIDES = ("mjvec", "gymnasium")


def gymnasium_venv(env_id: str, num_envs: int):
    """SB3's usual vector env over Gymnasium's own env: a ``DummyVecEnv`` of ``Monitor``-wrapped envs."""
    from stable_baselines3.common.env_util import make_vec_env

    return make_vec_env(env_id.removeprefix("mjvec/"), n_envs=num_envs)


def run_side(args: argparse.Namespace, side: str) -> dict:
    import warnings

    from mjvec.tools.train import mjvec_venv, train

    warnings.filterwarnings("ignore", message=".*settotalmass.*")  # Gymnasium's MJCF files, MuJoCo 4.0

    if side == "mjvec":
        make_venv = lambda env_id, n: mjvec_venv(env_id, n, nthread=args.nthread)
    else:
        make_venv = gymnasium_venv
    return train(args.env, algo=args.algo, num_envs=args.num_envs, steps=args.steps, seed=args.seed,
                 out=Path(args.out) / side, eval_freq=args.eval_freq, eval_episodes=args.eval_episodes,
                 overrides=dict(args.hp), torch_threads=args.torch_threads, video=False,
                 make_venv=make_venv, label=side, log=lambda msg: print(msg, flush=True))


def main(argv: list[str] | None = None) -> int:
    from mjvec.tools.train import _override

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("env", metavar="ENV")
    p.add_argument("--algo", default="ppo", choices=("ppo", "sac", "td3"))
    p.add_argument("--num-envs", type=int, help="default: the hyperparameters' n_envs")
    p.add_argument("--steps", type=int, help="default: the hyperparameters' n_timesteps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-freq", type=int)
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--hp", metavar="KEY=VALUE", type=_override, action="append", default=[])
    p.add_argument("--torch-threads", type=int, default=1)
    p.add_argument("--nthread", type=int, default=1,
                   help="mjvec's threads (default 1: one core per side when they run side by side)")
    p.add_argument("--sequential", action="store_true", help="run mjvec, then Gymnasium (default: side by side)")
    p.add_argument("--out", required=True)
    p.add_argument("--summarize-only", action="store_true",
                   help="only rewrite compare.json and compare.png from the runs' metrics.json in --out")
    p.add_argument("--only", choices=SIDES, help=argparse.SUPPRESS)  # one side, in a child process
    args = p.parse_args(argv)
    out = Path(args.out)

    if args.only:
        run_side(args, args.only)
        return 0
    if args.summarize_only:
        summarize(out, args.env, args.algo, "sequential" if args.sequential else "side by side", None)
        return 0

    child_argv = list(argv if argv is not None else sys.argv[1:])
    procs = {}
    started = time.time()
    for side in SIDES:
        (out / side).mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, os.path.abspath(__file__), *child_argv, "--only", side]
        with open(out / side / "train.log", "w") as log:  # the child keeps its own copy of the descriptor
            procs[side] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        print(f"{side}: pid {procs[side].pid}, log {out / side / 'train.log'}", flush=True)
        if args.sequential and procs[side].wait() != 0:
            print(f"{side} failed: see {out / side / 'train.log'}", file=sys.stderr)
            return 1
    failed = [side for side, proc in procs.items() if proc.wait() != 0]
    if failed:
        print(f"failed: {failed}; see the train.log files in {out}", file=sys.stderr)
        return 1

    summarize(out, args.env, args.algo, "sequential" if args.sequential else "side by side", time.time() - started)
    return 0


def summarize(out: Path, env_id: str, algo: str, mode: str, elapsed_s: float | None) -> None:
    """``compare.json`` and ``compare.png`` from the two runs' ``metrics.json``; a table on stdout."""
    from mjvec.tools.evaluation import plot_curves

    runs = [json.loads((out / side / "metrics.json").read_text()) for side in SIDES]
    if elapsed_s is None and (out / "compare.json").exists():  # re-summarizing: keep how the runs were made
        previous = json.loads((out / "compare.json").read_text())
        mode, elapsed_s = previous["mode"], previous["elapsed_s"]
    summary = {
        "env_id": env_id, "algo": algo, "mode": mode, "elapsed_s": elapsed_s,
        # .get: runs made before mjvec train timed collection apart lack collect/update_wall_s
        "table": [{k: r.get(k) for k in ("env", "num_envs", "timesteps", "final_mean_return", "best_mean_return",
                                     "train_wall_s", "collect_wall_s", "update_wall_s", "eval_wall_s",
                                     "steps_per_s")} for r in runs],
        "runs": runs,
    }
    (out / "compare.json").write_text(json.dumps(summary, indent=2))
    plot_curves(runs, out / "compare.png", wall_time=True)
    print(f"{algo.upper()} on {env_id} ({mode}):")
    for row in summary["table"]:
        split = "" if row["collect_wall_s"] is None else (
            f" (collecting {row['collect_wall_s'] / 60:.1f}, updating {row['update_wall_s'] / 60:.1f})")
        print(f"  {row['env']:<10} final {row['final_mean_return']:9.1f}  best {row['best_mean_return']:9.1f}"
              f"  training {row['train_wall_s'] / 60:6.1f} min{split}  {row['steps_per_s']:7.0f} steps/s")
    print(f"wrote {out / 'compare.json'} and {out / 'compare.png'}")


if __name__ == "__main__":
    sys.exit(main())
