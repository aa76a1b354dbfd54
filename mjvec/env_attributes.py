"""``call``, ``get_attr`` and ``set_attr``: Gymnasium's ``SyncVectorEnv`` calls on a native batch.

A ``SyncVectorEnv`` answers each of these by visiting its ``num_envs`` sub-env
objects. A native batch has no sub-env objects; env ``i`` of it is what the batch
holds for row ``i``, and a name resolves, in this order, to:

- ``render``: the method. ``call("render")`` returns one frame per env, a tuple,
  as a ``SyncVectorEnv`` of Gymnasium's MuJoCo envs does.
- ``observation_space``, ``action_space``: one env's spaces (the batch's
  ``single_*``); ``render_mode`` and ``metadata``: the batch's own.
- ``model``: env ``i``'s ``mujoco.MjModel`` as simulated (``get_model(i)``: a copy,
  with its drawn parameters or variant).
- any other name: the task's attribute (``frame_skip``, ``dt``, ``reset_noise_scale``,
  ``_ctrl_cost_weight``, ...), the same object for every env: all envs share one task.

``get_attr(name)`` is ``call(name)``, as in ``SyncVectorEnv``. A task's methods are
batched functions of all the envs, so ``call`` refuses them instead of calling them
``num_envs`` times. ``set_attr`` sets the task's attribute: one value for every env
(per-env values must all be equal), never a name fixed when the env was made.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mjvec import validation

__all__ = ["EnvAttributes", "ENV_LEVEL", "FIXED", "per_env_values", "one_value", "check_settable", "task_values"]

#: one env's name -> the batch's attribute holding it (the same for every env)
ENV_LEVEL = {
    "observation_space": "single_observation_space",
    "action_space": "single_action_space",
    "render_mode": "render_mode",
    "metadata": "metadata",
}
#: names fixed when the env is made: the spaces, the model, the renderer's camera, the physics layout
FIXED = frozenset({
    *ENV_LEVEL, "render", "model", "spec", "frame_skip", "dt", "init_qpos", "init_qvel", "fields",
    "single_observation_space", "single_action_space", "default_camera_config",
})


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a str (an attribute name), got {type(name).__name__}")
    return name


def per_env_values(name: str, values: Any, num_envs: int) -> list:
    """``values`` as one value per env, as ``SyncVectorEnv.set_attr`` reads them.

    A list or tuple holds one value per env; anything else is the value of every env.
    """
    if not isinstance(values, (list, tuple)):
        return [values] * num_envs
    if len(values) != num_envs:
        raise ValueError(
            f"`values` of `set_attr({name!r}, values)` must be one value for all envs or a list or tuple of"
            f" num_envs ({num_envs}) values, got {len(values)} values"
        )
    return list(values)


def _equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return bool(np.array_equal(a, b))
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values that cannot be compared are not the same value
        return False


def one_value(name: str, values: list, holder: str, first_env: int = 0) -> Any:
    """The one value ``values`` (one per env, envs ``first_env..``) give, or a ValueError naming two that differ."""
    for j, value in enumerate(values[1:], start=1):
        if not _equal(values[0], value):
            raise ValueError(
                f"`values` of `set_attr({name!r}, values)` differ between envs: env {first_env} gets"
                f" {values[0]!r}, env {first_env + j} gets {value!r}; {holder} holds one {name!r} for all"
                " its envs (its task's). Set one value, or vary per-env model parameters with"
                " `randomize=` (docs/randomization.md)"
            )
    return values[0]


class EnvAttributes:
    """``call``, ``get_attr``, ``set_attr`` of a native batch; mixed into a ``VectorEnv`` with ``CheckedCalls``.

    The env implements ``render()`` (frames of every env), ``_call_envs(name, args,
    kwargs)`` (every env's ``model`` or task attribute, in env order) and
    ``_set_envs(name, values)`` (one value per env, already counted); ``render`` and
    the ``ENV_LEVEL`` names are answered here.
    """

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Every env's ``name``, called with ``args`` and ``kwargs`` if it is a method: a tuple of ``num_envs``.

        As ``SyncVectorEnv.call``; ``call("render")`` is ``render()``'s one frame per env.
        See ``mjvec.env_attributes`` for what env ``i``'s attribute is in a native batch.
        """
        name = _check_name(name)
        if name == "render":
            if args or kwargs:
                raise TypeError(
                    f"`call('render')` takes no arguments (as a Gymnasium env's render()), got args={args!r},"
                    f" kwargs={kwargs!r}; for other layouts call `env.render(env_ids=..., layout=...)`"
                )
            return tuple(self.render())
        if name in ENV_LEVEL:
            if args or kwargs:
                raise TypeError(f"`call({name!r})` got arguments, but {name!r} is a value, not a method")
            return (getattr(self, ENV_LEVEL[name]),) * self.num_envs
        with self._exclusive("call"):
            return tuple(self._call_envs(name, args, kwargs))

    def get_attr(self, name: str) -> tuple[Any, ...]:
        """Every env's attribute ``name``: a tuple of ``num_envs`` values (``call(name)``, as ``SyncVectorEnv``)."""
        return self.call(name)

    def set_attr(self, name: str, values: Any) -> None:
        """Set the task's attribute ``name``: one value for every env, or a list/tuple of ``num_envs`` equal ones.

        All envs share one task, so per-env values that differ are refused
        (``ValueError``); so are the names fixed when the env was made (``FIXED``)
        and methods (``AttributeError``).
        """
        name = _check_name(name)
        values = per_env_values(name, values, self.num_envs)
        with self._exclusive("set_attr"):
            self._set_envs(name, values)


def check_settable(name: str, task: Any, holder: str) -> None:
    """Refuse setting ``name`` on ``task`` unless it is an existing, non-method attribute the env reads live."""
    if name in FIXED:
        raise AttributeError(
            f"`set_attr({name!r}, ...)`: {name!r} is fixed when the env is made; make a new env to change it"
        )
    missing = object()
    current = getattr(task, name, missing)
    if current is missing:
        raise AttributeError(unknown(name, task, holder))
    if callable(current):
        raise AttributeError(f"`set_attr({name!r}, ...)`: {type(task).__name__}.{name} is a method, not a value")


def unknown(name: str, task: Any, holder: str) -> str:
    """The message for a name neither an env of ``holder`` nor its task has."""
    known = [*ENV_LEVEL, "render", "model", *(n for n in dir(task) if not n.startswith("__"))]
    return (
        f"no env of this {holder} has an attribute {name!r}: neither one env's ({sorted(ENV_LEVEL)}, 'model',"
        f" 'render') nor its task's ({type(task).__name__}){validation.did_you_mean(name, known)}"
    )


def task_values(name: str, task: Any, num_envs: int, args: tuple, kwargs: dict, holder: str) -> tuple:
    """``num_envs`` times the task's attribute ``name`` (not a method: the task's functions are batched)."""
    missing = object()
    value = getattr(task, name, missing)
    if value is missing:
        raise AttributeError(unknown(name, task, holder))
    if callable(value):
        raise TypeError(
            f"`call({name!r})`: {type(task).__name__}.{name} is a function of the whole batch, not a method of"
            f" one env; call it as `env.task.{name}(...)`"
        )
    if args or kwargs:
        raise TypeError(f"`call({name!r})` got arguments, but {name!r} is a value, not a method")
    return (value,) * num_envs
