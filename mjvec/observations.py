"""``observations=``: a ``spaces.Dict`` observation made of a task's named vector terms.

    env = mjvec.make("Ant-v5", 64, observations={"policy": "state", "critic": "privileged"})
    obs, info = env.reset(seed=0)      # {"policy": (64, 105), "critic": (64, 119)}

Sources are a task's terms (by name), an ``mjvec.Camera`` (``mjvec.cameras``; ``stack=k``
stacks its last k frames, ``ObservedTask.stack_observation``) or ``mjvec.Rays``. Every task has
the terms ``"state"`` (its own observation, the Box of ``observations=None``)
and ``"privileged"`` (the whole physics state, ``qpos`` then ``qvel``, the x position
included, plus what the task adds: contact forces for Ant and the humanoids), and may
define more (``Task.observation_terms``). A term is a function over batched fields, as
``observe`` is, so the terms run on both backends, and the episode rules treat the dict
as one observation (autoreset, ``final_obs``, divergence per key).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Mapping

import numpy as np
from gymnasium import spaces

from mjvec.cameras import Camera
from mjvec.opengl import check_context
from mjvec.rays import Rays
from mjvec.task import ObservationTerm
from mjvec.validation import did_you_mean

__all__ = ["ObservedTask", "check_observations"]

_ONE = "observation"  # the key of a single source, given as `observations=source`


def check_observations(task, observations: Any) -> dict[str, Any] | Camera | Rays | str:
    """``observations`` checked against the task's terms: ``{key: source}``, or one source
    (a term's name, an ``mjvec.Camera`` or ``mjvec.Rays``), whose space is then the observation's."""
    if isinstance(observations, (str, Camera, Rays)):
        try:
            return check_observations(task, {_ONE: observations})[_ONE]
        except (TypeError, ValueError) as e:  # the message names the argument as given
            raise type(e)(str(e).replace(f"`observations[{_ONE!r}]`", "`observations`")) from None
    if not isinstance(observations, Mapping) or not observations:
        raise TypeError(
            "`observations` must be a non-empty dict of {key: source}, e.g. {'policy': 'state', 'critic':"
            f" 'privileged'}}, or one source (a term's name, an mjvec.Camera or mjvec.Rays), got"
            f" {type(observations).__name__}"
        )
    terms = task.observation_terms()
    out = {}
    for key, source in observations.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"`observations` keys must be non-empty str, got {key!r}")
        if isinstance(source, (Camera, Rays)):
            out[key] = source
            continue
        if not isinstance(source, str):
            raise TypeError(
                f"`observations[{key!r}]` must name one of {type(task).__name__}'s observation terms"
                f" {sorted(terms)} or be an mjvec.Camera or mjvec.Rays, got {type(source).__name__}"
            )
        if source not in terms:
            raise ValueError(
                f"`observations[{key!r}]` = {source!r} is not an observation term of {type(task).__name__}"
                f"{did_you_mean(source, terms)}; its terms: {sorted(terms)}"
            )
        out[key] = source
    return out


class ObservedTask:
    """``task`` whose ``observe`` returns ``{key: term}``: what the episode rules run with ``observations=``.

    Everything else is the task's own (attribute access falls through to it).
    """

    def __init__(self, task, observations: Mapping[str, Any] | Camera | Rays | str):
        self.task = task
        terms = task.observation_terms()
        self._one = not isinstance(observations, Mapping)  # one source: its value, not a dict
        self.sources = {_ONE: observations} if self._one else dict(observations)
        self._renderers = {key: s.renderer(task) for key, s in self.sources.items() if isinstance(s, Camera)}
        self._backend = None  # what draws the cameras and casts the rays, from attach()
        self._drawer = None  # draw(data) -> {key: frames} of every camera, where the backend draws them (MJX)
        self._casters = {}  # {key: cast(origins, directions, data)} of each ray sensor, from attach()
        # {key: (k, values per pixel)} of the cameras whose last k frames are stacked
        self._stacks = {key: (s.stack, s.channels) for key, s in self.sources.items()
                        if isinstance(s, Camera) and s.stack is not None}
        self._terms = {}
        for key, source in self.sources.items():
            if isinstance(source, Camera):
                self._terms[key] = ObservationTerm(self._camera(key), source.space(task))
            elif isinstance(source, Rays):
                self._terms[key] = ObservationTerm(self._rays(key, source), source.space(task), source.fields)
            else:
                self._terms[key] = terms[source]
        # in the order given (a plain dict would be sorted by Gymnasium), as the observations are
        self.single_observation_space = spaces.Dict(OrderedDict((key, term.space) for key, term in self._terms.items()))
        if self._one:
            self.single_observation_space = self.single_observation_space[_ONE]
        fields = list(task.fields)
        for term in self._terms.values():
            fields += [f for f in term.fields if f not in fields and f not in ("qpos", "qvel")]
        self.fields = tuple(fields)

    @property
    def cameras(self) -> bool:
        return bool(self._renderers)

    @property
    def rays(self) -> bool:
        return any(isinstance(s, Rays) for s in self.sources.values())

    def attach(self, backend) -> None:
        """Draw the cameras and cast the rays in ``backend``'s simulations (what it cannot cast raises here).

        Raises ``GLUnavailableError`` (saying what to install) where no OpenGL context can be made.
        """
        self._backend = backend
        if self._renderers:
            cameras = {key: s for key, s in self.sources.items() if isinstance(s, Camera)}
            if hasattr(backend, "camera_drawer"):  # MJX: drawn inside its jitted step (MuJoCo Warp's renderer)
                self._drawer = backend.camera_drawer(cameras)
            else:  # the CPU: the tiled OpenGL renderers, over the backend's render_state
                check_context(max(c.width for c in cameras.values()), max(c.height for c in cameras.values()))
        for key, source in self.sources.items():
            if isinstance(source, Rays):
                self._casters[key] = backend.ray_caster(source.frame(self.task)[1])

    def _camera(self, key: str):
        renderer = self._renderers[key]

        def observe(xp, data):
            n = data.qpos.shape[0]
            return renderer.render(self._backend.render_state(np.arange(n)), "batch")

        return observe

    def _rays(self, key: str, rays: Rays):
        index = rays.frame(self.task)[0]

        def observe(xp, data):  # over NumPy on the CPU, traced over jax.numpy on MJX
            origins, directions = rays.rays(xp, data, index)
            return rays.read(xp, *self._casters[key](origins, directions, data))

        return observe

    def stack_observation(self, ops, obs: dict, last: dict, fresh) -> dict:
        """``obs`` with each stacked camera's new frame put after the last ``k - 1`` of ``last``.

        Frames stack on the last axis, oldest first; the envs in ``fresh`` (a mask, or None
        for none) start a new episode: their ``k`` places all hold the new frame.
        """
        if not self._stacks:
            return obs
        if self._one:
            obs, last = {_ONE: obs}, {_ONE: last}
        xp, out = ops.xp, dict(obs)
        for key, (k, channels) in self._stacks.items():
            frame = obs[key] if channels == 3 else obs[key][..., None]
            stacked = xp.concatenate([last[key][..., channels:], frame], axis=-1)
            if fresh is not None:
                stacked = ops.where(fresh, xp.concatenate([frame] * k, axis=-1), stacked)
            out[key] = stacked
        return out[_ONE] if self._one else out

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()

    def __getattr__(self, name: str):
        return getattr(self.__dict__["task"], name)

    def observe(self, xp, data) -> Any:
        # the backend's drawer draws every camera in one call (the kinds of a camera in one pass)
        frames = {} if self._drawer is None else self._drawer(data)
        if self._one:
            return frames[_ONE] if frames else self._terms[_ONE].observe(xp, data)
        return {key: frames[key] if key in frames else term.observe(xp, data) for key, term in self._terms.items()}

    def __repr__(self) -> str:
        return f"{self.task!r} observing {self.sources}"
