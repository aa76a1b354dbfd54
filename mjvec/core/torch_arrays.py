"""``array_type="torch"``: the caller's outputs as torch tensors, with no copy.

Host arrays (the CPU backend) become ``torch.from_numpy`` of them (the same memory:
the arrays are already the caller's own); ``info`` is converted key by key,
``final_obs`` stays an object array (one entry per env, None where no episode ended)
whose entries are tensors. Device arrays (MJX) become ``torch.from_dlpack`` of them,
on their device (a CUDA tensor for an MJX batch on a GPU). Actions may come as tensors:
read as NumPy (a CPU tensor without a copy; a CUDA tensor copied to the host), or, when
the MJX batch is on a GPU, a CUDA tensor taken by JAX through DLPack with no copy
(``MjxBackend``). torch is an extra, imported here
when first asked for.
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
        if hasattr(x, "__dlpack__") and not isinstance(x, (np.ndarray, self.torch.Tensor)):  # a jax.Array
            return self.torch.from_dlpack(x)
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

    def actions(self, actions: Any, device_from_dlpack=None) -> Any:
        """A tensor of actions as a NumPy array (the tensor's memory when it is on the CPU); others as they are.

        ``device_from_dlpack`` (e.g. ``jax.dlpack.from_dlpack``) takes a tensor that is on a
        GPU without leaving it.
        """
        if isinstance(actions, self.torch.Tensor):
            actions = actions.detach()
            if device_from_dlpack is not None and actions.device.type != "cpu":
                return device_from_dlpack(actions.contiguous())
            return actions.cpu().resolve_conj().resolve_neg().numpy()
        return actions
