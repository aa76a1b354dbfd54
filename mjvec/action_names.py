"""The names an ``ActionSpec`` gives, checked: lists of names, ``{body: mode}`` dicts, and
their lookup in a model, with did-you-mean for a misspelled one."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import mujoco

from mjvec.validation import did_you_mean

__all__ = ["names_list", "object_modes", "lookup", "names_of", "actuator_names"]


def names_list(arg: str, names: Any) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise TypeError(f"`{arg}` must be a list of names, got {type(names).__name__}")
    names = list(names)
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"`{arg}` must hold names (str), got {type(n).__name__}")
    seen = set()
    for n in names:
        if n in seen:
            raise ValueError(f"`{arg}` names {n!r} twice")
        seen.add(n)
    return names


def object_modes(arg: str, value: Any, modes: Mapping[str, tuple]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"`{arg}` must be a dict {{body name: mode}}, got {type(value).__name__}")
    for body, mode in value.items():
        if not isinstance(body, str):
            raise TypeError(f"`{arg}` keys must be body names (str), got {type(body).__name__}")
        if mode not in modes:
            raise ValueError(
                f"`{arg}[{body!r}]` must be one of {list(modes)}, got {mode!r}{did_you_mean(str(mode), modes)}"
            )
    return dict(value)


def lookup(kind: str, what: str, name: str, names: list[str]) -> int:
    """The index of ``name`` in the model's ``names`` of one kind, or a ValueError listing them."""
    if name not in names:
        known = [k for k in names if k and not k.startswith("<")]
        raise ValueError(
            f"`{kind}` names {what} {name!r}, which the model does not have{did_you_mean(name, known)};"
            f" its {what}s: {known[:20]}{' ...' if len(known) > 20 else ''}"
        )
    return names.index(name)


def names_of(model: mujoco.MjModel, obj: mujoco.mjtObj, count: int) -> list[str]:
    return [mujoco.mj_id2name(model, obj, i) or "" for i in range(count)]


def actuator_names(model: mujoco.MjModel) -> list[str]:
    """Each actuator's name; an unnamed one is called by the joint it drives, if only it does.

    Gymnasium's MJCF files leave their motors unnamed (``<motor joint="hip_1"/>``).
    """
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, a) for a in range(model.nu)]
    joint_trn = (int(mujoco.mjtTrn.mjTRN_JOINT), int(mujoco.mjtTrn.mjTRN_JOINTINPARENT))
    by_joint = [
        mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, int(model.actuator_trnid[a, 0]))
        if int(model.actuator_trntype[a]) in joint_trn
        else None
        for a in range(model.nu)
    ]
    out = []
    for a, name in enumerate(names):
        j = by_joint[a]
        if not name and j and by_joint.count(j) == 1 and j not in names:
            name = j
        out.append(name or f"<{a}>")
    return out
