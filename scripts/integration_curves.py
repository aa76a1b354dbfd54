"""InvertedPendulum-v5 learning curves, one short run per RL library, each with its own training loop.

    nice -n 10 python scripts/integration_curves.py --out docs/integrations

Each library trains on an ``MjVecEnv`` the way docs/integrations.md says a user plugs it in:

- ``sb3``: Stable-Baselines3 PPO on ``mjvec.sb3.SB3VecEnv`` (NEXT_STEP; RL Zoo's tuned
  InvertedPendulum hyperparameters, as ``mjvec train`` reads them);
- ``sbx``: sbx SAC on ``SB3VecEnv`` (SAME_STEP);
- ``skrl``: skrl PPO with ``mjvec.skrl.FinalObservations`` through skrl's ``wrap_env`` and
  ``SequentialTrainer`` (SAME_STEP);
- ``torchrl``: TorchRL's ``GymWrapper``, ``Collector``, ``GAE`` and ``ClipPPOLoss`` (SAME_STEP);
- ``tianshou``: Tianshou's PPO and ``OnPolicyTrainer`` on ``mjvec.tianshou.TianshouVectorEnv``
  (DISABLED);
- ``cleanrl``: a CleanRL-style PPO loop over ``gym.make_vec`` (NEXT_STEP, reset steps left out).

The curve is what the training envs saw: at each finished episode, the mean return of the
last 10 finished episodes, against the env steps taken so far (every env's step counts). It is
recorded from the ``MjVecEnv``'s own ``step`` results, under every library's wrappers, so the
numbers are the same measure for all. Each library runs in its own process (``--one LIB``,
one torch thread) and writes ``OUT/curves/LIB.json``; the parent writes
``OUT/inverted_pendulum.json`` (all runs, the machine's load) and ``OUT/inverted_pendulum.png``.
The runs are short (tens of thousands of steps), so a curve shows that a library's loop learns
on mjvec, not how well tuned it is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ENV_ID = "InvertedPendulum-v5"
LIBS = ("sb3", "sbx", "skrl", "torchrl", "tianshou", "cleanrl")
STEPS = {"sb3": 40_000, "sbx": 25_000, "skrl": 60_000, "torchrl": 60_000, "tianshou": 61_440, "cleanrl": 60_000}


class EpisodeLog:
    """Finished episodes' returns from an MjVecEnv's own step results, against the steps taken."""

    def __init__(self, env):
        self.env, self.steps, self.points = env, 0, []
        self.returns = np.zeros(env.num_envs)
        self.t0 = time.perf_counter()
        self._step = env.step
        env.step = self.step  # the instance's step: every adapter and wrapper above calls it

    def step(self, actions):
        obs, reward, terminated, truncated, info = self._step(actions)
        self.steps += self.env.num_envs
        self.returns += np.asarray(reward)
        for i in np.flatnonzero(np.asarray(terminated) | np.asarray(truncated)):
            self.points.append((self.steps, float(self.returns[i]), time.perf_counter() - self.t0))
            self.returns[i] = 0.0
        return obs, reward, terminated, truncated, info

    def reset_returns(self, mask=None):
        self.returns[slice(None) if mask is None else mask] = 0.0


def _make(num_envs, mode, **kwargs):
    import mjvec

    env = mjvec.make(ENV_ID, num_envs, autoreset_mode=mode, obs_dtype=np.float32, **kwargs)
    return env, EpisodeLog(env)


def run_sb3(steps, seed):
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from mjvec.sb3 import SB3VecEnv
    from mjvec.tools import hyperparams

    hp = hyperparams.load(ENV_ID, "ppo")  # RL Zoo's tuned table, as `mjvec train` reads it
    env, log = _make(hp["n_envs"], "next_step")
    kwargs = hyperparams.algo_kwargs(hp, "ppo", env.single_action_space.shape[0])
    venv = VecNormalize(SB3VecEnv(env), gamma=hp.get("gamma", 0.99))  # the table's `normalize = true`
    PPO(env=venv, seed=seed, device="cpu", **kwargs).learn(steps)
    return log, {"algo": "PPO", "num_envs": env.num_envs, "mode": "next_step", "hyperparams": hp}


def run_sbx(steps, seed):
    from sbx import SAC

    from mjvec.sb3 import SB3VecEnv

    env, log = _make(1, "same_step")
    SAC("MlpPolicy", SB3VecEnv(env), learning_starts=1_000, seed=seed).learn(steps)
    return log, {"algo": "SAC", "num_envs": 1, "mode": "same_step", "hyperparams": {"learning_starts": 1_000}}


def run_skrl(steps, seed):
    import torch
    from skrl.agents.torch.ppo import PPO
    from skrl.envs.wrappers.torch import wrap_env
    from skrl.memories.torch import RandomMemory
    from skrl.models.torch import DeterministicMixin, GaussianMixin, Model
    from skrl.resources.preprocessors.torch import RunningStandardScaler
    from skrl.trainers.torch import SequentialTrainer

    from mjvec.skrl import FinalObservations

    class Policy(GaussianMixin, Model):
        def __init__(self, obs_space, act_space, device):
            Model.__init__(self, observation_space=obs_space, action_space=act_space, device=device)
            GaussianMixin.__init__(self, clip_actions=True)
            self.net = _mlp(self.num_observations, self.num_actions, torch)
            self.log_std = torch.nn.Parameter(torch.zeros(self.num_actions))

        def compute(self, inputs, role=""):
            return self.net(inputs["observations"]), {"log_std": self.log_std}

    class Value(DeterministicMixin, Model):
        def __init__(self, obs_space, act_space, device):
            Model.__init__(self, observation_space=obs_space, action_space=act_space, device=device)
            DeterministicMixin.__init__(self)
            self.net = _mlp(self.num_observations, 1, torch)

        def compute(self, inputs, role=""):
            return self.net(inputs["observations"]), {}

    class MjPPO(FinalObservations, PPO):
        pass

    torch.manual_seed(seed)
    raw, log = _make(8, "same_step")
    env = wrap_env(raw, wrapper="gymnasium", verbose=False)
    rollouts = 256
    cfg = {"rollouts": rollouts, "learning_epochs": 10, "mini_batches": 32, "learning_rate": 3e-4,
           "discount_factor": 0.99, "gae_lambda": 0.95, "time_limit_bootstrap": True,
           "observation_preprocessor": RunningStandardScaler,
           "observation_preprocessor_kwargs": {"size": env.observation_space, "device": env.device},
           "experiment": {"write_interval": 0, "checkpoint_interval": 0}}
    models = {"policy": Policy(env.observation_space, env.action_space, env.device),
              "value": Value(env.observation_space, env.action_space, env.device)}
    agent = MjPPO(models=models, memory=RandomMemory(memory_size=rollouts, num_envs=8, device=env.device),
                  observation_space=env.observation_space, action_space=env.action_space, device=env.device, cfg=cfg)
    trainer_cfg = {"timesteps": steps // 8, "headless": True, "disable_progressbar": True,
                   "close_environment_at_exit": False}
    SequentialTrainer(env=env, agents=agent, cfg=trainer_cfg).train()
    hp = {k: v for k, v in cfg.items() if k not in ("observation_preprocessor_kwargs", "experiment")}
    hp["observation_preprocessor"] = "RunningStandardScaler"
    return log, {"algo": "PPO", "num_envs": 8, "mode": "same_step", "hyperparams": hp}


def run_torchrl(steps, seed):
    import torch
    from tensordict.nn import NormalParamExtractor, TensorDictModule
    from torchrl.collectors import Collector
    from torchrl.data import LazyTensorStorage, ReplayBuffer
    from torchrl.data.replay_buffers.samplers import SamplerWithoutReplacement
    from torchrl.envs import GymWrapper
    from torchrl.modules import ProbabilisticActor, TanhNormal, ValueOperator
    from torchrl.objectives import ClipPPOLoss
    from torchrl.objectives.value import GAE

    torch.manual_seed(seed)
    raw, log = _make(8, "same_step")
    env = GymWrapper(raw)
    env.set_seed(seed)
    n_obs, n_act = raw.single_observation_space.shape[0], raw.single_action_space.shape[0]
    actor_net = torch.nn.Sequential(_mlp(n_obs, 2 * n_act, torch), NormalParamExtractor())
    low, high = (torch.as_tensor(b, dtype=torch.float32) for b in (raw.single_action_space.low,
                                                                   raw.single_action_space.high))
    actor = ProbabilisticActor(
        TensorDictModule(actor_net, in_keys=["observation"], out_keys=["loc", "scale"]),
        in_keys=["loc", "scale"], distribution_class=TanhNormal,
        distribution_kwargs={"low": low, "high": high}, return_log_prob=True,
    )
    critic = ValueOperator(_mlp(n_obs, 1, torch), in_keys=["observation"])
    per_batch = 2_048
    collector = Collector(env, actor, frames_per_batch=per_batch, total_frames=steps)
    advantage = GAE(gamma=0.99, lmbda=0.95, value_network=critic, average_gae=True)
    loss = ClipPPOLoss(actor, critic, clip_epsilon=0.2, entropy_coeff=0.0)
    optim = torch.optim.Adam(loss.parameters(), lr=3e-4)
    buffer = ReplayBuffer(storage=LazyTensorStorage(per_batch), sampler=SamplerWithoutReplacement())
    for batch in collector:
        for _ in range(10):
            with torch.no_grad():
                advantage(batch)
            buffer.extend(batch.reshape(-1))
            for _ in range(per_batch // 64):
                parts = loss(buffer.sample(64))
                total = parts["loss_objective"] + parts["loss_critic"] + parts.get("loss_entropy", 0.0)
                optim.zero_grad()
                total.backward()
                torch.nn.utils.clip_grad_norm_(loss.parameters(), 0.5)
                optim.step()
        collector.update_policy_weights_()
    collector.shutdown()
    hp = {"frames_per_batch": per_batch, "epochs": 10, "minibatch": 64, "lr": 3e-4, "gamma": 0.99, "lmbda": 0.95,
          "clip_epsilon": 0.2, "distribution": "TanhNormal"}
    return log, {"algo": "PPO (ClipPPOLoss)", "num_envs": 8, "mode": "same_step", "hyperparams": hp}


def run_tianshou(steps, seed):
    import torch
    from tianshou.algorithm import PPO
    from tianshou.algorithm.modelfree.reinforce import ProbabilisticActorPolicy
    from tianshou.algorithm.optim import AdamOptimizerFactory
    from tianshou.data import Collector, VectorReplayBuffer
    from tianshou.trainer import OnPolicyTrainerParams
    from tianshou.utils.net.common import Net
    from tianshou.utils.net.continuous import ContinuousActorProbabilistic, ContinuousCritic

    from mjvec.tianshou import TianshouVectorEnv

    torch.manual_seed(seed)
    raw, log = _make(8, "disabled")
    venv = TianshouVectorEnv(raw)
    venv.seed(seed)
    space = venv.action_space[0]
    shape = venv.observation_space[0].shape
    actor = ContinuousActorProbabilistic(preprocess_net=Net(state_shape=shape, hidden_sizes=[64, 64],
                                                            activation=torch.nn.Tanh),
                                         action_shape=space.shape, unbounded=True)
    critic = ContinuousCritic(preprocess_net=Net(state_shape=shape, hidden_sizes=[64, 64], activation=torch.nn.Tanh))
    policy = ProbabilisticActorPolicy(
        actor=actor, action_space=space, action_scaling=False, action_bound_method="clip",
        dist_fn=lambda loc_scale: torch.distributions.Independent(torch.distributions.Normal(*loc_scale), 1),
    )
    algorithm = PPO(policy=policy, critic=critic, optim=AdamOptimizerFactory(lr=3e-4), ent_coef=0.0,
                    gamma=0.99, gae_lambda=0.95, max_grad_norm=0.5)
    per_collect = 2_048
    collector = Collector(algorithm, venv, VectorReplayBuffer(per_collect, len(venv)))
    collector.reset()
    params = OnPolicyTrainerParams(
        training_collector=collector, max_epochs=max(1, steps // 10_240), epoch_num_steps=10_240,
        collection_step_num_env_steps=per_collect, update_step_num_repetitions=10, batch_size=64,
        test_collector=None, verbose=False, show_progress=False,
    )
    algorithm.run_training(params)
    hp = {"collect_steps": per_collect, "repeat": 10, "batch_size": 64, "lr": 3e-4, "gamma": 0.99,
          "gae_lambda": 0.95, "net": [64, 64]}
    return log, {"algo": "PPO", "num_envs": 8, "mode": "disabled", "hyperparams": hp}


def run_cleanrl(steps, seed):
    """A CleanRL-style PPO loop (ppo_continuous_action.py's structure, with docs/integrations.md's changes)."""
    import gymnasium as gym
    import torch
    from gymnasium.wrappers.vector import ClipAction, NormalizeObservation, RecordEpisodeStatistics

    torch.manual_seed(seed)
    num_envs, num_steps, gamma, lam = 8, 256, 0.99, 0.95
    # the `mjvec:` prefix: Gymnasium imports mjvec (this function never does)
    raw = gym.make_vec(f"mjvec:mjvec/{ENV_ID}", num_envs, obs_dtype=np.float32)
    log = EpisodeLog(raw)
    envs = NormalizeObservation(ClipAction(RecordEpisodeStatistics(raw)))
    n_obs, n_act = envs.single_observation_space.shape[0], envs.single_action_space.shape[0]
    actor, critic = _mlp(n_obs, n_act, torch), _mlp(n_obs, 1, torch)
    log_std = torch.nn.Parameter(torch.zeros(n_act))
    params = [*actor.parameters(), *critic.parameters(), log_std]
    optim = torch.optim.Adam(params, lr=3e-4, eps=1e-5)

    def dist(obs):
        return torch.distributions.Normal(actor(obs), log_std.exp())

    next_obs = torch.as_tensor(envs.reset(seed=seed)[0])
    resetting = torch.zeros(num_envs, dtype=torch.bool)
    for _ in range(steps // (num_envs * num_steps)):
        obs_b, act_b, logp_b, rew_b, val_b, ended_b, valid_b = [], [], [], [], [], [], []
        for _ in range(num_steps):
            with torch.no_grad():
                d = dist(next_obs)
                action = d.sample()
                obs_b.append(next_obs), act_b.append(action), logp_b.append(d.log_prob(action).sum(-1))
                val_b.append(critic(next_obs).squeeze(-1))
            valid_b.append(~resetting)  # a NEXT_STEP reset step is no transition
            obs, reward, term, trunc, _ = envs.step(action.numpy())
            obs, reward = torch.as_tensor(obs), torch.as_tensor(reward, dtype=torch.float32)
            term, trunc = torch.as_tensor(term), torch.as_tensor(trunc)
            with torch.no_grad():  # bootstrap a truncation from the obs returned now: the episode's last
                reward = torch.where(trunc & ~term, reward + gamma * critic(obs).squeeze(-1), reward)
            rew_b.append(reward), ended_b.append(term | trunc)
            next_obs, resetting = obs, term | trunc
        obs_b, act_b, logp_b, rew_b, val_b = map(torch.stack, (obs_b, act_b, logp_b, rew_b, val_b))
        ended_b, valid_b = torch.stack(ended_b), torch.stack(valid_b)
        with torch.no_grad():
            adv, last = torch.zeros_like(rew_b), torch.zeros(num_envs)
            next_value = torch.where(resetting, 0.0, critic(next_obs).squeeze(-1))
            for t in reversed(range(num_steps)):
                keep = (~ended_b[t]).float()
                last = rew_b[t] + gamma * next_value * keep - val_b[t] + gamma * lam * keep * last
                adv[t] = torch.where(valid_b[t], last, 0.0)
                next_value = val_b[t]
            ret = adv + val_b
        o, a, lp, A, R = (x[valid_b] for x in (obs_b, act_b, logp_b, adv, ret))
        for _ in range(10):
            for idx in torch.randperm(len(o)).split(64):
                d = dist(o[idx])
                ratio = (d.log_prob(a[idx]).sum(-1) - lp[idx]).exp()
                adv_i = (A[idx] - A[idx].mean()) / (A[idx].std() + 1e-8)
                pg = -torch.min(ratio * adv_i, ratio.clamp(0.8, 1.2) * adv_i).mean()
                v_loss = 0.5 * ((critic(o[idx]).squeeze(-1) - R[idx]) ** 2).mean()
                optim.zero_grad()
                (pg + 0.5 * v_loss).backward()
                torch.nn.utils.clip_grad_norm_(params, 0.5)
                optim.step()
    envs.close()
    hp = {"num_steps": num_steps, "epochs": 10, "minibatch": 64, "lr": 3e-4, "gamma": gamma, "gae_lambda": lam,
          "wrappers": ["RecordEpisodeStatistics", "ClipAction", "NormalizeObservation"]}
    return log, {"algo": "PPO", "num_envs": num_envs, "mode": "next_step", "hyperparams": hp}


def _mlp(n_in, n_out, torch):
    return torch.nn.Sequential(torch.nn.Linear(n_in, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
                               torch.nn.Linear(64, n_out))


def _curve(points, window=10):
    steps = [p[0] for p in points]
    returns = np.array([p[1] for p in points])
    mean = [float(returns[max(0, k + 1 - window) : k + 1].mean()) for k in range(len(returns))]
    return steps, mean


def run_one(lib, steps, seed, out):
    import torch

    torch.set_num_threads(1)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    log, meta = globals()[f"run_{lib}"](steps, seed)
    wall = time.perf_counter() - t0
    curve_steps, curve_mean = _curve(log.points)
    versions = {}
    for name in ("mjvec", "mujoco", "gymnasium", "torch", "stable-baselines3", "sbx-rl", "skrl", "torchrl",
                 "tianshou", "jax"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - not installed
            pass
    result = {
        "library": lib, **meta, "env_id": ENV_ID, "seed": seed, "steps_asked": steps, "env_steps": log.steps,
        "wall_s": wall, "load_average_start": load_start, "load_average_end": os.getloadavg(),
        "episodes": len(log.points),
        "final_mean_return_last10": curve_mean[-1] if curve_mean else None,
        "best_mean_return_last10": max(curve_mean) if curve_mean else None,
        "curve": {"env_steps": curve_steps, "mean_return_last10": curve_mean},
        "episode_returns": [p[1] for p in log.points], "versions": versions,
    }
    (out / "curves").mkdir(parents=True, exist_ok=True)
    (out / "curves" / f"{lib}.json").write_text(json.dumps(result, indent=1))
    print(f"{lib}: {log.steps} steps in {wall:.0f} s, last-10 mean return {result['final_mean_return_last10']}")


def plot(out, results, machine):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for r in results:
        label = f"{r['library']} {r['algo']} ({r['mode']}, {r['num_envs']} envs, {r['wall_s']:.0f} s)"
        ax.plot(r["curve"]["env_steps"], r["curve"]["mean_return_last10"], label=label)
    ax.set_xlabel("env steps")
    ax.set_ylabel("training return (mean of last 10 episodes)")
    load = max([machine["load_average_start"][0], machine["load_average_end"][0]]
               + [r[k][0] for r in results for k in ("load_average_start", "load_average_end") if k in r])
    ax.set_title(f"mjvec {ENV_ID}: one short run per library (seed 0; {machine['cores']} shared cores,"
                 f" load up to {load:.0f})", fontsize=10)
    ax.set_ylim(0, 1050)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "inverted_pendulum.png", dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libs", nargs="+", default=list(LIBS), choices=LIBS)
    parser.add_argument("--steps", type=int, default=None, help="env steps per library (default: STEPS)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("docs/integrations"))
    parser.add_argument("--one", choices=LIBS, help=argparse.SUPPRESS)
    parser.add_argument("--plot-only", action="store_true", help="replot OUT/curves/*.json")
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.steps or STEPS[args.one], args.seed, args.out)
        return
    load_start = os.getloadavg()
    failed = {}
    if not args.plot_only:
        for lib in args.libs:
            cmd = [sys.executable, __file__, "--one", lib, "--seed", str(args.seed), "--out", str(args.out)]
            if args.steps:
                cmd += ["--steps", str(args.steps)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            print(proc.stdout.strip() or f"{lib}: no output")
            if proc.returncode:
                failed[lib] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc {proc.returncode}"
                print(f"{lib} failed: {failed[lib]}", file=sys.stderr)
    results = []
    for lib in LIBS:
        path = args.out / "curves" / f"{lib}.json"
        if path.exists():
            results.append(json.loads(path.read_text()))
    machine = {"platform": platform.platform(), "cores": os.cpu_count(), "load_average_start": load_start,
               "load_average_end": os.getloadavg()}
    summary_path = args.out / "inverted_pendulum.json"
    if args.plot_only and summary_path.exists():  # the machine the runs saw, not the one replotting
        previous = json.loads(summary_path.read_text())
        machine, failed = previous["machine"], previous["failed"]
    summary = {
        "env_id": ENV_ID, "measure": "mean training return of the last 10 finished episodes, per env step",
        "machine": machine, "failed": failed,
        "runs": [{k: v for k, v in r.items() if k not in ("curve", "episode_returns")} for r in results],
    }
    summary_path.write_text(json.dumps(summary, indent=1))
    plot(args.out, results, machine)


if __name__ == "__main__":
    main()
