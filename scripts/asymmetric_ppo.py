"""Asymmetric actor-critic PPO: the actor sees ``"state"``, the critic ``"state"`` + ``"privileged"``.

    python scripts/asymmetric_ppo.py                       # Hopper-v5, asymmetric and symmetric critics
    python scripts/asymmetric_ppo.py --steps 100000 --critics asymmetric --out /tmp/asym

One mjvec env gives both observation groups (``observations={"actor": "state", "critic":
"privileged"}``); the policy network reads only ``obs["actor"]``, the value network reads
both, concatenated. ``--critics symmetric`` trains the same loop with a critic on
``"state"`` alone, as the baseline. A small PPO in the style of CleanRL's ``ppo_continuous_action``
(clipped objective, GAE, per-key running observation normalization), written here, not a
copy. Writes ``asymmetric_ppo.json`` and ``asymmetric_ppo.png`` (episode return against
env-steps) to ``--out``. A short sanity run: one seed, torch and MuJoCo on one thread each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def _mlp(torch, sizes, out_std):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = torch.nn.Linear(a, b)
        last = i == len(sizes) - 2
        torch.nn.init.orthogonal_(linear.weight, out_std if last else np.sqrt(2))
        torch.nn.init.zeros_(linear.bias)
        layers += [linear] if last else [linear, torch.nn.Tanh()]
    return torch.nn.Sequential(*layers)


class RunningNorm:
    """Running mean and variance of one observation key (Welford over batches), clipped to +-10."""

    def __init__(self, size: int):
        self.mean, self.var, self.count = np.zeros(size), np.ones(size), 1e-4

    def update(self, x: np.ndarray) -> None:
        mean, var, n = x.mean(0), x.var(0), len(x)
        delta, total = mean - self.mean, self.count + n
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.clip((x - self.mean) / np.sqrt(self.var + 1e-8), -10, 10).astype(np.float32)


def train(env_id: str, critic: str, steps: int, seed: int, num_envs: int = 16, horizon: int = 128) -> dict:
    import gymnasium as gym
    import torch

    import mjvec

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    groups = {"actor": "state", "critic": "privileged"}
    env = mjvec.make(env_id, num_envs, nthread=1, observations=groups,
                     autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    space = env.single_observation_space
    n_actor, n_priv = space["actor"].shape[0], space["critic"].shape[0]
    n_act = env.single_action_space.shape[0]
    n_critic = n_actor + n_priv if critic == "asymmetric" else n_actor
    actor = _mlp(torch, [n_actor, 64, 64, n_act], 0.01)
    value = _mlp(torch, [n_critic, 64, 64, 1], 1.0)
    log_std = torch.nn.Parameter(torch.zeros(n_act))
    optim = torch.optim.Adam([*actor.parameters(), *value.parameters(), log_std], lr=3e-4, eps=1e-5)
    norms = {"actor": RunningNorm(n_actor), "critic": RunningNorm(n_priv)}
    low, high = env.single_action_space.low, env.single_action_space.high

    def inputs(obs):
        a = norms["actor"](obs["actor"])
        c = np.concatenate([a, norms["critic"](obs["critic"])], axis=1) if critic == "asymmetric" else a
        return torch.from_numpy(a), torch.from_numpy(c)

    gamma, lam, clip, epochs, minibatches = 0.99, 0.95, 0.2, 10, 32
    obs, _ = env.reset(seed=seed)
    returns, lengths = np.zeros(num_envs), np.zeros(num_envs, dtype=np.int64)
    curve, done_steps, start = [], 0, time.perf_counter()
    while done_steps < steps:
        buf = {k: [] for k in ("a_in", "c_in", "act", "logp", "rew", "done", "val")}
        for _ in range(horizon):
            for key in norms:
                norms[key].update(obs[key])
            a_in, c_in = inputs(obs)
            with torch.no_grad():
                mean = actor(a_in)
                dist = torch.distributions.Normal(mean, log_std.exp())
                act = dist.sample()
                logp = dist.log_prob(act).sum(-1)
                val = value(c_in).squeeze(-1)
            obs, reward, terminated, truncated, info = env.step(np.clip(act.numpy(), low, high))
            done = terminated | truncated
            # a truncated episode's value is bootstrapped from its final observation
            boot = reward.astype(np.float64)
            if truncated.any():
                final = info["final_obs"]
                idx = np.flatnonzero(truncated & ~terminated)
                if len(idx):
                    rows = {k: np.stack([final[i][k] for i in idx]) for k in groups}
                    with torch.no_grad():
                        boot[idx] += gamma * value(inputs(rows)[1]).squeeze(-1).numpy()
            returns += reward
            lengths += 1
            for i in np.flatnonzero(done):
                curve.append((done_steps + num_envs, float(returns[i]), int(lengths[i])))
                returns[i], lengths[i] = 0.0, 0
            for k, v in zip(buf, (a_in, c_in, act, logp, boot, done, val)):
                buf[k].append(torch.as_tensor(v))
            done_steps += num_envs
        with torch.no_grad():
            next_val = value(inputs(obs)[1]).squeeze(-1)
        rew = torch.stack(buf["rew"]).float()
        done = torch.stack(buf["done"]).float()
        val = torch.stack(buf["val"])
        adv = torch.zeros_like(rew)
        last = torch.zeros(num_envs)
        for t in reversed(range(horizon)):
            nxt = next_val if t == horizon - 1 else val[t + 1]
            delta = rew[t] + gamma * nxt * (1 - done[t]) - val[t]
            last = delta + gamma * lam * (1 - done[t]) * last
            adv[t] = last
        ret = adv + val
        flat = {k: torch.stack(buf[k]).reshape(horizon * num_envs, -1) for k in ("a_in", "c_in", "act")}
        flat_logp, flat_adv, flat_ret = (x.reshape(-1) for x in (torch.stack(buf["logp"]), adv, ret))
        size = horizon * num_envs
        for _ in range(epochs):
            for idx in torch.randperm(size).split(size // minibatches):
                dist = torch.distributions.Normal(actor(flat["a_in"][idx]), log_std.exp())
                ratio = (dist.log_prob(flat["act"][idx]).sum(-1) - flat_logp[idx]).exp()
                a = flat_adv[idx]
                a = (a - a.mean()) / (a.std() + 1e-8)
                policy_loss = -torch.min(ratio * a, ratio.clamp(1 - clip, 1 + clip) * a).mean()
                value_loss = 0.5 * ((value(flat["c_in"][idx]).squeeze(-1) - flat_ret[idx]) ** 2).mean()
                loss = policy_loss + 0.5 * value_loss
                optim.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_([*actor.parameters(), *value.parameters(), log_std], 0.5)
                optim.step()
    env.close()
    wall = time.perf_counter() - start
    last = [r for s, r, _ in curve if s > 0.9 * done_steps]
    return {"critic": critic, "critic_inputs": n_critic, "actor_inputs": n_actor, "steps": done_steps,
            "wall_s": round(wall, 1), "final_return_mean": float(np.mean(last)) if last else None, "curve": curve}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="Hopper-v5")
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--critics", nargs="+", default=["asymmetric", "symmetric"], choices=["asymmetric", "symmetric"])
    p.add_argument("--out", default=os.path.join("docs", "observations"))
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    runs = []
    for critic in args.critics:
        run = train(args.env, critic, args.steps, args.seed)
        print(f"{critic}: {run['steps']} steps in {run['wall_s']} s, return over the last 10%:"
              f" {run['final_return_mean']}", flush=True)
        runs.append(run)
    meta = {"env": args.env, "seed": args.seed, "machine": platform.processor() or platform.machine(),
            "load": os.getloadavg()}
    with open(os.path.join(args.out, "asymmetric_ppo.json"), "w") as f:
        json.dump({"meta": meta, "runs": runs}, f)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for run in runs:
        s, r = np.array([c[0] for c in run["curve"]]), np.array([c[1] for c in run["curve"]])
        k = max(1, len(r) // 30)
        smooth = np.convolve(r, np.ones(k) / k, mode="valid")
        ax.plot(s[k - 1:], smooth, label=f"critic on {'state + privileged' if run['critic'] == 'asymmetric' else 'state'}")
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(f"PPO on {args.env}, actor on 'state' (seed {args.seed})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "asymmetric_ppo.png"), dpi=100)


if __name__ == "__main__":
    main()
