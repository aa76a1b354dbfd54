"""What ``mjvec train`` measures and shows besides the model: evaluations, learning curves, a video.

- ``Evaluator``: an SB3 callback that evaluates the deterministic policy every so many
  env-steps and times training, collection and evaluation apart.
- ``plot_curves``: learning curves of one run or several (``scripts/train_compare.py``).
- ``film_episode``: one episode of a trained policy as an MP4.

Needs the ``train`` extra (Stable-Baselines3; matplotlib for the curves).
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecNormalize, sync_envs_normalization

__all__ = ["Evaluator", "film_episode", "plot_curves"]


class Evaluator(BaseCallback):
    """An SB3 callback evaluating the deterministic policy every ``eval_freq`` env-steps.

    SB3's ``EvalCallback`` counts callback calls (vector steps) and times nothing;
    this one counts env-steps, evaluates before training and at its end, and keeps
    each evaluation's training wall time (evaluation time excluded) and the time spent
    collecting experience.

    Args:
      eval_venv: the evaluation ``VecEnv``, one environment per episode; a
        ``VecNormalize`` there gets the training statistics before each evaluation.
      eval_freq: env-steps between evaluations.
      episodes: completed episodes per evaluation.
      log: where a line per evaluation goes.

    Attributes:
      evaluations: one dict per evaluation: ``timesteps``, ``mean_return``,
        ``std_return``, ``min_return``, ``max_return``, ``mean_length``, ``episodes``,
        ``train_wall_s`` (training wall time so far, evaluations excluded).
      eval_wall_s: seconds spent evaluating.
      collect_wall_s: seconds spent collecting experience (the policy and the env
        stepping), evaluations excluded; the rest of training is gradient updates.
    """

    def __init__(self, eval_venv, eval_freq: int, episodes: int, log: Callable[[str], None]):
        super().__init__()
        self.eval_venv, self.eval_freq, self.episodes, self.log = eval_venv, eval_freq, episodes, log
        self.evaluations: list[dict[str, Any]] = []
        self.eval_wall_s = 0.0
        self.collect_wall_s = 0.0
        self._collect_start = (0.0, 0.0)
        self._next = 0
        self._start = 0.0

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()
        self._evaluate()

    def _on_rollout_start(self) -> None:
        self._collect_start = (time.perf_counter(), self.eval_wall_s)

    def _on_rollout_end(self) -> None:
        t0, eval_before = self._collect_start
        self.collect_wall_s += time.perf_counter() - t0 - (self.eval_wall_s - eval_before)

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._evaluate()
        return True

    def _on_training_end(self) -> None:
        if self.evaluations[-1]["timesteps"] != self.num_timesteps:
            self._evaluate()

    def _evaluate(self) -> None:
        t0 = time.perf_counter()
        sync_envs_normalization(self.training_env, self.eval_venv)
        with warnings.catch_warnings():
            # no wrapper changes the rewards or episodes here, so raw sums are the returns
            warnings.filterwarnings("ignore", message=".*not wrapped with a ``Monitor`` wrapper.*")
            returns, lengths = evaluate_policy(self.model, self.eval_venv, n_eval_episodes=self.episodes,
                                               deterministic=True, return_episode_rewards=True)
        train_wall = t0 - self._start - self.eval_wall_s
        self.eval_wall_s += time.perf_counter() - t0
        e = {"timesteps": int(self.num_timesteps), "mean_return": float(np.mean(returns)),
             "std_return": float(np.std(returns)), "min_return": float(np.min(returns)),
             "max_return": float(np.max(returns)), "mean_length": float(np.mean(lengths)),
             "episodes": len(returns), "train_wall_s": train_wall}
        self.evaluations.append(e)
        while self._next <= self.num_timesteps:
            self._next += self.eval_freq
        self.logger.record("eval/mean_reward", e["mean_return"])
        self.logger.record("eval/mean_ep_length", e["mean_length"])
        self.logger.record("time/train_wall_s", train_wall)
        self.logger.dump(self.num_timesteps)
        self.log(f"eval @ {e['timesteps']:>9,} steps: return {e['mean_return']:9.1f} +- {e['std_return']:.1f}"
                 f" ({e['episodes']} episodes, length {e['mean_length']:.0f}), {train_wall:.0f} s training")


def plot_curves(runs: list[dict[str, Any]], path: str | os.PathLike, *, wall_time: bool = False) -> None:
    """Mean evaluation return (shaded: +-1 std over episodes) of each run's metrics against env-steps.

    ``runs`` are ``mjvec train`` metrics (``metrics.json``). With ``wall_time``, a
    second panel plots the returns against training wall time.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 if wall_time else 1, figsize=(11 if wall_time else 6, 4), squeeze=False)
    for k, run in enumerate(runs):
        ev = run["evaluations"]
        mean = np.array([e["mean_return"] for e in ev])
        std = np.array([e["std_return"] for e in ev])
        xs = [np.array([e["timesteps"] for e in ev])]
        if wall_time:
            xs.append(np.array([e["train_wall_s"] for e in ev]) / 60)
        for ax, x in zip(axes[0], xs):
            # later runs dashed and thinner: identical curves (same seed, bit-exact envs) stay visible
            (line,) = ax.plot(x, mean, marker="." if k == 0 else "x", linestyle=("-", "--", ":")[k % 3],
                              linewidth=2.5 if k == 0 else 1.5, label=f"{run['env']} x{run['num_envs']}")
            ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    first = runs[0]
    for ax, xlabel in zip(axes[0], ["env-steps", "training wall time (min)"]):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"mean return ({first['eval_episodes']} episodes, deterministic)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{first['algo'].upper()} on {first['env_id']}, seed {first['seed']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def film_episode(model, venv, path: Path, *, vecnormalize: VecNormalize | None = None,
                 seed: int = 0) -> dict[str, Any]:
    """Play one deterministic episode on ``venv`` and write its frames to ``path`` (MP4).

    ``venv`` is an ``SB3VecEnv`` over a 1-env ``MjVecEnv`` made with
    ``render_mode="rgb_array"``; this function closes it. Observations are normalized
    with ``vecnormalize``'s statistics, when given. Returns the episode's ``return``
    and ``length``; the video has ``length`` frames: the reset state and the state
    after every step but the last (the env resets at once after it).
    """
    from mjvec.render import write_video

    env = venv.env
    if vecnormalize is not None:
        venv = VecNormalize(venv, training=False, norm_obs=vecnormalize.norm_obs, norm_reward=False,
                            clip_obs=vecnormalize.clip_obs, epsilon=vecnormalize.epsilon)
        venv.obs_rms = copy.deepcopy(vecnormalize.obs_rms)
    try:
        venv.seed(seed)
        obs = venv.reset()
        frames = [env.render(env_ids=[0])[0]]
        episode_return, length = 0.0, 0
        for _ in range(env.max_episode_steps or 1000):
            action, _state = model.predict(obs, deterministic=True)
            obs, reward, done, _infos = venv.step(action)  # raw rewards: norm_reward is off
            episode_return += float(reward[0])
            length += 1
            if done[0]:  # the env has already reset: its terminal state is not drawn
                break
            frames.append(env.render(env_ids=[0])[0])
        write_video(path, frames, env.metadata["render_fps"])
        return {"return": episode_return, "length": length}
    finally:
        venv.close()
