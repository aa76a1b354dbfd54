"""``mjvec train``: a Stable-Baselines3 agent on an ``MjVecEnv``, evaluated, saved, plotted and filmed.

    mjvec train InvertedPendulum-v5 --algo ppo --steps 50000 --out runs/pendulum

The hyperparameters are data (``mjvec/tools/hyperparams.toml``, from RL Baselines3 Zoo),
overridable with ``--hp KEY=VALUE``. The training env is ``SB3VecEnv(mjvec.make(...))``,
wrapped in ``VecNormalize`` where the hyperparameters say ``normalize``. Every
``--eval-freq`` env-steps, a separate env of ``--eval-episodes`` environments plays
the deterministic policy (observations normalized with the training statistics,
rewards raw) and the mean return of its completed episodes is logged. The output
folder receives:

- ``model.zip`` (and ``vecnormalize.pkl`` with the normalization statistics),
- ``progress.csv`` (SB3's logger; TensorBoard event files too when ``tensorboard``
  is installed),
- ``metrics.json``: the configuration, the hyperparameters used, every evaluation
  with its training wall time, the machine,
- ``learning_curve.png``: mean evaluation return against env-steps,
- ``video.mp4``: one episode of the trained policy (when ``mjvec.render`` is available).

``train()`` runs the same pipeline on any SB3 ``VecEnv`` factory, which is how
``scripts/train_compare.py`` trains on Gymnasium's own environments for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mjvec import validation
from mjvec.tools import hyperparams

__all__ = ["arg_parser", "main", "mjvec_venv", "run", "train"]

DEFAULT_EVAL_EPISODES = 10
DEFAULT_EVALUATIONS = 20  # evaluations over a run when --eval-freq is not given


def mjvec_venv(env_id: str, num_envs: int, *, backend: str = "cpu", nthread: int | None = None, **make_kwargs):
    """``SB3VecEnv(mjvec.make(env_id, num_envs, ...))``: ``train()``'s default env factory."""
    import mjvec
    from mjvec.sb3 import SB3VecEnv

    return SB3VecEnv(mjvec.make(env_id, num_envs, backend=backend, nthread=nthread, **make_kwargs))


def train(
    env_id: str,
    *,
    algo: str = "ppo",
    num_envs: int | None = None,
    steps: int | None = None,
    seed: int = 0,
    out: str | os.PathLike = "runs/train",
    backend: str = "cpu",
    nthread: int | None = None,
    eval_freq: int | None = None,
    eval_episodes: int = DEFAULT_EVAL_EPISODES,
    overrides: dict[str, Any] | None = None,
    device: str = "cpu",
    torch_threads: int | None = 1,
    progress_bar: bool = False,
    video: bool = True,
    make_venv: Callable[..., Any] | None = None,
    label: str = "mjvec",
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train ``algo`` on ``env_id``, write the output folder ``out`` and return its metrics.

    Args:
      env_id: a registered mjvec task, e.g. ``"HalfCheetah-v5"``.
      algo: ``"ppo"``, ``"sac"`` or ``"td3"``.
      num_envs: training environments (default: the hyperparameters' ``n_envs``).
      steps: env-steps to train for (default: the hyperparameters' ``n_timesteps``).
      seed: seeds the algorithm and the training envs (env ``i`` gets ``seed + i``);
        the evaluation envs get ``seed + 10_000 + i``.
      out: the output folder (created; files of an earlier run there are replaced).
      backend: the ``MjVecEnv`` backend, ``"cpu"`` or ``"mjx"``.
      nthread: threads of the CPU backend (None: every CPU the process may use).
      eval_freq: env-steps between evaluations (default: ``steps / 20``); an
        evaluation also runs before training and at its end.
      eval_episodes: completed episodes per evaluation, one per evaluation env.
      overrides: hyperparameters replacing the data's (keys checked against ``algo``),
        taken as given for ``num_envs`` (the data's own values are adapted to it).
      device: torch device of the policy (``"cpu"``, ``"cuda"``, ``"auto"``).
      torch_threads: ``torch.set_num_threads`` (None: leave it); 1 suits small MLPs
        and leaves the cores to the simulation.
      progress_bar: SB3's progress bar (needs tqdm and rich).
      video: film one episode of the trained policy into ``video.mp4`` (skipped,
        with a note, when rendering is unavailable or ``make_venv`` is given).
      make_venv: ``make_venv(env_id, num_envs)`` returning an SB3 ``VecEnv``
        (default: ``mjvec_venv`` with ``backend``).
      label: names the environment implementation in the metrics and plots.
      log: where progress lines go (default: flushed prints, so a log file follows along).
    """
    log = log or (lambda msg: print(msg, flush=True))
    algo = hyperparams.check_algo(algo)
    hp = hyperparams.load(env_id, algo)
    num_envs = validation.check_num_envs(num_envs if num_envs is not None else int(hp["n_envs"]))
    # the data's values are adapted to num_envs; overrides are taken as given, for num_envs
    hp = hyperparams.with_overrides(hyperparams.for_num_envs(hp, algo, num_envs), overrides or {}, algo)
    if "batch_size" not in (overrides or {}):  # the data's batch fitted to the rollout; an override as given
        hp = hyperparams.fit_batch_to_rollout(hp, algo)
    steps = validation.check_positive_int(steps if steps is not None else int(hp["n_timesteps"]), "steps")
    if eval_freq is None:
        eval_freq = max(1, steps // DEFAULT_EVALUATIONS)
    eval_freq = validation.check_positive_int(eval_freq, "eval_freq")
    eval_episodes = validation.check_positive_int(eval_episodes, "eval_episodes")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"`seed` must be >= 0, got {seed}")
    if torch_threads is not None:
        torch_threads = validation.check_positive_int(torch_threads, "torch_threads")
    if progress_bar:
        try:
            import rich  # noqa: F401
            import tqdm  # noqa: F401
        except ImportError as e:
            raise ImportError(f"the progress bar needs tqdm and rich ({e}): pip install \"mjvec[train]\"") from e
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    import torch

    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
    factory = make_venv or (lambda env_id, n: mjvec_venv(env_id, n, backend=backend, nthread=nthread))
    venv = factory(env_id, num_envs)
    try:
        eval_venv = factory(env_id, eval_episodes)
    except BaseException:
        venv.close()
        raise
    try:
        return _run(env_id, algo, hp, venv, eval_venv, num_envs=num_envs, steps=steps, seed=seed, out=out,
                    backend=backend, nthread=nthread, eval_freq=eval_freq, eval_episodes=eval_episodes,
                    device=device, progress_bar=progress_bar, video=video, foreign_env=make_venv is not None,
                    label=label, log=log)
    finally:
        venv.close()
        eval_venv.close()


def _run(env_id: str, algo: str, hp: dict[str, Any], venv, eval_venv, *, num_envs: int, steps: int, seed: int,
         out: Path, backend: str, nthread: int | None, eval_freq: int, eval_episodes: int, device: str,
         progress_bar: bool, video: bool, foreign_env: bool, label: str, log: Callable[[str], None]):
    """``train()`` once its arguments are checked and its envs made (the caller closes them)."""
    import torch
    from stable_baselines3 import PPO, SAC, TD3
    from stable_baselines3.common import logger as sb3_logger
    from stable_baselines3.common.vec_env import VecNormalize

    from mjvec.tools.evaluation import Evaluator, plot_curves

    normalize = hp.get("normalize", False)
    if normalize:
        norm_kwargs = dict(normalize) if isinstance(normalize, dict) else {}
        norm_kwargs.setdefault("gamma", hp.get("gamma", 0.99))  # as the Zoo: the algorithm's discount
        venv = VecNormalize(venv, **norm_kwargs)
        # evaluation uses the training statistics (synced before each evaluation) and raw rewards
        eval_venv = VecNormalize(eval_venv, training=False, norm_obs=norm_kwargs.get("norm_obs", True),
                                 norm_reward=False, gamma=norm_kwargs["gamma"])
    eval_venv.seed(seed + 10_000)

    cls = {"ppo": PPO, "sac": SAC, "td3": TD3}[algo]
    kwargs = hyperparams.algo_kwargs(hp, algo, action_dim=int(np.prod(venv.action_space.shape)))
    model = cls(env=venv, seed=seed, device=device, verbose=0, **kwargs)
    formats = ["csv"]
    if sb3_logger.SummaryWriter is not None:  # torch's TensorBoard writer needs the tensorboard package
        formats.append("tensorboard")
    model.set_logger(sb3_logger.configure(str(out), formats))

    evaluator = Evaluator(eval_venv, eval_freq, eval_episodes, log)
    log(f"mjvec train: {label} {env_id} {algo.upper()} x{num_envs} envs, {steps:,} steps, seed {seed} -> {out}"
        f"  [{hp['source']}]")
    load_start = list(os.getloadavg()) if hasattr(os, "getloadavg") else None  # others' load: wall times are noisy
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=evaluator, progress_bar=progress_bar)
    wall = time.perf_counter() - start

    files = {"model": "model.zip", "progress_csv": "progress.csv"}
    model.save(out / "model.zip")
    if normalize:
        venv.save(str(out / "vecnormalize.pkl"))
        files["vecnormalize"] = "vecnormalize.pkl"
    if "tensorboard" in formats:
        files["tensorboard"] = "."

    evals = evaluator.evaluations
    train_wall = wall - evaluator.eval_wall_s
    metrics = {
        "env_id": env_id, "env": label, "algo": algo, "backend": None if foreign_env else backend,
        "nthread": None if foreign_env else nthread,
        "num_envs": num_envs, "steps": steps, "timesteps": int(model.num_timesteps), "seed": seed,
        "eval_freq": eval_freq, "eval_episodes": eval_episodes, "device": str(model.device),
        "torch_threads": torch.get_num_threads(),
        "hyperparams": hp,
        "evaluations": evals,
        "final_mean_return": evals[-1]["mean_return"],  # there is always one: before training
        "best_mean_return": max(e["mean_return"] for e in evals),
        "wall_s": wall, "eval_wall_s": evaluator.eval_wall_s, "train_wall_s": train_wall,
        "collect_wall_s": evaluator.collect_wall_s, "update_wall_s": train_wall - evaluator.collect_wall_s,
        "steps_per_s": model.num_timesteps / train_wall if train_wall > 0 else None,
        "machine": {**_machine(), "load_average_start": load_start},
        "files": files,
    }
    try:
        plot_curves([metrics], out / "learning_curve.png")
        files["learning_curve"] = "learning_curve.png"
    except ImportError as e:
        log(f"learning curve skipped: matplotlib is not installed ({e}); pip install \"mjvec[train]\"")
    if video:
        filmed = _video(model, env_id, backend, venv if normalize else None, out / "video.mp4", foreign_env, seed)
        if isinstance(filmed, dict):
            files["video"] = "video.mp4"
            metrics["video_episode"] = filmed
        else:
            metrics["video_skipped"] = filmed
            log(f"video skipped: {filmed}")
    files["metrics"] = "metrics.json"
    with open(out / "metrics.json", "w") as f:
        json.dump(metrics, f, indent=2, default=_json_default)
    log(f"done in {wall:.0f} s ({train_wall:.0f} s training, {evaluator.eval_wall_s:.0f} s evaluating):"
        f" final mean return {metrics['final_mean_return']:.1f}, best {metrics['best_mean_return']:.1f};"
        f" files in {out}: {', '.join(sorted(files.values()))}")
    return metrics


def _video(model, env_id: str, backend: str, vecnormalize, path: Path, foreign_env: bool, seed: int) -> dict | str:
    """Film one deterministic episode into ``path``: its return and length, or why it was not filmed."""
    if foreign_env:
        return "the run used its own env factory; `mjvec train` films mjvec envs only"
    import mjvec
    from mjvec.tools.evaluation import film_episode
    from mjvec.render import GLUnavailableError

    task_model = mjvec.make_task(env_id).model
    cameras = [task_model.camera(i).name for i in range(task_model.ncam)]
    # the locomotion tasks' "track" camera follows the body; the free camera would lose it
    camera = {"camera_name": "track"} if "track" in cameras else {}
    try:
        venv = mjvec_venv(env_id, 1, backend=backend, render_mode="rgb_array", **camera)
        return film_episode(model, venv, path, vecnormalize=vecnormalize, seed=seed)
    except (GLUnavailableError, ImportError) as e:  # no OpenGL, or no imageio: the run itself is done
        return f"{type(e).__name__}: {e}"


def _machine() -> dict[str, Any]:
    from importlib import metadata

    from mjvec.tools.bench import machine

    info = machine()
    for pkg in ("stable-baselines3", "torch"):
        try:
            info["versions"][pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            info["versions"][pkg] = None
    return info


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# -- command line --------------------------------------------------------------------
def _override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. n_steps=256), got {text!r}")
    try:
        return key.strip(), hyperparams.parse_value(value.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{key.strip()}: {e}") from None


def arg_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mjvec train", add_help=add_help,
        description="Train a Stable-Baselines3 agent on an mjvec task: periodic evaluation, logs, the saved"
        " model, a learning-curve PNG, a metrics JSON and an MP4 of the trained policy in --out.")
    p.add_argument("env", metavar="ENV", help="a registered task, e.g. HalfCheetah-v5 (see `mjvec envs`)")
    p.add_argument("--algo", default="ppo", type=str.lower, choices=hyperparams.ALGOS, help="default: ppo")
    p.add_argument("--num-envs", type=int, help="training environments (default: the hyperparameters' n_envs)")
    p.add_argument("--backend", default="cpu", choices=("cpu", "mjx"), help="the MjVecEnv backend (default: cpu)")
    p.add_argument("--nthread", type=int, help="threads of the CPU backend (default: all usable CPUs)")
    p.add_argument("--steps", type=int, help="env-steps to train (default: the hyperparameters' n_timesteps)")
    p.add_argument("--seed", type=int, default=0, help="default: 0")
    p.add_argument("--out", help="output folder (default: runs/ENV-ALGO-sSEED)")
    p.add_argument("--eval-freq", type=int, help="env-steps between evaluations (default: steps / 20)")
    p.add_argument("--eval-episodes", type=int, default=DEFAULT_EVAL_EPISODES,
                   help=f"episodes per evaluation (default: {DEFAULT_EVAL_EPISODES})")
    p.add_argument("--hp", metavar="KEY=VALUE", type=_override, action="append", default=[],
                   help="override a hyperparameter, value in TOML (repeatable): --hp n_epochs=10"
                   " --hp 'policy_kwargs={net_arch=[64, 64]}'")
    p.add_argument("--device", default="cpu", help="torch device of the policy (default: cpu)")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch threads (default: 1; small MLPs gain nothing from more)")
    p.add_argument("--progress-bar", action=argparse.BooleanOptionalAction, default=None,
                   help="SB3's progress bar (default: on when stderr is a terminal)")
    p.add_argument("--video", action=argparse.BooleanOptionalAction, default=True,
                   help="film the trained policy into video.mp4 (default: on)")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``mjvec train`` from parsed arguments; input errors exit with status 2 and a message."""
    overrides = dict(args.hp)
    progress_bar = sys.stderr.isatty() if args.progress_bar is None else args.progress_bar
    out = args.out or os.path.join("runs", f"{args.env.removeprefix('mjvec/')}-{args.algo}-s{args.seed}")
    try:
        # the checks train() makes before anything runs, as usage errors
        hp = hyperparams.load(args.env, args.algo)
        num_envs = validation.check_num_envs(args.num_envs if args.num_envs is not None else int(hp["n_envs"]))
        hyperparams.with_overrides(hyperparams.for_num_envs(hp, args.algo, num_envs), overrides, args.algo)
        for name in ("steps", "eval_freq", "eval_episodes", "torch_threads", "nthread"):
            if getattr(args, name) is not None:
                validation.check_positive_int(getattr(args, name), name)
        if args.seed < 0:
            raise ValueError(f"`seed` must be >= 0, got {args.seed}")
    except (TypeError, ValueError) as e:
        print(f"mjvec train: error: {e}", file=sys.stderr)
        return 2
    train(args.env, algo=args.algo, num_envs=num_envs, steps=args.steps, seed=args.seed, out=out,
          backend=args.backend, nthread=args.nthread, eval_freq=args.eval_freq, eval_episodes=args.eval_episodes, overrides=overrides,
          device=args.device, torch_threads=args.torch_threads, progress_bar=progress_bar, video=args.video)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``mjvec train``: parse ``argv`` (``sys.argv[1:]`` when None) and run."""
    warnings.filterwarnings("ignore", message=".*settotalmass.*")  # Gymnasium's MJCF files, MuJoCo 4.0
    return run(arg_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
