"""Adapters to other libraries' interfaces, each behind its own extra.

``sb3`` (Stable-Baselines3's ``VecEnv``) and ``ray`` (``RayVecEnv`` over Ray actors, RLlib).
The public names are ``mjvec.sb3`` and ``mjvec.distributed``; nothing in the core
imports this package.
"""
