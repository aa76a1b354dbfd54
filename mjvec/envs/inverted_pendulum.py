"""InvertedPendulum-v5, as Gymnasium's ``InvertedPendulumEnv`` (v5), written once over batches.

## Description
A cart on a rail with a pole hinged on it; the goal is to keep the pole upright
by pushing the cart left or right.

## Action Space
``Box(-3, 3, (1,), float32)``: the force on the cart (slider).

## Observation Space
| index | observation | field |
|---|---|---|
| 0 | position of the cart | ``qpos[0]`` |
| 1 | angle of the pole | ``qpos[1]`` |
| 2 | velocity of the cart | ``qvel[0]`` |
| 3 | angular velocity of the pole | ``qvel[1]`` |

## Rewards
``reward = 1`` for every step in which the pole stays up (0 on the step that
terminates); ``info`` holds ``reward_survive`` (an int).

## Starting State
``qpos0 + U(-s, s)`` and ``U(-s, s)`` velocities, ``s = reset_noise_scale``.

## Episode End
Terminated when the observation is not finite or ``|qpos[1]| > 0.2`` rad.
Truncated after 1000 steps (``max_episode_steps``).

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``reset_noise_scale``.

## Version History
v5: Gymnasium's InvertedPendulum-v5, number for number.
"""

from __future__ import annotations

from mjvec.task import Task

DEFAULT_CAMERA_CONFIG = {
    "trackbodyid": 0,
    "distance": 2.04,
}


class InvertedPendulum(Task):
    fields = ()

    def __init__(
        self,
        xml_file: str = "inverted_pendulum.xml",
        frame_skip: int = 2,
        default_camera_config: dict[str, float | int] = DEFAULT_CAMERA_CONFIG,
        reset_noise_scale: float = 0.01,
    ):
        self.default_camera_config = default_camera_config
        self.reset_noise_scale = reset_noise_scale
        super().__init__(self.load_xml(xml_file), frame_skip)
        self.single_observation_space = self.observation_box(self.model.nq + self.model.nv)

    def observe(self, xp, data):
        return xp.concatenate((data.qpos, data.qvel), axis=-1)

    def evaluate(self, xp, data, action, before):
        observation = self.observe(xp, data)
        terminated = xp.logical_or(
            xp.logical_not(xp.all(xp.isfinite(observation), axis=-1)), xp.abs(observation[:, 1]) > 0.2
        )
        # an int reward, as Gymnasium's `int(not terminated)`
        reward = xp.logical_not(terminated).astype(int)
        return reward, terminated, {"reward_survive": reward}

