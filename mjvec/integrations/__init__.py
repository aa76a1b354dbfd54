"""Adapters to other libraries' interfaces, each behind its own extra.

``sb3`` (Stable-Baselines3's ``VecEnv``), ``skrl`` (an agent base that records terminal
observations), ``tianshou`` (Tianshou's vector env) and ``ray`` (``RayVecEnv`` over Ray actors,
RLlib). The public names are ``mjvec.sb3``, ``mjvec.skrl``, ``mjvec.tianshou`` and
``mjvec.distributed``; nothing in the core imports this package.
"""
