"""InvertedDoublePendulum-v5, as Gymnasium's ``InvertedDoublePendulumEnv`` (v5), written once over batches.

## Description
A cart on a rail carrying two poles hinged end to end; the goal is to keep the
tip of the second pole high by pushing the cart left or right.

## Action Space
``Box(-1, 1, (1,), float32)``: the force on the cart (slider).

## Observation Space
| index | observation | field |
|---|---|---|
| 0 | position of the cart | ``qpos[0]`` |
| 1-2 | sine of the two pole angles | ``sin(qpos[1:3])`` |
| 3-4 | cosine of the two pole angles | ``cos(qpos[1:3])`` |
| 5-7 | velocities (cart, two hinges), clipped to [-10, 10] | ``qvel`` |
| 8 | constraint force on the cart, clipped to [-10, 10] | ``qfrc_constraint[0]`` |

## Rewards
``reward = healthy_reward * (not terminated) - distance_penalty - velocity_penalty``
with ``distance_penalty = 0.01 * x**2 + (y - 2)**2`` of the tip site ``(x, _, y)
= site_xpos[0]`` and ``velocity_penalty = 1e-3 * qvel[1]**2 + 5e-3 * qvel[2]**2``;
``info`` holds ``reward_survive``, ``distance_penalty`` and ``velocity_penalty``
(the last two negated).

## Starting State
``qpos0 + U(-s, s)`` and ``N(0, 1) * s`` velocities, ``s = reset_noise_scale``.

## Episode End
Terminated when the tip is at height ``y <= 1``. Truncated after 1000 steps
(``max_episode_steps``).

## Arguments
Gymnasium v5's: ``xml_file``, ``frame_skip``, ``default_camera_config``,
``healthy_reward``, ``reset_noise_scale``.

## Version History
v5: Gymnasium's InvertedDoublePendulum-v5; the penalties square with ``x * x``,
where Gymnasium's scalar ``x**2`` calls libm's ``pow``, which may differ in the
last bit.
"""

from __future__ import annotations

from mjvec.task import Task


class InvertedDoublePendulum(Task):
    velocity_noise = "normal"
    fields = ("site_xpos", "qfrc_constraint")

    def __init__(
        self,
        xml_file: str = "inverted_double_pendulum.xml",
        frame_skip: int = 5,
        default_camera_config: dict | None = None,
        healthy_reward: float = 10.0,
        reset_noise_scale: float = 0.1,
    ):
        self.default_camera_config = default_camera_config
        self._healthy_reward = healthy_reward
        self.reset_noise_scale = reset_noise_scale
        super().__init__(self.load_xml(xml_file), frame_skip)
        model = self.model
        self.single_observation_space = self.observation_box(1 + 2 * (model.nq - 1) + model.nv + 1)

    def observe(self, xp, data):
        return xp.concatenate(
            (
                data.qpos[:, :1],  # cart position
                xp.sin(data.qpos[:, 1:]),  # pole angles
                xp.cos(data.qpos[:, 1:]),
                xp.clip(data.qvel, -10, 10),
                xp.clip(data.qfrc_constraint, -10, 10)[:, :1],
            ),
            axis=-1,
        )

    def evaluate(self, xp, data, action, before):
        x, y = data.site_xpos[:, 0, 0], data.site_xpos[:, 0, 2]
        terminated = y <= 1
        v1, v2 = data.qvel[:, 1], data.qvel[:, 2]
        dist_penalty = 0.01 * x**2 + (y - 2) ** 2
        vel_penalty = 1e-3 * v1**2 + 5e-3 * v2**2
        # weight * int, as Gymnasium's `healthy_reward * int(not terminated)`
        alive_bonus = self._healthy_reward * xp.logical_not(terminated).astype(int)
        reward = alive_bonus - dist_penalty - vel_penalty
        info = {
            "reward_survive": alive_bonus,
            "distance_penalty": -dist_penalty,
            "velocity_penalty": -vel_penalty,
        }
        return reward, terminated, info

