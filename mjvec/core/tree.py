"""Observations as pytrees: one array, or a dict of them (nested dicts allowed).

Written without JAX so the CPU path needs none; ``jax.tree`` treats the same dicts
as the same trees, so a tree built here crosses a jit boundary as it is.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

__all__ = ["tree_map", "leaves"]


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """``fn`` applied leaf by leaf to ``tree`` and the trees of the same structure in ``rest``."""
    if isinstance(tree, dict):
        return {key: tree_map(fn, value, *(r[key] for r in rest)) for key, value in tree.items()}
    return fn(tree, *rest)


def leaves(tree: Any) -> Iterator[Any]:
    """The arrays of ``tree``, in key order."""
    if isinstance(tree, dict):
        for value in tree.values():
            yield from leaves(value)
    else:
        yield tree
