"""The task catalog as data, registered with Gymnasium on ``import mjvec``.

Each task is ``mjvec/<name>``: ``gym.make_vec`` gives an ``MjVecEnv`` (the
``vector_entry_point``), ``gym.make`` one mjvec env behind ``gym.Env`` (``MjEnv``),
both with the registered ``max_episode_steps``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import gymnasium

from mjvec import validation
from mjvec.envs import TASKS, TaskEntry
from mjvec.envs.arguments import check_task_kwargs
from mjvec.render import DEFAULT_SIZE
from mjvec.single_env import MjEnv
from mjvec.task import Task
from mjvec.vector_env import MjVecEnv

__all__ = ["TASKS", "register_all", "make", "make_env", "make_task", "NAMESPACE"]

NAMESPACE = "mjvec"


_BY_NAME = {entry.name: entry for entry in TASKS}


def _entry(env_id: str) -> TaskEntry:
    if not isinstance(env_id, str):
        raise TypeError(f"`env_id` must be a str or an mjvec.Task, got {type(env_id).__name__}")
    name = env_id.removeprefix(f"{NAMESPACE}/")
    if name not in _BY_NAME:
        raise ValueError(
            f"`env_id` {env_id!r} is not an mjvec task{validation.did_you_mean(name, _BY_NAME)};"
            f" known: {sorted(_BY_NAME)}"
        )
    return _BY_NAME[name]


def make_task(env_id: str, **task_kwargs: Any) -> Task:
    """The ``Task`` registered as ``env_id`` built with the task's own keyword arguments."""
    entry = _entry(env_id)
    module, cls = entry.task.split(":")
    task_cls = getattr(importlib.import_module(module), cls)
    # checked against the signature, so a TypeError from inside the task is not mistaken for one
    known = list(inspect.signature(task_cls).parameters)
    for name in task_kwargs:
        if name not in known:
            raise TypeError(
                f"{entry.name} got an unexpected keyword argument {name!r}{validation.did_you_mean(name, known)};"
                f" its arguments are {known}"
            )
    fixed = entry.kwargs or {}
    for name in task_kwargs:
        if name in fixed:
            raise TypeError(
                f"{entry.name} sets `{name}`={fixed[name]!r} itself (it is what makes this id this task);"
                f" pick the id of the task you want instead"
            )
    check_task_kwargs(entry.name, task_cls, task_kwargs)
    return task_cls(**fixed, **task_kwargs)


_DEFAULT = object()


def make(
    env_id: str | Task,
    num_envs: int,
    *,
    backend: str = "cpu",
    nthread: int | None = None,
    autoreset_mode: Any = "next_step",
    max_episode_steps: Any = _DEFAULT,
    render_mode: str | None = None,
    width: int = DEFAULT_SIZE,
    height: int = DEFAULT_SIZE,
    camera_id: int | None = None,
    camera_name: str | None = None,
    actions: Any = None,
    randomize: Any = None,
    variants: Any = None,
    obs_dtype: Any = None,
    observations: Any = None,
    array_type: str = "numpy",
    devices: Any = None,
    impl: str | None = None,
    **task_kwargs: Any,
):
    """An ``MjVecEnv`` of ``num_envs`` copies of a registered task (or a ``Task``).

    ``task_kwargs`` are the task's own (for the v5 ports, Gymnasium's v5 keyword
    names); ``max_episode_steps`` defaults to the registered limit. ``actions``,
    ``randomize`` and ``variants`` are ``MjVecEnv``'s: which inputs an action drives
    (``mjvec.ActionSpec``), per-env model parameters, per-env compiled models.
    ``render_mode``, ``width``, ``height``, ``camera_id`` and ``camera_name`` are
    ``MjVecEnv``'s too (docs/rendering.md), and so is ``array_type`` (``"jax"``
    with ``backend="mjx"``: JAX arrays in and out, docs/mjx.md; ``"torch"``: torch
    tensors in and out, docs/integrations.md), and so is
    ``devices`` (the JAX devices ``backend="mjx"`` splits the envs over), and so is ``impl`` (MJX's
    implementation, ``"warp"`` or ``"jax"``; None picks one, docs/mjx.md), and so is
    ``obs_dtype`` (``np.float32``: float32 observations and space; rewards stay float64), and so is
    ``observations`` (a ``spaces.Dict`` of the task's named terms, docs/observations.md).
    """
    if isinstance(env_id, Task):
        if task_kwargs:
            raise TypeError(f"task keyword arguments {sorted(task_kwargs)} need an `env_id`, not a Task object")
        task, default_steps = env_id, None
    else:
        task, default_steps = make_task(env_id, **task_kwargs), _entry(env_id).max_episode_steps
        repeat = getattr(task, "action_repeat", 1)
        if default_steps is not None and repeat > 1:  # the same episode in fewer, longer env steps
            if default_steps % repeat:
                raise ValueError(f"`action_repeat`={repeat} must divide {env_id}'s {default_steps}-step episodes")
            default_steps //= repeat
    return MjVecEnv(
        task,
        num_envs,
        backend=backend,
        nthread=nthread,
        autoreset_mode=autoreset_mode,
        max_episode_steps=default_steps if max_episode_steps is _DEFAULT else max_episode_steps,
        render_mode=render_mode,
        width=width,
        height=height,
        camera_id=camera_id,
        camera_name=camera_name,
        actions=actions,
        randomize=randomize,
        variants=variants,
        obs_dtype=obs_dtype,
        observations=observations,
        array_type=array_type,
        devices=devices,
        impl=impl,
    )


def register_all() -> None:
    """Register every task as ``mjvec/<name>`` with Gymnasium (idempotent)."""
    for entry in TASKS:
        env_id = f"{NAMESPACE}/{entry.name}"
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=env_id,
            entry_point=_entry_point(entry.name),
            vector_entry_point=_vector_entry_point(entry.name),
            max_episode_steps=entry.max_episode_steps,
        )


#: ``mjvec.make``'s options that make a batch, not one env
_VECTOR_ONLY = ("num_envs", "autoreset_mode", "max_episode_steps")


def make_env(env_id: str | Task, *, nthread: int | None = 1, **kwargs: Any) -> MjEnv:
    """One env of a registered task (or a ``Task``) as a ``gym.Env``: what ``gym.make("mjvec/...")`` gives.

    ``kwargs`` are ``mjvec.make``'s (``backend``, ``render_mode``, ``actions``,
    ``randomize``, ...) and the task's own. No time limit of its own: ``gym.make``
    wraps it in ``TimeLimit`` with the registered ``max_episode_steps``.
    """
    for name in _VECTOR_ONLY:
        if name in kwargs:
            raise TypeError(
                f"`{name}` is not an argument of one env: gym.make gives one env, with gym.make's own"
                " `max_episode_steps`; for a batch use gym.make_vec(env_id, num_envs, ...) or mjvec.make"
            )
    return MjEnv(make(env_id, 1, nthread=nthread, autoreset_mode="disabled", max_episode_steps=None, **kwargs))


def _entry_point(name: str):
    """``gymnasium.make``'s entry point for one task (with the ``metadata`` gym.make reads render modes from)."""

    def create(**kwargs: Any) -> MjEnv:
        return make_env(name, **kwargs)

    create.__name__ = f"make_one_{name.replace('-', '_')}"
    create.metadata = MjEnv.metadata
    return create


def _vector_entry_point(name: str):
    """``gymnasium.make_vec``'s entry point for one task: it passes no env id."""

    def create(num_envs: int = 1, **kwargs: Any):
        return make(name, num_envs, **kwargs)

    create.__name__ = f"make_{name.replace('-', '_')}"
    return create
