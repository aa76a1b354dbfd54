"""mjvec against Gymnasium's SyncVectorEnv: same seed, same actions, bit for bit (atol=0)."""

import pytest
from parity import run_parity


# --- Reacher-v5 and Pusher-v5 ------------------------------------------------
# Both draw their reset state by rejection sampling; 4 envs over several episodes
# (limits 50 / 100 steps) exercise rejected draws and keep every env's stream aligned.


@pytest.mark.parametrize("autoreset_mode", ["next_step", "same_step"])
@pytest.mark.parametrize("env_id, steps", [("Reacher-v5", 230), ("Pusher-v5", 330)])
def test_reacher_pusher_parity(env_id, steps, autoreset_mode):
    ends = run_parity(env_id, num_envs=4, steps=steps, autoreset_mode=autoreset_mode)
    assert ends > 0


def test_reacher_parity_kwargs():
    ends = run_parity(
        "Reacher-v5", num_envs=3, steps=60, seed=7, max_episode_steps=17,
        frame_skip=3, reward_dist_weight=0.5, reward_control_weight=0.1,
    )
    assert ends > 0


def test_pusher_parity_kwargs():
    ends = run_parity(
        "Pusher-v5", num_envs=3, steps=60, seed=7, max_episode_steps=23,
        frame_skip=4, reward_near_weight=1.0, reward_dist_weight=2.0, reward_control_weight=0.3,
    )
    assert ends > 0
