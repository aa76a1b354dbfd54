"""The ``mjvec`` command: ``mjvec envs`` lists the tasks, ``mjvec bench`` measures them,
``mjvec train`` trains an agent, ``mjvec render`` films one."""

from __future__ import annotations

import argparse
import sys
import warnings

__all__ = ["main"]


def envs(args: argparse.Namespace) -> int:
    """Print every registered task with its spaces, building each task to read them."""
    from mjvec.registration import NAMESPACE, TASKS, make_task

    warnings.filterwarnings("ignore", message=".*settotalmass.*")  # Gymnasium's MJCF files, MuJoCo 4.0
    rows = []
    for entry in TASKS:
        steps = "-" if entry.max_episode_steps is None else str(entry.max_episode_steps)
        try:
            task = make_task(entry.name)
        except Exception as e:  # noqa: BLE001 - one unbuildable task must not hide the others
            rows.append((f"{NAMESPACE}/{entry.name}", "-", "-", steps, f"unavailable: {type(e).__name__}: {e}"))
            continue
        obs, act = task.single_observation_space, task.single_action_space
        shape = str(obs.shape) if obs.shape is not None else " ".join(f"{k}{sub.shape}" for k, sub in obs.items())
        rows.append((f"{NAMESPACE}/{entry.name}", shape, str(act.shape), steps, ""))
    header = ("id", "observation", "action", "max_episode_steps", "")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(4)]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + (f"  {row[4]}" if row[4] else ""))
    return 0


def bench(args: argparse.Namespace) -> int:
    from mjvec.tools import bench as bench_module

    return bench_module.run(args)


def train(args: argparse.Namespace) -> int:
    from mjvec.tools import train as train_module

    warnings.filterwarnings("ignore", message=".*settotalmass.*")  # Gymnasium's MJCF files, MuJoCo 4.0
    return train_module.run(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mjvec", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("envs", help="list the registered tasks and their spaces").set_defaults(func=envs)

    from mjvec.tools.bench import arg_parser

    bench_parser = arg_parser(add_help=False)
    commands.add_parser(
        "bench", parents=[bench_parser], help="env-steps/s against Gymnasium, EnvPool and a bare batch loop",
        description=bench_parser.description,
    ).set_defaults(func=bench)

    from mjvec.tools.train import arg_parser as train_arg_parser

    train_parser = train_arg_parser(add_help=False)
    commands.add_parser(
        "train", parents=[train_parser], help="train a Stable-Baselines3 agent (the `train` extra)",
        description=train_parser.description,
    ).set_defaults(func=train)

    from mjvec.tools import render_cli

    render_cli.add_parser(commands)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
