"""MPPI on an mjvec task with batched rollouts: K sampled action sequences from the current state.

    python scripts/mppi.py --task HalfCheetah-v5 --samples 64 --horizon 20 --steps 200 --json runs/mppi.json

A planning env of K envs, in DISABLED mode, rolls out K noisy copies of the current plan
from the real env's state (``planner.rollout(actions, state=...)``: one native call per
control step); the plan becomes their softmax-weighted average by return (model-predictive
path integral control), its first action is applied to the real env, and the plan shifts
by one step. Prints and writes the return reached and the planning rate.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import mjvec


def plan_step(planner, state, plan, rng, sigma, temperature, low, high):
    """One MPPI update of ``plan`` (H, A) from ``state``: returns the new plan."""
    k = planner.num_envs
    noise = rng.normal(0.0, sigma, (k, *plan.shape))
    actions = np.clip(plan[None] + noise, low, high).astype(np.float32)
    result = planner.rollout(actions, state=np.repeat(state[None], k, axis=0))
    returns = (result.reward * result.valid).sum(axis=1)  # a sample whose episode ends stops earning
    weights = np.exp((returns - returns.max()) / temperature)
    weights /= weights.sum()
    return np.einsum("k,kha->ha", weights, actions.astype(np.float64)), returns


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="HalfCheetah-v5")
    p.add_argument("--samples", type=int, default=64, help="K action sequences per control step")
    p.add_argument("--horizon", type=int, default=20, help="H steps per sequence")
    p.add_argument("--steps", type=int, default=200, help="control steps of the real env")
    p.add_argument("--sigma", type=float, default=0.5, help="std of the action noise")
    p.add_argument("--temperature", type=float, default=1.0, help="of the softmax over returns")
    p.add_argument("--nthread", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)

    env = mjvec.make(args.task, 1, autoreset_mode="disabled", nthread=1)
    planner = mjvec.make(args.task, args.samples, autoreset_mode="disabled", nthread=args.nthread,
                         max_episode_steps=None)
    space = env.single_action_space
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    rng = np.random.default_rng(args.seed)
    env.reset(seed=args.seed)
    planner.reset(seed=args.seed)
    plan = np.zeros((args.horizon, *space.shape))
    total, steps = 0.0, 0
    t0 = time.perf_counter()
    for steps in range(1, args.steps + 1):
        plan, _ = plan_step(planner, env.get_state()[0], plan, rng, args.sigma, args.temperature, low, high)
        _, reward, terminated, truncated, _ = env.step(plan[:1].astype(np.float32))
        total += float(reward[0])
        plan = np.concatenate((plan[1:], plan[-1:]))  # shift: the last action is held
        if terminated[0] or truncated[0]:
            break
    seconds = time.perf_counter() - t0
    out = {
        "task": args.task, "samples": args.samples, "horizon": args.horizon, "control_steps": steps,
        "return": total, "seconds": seconds, "control_steps_per_s": steps / seconds,
        "simulated_env_steps_per_s": steps * args.samples * args.horizon / seconds,
        "nthread": planner._backend.description.get("nthread"), "sigma": args.sigma,
        "temperature": args.temperature, "seed": args.seed,
    }
    print(
        f"{args.task}: return {total:.1f} over {steps} control steps; {out['control_steps_per_s']:.1f} control"
        f" steps/s ({out['simulated_env_steps_per_s']:,.0f} simulated env-steps/s, K={args.samples},"
        f" H={args.horizon}, nthread={out['nthread']})"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    env.close()
    planner.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
