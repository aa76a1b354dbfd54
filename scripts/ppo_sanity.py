"""PPO sanity runs of the tasks whose actions are not ``ctrl``: are they learnable?

Trains Stable-Baselines3 PPO on ``MocapPush-v0`` (mocap ``delta_pos`` actions) and
``SpinTop-v0`` (``xfrc`` torques) through ``mjvec.sb3.SB3VecEnv``, evaluates the
deterministic policy on separate environments every ``--eval-every`` steps (and a
uniformly random policy once, as the floor), and writes ``ppo_sanity.json`` and
``ppo_sanity.png`` (returns, success rate, episode length against env-steps).

    python scripts/ppo_sanity.py                                  # both tasks, docs/new_tasks/
    python scripts/ppo_sanity.py --tasks SpinTop-v0 --steps 100000 --out /tmp/sanity

A sanity run, not a benchmark: one seed, a small budget, hyperparameters picked by
hand (``RUNS`` below), torch and MuJoCo on one thread each.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from typing import Any

import numpy as np

RUNS: dict[str, dict[str, Any]] = {
    "MocapPush-v0": {
        "steps": 1_500_000,
        "num_envs": 16,
        "eval_episodes": 64,
        "track": {"goal_distance": "final"},
        "plot": "success_rate",
        "ppo": {
            "n_steps": 128, "batch_size": 256, "n_epochs": 10, "gamma": 0.97, "learning_rate": 3e-4,
            # actions are meters per step (bounds 0.03): SB3's initial std of 1 would only ever
            # hit the bounds, so exploration starts at the bounds' scale
            "policy_kwargs": {"log_std_init": math.log(0.03)},
        },
    },
    "SpinTop-v0": {
        "steps": 150_000,
        "num_envs": 16,
        "eval_episodes": 16,
        "track": {"spin": "mean", "tilt": "mean"},
        "plot": "spin_mean",
        "ppo": {
            "n_steps": 128, "batch_size": 256, "n_epochs": 10, "gamma": 0.99, "learning_rate": 3e-4,
            # torques in N m, bounds 0.5
            "policy_kwargs": {"log_std_init": math.log(0.25)},
        },
    },
}


def arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default=",".join(RUNS), help="comma-separated, from %(default)s")
    p.add_argument("--steps", type=int, default=None, help="env-steps per task (default: the task's own in RUNS)")
    p.add_argument("--eval-every", type=int, default=None, help="env-steps between evaluations (default: steps / 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="docs/new_tasks", help="folder for ppo_sanity.json and .png (default: %(default)s)")
    p.add_argument("--replot", action="store_true", help="only redraw the PNG from the JSON in --out")
    return p


class RandomPolicy:
    """Uniform random actions, with the ``predict`` that ``evaluate_policy`` calls."""

    def __init__(self, space, num_envs: int, seed: int):
        self.space, self.num_envs = space, num_envs
        self.rng = np.random.default_rng(seed)

    def predict(self, obs, state=None, episode_start=None, deterministic=False):
        low, high = self.space.low, self.space.high
        return self.rng.uniform(low, high, (self.num_envs, *self.space.shape)).astype(self.space.dtype), None


def _evaluate(policy, eval_env, episodes: int, track: dict[str, str]) -> dict[str, Any]:
    """Returns, lengths, success rate and the ``track``ed info entries of ``episodes`` episodes.

    ``track`` maps an info key to ``"final"`` (its value at each episode's last step)
    or ``"mean"`` (averaged over every step of every episode).
    """
    from stable_baselines3.common.evaluation import evaluate_policy

    successes: list[bool] = []
    values: dict[str, list[float]] = {key: [] for key in track}

    def record(local_vars, _globals):
        # called once per env and step of a counted episode; on its last step `info` is the
        # final step's (as SB3's EvalCallback reads is_success)
        info, done = local_vars["info"], local_vars["done"]
        if done and "is_success" in info:
            successes.append(bool(info["is_success"]))
        for key, how in track.items():
            if how == "mean" or done:
                values[key].append(float(info[key]))

    returns, lengths = evaluate_policy(
        policy, eval_env, n_eval_episodes=episodes, deterministic=True, return_episode_rewards=True, callback=record
    )
    out = {
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "length_mean": float(np.mean(lengths)),
        "episodes": len(returns),
    }
    if successes:
        out["success_rate"] = float(np.mean(successes))
    for key, how in track.items():
        out[f"{key}_{how}"] = float(np.mean(values[key]))
    return out


def train(env_id: str, steps: int, eval_every: int, seed: int) -> dict[str, Any]:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import (
        VecMonitor,
        VecNormalize,
        sync_envs_normalization,
    )

    import mjvec
    from mjvec.sb3 import SB3VecEnv

    torch.set_num_threads(1)
    cfg = RUNS[env_id]
    n, episodes, track = cfg["num_envs"], cfg["eval_episodes"], cfg["track"]
    venv = VecNormalize(VecMonitor(SB3VecEnv(mjvec.make(env_id, n, nthread=1))), gamma=cfg["ppo"]["gamma"])
    venv.seed(seed)
    # wrapped as the training env, so that VecNormalize's statistics can be copied over
    eval_env = VecNormalize(VecMonitor(SB3VecEnv(mjvec.make(env_id, 8, nthread=1))), training=False,
                            norm_reward=False)
    eval_env.seed(seed + 10_000)
    model = PPO("MlpPolicy", venv, seed=seed, verbose=0, **cfg["ppo"])
    evals: list[dict[str, Any]] = []
    start = time.perf_counter()

    def evaluate() -> None:
        sync_envs_normalization(venv, eval_env)
        row = {"timesteps": int(model.num_timesteps), **_evaluate(model, eval_env, episodes, track)}
        row["wall_s"] = round(time.perf_counter() - start, 1)
        evals.append(row)
        extra = "".join(f", {k} {row[k]:.3g}" for k in row if k.startswith(("success", *track)))
        print(f"{env_id}: {row['timesteps']:>8} steps  return {row['return_mean']:9.2f}"
              f"  length {row['length_mean']:6.1f}{extra}  ({row['wall_s']:.0f} s)", flush=True)

    class Every(BaseCallback):
        """Evaluates between updates (the policy is fixed within a rollout), every ``eval_every`` steps."""

        def _on_rollout_start(self) -> None:
            if self.num_timesteps - evals[-1]["timesteps"] >= eval_every:
                evaluate()

        def _on_step(self) -> bool:
            return True

    random = _evaluate(RandomPolicy(eval_env.action_space, eval_env.num_envs, seed), eval_env, episodes, track)
    evaluate()
    model.learn(steps, callback=Every())
    evaluate()
    wall = time.perf_counter() - start
    venv.close()
    eval_env.close()
    return {"num_envs": n, "steps": steps, "seed": seed, "ppo": cfg["ppo"], "random_policy": random, "evals": evals,
            "wall_s": round(wall, 1)}


def plot(results: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4), squeeze=False)
    for ax, (env_id, run) in zip(axes[0], results.items()):
        t = [e["timesteps"] for e in run["evals"]]
        mean = np.array([e["return_mean"] for e in run["evals"]])
        std = np.array([e["return_std"] for e in run["evals"]])
        ax.plot(t, mean, "o-", color="C0", label="PPO (deterministic)")
        ax.fill_between(t, mean - std, mean + std, color="C0", alpha=0.2)
        ax.axhline(run["random_policy"]["return_mean"], color="gray", ls="--", label="random actions")
        ax.set(title=env_id, xlabel="env-steps", ylabel="episode return")
        second = RUNS[env_id]["plot"]
        label = {"success_rate": "success rate", "spin_mean": "mean spin rate (rad/s)"}[second]
        twin = ax.twinx()
        twin.plot(t, [e[second] for e in run["evals"]], "s:", color="C1", label=label)
        twin.set_ylabel(label, color="C1")
        if second == "success_rate":
            twin.set_ylim(-0.02, 1.02)
        else:
            from mjvec.envs.spin_top import SpinTop

            target = SpinTop().target_spin
            twin.axhline(target, color="C1", ls=":", lw=0.8, label="target spin rate")
            twin.set_ylim(-0.05 * target, 1.15 * target)
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        lines = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(lines, [h.get_label() for h in lines], loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine() -> dict[str, Any]:
    import mujoco
    import stable_baselines3
    import torch

    return {
        "cpu": platform.processor() or platform.machine(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        "versions": {"mujoco": mujoco.__version__, "stable_baselines3": stable_baselines3.__version__,
                     "torch": torch.__version__, "numpy": np.__version__},
    }


def main(argv: list[str] | None = None) -> int:
    p = arg_parser()
    args = p.parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    for t in tasks:
        if t not in RUNS:
            p.error(f"--tasks must name tasks of {list(RUNS)}, got {t!r}")
    if args.steps is not None and args.steps < 1:
        p.error(f"--steps must be >= 1, got {args.steps}")
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "ppo_sanity.json")
    # runs of other tasks already in the file are kept, so the tasks can be run one at a time
    results: dict[str, Any] = {}
    if os.path.exists(json_path):
        with open(json_path) as f:
            results = json.load(f).get("runs", {})
    if args.replot:
        if not results:
            p.error(f"--replot needs the runs of a previous call in {json_path}")
        plot(results, os.path.join(args.out, "ppo_sanity.png"))
        return 0
    for env_id in tasks:
        steps = args.steps or RUNS[env_id]["steps"]
        eval_every = args.eval_every or max(1, steps // 10)
        results[env_id] = {**train(env_id, steps, eval_every, args.seed), "machine": machine()}
    with open(json_path, "w") as f:
        json.dump({"runs": results}, f, indent=1)
    plot(results, os.path.join(args.out, "ppo_sanity.png"))
    print(f"wrote {json_path} and ppo_sanity.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
