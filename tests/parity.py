"""Run mjvec and Gymnasium's SyncVectorEnv side by side with the same actions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import mjvec


def make_pair(env_id, num_envs, *, autoreset_mode="next_step", nthread=None, max_episode_steps=None, **kwargs):
    mode = {"next_step": gym.vector.AutoresetMode.NEXT_STEP, "same_step": gym.vector.AutoresetMode.SAME_STEP}[
        autoreset_mode
    ]
    limit = {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}
    ref = gym.make_vec(
        env_id, num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **limit, **kwargs
    )
    ours = mjvec.make(env_id, num_envs, autoreset_mode=autoreset_mode, nthread=nthread, **limit, **kwargs)
    return ours, ref


def assert_info_equal(ours: dict, ref: dict, where: str, atol: float = 0.0, skip=()):
    assert sorted(ours) == sorted(ref), f"{where}: info keys {sorted(ours)} != {sorted(ref)}"
    for key in ref:
        if key in skip:
            continue
        a, b = ours[key], ref[key]
        if key == "final_obs":
            for i, (x, y) in enumerate(zip(a, b)):
                assert (x is None) == (y is None), f"{where}: final_obs[{i}]"
                if x is not None:
                    np.testing.assert_allclose(x, y, rtol=0, atol=atol, err_msg=f"{where}: final_obs[{i}]")
        elif isinstance(b, dict):
            assert_info_equal(a, b, f"{where}[{key}]", atol, skip)
        else:
            np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=0, atol=atol,
                                       err_msg=f"{where}: info[{key!r}]")


def run_parity(env_id, num_envs=3, steps=120, seed=0, autoreset_mode="next_step", atol=0.0, obs_atol=None,
               max_episode_steps=None, info_skip=(), **kwargs):
    """Step both with the same random actions; compare everything at every step.

    Returns the number of episode ends seen, so callers can check autoresets happened.
    """
    ours, ref = make_pair(env_id, num_envs, autoreset_mode=autoreset_mode,
                          max_episode_steps=max_episode_steps, **kwargs)
    obs_atol = atol if obs_atol is None else obs_atol
    try:
        o1, i1 = ours.reset(seed=seed)
        o2, i2 = ref.reset(seed=seed)
        np.testing.assert_allclose(o1, o2, rtol=0, atol=obs_atol, err_msg="reset obs")
        assert_info_equal(i1, i2, "reset", atol, info_skip)
        ref.action_space.seed(seed)
        ends = 0
        for t in range(steps):
            a = ref.action_space.sample()
            o1, r1, te1, tr1, i1 = ours.step(a)
            o2, r2, te2, tr2, i2 = ref.step(a)
            where = f"{env_id} step {t}"
            np.testing.assert_array_equal(te1, te2, err_msg=f"{where}: terminated")
            np.testing.assert_array_equal(tr1, tr2, err_msg=f"{where}: truncated")
            np.testing.assert_allclose(o1, o2, rtol=0, atol=obs_atol, err_msg=f"{where}: obs")
            np.testing.assert_allclose(r1, r2, rtol=0, atol=atol, err_msg=f"{where}: reward")
            assert_info_equal(i1, i2, where, atol, info_skip)
            assert o1.dtype == o2.dtype and r1.dtype == r2.dtype
            ends += int((te2 | tr2).sum())
        return ends
    finally:
        ours.close()
        ref.close()


def assert_mjx_follows_cpu(env_id, num_envs, actions, atol, *, reset_atol=1e-6, **mjx_kwargs):
    """The MJX backend (``mjx_kwargs``: ``impl=``...) against the CPU backend from the CPU's reset
    states, with the model values MJX drew at its own reset (``reset_model_fields``, reacher's
    target) copied into the CPU env (test-only access): the reset observations within
    ``reset_atol``, then observations and rewards within ``atol`` at every step of ``actions``."""
    cpu, mjx = mjvec.make(env_id, num_envs), mjvec.make(env_id, num_envs, backend="mjx", **mjx_kwargs)
    try:
        cpu.reset(seed=0)
        states = cpu.get_state()
        mjx.reset(seed=0)
        for f in mjvec.make_task(env_id).reset_model_fields:
            cpu._backend.sim._expanded[f][...] = np.asarray(mjx._backend._state.params[f])
        o2, _ = mjx.reset(options={"state": states})
        o1, _ = cpu.reset(options={"state": states})
        for k in o1:
            np.testing.assert_allclose(o2[k], o1[k], rtol=0, atol=reset_atol, err_msg=f"reset {k}")
        for t, a in enumerate(actions):
            o1, r1, *_ = cpu.step(a)
            o2, r2, *_ = mjx.step(a)
            for k in o1:
                np.testing.assert_allclose(o2[k], o1[k], rtol=0, atol=atol, err_msg=f"step {t} {k}")
            np.testing.assert_allclose(r2, r1, rtol=0, atol=atol, err_msg=f"step {t} reward")
    finally:
        cpu.close()
        mjx.close()


def warp_skip_reason():
    """Why MJX's ``impl="warp"`` cannot run here (for a ``skipif``), or None."""
    from mjvec.backends.mjx.impls import warp_unavailable

    return warp_unavailable()
