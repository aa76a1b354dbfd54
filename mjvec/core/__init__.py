"""The episode core: the rules of a vector step, written once over an array namespace.

``episode`` holds the rules (time limit, the three autoreset modes, divergence,
``final_obs``/``final_info``, info masks, seeding, fault counts); ``ops`` the few
primitives in which they differ between eager NumPy (the CPU backend) and traced
``jax.numpy`` (the MJX backend); ``tree`` the helpers that let an observation be one
array or a dict of arrays; ``outputs`` what the caller gets at a backend's edge.
Nothing here imports a backend, JAX or a task.
"""
