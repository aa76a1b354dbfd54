"""A dataset of transitions for a world model, collected with batched rollouts.

    python scripts/collect_transitions.py --task Hopper-v5 --num-envs 64 --horizon 50 --rollouts 20 --out runs/hopper.npz

N envs in DISABLED mode each run ``--rollouts`` rollouts of ``--horizon`` random actions
(one native call each); the envs whose episode ended inside a rollout are reset before
the next. Only the steps that belong to an episode are kept (``result.valid``), as
(obs, action, reward, next_obs, terminated, truncated) rows in one ``.npz`` file, with
each row's ``env`` and ``rollout`` index: an env's rows of one rollout are consecutive, in
step order.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mjvec


def collect(env, rollouts: int, horizon: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``rollouts`` rollouts of ``horizon`` uniform random actions; the valid transitions, stacked."""
    space = env.single_action_space
    obs, _ = env.reset(seed=int(rng.integers(2**31)))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in
                                          ("obs", "action", "reward", "next_obs", "terminated", "truncated",
                                           "env", "rollout")}
    for j in range(rollouts):
        actions = rng.uniform(space.low, space.high, (env.num_envs, horizon, *space.shape)).astype(space.dtype)
        result = env.rollout(actions)
        before = np.concatenate((obs[:, None], result.obs[:, :-1]), axis=1)  # the obs each action saw
        v = result.valid
        parts["obs"].append(before[v])
        parts["action"].append(actions[v])
        parts["reward"].append(result.reward[v])
        parts["next_obs"].append(result.obs[v])
        parts["terminated"].append(result.terminated[v])
        parts["truncated"].append(result.truncated[v])
        parts["env"].append(np.broadcast_to(np.arange(env.num_envs)[:, None], v.shape)[v])
        parts["rollout"].append(np.full(int(v.sum()), j))
        ended = result.terminated.any(axis=1) | result.truncated.any(axis=1)
        obs = result.obs[:, -1]
        if ended.any():
            obs, _ = env.reset(options={"reset_mask": ended})
    return {k: np.concatenate(v) for k, v in parts.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="Hopper-v5")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--horizon", type=int, default=50)
    p.add_argument("--rollouts", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="transitions.npz")
    args = p.parse_args(argv)
    env = mjvec.make(args.task, args.num_envs, autoreset_mode="disabled")
    t0 = time.perf_counter()
    data = collect(env, args.rollouts, args.horizon, np.random.default_rng(args.seed))
    seconds = time.perf_counter() - t0
    env.close()
    np.savez_compressed(args.out, **data)
    n = len(data["reward"])
    print(f"{args.task}: {n:,} transitions ({int(data['terminated'].sum())} terminal) in {seconds:.2f} s"
          f" -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
