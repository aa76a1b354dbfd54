"""``FinalObservations``: a skrl agent that records the terminal observation of the envs that ended.

skrl's trainers step a Gymnasium vector env through ``skrl.envs.wrappers.torch.wrap_env`` and
hand the agent one ``next_observations`` tensor: the one it stores (or bootstraps truncations
from) and the one it acts on next. skrl never reads ``info["final_obs"]``, so in every autoreset
mode some transitions are wrong:

- NEXT_STEP: the step after an episode end is a reset step (its action ignored, reward 0), and
  skrl stores it as a transition from the old episode's last observation to the new episode's
  first.
- SAME_STEP: ``next_observations`` of an env that ended is the new episode's first observation,
  so skrl stores it as the ended transition's next observation and bootstraps truncations
  (PPO's ``time_limit_bootstrap``, SAC's target) from the reset observation's value.
- DISABLED: skrl never resets a vector env (it expects autoreset), so an ended env is stepped on.

With an ``MjVecEnv`` in SAME_STEP and an agent class that puts ``FinalObservations`` first::

    from skrl.agents.torch.ppo import PPO
    from mjvec.skrl import FinalObservations

    class MjPPO(FinalObservations, PPO):
        pass

every transition the agent records has the episode's last observation as its next observation
where an env ended (``info["final_obs"]``), while the trainer goes on acting on the reset
observations. ``truncated`` is handed on as ``truncated & ~terminated`` (a terminated episode
is never bootstrapped), and a PPO-style agent must bootstrap truncations
(``time_limit_bootstrap=True``): without it, skrl's GAE runs on from a truncated step into the
next episode's first value. skrl is an extra (``pip install "mjvec[skrl]"``); ``import mjvec``
never imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mjvec.integrations.extras import require_extra

try:
    import torch
    from skrl.utils.spaces.torch import flatten_tensorized_space, tensorize_space
except ModuleNotFoundError as e:  # pragma: no cover - exercised only without the extra
    require_extra(e, ("skrl", "torch"), "mjvec.skrl", "skrl", "skrl")

__all__ = ["FinalObservations", "final_observations"]


def final_observations(
    observation_space: Any, next_observations: torch.Tensor, terminated: torch.Tensor, truncated: torch.Tensor,
    infos: dict,
) -> torch.Tensor:
    """skrl's ``next_observations`` with each ended env's row replaced by its ``info["final_obs"]``.

    ``observation_space`` is one env's (skrl's ``agent.observation_space``); ``terminated`` and
    ``truncated`` are skrl's ``(num_envs, 1)`` flags, ``infos`` the env's own info dict. Returns a
    new tensor where an env ended, ``next_observations`` itself where none did. Raises
    ``ValueError`` if an env ended and the info has no ``final_obs`` for it (an env not in
    SAME_STEP).
    """
    ended = (terminated | truncated).reshape(-1).cpu().numpy()
    if not ended.any():
        return next_observations
    mask = infos.get("_final_obs") if isinstance(infos, dict) else None
    if mask is None or not np.all(np.asarray(mask)[ended]):
        raise ValueError(
            "an env ended but the step's info has no `final_obs` for it: mjvec.skrl.FinalObservations needs the"
            " MjVecEnv made with autoreset_mode='same_step' (skrl never reads NEXT_STEP's reset steps apart from"
            " transitions, and never resets a DISABLED vector env)"
        )
    rows = np.flatnonzero(ended)
    final = infos["final_obs"]
    first = final[rows[0]]
    if isinstance(first, dict):
        batch = {key: np.stack([np.asarray(final[i][key]) for i in rows]) for key in first}
    else:
        batch = np.stack([np.asarray(final[i]) for i in rows])
    tensor = flatten_tensorized_space(tensorize_space(observation_space, batch, device=next_observations.device))
    out = next_observations.clone()
    out[torch.as_tensor(rows, device=out.device)] = tensor.to(out.dtype)
    return out


class FinalObservations:
    """Put first in a skrl agent's bases: ``class MjPPO(FinalObservations, PPO)``.

    The agent's ``record_transition`` then gets the terminal observation of every env that
    ended at the step (from a SAME_STEP ``MjVecEnv``'s ``info["final_obs"]``) as its
    ``next_observations``, and ``truncated & ~terminated`` as ``truncated``. Everything else
    is the agent's own. An agent with a ``time_limit_bootstrap`` option must have it on.
    """

    def init(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self.cfg, "time_limit_bootstrap", True) is False:
            raise ValueError(
                f"{type(self).__name__} needs `time_limit_bootstrap=True` in its cfg: without it skrl's GAE runs on"
                " from a truncated step into the next episode's first value (a transition across episodes)"
            )
        super().init(*args, **kwargs)

    def record_transition(
        self, *, next_observations: torch.Tensor, terminated: torch.Tensor, truncated: torch.Tensor, infos: Any,
        **kwargs: Any,
    ) -> None:
        next_observations = final_observations(self.observation_space, next_observations, terminated, truncated, infos)
        super().record_transition(
            next_observations=next_observations, terminated=terminated, truncated=truncated & ~terminated,
            infos=infos, **kwargs,
        )
