"""The registered tasks' keyword arguments, checked at ``make`` before anything is built.

One check for every task in ``TASKS``: each argument's type is read from the task's
own signature (its annotation: ``float``, ``int``, ``bool``, ``str``, ``dict``,
``tuple[float, float]``, with ``| None``), and the few ranges no value outside of
makes sense are listed here by name. A misspelled name is refused by
``mjvec.registration.make_task`` with a did-you-mean.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["check_task_kwargs", "NONNEGATIVE"]

#: arguments whose value must be >= 0 (a noise scale, a radius, a limit)
NONNEGATIVE = ("reset_noise_scale", "success_radius", "max_delta", "max_torque", "max_tilt")


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _kinds(annotation: str) -> set[str]:
    """The annotation's alternatives, reduced to what is checked: ``{"float", "None", ...}``."""
    kinds = set()
    for part in annotation.split("|"):
        part = part.strip()
        kinds.add("pair" if part.startswith("tuple[float, float]") else part.split("[")[0])
    return kinds


_WORDS = {"float": "a real number", "int": "an int", "bool": "a bool", "str": "a str", "dict": "a dict",
          "pair": "a (low, high) pair of real numbers", "None": "None"}


def _matches(kind: str, value: Any) -> bool:
    if kind == "None":
        return value is None
    if kind == "float":
        return _real(value)
    if kind == "int":
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if kind == "bool":
        return isinstance(value, (bool, np.bool_))
    if kind == "str":
        return isinstance(value, str)
    if kind == "dict":
        return isinstance(value, Mapping)
    if kind == "pair":
        return isinstance(value, (tuple, list, np.ndarray)) and len(value) == 2 and all(_real(v) for v in value)
    return True  # an annotation this check does not know: the task checks it


def _check(task: str, name: str, annotation: str, value: Any) -> None:
    kinds = _kinds(annotation)
    if not kinds <= set(_WORDS):
        return
    if not any(_matches(kind, value) for kind in kinds):
        want = " or ".join(_WORDS[k] for k in sorted(kinds, key=list(_WORDS).index))
        raise TypeError(f"{task}: `{name}` must be {want}, got {type(value).__name__} {value!r}")
    if _real(value) and not math.isfinite(value):
        raise ValueError(f"{task}: `{name}` must be finite, got {value!r}")
    if "pair" in kinds and value is not None:
        low, high = value
        if math.isnan(low) or math.isnan(high) or not low <= high:
            raise ValueError(f"{task}: `{name}` must be (low, high) with low <= high, got {tuple(value)!r}")
    if name in NONNEGATIVE and _real(value) and value < 0:
        raise ValueError(f"{task}: `{name}` must be >= 0, got {value!r}")
    if name == "frame_skip" and value < 1:
        raise ValueError(f"{task}: `frame_skip` must be >= 1, got {value!r}")


def check_task_kwargs(task: str, task_cls: type, kwargs: Mapping[str, Any]) -> None:
    """Refuse, naming ``task`` and the argument, a value of the wrong type or out of range.

    ``TypeError`` for a type (``ctrl_cost_weight="0.1"``), ``ValueError`` for a value
    (``reset_noise_scale=-0.1``, a NaN weight, a range with low > high).
    """
    parameters = inspect.signature(task_cls).parameters
    for name, value in kwargs.items():
        annotation = parameters[name].annotation
        if isinstance(annotation, str):  # the tasks' modules use postponed annotations
            _check(task, name, annotation, value)
