"""Humanoid: the Control Suite's 21-joint humanoid, as dm_control's ``suite/humanoid.py``.

## Description
A 3D humanoid (a free torso, 21 hinges) on a plane; 0.005 s steps, 5 physics steps per
env step (0.025 s). Stand: hold the head up, upright, still. Walk and run: move the
centre of mass horizontally at 1 or 10 m/s or faster.

## Action Space
``Box(-1, 1, (21,))``: the joints' motors.

## Observation Space
A Dict, in dm_control's order:
| key | shape | value |
|---|---|---|
| ``joint_angles`` | (21,) | ``qpos`` without the free root |
| ``head_height`` | () | the head's z |
| ``extremities`` | (12,) | left hand, left foot, right hand, right foot positions in the torso's frame |
| ``torso_vertical`` | (3,) | the torso's ``xmat`` zx, zy, zz |
| ``com_velocity`` | (3,) | the torso subtree's linear velocity (sensor ``torso_subtreelinvel``) |
| ``velocity`` | (27,) | ``qvel`` |

With ``pure_state=True`` (``HumanoidRunPureState-v0``, dm_control's ``run_pure_state``) the Dict is
``position`` (28,) ``qpos`` and ``velocity`` (27,) ``qvel`` instead.

## Rewards
``small_control * standing * upright * move``: ``standing = tolerance(head_height, (1.4, inf),
margin=0.35)``, ``upright = tolerance(zz, (0.9, inf), margin=1.9, sigmoid="linear",
value_at_margin=0)``, ``small_control = (4 + mean(tolerance(ctrl, margin=1, sigmoid="quadratic",
value_at_margin=0))) / 5``. Stand: ``move = mean(tolerance(com_velocity[:2], margin=2))``; walk and
run: ``move = (5 * tolerance(|com_velocity[:2]|, (s, inf), margin=s, sigmoid="linear",
value_at_margin=0) + 1) / 6``, ``s`` = 1 or 10.

## Starting State
Every joint by ``randomize_limited_and_rotational_joints`` (the root's orientation a normalised
``U(0, 1)`` quaternion, its position kept; each hinge in its range), drawn again while the
simulated state has contacts (``reset_rejected``), at rest.

## Episode End
Never terminated; truncated after 1000 steps (25 s).

## Arguments
``move_speed``, ``pure_state`` (set by the registered id), ``flat_observation``, ``action_repeat`` (docs/dm_control.md#pixels).

## Version History
v0: dm_control 1.0.50's ``humanoid`` stand, walk, run, run_pure_state.
"""

from __future__ import annotations

from mjvec.envs.dm_control.base import ControlSuiteTask, rows9
from mjvec.envs.dm_control.geometry import in_frame
from mjvec.envs.dm_control.randomizers import broadcast, limited_and_rotational_joints
from mjvec.envs.dm_control.rewards import tolerance
from mjvec.task import norm

__all__ = ["Humanoid"]

_STAND_HEIGHT = 1.4
_EXTREMITIES = ("left_hand", "left_foot", "right_hand", "right_foot")
_ZX, _ZY, _ZZ = 6, 7, 8


class Humanoid(ControlSuiteTask):
    model_file = "humanoid.xml"
    control_timestep = 0.025
    fields = ("xmat", "xpos", "sensordata", "ctrl", "ncon")
    rejects_reset = True
    #: the names the functions read (humanoid_CMU's differ): the torso body, the extremities in
    #: dm_control's order, the torso's xmat entry of uprightness, the centre-of-mass velocity sensor
    torso, limbs, upright_entry, com_sensor = "torso", _EXTREMITIES, _ZZ, "torso_subtreelinvel"

    def __init__(self, move_speed: float = 0.0, pure_state: bool = False, *, flat_observation: bool = False,
                 action_repeat: int = 1):
        self.move_speed = float(move_speed)
        self.pure_state = bool(pure_state)
        super().__init__(flat_observation=flat_observation, action_repeat=action_repeat)

    def find_ids(self, model):
        self._torso, self._head = int(model.body(self.torso).id), int(model.body("head").id)
        self._limbs = [int(model.body(name).id) for name in self.limbs]
        adr = int(model.sensor(self.com_sensor).adr[0])
        self._com_velocity = [adr, adr + 1, adr + 2]

    def observation(self, xp, data):
        if self.pure_state:  # MuJoCo's state as it is
            return {"position": data.qpos, "velocity": data.qvel}
        torso_frame = rows9(xp, data.xmat)[:, self._torso]
        torso = data.xpos[:, self._torso]
        extremities = xp.concatenate([in_frame(xp, data.xpos[:, b] - torso, torso_frame) for b in self._limbs],
                                     axis=-1)
        return {
            "joint_angles": data.qpos[:, 7:],
            "head_height": data.xpos[:, self._head, 2],
            "extremities": extremities,
            "torso_vertical": torso_frame[:, [_ZX, _ZY, _ZZ]],
            "com_velocity": data.sensordata[:, self._com_velocity],
            "velocity": data.qvel,
        }

    def reward(self, xp, data):
        standing = tolerance(xp, data.xpos[:, self._head, 2], bounds=(_STAND_HEIGHT, float("inf")),
                             margin=_STAND_HEIGHT / 4)
        upright = tolerance(xp, rows9(xp, data.xmat)[:, self._torso, self.upright_entry], bounds=(0.9, float("inf")),
                            sigmoid="linear", margin=1.9, value_at_margin=0)
        stand_reward = standing * upright
        small_control = xp.mean(tolerance(xp, data.ctrl, margin=1, value_at_margin=0, sigmoid="quadratic"), axis=-1)
        small_control = (4 + small_control) / 5
        horizontal = data.sensordata[:, self._com_velocity[:2]]
        if self.move_speed == 0:
            dont_move = xp.mean(tolerance(xp, horizontal, margin=2), axis=-1)
            return small_control * stand_reward * dont_move
        move = tolerance(xp, norm(xp, horizontal), bounds=(self.move_speed, float("inf")), margin=self.move_speed,
                         value_at_margin=0, sigmoid="linear")
        move = (5 * move + 1) / 6
        return small_control * stand_reward * move

    def reset_state(self, xp, rng, init_qpos, init_qvel):
        n = rng.num_envs
        return limited_and_rotational_joints(xp, rng, self.model, broadcast(xp, init_qpos, n)), broadcast(xp, init_qvel, n)

    def reset_rejected(self, xp, data):
        return data.ncon > 0
