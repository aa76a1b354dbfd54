"""``array_type="torch"`` on host arrays: the caller's NumPy outputs as torch tensors, no copy.

Each output array becomes ``torch.from_numpy`` of it (the same memory: the arrays are
already the caller's own); ``info`` is converted key by key, ``final_obs`` stays an
object array (one entry per env, None where no episode ended) whose entries are
tensors. Actions may come as tensors, on any device: they are read as NumPy (a CPU
tensor without a copy). torch is an extra, imported here when first asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TorchArrays"]


def _import_torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            f"array_type='torch' needs PyTorch ({e}): pip install 'mjvec[torch]' (on a CPU-only machine, install"
            " a CPU build of torch first: PyPI's default brings several GB of CUDA packages)"
        ) from e
    return torch


class TorchArrays:
    """Converts a backend's NumPy results to torch tensors, and torch actions to NumPy."""

    def __init__(self):
        self.torch = _import_torch()

    def tensors(self, x: Any) -> Any:
        """``x`` (an array, a dict, a tuple of them) with every numeric array as a tensor on its memory."""
        if isinstance(x, np.ndarray):
            if x.dtype == object:
                out = np.empty(x.shape, dtype=object)
                for i, item in enumerate(x):
                    out[i] = None if item is None else self.tensors(item)
                return out
            return self.torch.from_numpy(x)
        if isinstance(x, dict):
            return {key: self.tensors(value) for key, value in x.items()}
        if isinstance(x, tuple):
            return tuple(self.tensors(value) for value in x)
        return x

    def actions(self, actions: Any) -> Any:
        """A tensor of actions as a NumPy array (the tensor's memory when it is on the CPU); others as they are."""
        if isinstance(actions, self.torch.Tensor):
            return actions.detach().cpu().resolve_conj().resolve_neg().numpy()
        return actions
