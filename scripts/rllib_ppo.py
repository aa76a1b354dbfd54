"""RLlib PPO (current API stack) on an mjvec task, on a local Ray cluster.

    pip install -e ".[ray]"        # on a CPU-only machine, install a CPU torch first
    python scripts/rllib_ppo.py --env InvertedPendulum-v5 --iterations 25 --out docs/scaling/rllib_ppo.json

Each RLlib env runner creates ONE ``MjVecEnv`` of ``--envs-per-runner`` environments
through ``gymnasium.make_vec("mjvec/<task>", vectorization_mode="vector_entry_point")``
(mjvec's registered vector entry point), with the runner's CPUs as the batch's
threads (an ``MjVecEnv`` made in a Ray worker takes Ray's CPU reservation as its
``nthread``). The env id is given as
``"mjvec:mjvec/<task>"`` so that Gymnasium imports mjvec, which registers its tasks,
inside each runner process. RLlib expects Gymnasium's default autoreset mode,
``next_step``, which is mjvec's default too.

Without ``--address`` the script starts a local Ray cluster bound to the loopback
interface (no dashboard); with ``--address`` it joins an existing cluster. It
prints one row per iteration (env-steps/s while sampling, overall, and of the
``MjVecEnv.step`` calls alone; mean return of the episodes that ended) and writes
them as JSON (and a PNG when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path


def build_config(args: argparse.Namespace):
    """The PPO config: mjvec envs made by ``make_vec`` in each env runner."""
    from ray.rllib.algorithms.ppo import PPOConfig

    return (
        PPOConfig()  # the new API stack (RLModule, Learner, EnvRunner) is PPO's default
        .environment(
            f"mjvec:mjvec/{args.env}",
            # env_config: keyword arguments of mjvec.make; none needed, the batch's
            # threads default to the runner's CPUs (num_cpus_per_env_runner)
            env_config={},
        )
        .env_runners(
            num_env_runners=args.env_runners,
            num_envs_per_env_runner=args.envs_per_runner,  # one MjVecEnv of this many envs
            num_cpus_per_env_runner=args.cpus_per_runner,
            gym_env_vectorize_mode="vector_entry_point",  # mjvec's own batch, not a SyncVectorEnv
            rollout_fragment_length="auto",
        )
        .training(
            train_batch_size_per_learner=args.train_batch,
            minibatch_size=args.minibatch,
            num_epochs=args.epochs,
            lr=args.lr,
            gamma=0.99,
            lambda_=0.95,
            clip_param=0.2,
            vf_clip_param=1e4,  # returns reach 1000: RLlib's default (10) would clip the value loss
            entropy_coeff=0.0,
        )
        .rl_module(model_config={"fcnet_hiddens": [64, 64], "fcnet_activation": "tanh"})
        .debugging(seed=args.seed)
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="InvertedPendulum-v5", help="an mjvec task (default: %(default)s)")
    parser.add_argument("--env-runners", type=int, default=2, help="RLlib env runners (Ray actors)")
    parser.add_argument("--envs-per-runner", type=int, default=8, help="environments in each runner's MjVecEnv")
    parser.add_argument("--cpus-per-runner", type=int, default=1, help="CPUs per runner = its batch's threads")
    parser.add_argument("--iterations", type=int, default=25)
    parser.add_argument("--train-batch", type=int, default=2048, help="env steps per iteration")
    parser.add_argument("--minibatch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--address", default=None, help="join this Ray cluster instead of starting a local one")
    parser.add_argument("--out", type=Path, default=None, help="write the iterations as JSON (and a PNG beside it)")
    args = parser.parse_args(argv)

    if args.address is None:
        # Ray's single-machine mode: every Ray process binds to and talks over 127.0.0.1.
        # Read when ray is imported, so set before.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray
    import torch

    torch.set_num_threads(1)  # the learner shares the machine with the env runners
    if args.address is None:
        ray.init(num_cpus=args.env_runners * args.cpus_per_runner, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=args.address, log_to_driver=False)

    rows = []
    algo = build_config(args).build_algo()
    try:
        print(f"RLlib PPO on mjvec/{args.env}: {args.env_runners} runners x {args.envs_per_runner} envs,"
              f" {args.cpus_per_runner} CPU(s) each; node {ray.util.get_node_ip_address()}")
        print(f"{'iter':>4} {'env steps':>10} {'sample steps/s':>14} {'overall steps/s':>15} {'env-only st/s':>14}"
              f" {'return':>8} {'ep len':>7}")
        start = time.perf_counter()
        for _ in range(args.iterations):
            result = algo.train()
            runners = result["env_runners"]
            steps = runners["num_env_steps_sampled"]
            row = {
                "iteration": result["training_iteration"],
                "env_steps": int(runners["num_env_steps_sampled_lifetime"]),
                "wall_s": time.perf_counter() - start,
                # all runners sample in parallel: the sampling timer is the iteration's sampling phase
                "sample_env_steps_per_s": steps / result["timers"]["env_runner_sampling_timer"],
                "env_steps_per_s": steps / result["time_this_iter_s"],
                # the MjVecEnv.step calls alone (RLlib's mean time per vector step), all runners
                "env_only_steps_per_s": args.env_runners * args.envs_per_runner / runners["env_step_timer"],
                # NaN (None in the JSON) when no episode ended in this iteration
                "episode_return_mean": _number(runners.get("episode_return_mean")),
                "episode_len_mean": _number(runners.get("episode_len_mean")),
            }
            rows.append(row)
            print(f"{row['iteration']:>4} {row['env_steps']:>10} {row['sample_env_steps_per_s']:>14.0f}"
                  f" {row['env_steps_per_s']:>15.0f} {row['env_only_steps_per_s']:>14.0f}"
                  f" {_cell(row['episode_return_mean'])} {_cell(row['episode_len_mean'], 7)}")
    finally:
        algo.stop()
        ray.shutdown()

    report = {
        "env": args.env,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "ray": ray.__version__,
            "load_avg_at_end": os.getloadavg(),  # a shared machine's other work slows every figure
        },
        "iterations": rows,
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        _plot(report, args.out.with_suffix(".png"))
        print(f"wrote {args.out}")
    return report


def _number(value) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _cell(value: float | None, width: int = 8) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.1f}"


def _plot(report: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        return
    rows = [r for r in report["iterations"] if r["episode_return_mean"] is not None]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["env_steps"] for r in rows], [r["episode_return_mean"] for r in rows], marker="o", ms=3)
    ax.set(xlabel="env steps", ylabel="mean episode return (training)",
           title=f"RLlib PPO on mjvec/{report['env']}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
