"""Humanoid CMU: the Control Suite's 56-joint CMU humanoid, as dm_control's ``suite/humanoid_CMU.py``.

## Description
The CMU motion-capture humanoid (a free root, 56 hinges) on a plane; 0.002 s steps, 10 physics
steps per env step (0.02 s). The tasks are humanoid's (``humanoid.py``) on this body: stand,
walk at 1 m/s, run at 10 m/s.

## Action Space
``Box(-1, 1, (56,))``: the joints' motors.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``joint_angles`` | (56,) | ``qpos`` without the free root |
| ``head_height`` | () | the head's z |
| ``extremities`` | (12,) | left hand, left foot, right hand, right foot (``lhand``...) in the thorax's frame |
| ``torso_vertical`` | (3,) | the thorax's ``xmat`` zx, zy, zz |
| ``com_velocity`` | (3,) | the thorax subtree's linear velocity (sensor ``thorax_subtreelinvel``) |
| ``velocity`` | (62,) | ``qvel`` |

## Rewards
Humanoid's, with the thorax's ``xmat`` zy as its uprightness (its y axis points up).

## Starting State
As humanoid: every joint by ``randomize_limited_and_rotational_joints``, drawn again while the
simulated state has contacts (``reset_rejected``), at rest.

## Episode End
Never terminated; truncated after 1000 steps (20 s).

## Arguments
``move_speed`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``humanoid_CMU`` stand, walk, run.
"""

from __future__ import annotations

from mjvec.envs.dm_control.humanoid import Humanoid

__all__ = ["HumanoidCMU"]


class HumanoidCMU(Humanoid):
    model_file = "humanoid_CMU.xml"
    control_timestep = 0.02
    torso, limbs, upright_entry, com_sensor = "thorax", ("lhand", "lfoot", "rhand", "rfoot"), 7, "thorax_subtreelinvel"
