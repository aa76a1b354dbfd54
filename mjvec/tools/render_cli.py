"""``mjvec render ENV [--model PATH]``: an MP4 of random or trained play.

Without ``--model`` the envs take uniformly random actions; with it, a
Stable-Baselines3 model (a ``.zip`` saved by ``model.save`` or ``mjvec train``) acts,
on observations normalized with its ``VecNormalize`` statistics where it has them.
Frames of several envs are tiled into one image, or overlaid in one scene.
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["add_parser", "run"]

# SB3 algorithms by the module of the policy class a model file names
_ALGOS = {"ppo": "PPO", "a2c": "A2C", "sac": "SAC", "td3": "TD3", "ddpg": "DDPG"}
_ALGO_OF_POLICY_MODULE = {
    "stable_baselines3.common.policies": "ppo",  # ActorCriticPolicy: PPO's and A2C's
    "stable_baselines3.sac.policies": "sac",
    "stable_baselines3.td3.policies": "td3",  # TD3's and DDPG's
}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def add_parser(commands: Any) -> None:
    """Add the ``render`` subcommand to the ``mjvec`` command's subparsers."""
    p = commands.add_parser(
        "render", help="an MP4 of random or trained play (the `render` extra)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("env", metavar="ENV", help="a registered task, e.g. HalfCheetah-v5")
    p.add_argument("--model", type=Path, help="a Stable-Baselines3 model (.zip) to play; random actions without")
    p.add_argument("--algo", choices=sorted(_ALGOS), help="the model's algorithm (default: read from the file)")
    p.add_argument(
        "--vecnormalize", type=Path,
        help="the model's VecNormalize statistics (default: vecnormalize.pkl beside the model, if there)",
    )
    p.add_argument("--num-envs", type=_positive_int, default=1, help="envs drawn side by side (default 1)")
    p.add_argument("--steps", type=_positive_int, help="env steps to record (default: one episode's limit)")
    p.add_argument("--seed", type=int, default=0, help="reset seed (env i gets seed + i) and action seed")
    p.add_argument("--layout", choices=("tiled", "overlay"), default="tiled", help="how several envs are drawn")
    p.add_argument("--width", type=_positive_int, default=480, help="pixels of one env's frame (default 480)")
    p.add_argument("--height", type=_positive_int, default=480, help="pixels of one env's frame (default 480)")
    p.add_argument(
        "--camera", help="a camera of the model, by name or id (default: 'track' where the model has it)"
    )
    p.add_argument("--fps", type=_positive_float, help="frames per second (default: the env's, 1 / dt)")
    p.add_argument("--stochastic", action="store_true", help="sample the model's actions (default: its mean)")
    p.add_argument("-o", "--output", type=Path, help="the video file, .mp4 or .gif (default: ENV.mp4)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    import mjvec
    from mjvec.render import write_video

    warnings.filterwarnings("ignore", message=".*settotalmass.*")  # Gymnasium's MJCF files, MuJoCo 4.0

    try:  # the user's mistakes (an unknown task or camera, a missing model) as one line each
        model = _load_model(args.model, args.algo) if args.model else None
        camera = _camera(args.camera, mjvec.make_task(args.env).model)
        env = mjvec.make(
            args.env, args.num_envs, render_mode="rgb_array", width=args.width, height=args.height, **camera
        )
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise SystemExit(f"mjvec render: error: {e}") from None
    steps = args.steps or env.max_episode_steps or 1000
    output = args.output or Path(f"{args.env.split('/')[-1]}.mp4")
    fps = args.fps or env.metadata["render_fps"]
    returns: list[float] = []
    play = _random_play(env, args, returns) if model is None else _trained_play(env, model, args, returns)
    try:
        frames = (env.render(layout=args.layout) for _ in play)
        write_video(output, _take(frames, steps + 1), fps)
    finally:
        env.close()
    ended = f"; {len(returns)} episodes ended, mean return {np.mean(returns):.1f}" if returns else ""
    print(f"wrote {output}: {steps + 1} frames at {fps:g} fps of {args.num_envs} env(s){ended}")
    return 0


def _camera(camera: str | None, model) -> dict[str, Any]:
    """``--camera`` as MjVecEnv's keywords; by default the model's tracking camera, 'track'."""
    if camera is None:
        names = [model.camera(i).name for i in range(model.ncam)]
        # the v5 locomotion tasks' 'track' camera follows the body; the free camera stays put
        return {"camera_name": "track"} if "track" in names else {}
    if camera.lstrip("-").isdigit():
        return {"camera_id": int(camera)}
    return {"camera_name": camera}


def _take(frames, n: int):
    for _, frame in zip(range(n), frames):
        yield frame


def _random_play(env, args: argparse.Namespace, returns: list[float]):
    """Reset, then step with random actions forever; yields after the reset and each step."""
    env.reset(seed=args.seed)
    env.action_space.seed(args.seed)
    episode = np.zeros(env.num_envs)
    yield
    while True:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        episode += reward
        _record(returns, episode, terminated | truncated)
        yield


def _trained_play(env, model, args: argparse.Namespace, returns: list[float]):
    """Reset, then step with the model's actions forever; yields after the reset and each step."""
    from stable_baselines3.common.vec_env import VecNormalize

    from mjvec.sb3 import SB3VecEnv

    venv = SB3VecEnv(env)
    stats = args.vecnormalize or args.model.with_name("vecnormalize.pkl")
    if args.vecnormalize or stats.exists():
        venv = VecNormalize.load(str(stats), venv)
        venv.training, venv.norm_reward = False, False  # play: use the statistics, do not update them
    venv.seed(args.seed)
    obs = venv.reset()
    episode = np.zeros(env.num_envs)
    yield
    while True:
        action, _ = model.predict(obs, deterministic=not args.stochastic)
        obs, reward, done, _ = venv.step(action)  # the env's own rewards: norm_reward is off
        episode += reward
        _record(returns, episode, done)
        yield


def _record(returns: list[float], episode: np.ndarray, done: np.ndarray) -> None:
    returns.extend(episode[done].tolist())
    episode[done] = 0.0


def _load_model(path: Path, algo: str | None):
    """The SB3 model saved at ``path``, of ``algo`` or the algorithm its policy class says."""
    if not path.is_file():
        raise FileNotFoundError(f"`--model` {str(path)!r} is not a file")
    if algo is None:
        try:
            with zipfile.ZipFile(path) as z:
                module = json.loads(z.read("data"))["policy_class"]["__module__"]
        except (zipfile.BadZipFile, KeyError, ValueError) as e:
            raise ValueError(f"`--model` {str(path)!r} is not a Stable-Baselines3 model file: {e}") from None
        if module not in _ALGO_OF_POLICY_MODULE:
            raise ValueError(
                f"cannot tell the algorithm of {str(path)!r} from its policy class (module {module!r}):"
                f" pass --algo, one of {sorted(_ALGOS)}"
            )
        algo = _ALGO_OF_POLICY_MODULE[module]
    import stable_baselines3

    return getattr(stable_baselines3, _ALGOS[algo]).load(path, device="cpu")
