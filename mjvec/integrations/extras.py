"""The error for an adapter whose library (an extra) is not installed."""

from __future__ import annotations

__all__ = ["require_extra"]


def require_extra(error: ModuleNotFoundError, packages: tuple[str, ...], module: str, library: str, extra: str):
    """Raise an ImportError naming ``extra`` if ``error`` is one of ``packages`` missing; else ``error`` itself."""
    if (error.name or "").split(".")[0] not in packages:
        raise error
    raise ImportError(
        f"{module} needs {library} ({error.name} is not installed): pip install \"mjvec[{extra}]\""
    ) from error
