"""mjvec: fast, Gymnasium-compatible vectorized MuJoCo environments.

    import mjvec
    env = mjvec.make("HalfCheetah-v5", num_envs=64)      # or gymnasium.make_vec("mjvec/HalfCheetah-v5", 64)
    one = gymnasium.make("mjvec/HalfCheetah-v5")          # one mjvec env behind gym.Env (mjvec.make_env)
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
"""

from mjvec.actions import ActionSpec
from mjvec.cameras import Camera
from mjvec.mujoco_log import route_mujoco_warnings
from mjvec.randomize import Choice, LogUniform, Normal, Randomization, Uniform
from mjvec.rays import Rays
from mjvec.registration import TASKS, make, make_env, make_task, register_all
from mjvec.single_env import MjEnv
from mjvec.task import Task
from mjvec.vector_env import MjVecEnv

__all__ = [
    "ActionSpec",
    "Camera",
    "Choice",
    "LogUniform",
    "MjEnv",
    "MjVecEnv",
    "Normal",
    "Randomization",
    "Rays",
    "TASKS",
    "Task",
    "Uniform",
    "make",
    "make_env",
    "make_task",
]
__version__ = "0.1.0"

register_all()
route_mujoco_warnings()  # MuJoCo's warnings to `logging`, once each; no MUJOCO_LOG.TXT
