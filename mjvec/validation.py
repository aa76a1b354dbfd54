"""Input checks, in one place: cheap on the hot path, exact in their messages.

Every message names the argument, what was expected and what came. Types get
``TypeError``, values ``ValueError``; all are raised before anything is simulated.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "check_positive_int",
    "check_actions",
    "check_reset_mask",
    "check_seeds",
    "check_options",
    "check_num_envs",
    "check_env_index",
    "check_obs_dtype",
    "did_you_mean",
]

RESET_OPTIONS = ("reset_mask", "state")


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """`` (did you mean 'a', 'b'?)`` for close matches of ``name``, or ``''``."""
    close = difflib.get_close_matches(name, list(names), n=3)
    return f" (did you mean {', '.join(map(repr, close))}?)" if close else ""


def check_positive_int(value: Any, name: str, *, unit: str = "", none_ok: bool = False) -> int:
    """``value`` as an int >= 1 (bools refused); ``unit`` and ``none_ok`` only word the messages."""
    note = f" ({unit})" if unit else ""
    alt = " or None" if none_ok else ""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int{note}{alt}, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1{note}{alt}, got {value}")
    return int(value)


def check_num_envs(num_envs: Any) -> int:
    return check_positive_int(num_envs, "num_envs")


def check_env_index(i: Any, num_envs: int) -> int:
    """``i`` as the int index of one of ``num_envs`` environments."""
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
        raise TypeError(f"`i` must be an int, got {type(i).__name__}")
    if not 0 <= i < num_envs:
        raise ValueError(f"`i` must be in [0, {num_envs}), got {i}")
    return int(i)


def check_actions(actions: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``actions`` as an array of ``shape`` with a real, finite numeric dtype.

    The dtype is kept (Gymnasium computes control costs in the action's dtype). What
    converts faithfully is converted: an ``np.matrix`` or a masked array with nothing
    masked to its plain array, a torch tensor from any device (bfloat16 widened to
    float32, exactly); a masked array with masked entries is refused (its data there is
    no action).
    """
    if isinstance(actions, np.ma.MaskedArray):
        masked = np.ma.getmaskarray(actions)
        if masked.any():
            envs = np.flatnonzero(masked.reshape(masked.shape[0], -1).any(axis=1)) if masked.ndim else [0]
            raise ValueError(
                f"`actions` is a masked array with masked entries (environments {np.asarray(envs)[:10].tolist()}): a masked"
                " value is no action; fill them (`actions.filled(value)`) or pass a plain array"
            )
        actions = np.asarray(actions.data)
    elif isinstance(actions, np.ndarray) and type(actions) is not np.ndarray:
        actions = np.asarray(actions)  # np.matrix and other subclasses: the same numbers, a plain array
    if not isinstance(actions, np.ndarray):
        if type(actions).__module__.split(".")[0] == "torch" and hasattr(actions, "detach"):
            actions = actions.detach().cpu()
            if str(actions.dtype) == "torch.bfloat16":  # numpy has no bfloat16; float32 holds it exactly
                actions = actions.float()
        if hasattr(actions, "__array__") or isinstance(actions, (list, tuple)):
            try:
                actions = np.asarray(actions)
            except ValueError as e:  # ragged nested lists
                raise ValueError(
                    f"`actions` must be an array of shape {shape}, got a ragged {type(actions).__name__}: {e}"
                ) from None
            except (TypeError, RuntimeError) as e:  # an __array__ that cannot convert
                raise TypeError(
                    f"`actions` must be a numpy array of shape {shape}, got a {type(actions).__name__} that does"
                    f" not convert to one: {e}"
                ) from None
        else:
            raise TypeError(
                f"`actions` must be a numpy array of shape {shape}, got {type(actions).__name__}"
            )
    if actions.dtype.kind not in "fiu":
        raise TypeError(
            f"`actions` must have a real numeric dtype (float or int), got {actions.dtype}"
        )
    if actions.shape != shape:
        raise ValueError(
            f"`actions` must have shape {shape} (num_envs, action size), got {actions.shape}"
        )
    if actions.dtype.kind == "f" and not np.isfinite(actions).all():
        bad = np.flatnonzero(~np.isfinite(actions).reshape(shape[0], -1).all(axis=1))
        raise ValueError(
            f"`actions` must be finite, got NaN or inf for environments {bad[:10].tolist()}"
            + (" ..." if bad.size > 10 else "")
        )
    return actions


def check_reset_mask(mask: Any, num_envs: int) -> np.ndarray:
    """``options['reset_mask']``: a bool array of shape ``(num_envs,)`` with a True."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"`options['reset_mask']` must be a numpy array, got {type(mask).__name__}")
    if mask.dtype != np.bool_:
        raise TypeError(f"`options['reset_mask']` must have dtype bool, got {mask.dtype}")
    if mask.shape != (num_envs,):
        raise ValueError(
            f"`options['reset_mask']` must have shape ({num_envs},), got {mask.shape}"
        )
    if not mask.any():
        raise ValueError("`options['reset_mask']` must have at least one True value, got none")
    return mask


def check_options(options: Any) -> dict:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"`options` must be a dict or None, got {type(options).__name__}")
    unknown = [k for k in options if k not in RESET_OPTIONS]
    if unknown:
        hint = did_you_mean(str(unknown[0]), RESET_OPTIONS)
        raise ValueError(
            f"`options` has unknown keys {unknown}; known keys: {list(RESET_OPTIONS)}{hint}"
        )
    return options


def _check_seed(seed: Any, name: str) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`{name}` must be a non-negative int or None, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"`{name}` must be a non-negative int or None, got {seed}")
    return int(seed)


def check_seeds(seed: Any, num_envs: int) -> Sequence[int | None]:
    """One seed per environment, as Gymnasium's ``SyncVectorEnv.reset``.

    ``None``: no reseeding; an int ``s``: environment ``i`` gets ``s + i``; a
    sequence: one seed (or None) per environment.
    """
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, np.ndarray) and seed.ndim != 1:
        if seed.ndim:
            raise ValueError(
                f"`seed` as an array must be 1-D, one seed per environment ({num_envs}), got shape {seed.shape}"
            )
        seed = seed[()]  # a 0-d array is the number it holds
        if not isinstance(seed, np.integer) or isinstance(seed, np.bool_):
            raise TypeError(
                f"`seed` must be an int, a sequence of {num_envs} ints, or None, got a 0-d {seed.dtype} array"
            )
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        seed = _check_seed(seed, "seed")
        return [seed + i for i in range(num_envs)]
    if isinstance(seed, (list, tuple, np.ndarray)):
        if len(seed) != num_envs:
            raise ValueError(
                f"`seed` as a sequence must have one seed per environment ({num_envs}), got {len(seed)}"
            )
        return [_check_seed(s, f"seed[{i}]") for i, s in enumerate(seed)]
    raise TypeError(
        f"`seed` must be an int, a sequence of {num_envs} ints, or None, got {type(seed).__name__}"
    )


def check_env_ids(env_ids: Any, num_envs: int, name: str = "env_ids") -> np.ndarray:
    """``env_ids``: None for every env, or distinct env indices, as an int array in the given order."""
    if env_ids is None:
        return np.arange(num_envs)
    ids = np.asarray(env_ids)
    if ids.ndim == 0:
        ids = ids.reshape(1)
    if ids.dtype == np.bool_ or not np.issubdtype(ids.dtype, np.integer) or ids.ndim != 1:
        raise TypeError(f"`{name}` must be None or a sequence of env indices (ints), got {env_ids!r}")
    if ids.size == 0:
        raise ValueError(f"`{name}` must name at least one env, got none")
    bad = ids[(ids < 0) | (ids >= num_envs)]
    if bad.size:
        raise ValueError(f"`{name}` must be in [0, {num_envs}), got {bad[:10].tolist()}")
    if np.unique(ids).size != ids.size:
        raise ValueError(f"`{name}` names an env more than once: {ids.tolist()}")
    return ids.astype(np.intp)


def check_states(state: Any, count: int, size: int, name: str = "state") -> np.ndarray:
    """Physics states: a finite float array of shape ``(count, size)`` (``env.state_size`` entries each)."""
    if not isinstance(state, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy array of shape ({count}, {size}), got {type(state).__name__}")
    if not np.issubdtype(state.dtype, np.floating):
        raise TypeError(f"`{name}` must have a float dtype, got {state.dtype}")
    if state.shape != (count, size):
        raise ValueError(
            f"`{name}` must have shape ({count}, {size}): one row per env of env.state_size = {size} entries,"
            " MuJoCo's mjSTATE_INTEGRATION (time, qpos, qvel, act, warmstart, ctrl, applied forces, mocap poses,"
            f" eq_active, userdata: what env.get_state() returns), got {state.shape}"
        )
    if not np.isfinite(state).all():
        rows = np.flatnonzero(~np.isfinite(state).all(axis=1))
        raise ValueError(f"`{name}` must be finite, got NaN or inf in rows {rows[:10].tolist()}")
    return np.asarray(state, dtype=np.float64)


OBS_DTYPES = (np.float32, np.float64)


def check_obs_dtype(obs_dtype: Any) -> np.dtype | None:
    """``obs_dtype`` as ``np.float32`` or ``np.float64`` (a dtype, a type or its name), or None."""
    if obs_dtype is None:
        return None
    try:
        dtype = np.dtype(obs_dtype)
    except TypeError:
        raise TypeError(
            f"`obs_dtype` must be np.float32, np.float64 or None, got {type(obs_dtype).__name__} {obs_dtype!r}"
        ) from None
    if dtype not in OBS_DTYPES:
        raise ValueError(f"`obs_dtype` must be np.float32, np.float64 or None, got {dtype}")
    return dtype
