"""PPO from pixels: InvertedPendulum-v5 from 64 x 64 frame-stacked images, SB3's CnnPolicy.

The policy sees only ``mjvec.Camera(width=64, height=64, stack=3)`` (uint8, (64, 64, 9): the
last three rgb frames of a free camera following the cart, ``CAMERA_CONFIG``), never the state. Stable-Baselines3 PPO
trains through ``mjvec.sb3.SB3VecEnv`` (SB3's ``VecMonitor`` records the episode returns)
for a wall-clock budget; then the deterministic policy is evaluated on separate envs.
Writes JSON (the curve, the evaluation, the machine and its load), a plot of the curve and a
PNG of a tiled observation batch.

    nice -n 10 python scripts/train_pixels.py --out docs/observations       # ~13 min on 2 cores

A single-seed run with hand-picked hyperparameters (``PPO_KWARGS``, ``CNN``), not a benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

PPO_KWARGS = {"n_steps": 128, "batch_size": 256, "n_epochs": 4, "learning_rate": 5e-4, "gamma": 0.98,
              "gae_lambda": 0.95, "clip_range": 0.2, "ent_coef": 0.0}
#: a CNN ~2.5x lighter than SB3's NatureCNN (2 convolutions, 128 features): on 2 shared cores the
#: gradient steps, not the rendering, bound the wall time
CNN = {"channels": (16, 32), "features_dim": 128}
CAMERA = {"width": 64, "height": 64, "stack": 3}
#: the free camera follows the cart from 1.3 m, level with the pole (the task's default is 2.04 m
#: from the world origin, where the pole is a few pixels thin and its tilt a pixel or two)
CAMERA_CONFIG = {"trackbodyid": 1, "distance": 1.3, "lookat": [0.0, 0.0, 0.25], "elevation": 0.0}


def small_cnn():
    """An SB3 features extractor: conv 8x8/4 -> conv 4x4/2 -> linear, ReLU between (images scaled by SB3)."""
    import torch
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class SmallCNN(BaseFeaturesExtractor):
        def __init__(self, observation_space, channels=CNN["channels"], features_dim=CNN["features_dim"]):
            super().__init__(observation_space, features_dim)
            c = observation_space.shape[0]  # SB3 hands the policy channel-first images
            self.cnn = torch.nn.Sequential(
                torch.nn.Conv2d(c, channels[0], 8, stride=4), torch.nn.ReLU(),
                torch.nn.Conv2d(channels[0], channels[1], 4, stride=2), torch.nn.ReLU(), torch.nn.Flatten())
            with torch.no_grad():
                n = self.cnn(torch.zeros(1, *observation_space.shape)).shape[1]
            self.linear = torch.nn.Sequential(torch.nn.Linear(n, features_dim), torch.nn.ReLU())

        def forward(self, x):
            return self.linear(self.cnn(x))

    return SmallCNN


def make_env(num_envs: int, max_episode_steps: int = 1000):
    import mjvec

    config = {k: np.array(v) if isinstance(v, list) else v for k, v in CAMERA_CONFIG.items()}
    return mjvec.make("InvertedPendulum-v5", num_envs, max_episode_steps=max_episode_steps,
                      default_camera_config=config, observations=mjvec.Camera(**CAMERA))


def evaluate(model, episodes: int, seed: int) -> dict:
    """Mean return of ``episodes`` episodes of the deterministic policy (one per env, run in parallel)."""
    env = make_env(episodes)
    obs, _ = env.reset(seed=seed)
    returns = np.zeros(episodes)
    done = np.zeros(episodes, bool)
    while not done.all():
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(action)
        returns += np.where(done, 0.0, reward)
        done |= terminated | truncated
    env.close()
    return {"episodes": episodes, "mean_return": float(returns.mean()), "min_return": float(returns.min()),
            "max_return": float(returns.max())}


def save_batch_image(path: Path, seed: int) -> None:
    """A tiled batch of 16 observations (the newest of each stack), after a few random steps."""
    from PIL import Image

    from mjvec.render import tile

    env = make_env(16)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(10):
        obs, *_ = env.step(rng.uniform(-3, 3, (16, 1)))
    Image.fromarray(tile(obs[..., -3:])).resize((4 * 128, 4 * 128), Image.NEAREST).save(path)
    env.close()


def plot(report: dict, path: Path) -> None:
    """The training curve (mean return of the last 100 episodes against env-steps) and the evaluation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = [c for c in report["curve"] if c["mean_return_last_episodes"] is not None]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([c["timesteps"] for c in curve], [c["mean_return_last_episodes"] for c in curve],
            label="training episodes (stochastic policy, last 100)")
    ax.axhline(report["evaluation"]["mean_return"], color="C1", ls="--",
               label=f"deterministic policy after training ({report['evaluation']['episodes']} episodes)")
    ax.set(xlabel="env-steps", ylabel="return", title=f"{report['task']}, 64x64 pixels,"
           f" {report['train_wall_s'] / 60:.0f} min, 2 shared cores")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="docs/observations", help="folder for train_pixels.json and the batch image")
    p.add_argument("--minutes", type=float, default=12.0, help="training wall-clock budget")
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--eval-episodes", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-threads", type=int, default=2)
    p.add_argument("--replot", action="store_true", help="only redraw train_pixels.png from train_pixels.json")
    args = p.parse_args()
    if args.replot:
        plot(json.loads((Path(args.out) / "train_pixels.json").read_text()), Path(args.out) / "train_pixels.png")
        return

    import stable_baselines3
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import VecMonitor

    from mjvec.sb3 import SB3VecEnv

    torch.set_num_threads(args.torch_threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    venv = VecMonitor(SB3VecEnv(make_env(args.num_envs)))
    model = PPO("CnnPolicy", venv, seed=args.seed, device="cpu", verbose=0,
                policy_kwargs={"features_extractor_class": small_cnn()}, **PPO_KWARGS)
    curve: list[dict] = []
    t0 = time.perf_counter()
    budget = 60 * args.minutes

    class Budget(BaseCallback):
        def _on_step(self) -> bool:
            return time.perf_counter() - t0 < budget

        def _on_rollout_end(self) -> None:
            returns = [e["r"] for e in self.model.ep_info_buffer]
            curve.append({"timesteps": int(self.num_timesteps), "wall_s": time.perf_counter() - t0,
                          "mean_return_last_episodes": float(np.mean(returns)) if returns else None,
                          "episodes_in_window": len(returns), "load_average": list(os.getloadavg())})
            print(f"{self.num_timesteps:>7} steps {curve[-1]['wall_s']:6.0f} s  return"
                  f" {curve[-1]['mean_return_last_episodes']}  load {os.getloadavg()[0]:.1f}", flush=True)

    model.learn(10_000_000, callback=Budget())
    train_s = time.perf_counter() - t0
    load_train = os.getloadavg()
    t1 = time.perf_counter()
    result = evaluate(model, args.eval_episodes, seed=args.seed + 1000)
    eval_s = time.perf_counter() - t1
    print(f"trained {model.num_timesteps} steps in {train_s:.0f} s; deterministic return {result['mean_return']:.1f}"
          f" over {args.eval_episodes} episodes")
    save_batch_image(out / "pixels_batch.png", args.seed)
    report = {
        "task": "InvertedPendulum-v5", "observation": {"camera": CAMERA, "camera_config": CAMERA_CONFIG, "shape": list(venv.observation_space.shape)},
        "algorithm": "SB3 PPO CnnPolicy", "ppo": PPO_KWARGS, "cnn": CNN, "num_envs": args.num_envs, "seed": args.seed,
        "timesteps": int(model.num_timesteps), "train_wall_s": train_s, "eval_wall_s": eval_s,
        "evaluation": result, "curve": curve,
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "torch_threads": args.torch_threads, "load_average_start": list(load_start),
                    "load_average_after_training": list(load_train), "nice": os.nice(0),
                    "versions": {"stable_baselines3": stable_baselines3.__version__, "torch": torch.__version__}},
    }
    (out / "train_pixels.json").write_text(json.dumps(report, indent=2))
    plot(report, out / "train_pixels.png")
    print(f"json: {out / 'train_pixels.json'}; plot: {out / 'train_pixels.png'}")


if __name__ == "__main__":
    main()
