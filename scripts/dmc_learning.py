"""Learning sanity on the DeepMind Control Suite ports: SAC through mjvec on 2 CPU cores.

Trains sbx's SAC (Stable-Baselines3 in JAX, the ``sbx`` extra) on ``NUM_ENVS`` envs of one
``MjVecEnv`` (flat observations, ``action_repeat=k`` control steps per env step, as TD-MPC2's
and DrQ-v2's wrappers repeat actions) behind ``mjvec.sb3.SB3VecEnv``, then evaluates the final
deterministic policy over full episodes (1000 control steps, ``1000 / k`` env steps) on
separate envs with another seed. ``--steps`` counts env steps (the agent's decisions); the
JSON also gives the control steps, ``k`` times as many.
Each run adds its task to ``--out`` (JSON: algorithm, hyperparameters, steps, env count, seed,
the training-episode return curve, the final evaluation returns, wall and CPU time, machine
load); ``--plot`` draws every task in the JSON into one figure.

    python scripts/dmc_learning.py --task CartpoleSwingup-v0 --steps 40000 --action-repeat 2
    python scripts/dmc_learning.py --plot                        # docs/dm_control/learning.png

Why sbx: on a loaded 2-core machine its jitted SAC update ran about twice as fast as SB3's
torch SAC for [256, 256] MLPs (measured before these runs: 72 against 38 env-steps/s at one
env and one gradient step per env-step). A sanity check, not a benchmark: one seed, budgets
of 100k env steps or fewer, hyperparameters not tuned per task (docs/dm_control.md, "Learning
sanity", has the runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "dm_control" / "learning.json"
NUM_ENVS = 4
EVAL_ENVS = 10
# SAC's usual settings on the suite (lr 3e-4, batch 256, tau 0.005, gamma 0.99, two 256-unit
# layers), with one gradient step per two env-steps (4 envs, 2 gradient steps per vector step)
# so that a budget of env-steps fits the wall time on 2 cores.
SAC_KWARGS = {
    "learning_rate": 3e-4, "buffer_size": 1_000_000, "batch_size": 256, "tau": 0.005, "gamma": 0.99,
    "learning_starts": 4000, "train_freq": 1, "gradient_steps": 2, "ent_coef": "auto",
    "policy_kwargs": {"net_arch": [256, 256]},
}


def make_env(task: str, num_envs: int, action_repeat: int):
    import mjvec

    return mjvec.make(task, num_envs=num_envs, flat_observation=True, action_repeat=action_repeat)


def evaluate(model, task: str, seed: int, action_repeat: int, num_envs: int = EVAL_ENVS) -> tuple[list[float], int]:
    """Each of ``num_envs`` envs runs one whole episode with the deterministic policy; its return."""
    env = make_env(task, num_envs, action_repeat)
    obs, _ = env.reset(seed=seed)
    returns = np.zeros(num_envs)
    alive = np.ones(num_envs, bool)
    steps = 0
    while alive.any():
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(action)
        returns += np.where(alive, reward, 0.0)
        alive &= ~(terminated | truncated)
        steps += 1
    env.close()
    return returns.tolist(), steps


def train(task: str, steps: int, seed: int, action_repeat: int) -> dict:
    import jax
    import sbx
    from sbx import SAC
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import VecMonitor

    from mjvec.sb3 import SB3VecEnv

    class Curve(BaseCallback):
        """Mean return of the training episodes that ended at each vector step, and the load."""

        def __init__(self):
            super().__init__()
            self.curve: list[list[float]] = []
            self.loads: list[float] = []

        def _on_step(self) -> bool:
            ended = [info["episode"]["r"] for info in self.locals["infos"] if "episode" in info]
            if ended:
                self.curve.append([self.num_timesteps, float(np.mean(ended))])
                self.loads.append(os.getloadavg()[0])
            return True

    venv = VecMonitor(SB3VecEnv(make_env(task, NUM_ENVS, action_repeat)))
    venv.seed(seed)
    model = SAC("MlpPolicy", venv, seed=seed, verbose=0, **SAC_KWARGS)
    curve = Curve()
    load_start = os.getloadavg()
    cpu0, t0 = os.times(), time.perf_counter()
    model.learn(steps, callback=curve)
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    load_end = os.getloadavg()
    venv.close()
    t1 = time.perf_counter()
    eval_returns, eval_steps = evaluate(model, task, seed=seed + 1000, action_repeat=action_repeat)
    eval_wall = time.perf_counter() - t1
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {
        "task": f"mjvec/{task}",
        "algorithm": f"SAC (sbx {sbx.__version__}, JAX {jax.__version__})",
        "hyperparameters": SAC_KWARGS,
        "steps": int(model.num_timesteps),
        "action_repeat": action_repeat,
        "control_steps": int(model.num_timesteps) * action_repeat,
        "num_envs": NUM_ENVS,
        "seed": seed,
        "return_curve": curve.curve,
        "return_curve_is": f"mean return of the {NUM_ENVS} training episodes (stochastic policy) ending together",
        "final_eval": {
            "episodes": len(eval_returns), "episode_env_steps": eval_steps,
            "episode_control_steps": eval_steps * action_repeat, "seed": seed + 1000,
            "deterministic": True, "returns": eval_returns,
            "mean": float(np.mean(eval_returns)), "std": float(np.std(eval_returns)),
        },
        "wall_s": round(wall, 1),
        "eval_wall_s": round(eval_wall, 1),
        "cpu_s": round(cpu, 1),
        "load": {
            "start_1min": round(load_start[0], 2), "end_1min": round(load_end[0], 2),
            "mean_1min_during": round(float(np.mean(curve.loads)), 2) if curve.loads else None,
            "cpus": os.cpu_count(), "nice": os.nice(0),
        },
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(results)
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        r = results[task]
        curve = np.array(r["return_curve"])
        if len(curve):
            ax.plot(curve[:, 0] * r["action_repeat"] / 1000, curve[:, 1], marker=".", label="training episodes")
        ev = r["final_eval"]
        ax.errorbar([r["control_steps"] / 1000], [ev["mean"]], yerr=[ev["std"]], fmt="o", color="C3",
                    label=f"final eval ({ev['episodes']} ep.)")
        ax.set_title(f"{task.removeprefix('mjvec/')}, action repeat {r['action_repeat']}\n"
                     f"{r['wall_s'] / 60:.0f} min wall, load ~{r['load']['mean_1min_during']}",
                     fontsize=9)
        ax.set_xlabel("control steps (thousands)")
        ax.set_ylim(0, 1000)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("episode return (1000 control steps)")
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.suptitle("sbx SAC through mjvec, one seed, 2 shared CPU cores (a sanity check, not a benchmark)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", help="e.g. CheetahRun-v0 (mjvec/ prefix optional)")
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--action-repeat", type=int, default=2, help="control steps per env step (1000 must divide by it)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--plot", action="store_true", help="draw every task in --out into learning.png next to it")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*settotalmass.*")
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.task:
        task = args.task.removeprefix("mjvec/")
        result = train(task, args.steps, args.seed, args.action_repeat)
        results[result["task"]] = result
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"{task}: {result['steps']} env steps x{result['action_repeat']}, eval {result['final_eval']['mean']:.1f} "
              f"+- {result['final_eval']['std']:.1f}, {result['wall_s']:.0f} s, load {result['load']}", flush=True)
    if args.plot:
        plot(results, args.out.with_name("learning.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
