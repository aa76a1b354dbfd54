"""The DeepMind Control Suite: dm_control's tasks, one file per domain, registered as data.

``SUITE`` lists each task as ``(id, "module:Class", max_episode_steps, dm_control's
(domain, task), the class's keyword arguments)``; ``mjvec.envs.TASKS`` registers every
row as ``mjvec/<id>``. Importing this package imports no domain. See docs/dm_control.md.
"""

from __future__ import annotations

__all__ = ["SUITE"]

SUITE: tuple[tuple[str, str, int, tuple[str, str], dict], ...] = (
    ("CartpoleBalance-v0", "cartpole:Cartpole", 1000, ("cartpole", "balance"), {"swing_up": False, "sparse": False}),
    ("CartpoleBalanceSparse-v0", "cartpole:Cartpole", 1000, ("cartpole", "balance_sparse"),
     {"swing_up": False, "sparse": True}),
    ("CartpoleSwingup-v0", "cartpole:Cartpole", 1000, ("cartpole", "swingup"), {"swing_up": True, "sparse": False}),
    ("CartpoleSwingupSparse-v0", "cartpole:Cartpole", 1000, ("cartpole", "swingup_sparse"),
     {"swing_up": True, "sparse": True}),
    ("CheetahRun-v0", "cheetah:Cheetah", 1000, ("cheetah", "run"), {}),
    ("WalkerStand-v0", "walker:Walker", 1000, ("walker", "stand"), {"move_speed": 0.0}),
    ("WalkerWalk-v0", "walker:Walker", 1000, ("walker", "walk"), {"move_speed": 1.0}),
    ("WalkerRun-v0", "walker:Walker", 1000, ("walker", "run"), {"move_speed": 8.0}),
    ("PendulumSwingup-v0", "pendulum:Pendulum", 1000, ("pendulum", "swingup"), {}),
    ("PointMassEasy-v0", "point_mass:PointMass", 1000, ("point_mass", "easy"), {"randomize_gains": False}),
    ("PointMassHard-v0", "point_mass:PointMass", 1000, ("point_mass", "hard"), {"randomize_gains": True}),
    ("AcrobotSwingup-v0", "acrobot:Acrobot", 1000, ("acrobot", "swingup"), {"sparse": False}),
    ("AcrobotSwingupSparse-v0", "acrobot:Acrobot", 1000, ("acrobot", "swingup_sparse"), {"sparse": True}),
    ("HopperStand-v0", "hopper:Hopper", 1000, ("hopper", "stand"), {"hopping": False}),
    ("HopperHop-v0", "hopper:Hopper", 1000, ("hopper", "hop"), {"hopping": True}),
    ("BallInCupCatch-v0", "ball_in_cup:BallInCup", 1000, ("ball_in_cup", "catch"), {}),
    ("ReacherEasy-v0", "reacher:Reacher", 1000, ("reacher", "easy"), {"target_size": 0.05}),
    ("ReacherHard-v0", "reacher:Reacher", 1000, ("reacher", "hard"), {"target_size": 0.015}),
    ("FingerSpin-v0", "finger:Finger", 1000, ("finger", "spin"), {"turn": False}),
    ("FingerTurnEasy-v0", "finger:Finger", 1000, ("finger", "turn_easy"), {"turn": True, "target_radius": 0.07}),
    ("FingerTurnHard-v0", "finger:Finger", 1000, ("finger", "turn_hard"), {"turn": True, "target_radius": 0.03}),
)
