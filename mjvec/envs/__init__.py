"""The task catalog: one task per file, and the table of registered tasks as data.

``TASKS`` lists every task ``import mjvec`` registers with Gymnasium as
``mjvec/<name>`` (``mjvec.registration``). Importing this package imports no task.
"""

from __future__ import annotations

from typing import NamedTuple

from mjvec.envs.dm_control import SUITE as _DM_CONTROL

__all__ = ["TASKS", "TaskEntry"]


class TaskEntry(NamedTuple):
    name: str  # without the namespace: "HalfCheetah-v5"
    task: str  # "module:Class" under mjvec.envs
    max_episode_steps: int | None
    reference: str | None  # Gymnasium's own env of the same task (the parity reference), or None
    kwargs: dict | None = None  # the task class's keyword arguments this id sets (a suite's tasks)


# Gymnasium's 11 MuJoCo v5 tasks (gymnasium/envs/__init__.py: same limits)
TASKS: tuple[TaskEntry, ...] = tuple(
    TaskEntry(name, f"mjvec.envs.{module}:{cls}", steps, f"gymnasium.envs.mujoco.{ref}")
    for name, module, cls, steps, ref in (
        ("Ant-v5", "ant", "Ant", 1000, "ant_v5:AntEnv"),
        ("HalfCheetah-v5", "half_cheetah", "HalfCheetah", 1000, "half_cheetah_v5:HalfCheetahEnv"),
        ("Hopper-v5", "hopper", "Hopper", 1000, "hopper_v5:HopperEnv"),
        ("Humanoid-v5", "humanoid", "Humanoid", 1000, "humanoid_v5:HumanoidEnv"),
        ("HumanoidStandup-v5", "humanoid_standup", "HumanoidStandup", 1000,
         "humanoidstandup_v5:HumanoidStandupEnv"),
        ("InvertedDoublePendulum-v5", "inverted_double_pendulum", "InvertedDoublePendulum", 1000,
         "inverted_double_pendulum_v5:InvertedDoublePendulumEnv"),
        ("InvertedPendulum-v5", "inverted_pendulum", "InvertedPendulum", 1000,
         "inverted_pendulum_v5:InvertedPendulumEnv"),
        ("Pusher-v5", "pusher", "Pusher", 100, "pusher_v5:PusherEnv"),
        ("Reacher-v5", "reacher", "Reacher", 50, "reacher_v5:ReacherEnv"),
        ("Swimmer-v5", "swimmer", "Swimmer", 1000, "swimmer_v5:SwimmerEnv"),
        ("Walker2d-v5", "walker2d", "Walker2d", 1000, "walker2d_v5:Walker2dEnv"),
    )
) + (
    # mjvec's own tasks, whose actions are not ctrl: Gymnasium has no env of them
    TaskEntry("MocapPush-v0", "mjvec.envs.mocap_push:MocapPush", 100, None),
    TaskEntry("SpinTop-v0", "mjvec.envs.spin_top:SpinTop", 500, None),
) + tuple(
    # the DeepMind Control Suite (mjvec/envs/dm_control/): the reference is dm_control's (domain, task)
    TaskEntry(name, f"mjvec.envs.dm_control.{task}", steps, f"dm_control.suite:{domain}/{name_in_suite}", kwargs)
    for name, task, steps, (domain, name_in_suite), kwargs in _DM_CONTROL
)
