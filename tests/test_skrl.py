"""skrl 2.1.1's own trainer, agents and memory on an MjVecEnv, through skrl's ``wrap_env``.

The env is in SAME_STEP mode and the agents put ``mjvec.skrl.FinalObservations`` first in
their bases. The tests run skrl's ``SequentialTrainer`` (PPO and SAC) and check every
transition skrl stored against what the env returned step by step: observations chain within
an episode and restart at the reset observation after an end, the next observation of an ended
transition is the episode's last one (a replay of that step from the physics state before it
gives it), the flags are the env's, a truncation exactly at the time limit, and PPO's
truncation bootstrap is the value of the terminal observation.
"""

from __future__ import annotations

import numpy as np
import pytest

import mjvec
from recorded import Recorded

torch = pytest.importorskip("torch")
pytest.importorskip("skrl", reason="skrl is not installed: pip install 'mjvec[skrl]'")
from skrl.agents.torch.ppo import PPO  # noqa: E402
from skrl.agents.torch.sac import SAC  # noqa: E402
from skrl.envs.wrappers.torch import wrap_env  # noqa: E402
from skrl.memories.torch import RandomMemory  # noqa: E402
from skrl.models.torch import DeterministicMixin, GaussianMixin, Model  # noqa: E402
from skrl.trainers.torch import SequentialTrainer  # noqa: E402

from mjvec.skrl import FinalObservations  # noqa: E402

NUM_ENVS, LIMIT, GAMMA = 4, 24, 0.99


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class _Policy(GaussianMixin, Model):
    def __init__(self, observation_space, action_space, device):
        Model.__init__(self, observation_space=observation_space, action_space=action_space, device=device)
        GaussianMixin.__init__(self, clip_actions=True)
        self.net = torch.nn.Sequential(torch.nn.Linear(self.num_observations, 32), torch.nn.Tanh(),
                                       torch.nn.Linear(32, self.num_actions))
        self.log_std = torch.nn.Parameter(torch.full((self.num_actions,), -0.5))

    def compute(self, inputs, role=""):
        return self.net(inputs["observations"]), {"log_std": self.log_std}


class _Value(DeterministicMixin, Model):
    def __init__(self, observation_space, action_space, device, with_action=False):
        Model.__init__(self, observation_space=observation_space, action_space=action_space, device=device)
        DeterministicMixin.__init__(self)
        self.with_action = with_action
        size = self.num_observations + (self.num_actions if with_action else 0)
        self.net = torch.nn.Sequential(torch.nn.Linear(size, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))

    def compute(self, inputs, role=""):
        x = inputs["observations"]
        if self.with_action:
            x = torch.cat([x, inputs["taken_actions"]], dim=-1)
        return self.net(x), {}


def _spy_memory(memory):
    """Every add_samples call's tensors, copied (the memory itself is overwritten)."""
    calls = []
    add = memory.add_samples

    def add_samples(**tensors):
        calls.append({k: v.detach().clone() for k, v in tensors.items() if v is not None})
        add(**tensors)

    memory.add_samples = add_samples
    return calls


class _PPORecording(PPO):
    """What PPO's own record_transition receives, and its value of each next observation at that moment."""

    received: list

    def record_transition(self, **kwargs):
        with torch.no_grad():
            value, _ = self.value.act({"observations": kwargs["next_observations"], "states": None}, role="value")
        self.received.append({**{k: kwargs[k].clone() for k in ("next_observations", "truncated")}, "value": value})
        super().record_transition(**kwargs)


class _MjPPO(FinalObservations, _PPORecording):
    pass


class _MjSAC(FinalObservations, SAC):
    pass


def _env():
    raw = Recorded(mjvec.make("InvertedPendulum-v5", NUM_ENVS, autoreset_mode="same_step",
                               max_episode_steps=LIMIT, obs_dtype=np.float32))
    return raw, wrap_env(raw, wrapper="gymnasium", verbose=False)


def _quiet():
    return {"experiment": {"write_interval": 0, "checkpoint_interval": 0}}


def _trainer(env, agent, timesteps):
    cfg = {"timesteps": timesteps, "headless": True, "disable_progressbar": True, "close_environment_at_exit": False}
    SequentialTrainer(env=env, agents=agent, cfg=cfg).train()


def _check_episodes(steps, stored_obs, next_obs, terminated, truncated):
    """The stored (obs, next_obs, flags) of each env against the env's own steps; counts of the ends."""
    replay = mjvec.make("InvertedPendulum-v5", 1, autoreset_mode="same_step", max_episode_steps=10**6,
                        obs_dtype=np.float32)
    replay.reset(seed=0)
    terminations = truncations = 0
    for i in range(NUM_ENVS):
        length = 0
        for t, (state, actions, obs, _, env_term, env_trunc, final) in enumerate(steps):
            length += 1
            term, trunc = bool(terminated[t][i]), bool(truncated[t][i])
            assert term == bool(env_term[i])
            assert trunc == bool(env_trunc[i] and not env_term[i])  # a terminated episode is not bootstrapped
            if t + 1 < len(steps):  # the next transition starts where the env is now: reset obs after an end
                np.testing.assert_array_equal(stored_obs[t + 1][i], obs[i])
            if env_term[i] or env_trunc[i]:
                # the stored next observation is the episode's last, not the reset one the trainer acts on
                np.testing.assert_array_equal(next_obs[t][i], final[i])
                assert not np.array_equal(next_obs[t][i], obs[i])
                replay.set_state(state[i : i + 1])
                replay_obs, _, r_term, r_trunc, r_info = replay.step(actions[i : i + 1])
                np.testing.assert_array_equal(next_obs[t][i], r_info["final_obs"][0] if r_term[0] else replay_obs[0])
                assert bool(env_trunc[i]) == (length == LIMIT)
                if env_term[i]:
                    assert abs(next_obs[t][i][1]) > 0.2  # the pole's angle past InvertedPendulum's limit
                terminations += bool(env_term[i])
                truncations += trunc
                length = 0
            else:
                np.testing.assert_array_equal(next_obs[t][i], obs[i])
                assert length < LIMIT
    replay.close()
    return terminations, truncations


def test_skrl_ppo_stores_terminal_observations_and_bootstraps_truncations_from_them():
    torch.manual_seed(0)
    raw, env = _env()
    rollouts, timesteps = 64, 512  # 4 envs x 512 steps: 2,048 transitions, 8 PPO updates
    memory = RandomMemory(memory_size=rollouts, num_envs=NUM_ENVS, device=env.device)
    calls = _spy_memory(memory)
    models = {"policy": _Policy(env.observation_space, env.action_space, env.device),
              "value": _Value(env.observation_space, env.action_space, env.device)}
    cfg = {"rollouts": rollouts, "learning_epochs": 2, "mini_batches": 4, "discount_factor": GAMMA,
           "time_limit_bootstrap": True, **_quiet()}
    _MjPPO.received = []
    agent = _MjPPO(models=models, memory=memory, observation_space=env.observation_space,
                   action_space=env.action_space, device=env.device, cfg=cfg)
    _trainer(env, agent, timesteps)
    steps = raw.steps
    assert len(steps) == len(calls) == len(_MjPPO.received) == timesteps
    stored_obs = [c["observations"].numpy() for c in calls]
    next_obs = [r["next_observations"].numpy() for r in _MjPPO.received]
    terminated = [c["terminated"].numpy().reshape(-1) for c in calls]
    truncated = [c["truncated"].numpy().reshape(-1) for c in calls]
    for t, (_, actions, _, env_reward, env_term, env_trunc, _) in enumerate(steps):
        np.testing.assert_array_equal(calls[t]["actions"].numpy(), actions)
        value = _MjPPO.received[t]["value"].numpy().reshape(-1)
        bootstrap = np.where(env_trunc & ~env_term, GAMMA * value, 0.0)
        np.testing.assert_allclose(calls[t]["rewards"].numpy().reshape(-1), env_reward + bootstrap, rtol=1e-6)
    terminations, truncations = _check_episodes(steps, stored_obs, next_obs, terminated, truncated)
    assert terminations > 0 and truncations > 0
    raw.close()


def test_skrl_sac_replay_memory_holds_terminal_observations():
    torch.manual_seed(0)
    raw, env = _env()
    timesteps = 400  # 1,600 transitions, 300 gradient steps
    memory = RandomMemory(memory_size=timesteps, num_envs=NUM_ENVS, device=env.device)
    calls = _spy_memory(memory)
    models = {"policy": _Policy(env.observation_space, env.action_space, env.device)}
    for name in ("critic_1", "critic_2", "target_critic_1", "target_critic_2"):
        models[name] = _Value(env.observation_space, env.action_space, env.device, with_action=True)
    cfg = {"batch_size": 64, "learning_starts": 100, "discount_factor": GAMMA, **_quiet()}
    agent = _MjSAC(models=models, memory=memory, observation_space=env.observation_space,
                   action_space=env.action_space, device=env.device, cfg=cfg)
    _trainer(env, agent, timesteps)
    steps = raw.steps
    assert len(steps) == len(calls) == timesteps
    stored_obs = [c["observations"].numpy() for c in calls]
    next_obs = [c["next_observations"].numpy() for c in calls]
    terminated = [c["terminated"].numpy().reshape(-1) for c in calls]
    # SAC stores no truncation flag: a truncated transition is stored as not terminated, so its
    # target bootstraps from the stored next observation, the terminal one
    truncated = [s[5] & ~s[4] for s in steps]
    for t, (_, _, _, env_reward, _, _, _) in enumerate(steps):
        np.testing.assert_array_equal(calls[t]["rewards"].numpy().reshape(-1), env_reward.astype(np.float32))
    terminations, truncations = _check_episodes(steps, stored_obs, next_obs, terminated, truncated)
    assert terminations > 0 and truncations > 0
    raw.close()


def test_refuses_envs_not_in_same_step_and_ppo_without_truncation_bootstrap():
    raw = mjvec.make("InvertedPendulum-v5", NUM_ENVS, max_episode_steps=3, obs_dtype=np.float32)  # NEXT_STEP
    env = wrap_env(raw, wrapper="gymnasium", verbose=False)
    models = {"policy": _Policy(env.observation_space, env.action_space, env.device),
              "value": _Value(env.observation_space, env.action_space, env.device)}
    agent = _MjPPO(models=models, memory=RandomMemory(memory_size=8, num_envs=NUM_ENVS),
                   observation_space=env.observation_space, action_space=env.action_space, device=env.device,
                   cfg={"rollouts": 8, "time_limit_bootstrap": True, **_quiet()})
    _MjPPO.received = []
    with pytest.raises(ValueError, match="autoreset_mode='same_step'"):
        _trainer(env, agent, 8)
    off = _MjPPO(models=models, memory=RandomMemory(memory_size=8, num_envs=NUM_ENVS),
                 observation_space=env.observation_space, action_space=env.action_space, device=env.device,
                 cfg={"rollouts": 8, "time_limit_bootstrap": False, **_quiet()})
    with pytest.raises(ValueError, match="time_limit_bootstrap=True"):
        _trainer(env, off, 8)
    raw.close()


def test_missing_extra_names_it(import_error_without):
    out = import_error_without("mjvec.skrl", "skrl")
    assert 'pip install "mjvec[skrl]"' in out, out


def test_import_mjvec_does_not_import_skrl():
    import subprocess
    import sys

    code = "import sys, mjvec; assert 'skrl' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
