"""ActionSpec: which simulation inputs an action drives, and how a batch of actions is written.

An action is one flat vector whose layout is fixed: ``ctrl`` (the chosen actuators),
then ``qfrc`` (each joint's dofs), then ``xfrc`` (per body: force xyz, then torque xyz
for ``"wrench"``), then ``mocap`` (per body: pos xyz, then quat wxyz for ``"pose"``),
then ``eq`` (one number per equality, active when > 0). Values are written as given,
in MuJoCo's own semantics: ``ctrl`` as is (MuJoCo clamps it to ``ctrlrange`` where
the actuator is ``ctrllimited``), ``qfrc_applied`` on the joint's dofs,
``xfrc_applied`` at the body's center of mass in the world frame, ``mocap_pos`` and
``mocap_quat`` absolute in the world frame (quaternions normalized; a zero quaternion
is an error), or for ``"delta_pos"`` added to where the mocap body is.

    spec = mjvec.ActionSpec(ctrl=None, xfrc={"torso": "wrench"}, bounds={"xfrc": (-50, 50)})
    env = mjvec.make("Ant-v5", num_envs=64, actions=spec)
    print(env.action_spec.describe())   # kinds, names and index ranges

``BoundActions.write(xp, action, current)`` is functional (no in-place writes), so the
same code runs on NumPy and inside a JAX jit.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Sequence

import mujoco
import numpy as np
from gymnasium import spaces

from mjvec.action_names import actuator_names, lookup, names_list, names_of, object_modes
from mjvec.validation import did_you_mean

__all__ = ["ActionSpec", "BoundActions", "ActionEntry"]

XFRC_MODES = {"force": ("force",), "torque": ("torque",), "wrench": ("force", "torque")}
MOCAP_MODES = {"pos": ("pos",), "quat": ("quat",), "pose": ("pos", "quat"), "delta_pos": ("delta_pos",)}
KINDS = ("ctrl", "qfrc", "xfrc", "mocap", "eq")
# MjData field, width and offset within the row of each component
_COMPONENTS = {
    "force": ("xfrc_applied", 3, 0),
    "torque": ("xfrc_applied", 3, 3),
    "pos": ("mocap_pos", 3, 0),
    "delta_pos": ("mocap_pos", 3, 0),
    "quat": ("mocap_quat", 4, 0),
}
_DOFS = {
    mujoco.mjtJoint.mjJNT_FREE: 6,
    mujoco.mjtJoint.mjJNT_BALL: 3,
    mujoco.mjtJoint.mjJNT_SLIDE: 1,
    mujoco.mjtJoint.mjJNT_HINGE: 1,
}


class ActionEntry(NamedTuple):
    """One named part of the action: ``action[..., start:stop]``."""

    kind: str  # "ctrl", "qfrc", "xfrc", "mocap", "eq"
    name: str  # actuator, joint, body or equality name
    component: str  # "ctrl", "qfrc", "force", "torque", "pos", "quat", "delta_pos", "eq"
    start: int
    stop: int
    field: str  # the MjData field written
    dst: tuple[int, ...]  # flat indices into one env's row of ``field``


class ActionSpec:
    """Which inputs an action drives.

    Args:
      ctrl: ``"all"`` (every actuator, in model order), a list of actuator names, or
        None.
      qfrc: joint names whose dofs get ``qfrc_applied`` (a free joint has 6 dofs, a
        ball joint 3, hinge and slide 1).
      xfrc: ``{body name: "force" | "torque" | "wrench"}``, ``xfrc_applied`` at the
        body's center of mass, world frame.
      mocap: ``{mocap body name: "pos" | "quat" | "pose" | "delta_pos"}``: absolute
        position, orientation (quaternion wxyz, normalized), both, or a displacement
        of the current position.
      eq: equality constraint names, each switched on by an action value > 0.
      bounds: ``{key: (low, high)}`` for the Box, where ``key`` is a kind (``"qfrc"``)
        or ``"kind:name"`` (``"xfrc:torso"``, the more specific wins); scalars or
        arrays of the entry's width. Unbounded where not given; ``ctrl`` defaults to
        ``actuator_ctrlrange`` where limited, as Gymnasium's MuJoCo envs. ``eq``
        defaults to ``[-1, 1]``.
      workspace: ``{mocap body name: (low xyz, high xyz)}``: the body's resulting
        position is clipped to this box (the one place values are clipped, because
        asked to).
      dtype: dtype of the Box (float32, as Gymnasium's MuJoCo envs).
    """

    def __init__(
        self,
        ctrl: str | Sequence[str] | None = "all",
        qfrc: Sequence[str] = (),
        xfrc: Mapping[str, str] | None = None,
        mocap: Mapping[str, str] | None = None,
        eq: Sequence[str] = (),
        *,
        bounds: Mapping[str, tuple[Any, Any]] | None = None,
        workspace: Mapping[str, tuple[Any, Any]] | None = None,
        dtype: Any = np.float32,
    ):
        if isinstance(ctrl, str) and ctrl != "all":
            hint = " (did you mean 'all'?)" if ctrl.strip().lower() == "all" else f"; for one actuator, ctrl=[{ctrl!r}]"
            raise ValueError(f'`ctrl` must be "all", a list of actuator names, or None, got {ctrl!r}{hint}')
        if ctrl is not None and ctrl != "all":
            ctrl = names_list("ctrl", ctrl)
        self.ctrl = ctrl
        self.qfrc = names_list("qfrc", qfrc)
        self.xfrc = object_modes("xfrc", xfrc, XFRC_MODES)
        self.mocap = object_modes("mocap", mocap, MOCAP_MODES)
        self.eq = names_list("eq", eq)
        if bounds is not None and not isinstance(bounds, Mapping):
            raise TypeError(f"`bounds` must be a dict {{key: (low, high)}}, got {type(bounds).__name__}")
        self.bounds = dict(bounds or {})
        for key in self.bounds:
            if not isinstance(key, str) or key.split(":", 1)[0] not in KINDS:
                raise ValueError(f"`bounds` keys must be a kind {KINDS} or 'kind:name', got {key!r}")
        if workspace is not None and not isinstance(workspace, Mapping):
            raise TypeError(f"`workspace` must be a dict {{mocap body: (low, high)}}, got {type(workspace).__name__}")
        self.workspace = dict(workspace or {})
        for body in self.workspace:
            if body not in self.mocap:
                raise ValueError(
                    f"`workspace` names {body!r}, which `mocap` does not drive{did_you_mean(str(body), self.mocap)}"
                )
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"`dtype` must be a floating dtype, got {self.dtype}")
        if ctrl is None and not (self.qfrc or self.xfrc or self.mocap or self.eq):
            raise ValueError("an ActionSpec must drive something: ctrl, qfrc, xfrc, mocap or eq")

    def bind(self, model: mujoco.MjModel) -> "BoundActions":
        """The spec resolved against ``model``: names checked, the Box and layout built."""
        return BoundActions(self, model)

    def layout(self, model: mujoco.MjModel) -> list[ActionEntry]:
        """The action's entries (kind, name, component, index range) for ``model``."""
        return self.bind(model).layout

    def __repr__(self) -> str:
        parts = [f"ctrl={self.ctrl!r}"]
        for kind in ("qfrc", "xfrc", "mocap", "eq"):
            if getattr(self, kind):
                parts.append(f"{kind}={getattr(self, kind)!r}")
        return f"ActionSpec({', '.join(parts)})"


class BoundActions:
    """An ``ActionSpec`` resolved against a model.

    Attributes:
      spec: the ActionSpec.
      space: the single action ``Box``.
      layout: the ``ActionEntry`` list, in action order.
      fields: the MjData fields written (``ctrl``, ``qfrc_applied``, ``xfrc_applied``,
        ``mocap_pos``, ``mocap_quat``, ``eq_active``).
      passthrough: True when the action is ``ctrl`` itself (every actuator in order):
        a backend may then copy it without ``write``.
    """

    def __init__(self, spec: ActionSpec, model: mujoco.MjModel):
        self.spec = spec
        entries: list[tuple[str, str, str, str, tuple[int, ...]]] = []  # kind, name, component, field, dst
        actuators = actuator_names(model)
        joints = names_of(model, mujoco.mjtObj.mjOBJ_JOINT, model.njnt)
        bodies = names_of(model, mujoco.mjtObj.mjOBJ_BODY, model.nbody)
        if spec.ctrl == "all":
            for a in range(model.nu):
                entries.append(("ctrl", actuators[a], "ctrl", "ctrl", (a,)))
        elif spec.ctrl is not None:
            for n in spec.ctrl:
                entries.append(("ctrl", n, "ctrl", "ctrl", (lookup("ctrl", "actuator", n, actuators),)))
        for n in spec.qfrc:
            j = lookup("qfrc", "joint", n, joints)
            adr = int(model.jnt_dofadr[j])
            dofs = tuple(range(adr, adr + _DOFS[mujoco.mjtJoint(model.jnt_type[j])]))
            entries.append(("qfrc", n, "qfrc", "qfrc_applied", dofs))
        for n, mode in spec.xfrc.items():
            b = lookup("xfrc", "body", n, bodies)
            if b == 0:
                raise ValueError("`xfrc` names the world body, which no force moves")
            for comp in XFRC_MODES[mode]:
                field, width, offset = _COMPONENTS[comp]
                entries.append(("xfrc", n, comp, field, tuple(range(6 * b + offset, 6 * b + offset + width))))
        for n, mode in spec.mocap.items():
            b = lookup("mocap", "body", n, bodies)
            m = int(model.body_mocapid[b])
            if m < 0:
                mocaps = [bodies[k] for k in range(model.nbody) if model.body_mocapid[k] >= 0]
                raise ValueError(
                    f"`mocap` names body {n!r}, which is not a mocap body (mocap=\"true\" in MJCF);"
                    f" the model's mocap bodies: {mocaps}"
                )
            for comp in MOCAP_MODES[mode]:
                field, width, _ = _COMPONENTS[comp]
                entries.append(("mocap", n, comp, field, tuple(range(width * m, width * m + width))))
        for n in spec.eq:
            e = lookup("eq", "equality", n, names_of(model, mujoco.mjtObj.mjOBJ_EQUALITY, model.neq))
            entries.append(("eq", n, "eq", "eq_active", (e,)))

        self._check_bounds_keys({k for e in entries for k in (e[0], f"{e[0]}:{e[1]}")})
        layout, lows, highs, start = [], [], [], 0
        for kind, name, comp, field, dst in entries:
            width = len(dst)
            layout.append(ActionEntry(kind, name, comp, start, start + width, field, dst))
            low, high = self._bounds(model, kind, name, comp, dst)
            lows.append(low)
            highs.append(high)
            start += width
        if start == 0:
            raise ValueError(
                f"{spec!r} drives nothing in this model (it has {model.nu} actuators):"
                " pass `actions=mjvec.ActionSpec(...)` naming the inputs to drive, e.g. xfrc={body: 'force'}"
            )
        self.layout = layout
        self.size = start
        low = np.concatenate(lows) if lows else np.zeros(0)
        high = np.concatenate(highs) if highs else np.zeros(0)
        self.space = spaces.Box(low=low.astype(spec.dtype), high=high.astype(spec.dtype), dtype=spec.dtype)
        self.fields = tuple(dict.fromkeys(e.field for e in layout))
        self.passthrough = spec.ctrl == "all" and len(layout) == model.nu and model.nu > 0
        self._quats = [e for e in layout if e.component == "quat"]
        # the workspace as bounds of one env's flat mocap_pos row, or None
        self._workspace = None
        if spec.workspace:
            self._workspace = (np.full(3 * model.nmocap, -np.inf), np.full(3 * model.nmocap, np.inf))
        for body, (lo, hi) in spec.workspace.items():
            m = int(model.body_mocapid[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)])
            lo, hi = (np.broadcast_to(np.asarray(v, dtype=np.float64), (3,)).copy() for v in (lo, hi))
            if not (lo <= hi).all():
                raise ValueError(f"`workspace[{body!r}]` must have low <= high, got {lo} and {hi}")
            self._workspace[0][3 * m : 3 * m + 3], self._workspace[1][3 * m : 3 * m + 3] = lo, hi
        # per field: which flat element of one env's row each action column feeds
        self._plan = {}
        for field in self.fields:
            width = _field_width(model, field)
            src = np.zeros(width, dtype=np.int64)
            driven = np.zeros(width, dtype=np.bool_)
            for e in layout:
                if e.field == field:
                    src[list(e.dst)] = np.arange(e.start, e.stop)
                    driven[list(e.dst)] = True
            self._plan[field] = (src, driven)

    def _check_bounds_keys(self, driven: set[str]) -> None:
        """Refuse a ``bounds`` key that names no entry the spec drives (a typo would leave it unbounded)."""
        for key in self.spec.bounds:
            if key not in driven:
                known = sorted(driven, key=lambda k: (":" in k, k))
                raise ValueError(
                    f"`bounds` key {key!r} names nothing this ActionSpec drives{did_you_mean(key, driven)};"
                    f" its keys: {known[:20]}{' ...' if len(known) > 20 else ''}"
                )

    def _bounds(self, model, kind, name, comp, dst) -> tuple[np.ndarray, np.ndarray]:
        width = len(dst)
        given = self.spec.bounds.get(f"{kind}:{name}", self.spec.bounds.get(kind))
        if given is not None:
            try:
                low, high = given
                low = np.broadcast_to(np.asarray(low, dtype=np.float64), (width,)).copy()
                high = np.broadcast_to(np.asarray(high, dtype=np.float64), (width,)).copy()
            except (TypeError, ValueError) as e:
                raise ValueError(
                    f"`bounds[{kind!r}]` for {name!r} must be (low, high), scalars or arrays of {width}: {e}"
                ) from None
            if not (low <= high).all():
                raise ValueError(f"`bounds` for {kind} {name!r} must have low <= high, got {low} and {high}")
            return low, high
        if kind == "ctrl" and model.actuator_ctrllimited[dst[0]]:
            lo, hi = model.actuator_ctrlrange[dst[0]]
            return np.array([lo]), np.array([hi])
        if kind == "eq":
            return np.array([-1.0]), np.array([1.0])
        return np.full(width, -np.inf), np.full(width, np.inf)

    def check(self, action: np.ndarray, ftype: Any = np.float64) -> None:
        """Refuse, before anything is simulated, what ``write`` cannot make sense of.

        ``ftype``: the float type ``write`` computes in (the simulation's: float64 on the
        CPU, JAX's default float on MJX), in which a quaternion's squared norm must be a
        nonzero finite number (a tiny one underflows to 0 and normalizes to NaN).
        """
        for e in self._quats:
            q = action[:, e.start : e.stop]
            zero = ~(q != 0).any(axis=1)
            if zero.any():
                raise ValueError(
                    f"`actions[:, {e.start}:{e.stop}]` (the quaternion of mocap body {e.name!r}) must not be"
                    f" zero, got zero for environments {np.flatnonzero(zero)[:10].tolist()}"
                )
            with np.errstate(under="ignore", over="ignore"):
                q = q.astype(ftype)
                norm2 = np.sum(q * q, axis=1)
            bad = (norm2 == 0) | ~np.isfinite(norm2)
            if bad.any():
                i = np.flatnonzero(bad)
                raise ValueError(
                    f"`actions[:, {e.start}:{e.stop}]` (the quaternion of mocap body {e.name!r}) cannot be"
                    f" normalized in {np.dtype(ftype).name}: its squared norm underflows or overflows for"
                    f" environments {i[:10].tolist()} (e.g. {action[i[0], e.start : e.stop].tolist()}); scale it"
                    " (a quaternion's length does not matter)"
                )

    def write(self, xp, action, current: Mapping[str, Any]) -> dict[str, Any]:
        """New values of ``fields`` for a batch of actions.

        ``action`` is ``(n, size)``; ``current[field]`` the ``(n, ...)`` field as it
        is now (read for the elements the action does not drive and for
        ``delta_pos``). Returns ``{field: (n, ...) array}`` in ``current``'s shape and
        dtype; nothing is written in place.
        """
        # computed in the fields' float type (float64 on the CPU backend, as a loop
        # writing float32 actions into MjData would), then cast to each field's dtype
        # (MJX holds eq_active as bool)
        ftype = next((current[f].dtype for f in self.fields if current[f].dtype.kind == "f"), np.float64)
        action = xp.asarray(action).astype(ftype)
        n = action.shape[0]
        flat = {f: xp.reshape(current[f], (n, int(np.prod(current[f].shape[1:])))) for f in self.fields}
        parts = []
        for e in self.layout:
            a = action[:, e.start : e.stop]
            if e.component == "quat":
                a = a / xp.sqrt(xp.vecdot(a, a))[:, None]
            elif e.component == "delta_pos":
                a = flat[e.field][:, list(e.dst)] + a
            elif e.component == "eq":
                a = xp.where(a > 0, 1.0, 0.0).astype(ftype)
            parts.append(a)
        processed = xp.concatenate(parts, axis=1)
        out = {}
        for field, (src, driven) in self._plan.items():
            new = xp.where(driven, processed[:, src], flat[field])
            if field == "mocap_pos" and self._workspace is not None:
                new = xp.clip(new, *self._workspace)
            out[field] = xp.reshape(new, current[field].shape).astype(current[field].dtype)
        return out

    def describe(self) -> str:
        """The layout as a table: index range, kind, name, component, MjData field."""
        rows = [("index", "kind", "name", "component", "field")]
        for e in self.layout:
            idx = str(e.start) if e.stop - e.start == 1 else f"{e.start}:{e.stop}"
            rows.append((idx, e.kind, e.name, e.component, e.field))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)

    def __repr__(self) -> str:
        return f"BoundActions({self.spec!r}, size={self.size})"


def _field_width(model: mujoco.MjModel, field: str) -> int:
    return {
        "ctrl": model.nu,
        "qfrc_applied": model.nv,
        "xfrc_applied": 6 * model.nbody,
        "mocap_pos": 3 * model.nmocap,
        "mocap_quat": 4 * model.nmocap,
        "eq_active": model.neq,
    }[field]
