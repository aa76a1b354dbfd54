"""Tooling on top of the library: the ``mjvec`` command line, training, evaluation,
hyperparameters and benchmarks. The library never imports this package."""
