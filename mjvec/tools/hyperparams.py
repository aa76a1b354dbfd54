"""Per-task Stable-Baselines3 hyperparameters for ``mjvec train``, kept as data.

The values live in ``hyperparams.toml`` next to this file (RL Baselines3 Zoo's
MuJoCo entries; the file says where each comes from). This module reads them,
applies overrides, adapts them to a number of environments and turns them into
keyword arguments of the SB3 algorithm. It imports neither SB3 nor torch until
``algo_kwargs`` is called.

    hp = hyperparams.load("HalfCheetah-v5", "ppo")                  # the table, as data
    hp = hyperparams.for_num_envs(hp, "ppo", 16)                    # same experience per update
    hp = hyperparams.with_overrides(hp, {"n_epochs": 10}, "ppo")    # checked against the algorithm
    hp = hyperparams.fit_batch_to_rollout(hp, "ppo")                # batch_size <= n_steps * n_envs
    kwargs = hyperparams.algo_kwargs(hp, "ppo", action_dim=6)       # for PPO(**kwargs)
"""

from __future__ import annotations

import copy
import functools
import inspect
import sys
from importlib import resources
from typing import Any

from mjvec import validation

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the `train` extra carries tomli
    import tomli as tomllib

__all__ = [
    "ACTIVATIONS", "ALGOS", "algo_kwargs", "check", "fit_batch_to_rollout", "for_num_envs", "load", "parse_value",
    "tables", "with_overrides",
]

ALGOS = ("ppo", "sac", "td3")
# keys of the data that are not keyword arguments of the SB3 algorithm
META_KEYS = ("source", "n_envs", "n_timesteps", "normalize", "noise_type", "noise_std")
_TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "elu": "ELU", "leaky_relu": "LeakyReLU"}
ACTIVATIONS = tuple(_TORCH_ACTIVATIONS)
NOISE_TYPES = ("normal",)
# keys of the data that a run sets otherwise
_RUN_KEYS = {"source": "the data file", "n_envs": "`num_envs` (--num-envs)", "n_timesteps": "`steps` (--steps)"}
_ALGO_CLASSES = {"ppo": "PPO", "sac": "SAC", "td3": "TD3"}


@functools.cache
def tables() -> dict[str, dict[str, dict[str, Any]]]:
    """The whole file: ``{algo: {"defaults" or task name: table}}`` (cached; copy before changing)."""
    text = resources.files("mjvec.tools").joinpath("hyperparams.toml").read_text()
    return tomllib.loads(text)


def load(env_id: str, algo: str) -> dict[str, Any]:
    """The hyperparameters of ``algo`` on ``env_id``: the task's table, else the algorithm's defaults.

    ``env_id`` may carry the ``mjvec/`` namespace. The result is a fresh dict,
    with ``source`` saying which table it is.
    """
    from mjvec.registration import _entry

    name = _entry(env_id).name  # raises for an unknown task, with a "did you mean"
    per_task = tables()[check_algo(algo)]
    if name in per_task:
        return copy.deepcopy(per_task[name])
    hp = copy.deepcopy(per_task["defaults"])
    hp["source"] = f"no {algo.upper()} table for {name}, the defaults: {hp['source']}"
    return hp


def check_algo(algo: Any) -> str:
    if not isinstance(algo, str):
        raise TypeError(f"`algo` must be a str, got {type(algo).__name__}")
    if algo.lower() not in ALGOS:
        raise ValueError(f"`algo` must be one of {list(ALGOS)}, got {algo!r}{validation.did_you_mean(algo, ALGOS)}")
    return algo.lower()


def allowed_keys(algo: str) -> list[str]:
    """The keys a table of ``algo`` may hold: the data's own and the SB3 constructor's arguments."""
    from stable_baselines3 import PPO, SAC, TD3

    cls = {"ppo": PPO, "sac": SAC, "td3": TD3}[check_algo(algo)]
    # env and the training plumbing are set by `mjvec train`, not by the data
    own = {"env", "tensorboard_log", "verbose", "seed", "device", "_init_setup_model", "action_noise"}
    params = [p for p in inspect.signature(cls).parameters if p not in own]
    # action noise is for the off-policy algorithms (SB3's `action_noise`)
    meta = [k for k in META_KEYS if algo != "ppo" or not k.startswith("noise_")]
    return [*meta, *params]


def with_overrides(hp: dict[str, Any], overrides: dict[str, Any], algo: str) -> dict[str, Any]:
    """``hp`` with ``overrides`` applied, each key checked against what ``algo`` accepts.

    ``policy_kwargs`` given as an override replaces the whole table.
    """
    known = allowed_keys(algo)
    out = copy.deepcopy(hp)
    for key, value in overrides.items():
        if key in _RUN_KEYS:
            raise ValueError(f"hyperparameter {key!r} is set by {_RUN_KEYS[key]}, not as an override")
        if key not in known:
            settable = sorted(k for k in known if k not in _RUN_KEYS)
            raise ValueError(
                f"hyperparameter {key!r} is not one {_ALGO_CLASSES[algo]} takes"
                f"{validation.did_you_mean(key, settable)}; known: {settable}"
            )
        out[key] = value
    check(out)
    out["source"] = f"{hp.get('source', '')}; overridden: {', '.join(sorted(overrides))}" if overrides else hp.get(
        "source", "")
    return out


def check(hp: dict[str, Any]) -> None:
    """Refuse values ``algo_kwargs`` could not convert, before anything is built."""
    policy_kwargs = hp.get("policy_kwargs")
    if policy_kwargs is not None:
        if not isinstance(policy_kwargs, dict):
            raise TypeError(f"`policy_kwargs` must be a table, got {type(policy_kwargs).__name__}")
        name = policy_kwargs.get("activation_fn", ACTIVATIONS[0])
        if not isinstance(name, str) or name not in ACTIVATIONS:
            hint = validation.did_you_mean(name, ACTIVATIONS) if isinstance(name, str) else ""
            raise ValueError(f"`policy_kwargs.activation_fn` must be one of {list(ACTIVATIONS)}, got {name!r}{hint}")
    noise_type = hp.get("noise_type")
    if noise_type is not None:
        if noise_type not in NOISE_TYPES:
            raise ValueError(f"`noise_type` must be one of {list(NOISE_TYPES)}, got {noise_type!r}")
        if not isinstance(hp.get("noise_std"), (int, float)) or isinstance(hp.get("noise_std"), bool):
            raise ValueError(f"`noise_type` needs a number `noise_std`, got {hp.get('noise_std')!r}")


def for_num_envs(hp: dict[str, Any], algo: str, num_envs: int) -> dict[str, Any]:
    """``hp`` adapted to ``num_envs`` environments, keeping the experience per update.

    PPO: ``n_steps`` is scaled so ``n_steps * num_envs`` stays the tuned rollout
    size ``n_steps * n_envs`` (rounded, at least 1). SAC and TD3: a positive
    ``gradient_steps`` is scaled by ``num_envs / n_envs`` (rounded, at least 1), so
    the gradient steps per collected transition stay the same; ``-1`` already means
    one per transition.
    """
    num_envs = validation.check_num_envs(num_envs)
    out = copy.deepcopy(hp)
    tuned = int(out.get("n_envs", 1))
    out["n_envs"] = num_envs
    if num_envs == tuned:
        return out
    if algo == "ppo":
        rollout = int(out.get("n_steps", 2048)) * tuned  # 2048: SB3's default
        out["n_steps"] = max(1, round(rollout / num_envs))
        if out["n_steps"] * num_envs < 2:
            raise ValueError(f"PPO needs a rollout of at least 2 transitions; `n_steps * num_envs` is {num_envs}")
    else:
        steps = int(out.get("gradient_steps", 1))
        if steps > 0:
            out["gradient_steps"] = max(1, round(steps * num_envs / tuned))
    return out


def fit_batch_to_rollout(hp: dict[str, Any], algo: str) -> dict[str, Any]:
    """PPO: ``batch_size`` capped at the rollout size ``n_steps * n_envs``.

    A larger mini-batch than the rollout is what SB3 trains on as one mini-batch of the
    whole rollout per epoch (and warns about), so the cap changes no update: the same
    gradient steps per env-step, without the warning. ``source`` says so.
    """
    out = copy.deepcopy(hp)
    if algo != "ppo":
        return out
    rollout = int(out.get("n_steps", 2048)) * int(out.get("n_envs", 1))
    batch = int(out.get("batch_size", 64))  # 64: SB3's default
    if batch > rollout:
        out["batch_size"] = rollout
        out["source"] = (f"{out.get('source', '')}; batch_size {batch} capped at the rollout size {rollout}"
                         f" (n_steps {out.get('n_steps', 2048)} x {out.get('n_envs', 1)} envs): the same one"
                         " mini-batch per epoch")
    return out


def algo_kwargs(hp: dict[str, Any], algo: str, action_dim: int) -> dict[str, Any]:
    """Keyword arguments for the SB3 algorithm's constructor (without ``env``) from a table.

    ``policy`` defaults to ``"MlpPolicy"``; ``policy_kwargs.activation_fn`` names
    become ``torch.nn`` classes; ``noise_type``/``noise_std`` become ``action_noise``.
    """
    check_algo(algo)
    check(hp)
    kwargs = {k: copy.deepcopy(v) for k, v in hp.items() if k not in META_KEYS}
    kwargs.setdefault("policy", "MlpPolicy")
    policy_kwargs = kwargs.get("policy_kwargs")
    if policy_kwargs is not None and "activation_fn" in policy_kwargs:
        import torch

        policy_kwargs["activation_fn"] = getattr(torch.nn, _TORCH_ACTIVATIONS[policy_kwargs["activation_fn"]])
    if hp.get("noise_type") is not None:
        import numpy as np
        from stable_baselines3.common.noise import NormalActionNoise

        kwargs["action_noise"] = NormalActionNoise(
            mean=np.zeros(action_dim), sigma=float(hp["noise_std"]) * np.ones(action_dim)
        )
    return kwargs


def parse_value(text: str) -> Any:
    """A value written as in the data file: ``64``, ``3e-4``, ``true``, ``"auto"``, ``{net_arch = [64]}``.

    A bare word that is not a TOML value is taken as a string (``ent_coef=auto``).
    """
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if text and all(c.isalnum() or c in "_-." for c in text):
            return text
        raise ValueError(f"{text!r} is not a TOML value (numbers, true/false, \"strings\", [lists], {{tables}})")
