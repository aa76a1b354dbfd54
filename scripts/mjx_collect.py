"""(obs, action, next_obs) transitions collected inside one jitted ``lax.scan`` on the MJX backend.

    python scripts/mjx_collect.py --task InvertedPendulum-v5 --num-envs 64 --steps 100

``env.functional()`` gives the backend's own step as a pure function; the scan carries its
state, draws uniform random actions from a key and records each transition. The env runs in
SAME_STEP mode, so a transition that ends an episode has the terminal observation as its
``next_obs`` (``out.final``) while the carried state already holds the reset.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import mjvec


def collect(fn, state, key, steps: int, low, high):
    """``(state, transitions)``: ``steps`` steps of uniform random actions in one ``lax.scan``.

    Each transition field is ``(steps, num_envs, ...)``: obs, action, reward, next_obs,
    terminated, truncated.
    """

    def body(state, k):
        action = jax.random.uniform(k, (fn.num_envs, *low.shape), minval=low, maxval=high)
        new, out = fn.step(state, action)
        done = out.terminated | out.truncated
        next_obs = out.obs if out.final is None else jnp.where(done[:, None], out.final[0], out.obs)
        return new, {"obs": state.episodes.last_obs, "action": action, "reward": out.reward, "next_obs": next_obs,
                     "terminated": out.terminated, "truncated": out.truncated}

    return jax.lax.scan(body, state, jax.random.split(key, steps))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="InvertedPendulum-v5")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    env = mjvec.make(args.task, args.num_envs, backend="mjx", autoreset_mode="same_step")
    fn = env.functional()
    space = env.single_action_space
    low, high = jnp.asarray(space.low), jnp.asarray(space.high)
    run = jax.jit(lambda key: collect(fn, fn.reset(key)[0], key, args.steps, low, high))
    t0 = time.perf_counter()
    jax.block_until_ready(run(jax.random.key(args.seed)))
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, data = jax.block_until_ready(run(jax.random.key(args.seed + 1)))
    seconds = time.perf_counter() - t0
    print(f"{args.task}: {args.steps} x {args.num_envs} transitions, obs {data['obs'].shape}, episode ends"
          f" {int((data['terminated'] | data['truncated']).sum())}; {args.steps * args.num_envs / seconds:,.0f}"
          f" env-steps/s on {jax.default_backend()} (first call {compile_s:.1f} s with compilation)")
    env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
