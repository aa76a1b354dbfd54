"""The task catalog, one task per file, installed as ``mjvec.envs``."""
