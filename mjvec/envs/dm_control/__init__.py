"""The DeepMind Control Suite: dm_control's tasks, one file per domain, registered as data.

``SUITE`` lists each task as ``(id, "module:Class", max_episode_steps, dm_control's
(domain, task), the class's keyword arguments)``; ``mjvec.envs.TASKS`` registers every
row as ``mjvec/<id>``. Importing this package imports no domain. See docs/dm_control.md.
"""

from __future__ import annotations

__all__ = ["SUITE"]

SUITE: tuple[tuple[str, str, int | None, tuple[str, str], dict], ...] = (
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
    ("FishUpright-v0", "fish:Fish", 1000, ("fish", "upright"), {"swim": False}),
    ("FishSwim-v0", "fish:Fish", 1000, ("fish", "swim"), {"swim": True}),
    ("SwimmerSwimmer6-v0", "swimmer:Swimmer", 1000, ("swimmer", "swimmer6"), {"n_links": 6}),
    ("SwimmerSwimmer15-v0", "swimmer:Swimmer", 1000, ("swimmer", "swimmer15"), {"n_links": 15}),
    ("HumanoidStand-v0", "humanoid:Humanoid", 1000, ("humanoid", "stand"), {"move_speed": 0.0}),
    ("HumanoidWalk-v0", "humanoid:Humanoid", 1000, ("humanoid", "walk"), {"move_speed": 1.0}),
    ("HumanoidRun-v0", "humanoid:Humanoid", 1000, ("humanoid", "run"), {"move_speed": 10.0}),
    ("ManipulatorBringBall-v0", "manipulator:Manipulator", 1000, ("manipulator", "bring_ball"),
     {"use_peg": False, "insert": False}),
    ("ManipulatorBringPeg-v0", "manipulator:Manipulator", 1000, ("manipulator", "bring_peg"),
     {"use_peg": True, "insert": False}),
    ("ManipulatorInsertBall-v0", "manipulator:Manipulator", 1000, ("manipulator", "insert_ball"),
     {"use_peg": False, "insert": True}),
    ("ManipulatorInsertPeg-v0", "manipulator:Manipulator", 1000, ("manipulator", "insert_peg"),
     {"use_peg": True, "insert": True}),
    ("QuadrupedWalk-v0", "quadruped:Quadruped", 1000, ("quadruped", "walk"), {"desired_speed": 0.5, "fetch": False}),
    ("QuadrupedRun-v0", "quadruped:Quadruped", 1000, ("quadruped", "run"), {"desired_speed": 5.0, "fetch": False}),
    ("QuadrupedFetch-v0", "quadruped:Quadruped", 1000, ("quadruped", "fetch"), {"desired_speed": 0.0, "fetch": True}),
    ("QuadrupedEscape-v0", "quadruped:QuadrupedEscape", 1000, ("quadruped", "escape"), {}),
    ("LqrLqr21-v0", "lqr:Lqr", None, ("lqr", "lqr_2_1"), {"n_bodies": 2, "n_actuators": 1}),
    ("LqrLqr62-v0", "lqr:Lqr", None, ("lqr", "lqr_6_2"), {"n_bodies": 6, "n_actuators": 2}),
    ("StackerStack2-v0", "stacker:Stacker", 1000, ("stacker", "stack_2"), {"n_boxes": 2}),
    ("StackerStack4-v0", "stacker:Stacker", 1000, ("stacker", "stack_4"), {"n_boxes": 4}),
    ("HumanoidCMUStand-v0", "humanoid_cmu:HumanoidCMU", 1000, ("humanoid_CMU", "stand"), {"move_speed": 0.0}),
    ("HumanoidCMUWalk-v0", "humanoid_cmu:HumanoidCMU", 1000, ("humanoid_CMU", "walk"), {"move_speed": 1.0}),
    ("HumanoidCMURun-v0", "humanoid_cmu:HumanoidCMU", 1000, ("humanoid_CMU", "run"), {"move_speed": 10.0}),
    ("DogStand-v0", "dog:Dog", 1000, ("dog", "stand"), {"move_speed": 0.0, "fetch": False}),
    ("DogWalk-v0", "dog:Dog", 1000, ("dog", "walk"), {"move_speed": 1.0, "fetch": False}),
    ("DogTrot-v0", "dog:Dog", 1000, ("dog", "trot"), {"move_speed": 3.0, "fetch": False}),
    ("DogRun-v0", "dog:Dog", 1000, ("dog", "run"), {"move_speed": 9.0, "fetch": False}),
    ("DogFetch-v0", "dog:Dog", 1000, ("dog", "fetch"), {"move_speed": 0.0, "fetch": True}),
)
