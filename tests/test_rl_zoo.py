"""RL Zoo 2.9.2's own ``rl_zoo3.train`` on ``--env mjvec/... --gym-packages mjvec`` trains on mjvec's env.

The zoo builds its envs with SB3's ``make_vec_env``, that is ``gym.make(env_id)`` per env, which
gives ``mjvec.MjEnv`` (one mjvec env behind ``gym.Env``) for an ``mjvec/`` id. The test runs the
zoo's training command line in a subprocess and records what the zoo's ``create_envs`` built.
rl_zoo3 is not an extra of mjvec (optuna, huggingface_hub, sb3-contrib, ...): the test is skipped
where it is not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("rl_zoo3", reason="RL Zoo is not installed (pip install rl_zoo3==2.9.2)")

PROBE = """
import json, sys
from rl_zoo3.exp_manager import ExperimentManager
from rl_zoo3.train import train
built = []
create_envs = ExperimentManager.create_envs
def recording(self, n_envs, eval_env=False, no_log=False):
    venv = create_envs(self, n_envs, eval_env=eval_env, no_log=no_log)
    built.append([type(e.unwrapped).__module__ + "." + type(e.unwrapped).__name__ for e in venv.envs])
    return venv
ExperimentManager.create_envs = recording
sys.argv = ["train", "--algo", "ppo", "--env", "mjvec/InvertedPendulum-v5", "--gym-packages", "mjvec",
            "-n", "128", "--seed", "0", "--log-folder", "logs", "-params", "n_steps:64", "batch_size:64",
            "--eval-freq", "-1", "--device", "cpu"]
train()
print("BUILT", json.dumps(built))
"""


def test_rl_zoo_train_builds_and_trains_on_mjvecs_env(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    built = json.loads(out.stdout.split("BUILT", 1)[1])
    assert built and all(cls == "mjvec.single_env.MjEnv" for envs in built for cls in envs), built
    assert "Using 'default' hyperparameters" in out.stdout  # the zoo's ppo.yml has no mjvec/ ids
    assert list((tmp_path / "logs" / "ppo").glob("mjvec-InvertedPendulum-v5_*/mjvec-InvertedPendulum-v5.zip"))
