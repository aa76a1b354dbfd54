"""``mjvec bench --backend mjx``: the MJX backend against a bare ``jit(vmap(mjx.step))`` scan.

Contenders, each stepping ``N`` environments of one task on JAX's default device:

- ``bare``: one jitted function per vector step that writes ``ctrl`` and runs
  ``lax.scan`` over ``frame_skip`` substeps of ``vmap(mjx.step)`` (model as an
  argument, state donated), nothing else: no observation, reward, reset or host copy.
  The practical limit.
- ``mjvec-jax``: ``mjvec.make(task, N, backend="mjx", array_type="jax")``: the whole
  Gymnasium step (actions, substeps, observation, reward, termination, time limit,
  divergence check, autoreset with fresh states, info), JAX arrays out.
- ``mjvec-numpy``: the same with NumPy out (``array_type="numpy"``, the default): one
  device-to-host copy per step, as a Gymnasium learner on the host needs.
- ``mjvec-torch``: the same with torch tensors out (``array_type="torch"``: the JAX
  outputs through DLPack, no copy) and torch tensors of actions in; only where torch is
  installed.

Each of MJX's implementations asked for (``--impl warp,jax``; by default the one
``mjvec.make`` picks) is measured in turn, each against a bare scan of the same impl.

Compile time (first reset and step, or the bare function's first call) is reported
apart from steady state. JAX's persistent compilation cache is off for the run unless
``--jax-cache``, so compile times are cold. Then ``--rounds`` interleaved rounds of
``--steps`` vector steps per contender (order rotated each round); reported: the median
of env-steps/s over rounds, and its ratio to the bare scan (paired: the median of the
per-round ratios). Episodes end and reset as the task says in mjvec; the bare scan never
resets. Actions: a pool of uniform random batches drawn once, on the device.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any

import numpy as np

__all__ = ["run_mjx", "measure", "table", "BareScan", "MJX_FULL", "MJX_QUICK"]

# Humanoids need MJX's Newton solver: MJX has no PGS (docs/mjx.md)
TASK_KWARGS = {"Humanoid-v5": {"solver": "newton"}, "HumanoidStandup-v5": {"solver": "newton"}}
MJX_FULL = {"tasks": ["HalfCheetah-v5", "Ant-v5", "Humanoid-v5"], "num_envs": [4096], "rounds": 5, "steps": 50}
MJX_FULL_CPU = {"tasks": ["HalfCheetah-v5", "Hopper-v5"], "num_envs": [64, 256], "rounds": 5, "steps": 20}
MJX_QUICK = {"tasks": ["HalfCheetah-v5"], "num_envs": [16], "rounds": 2, "steps": 10}
CONTENDERS = ("bare", "mjvec-jax", "mjvec-numpy", "mjvec-torch")


class BareScan:
    """The bare MJX loop: ``step(actions)`` = write ctrl, ``frame_skip`` vmapped substeps of ``impl``'s ``mjx.step``.

    The batch is made as the backend makes it (``impls.make_template``, ``batch_data``):
    for Warp, a contact list sized for the batch, shared by its worlds.
    """

    def __init__(self, task, num_envs: int, impl: str = "jax"):
        import jax
        import jax.numpy as jnp
        from jax import lax

        from mjvec.backends.mjx import mjx, put_model
        from mjvec.backends.mjx.impls import batch_data, make_template

        self.model = put_model(task, impl)
        data = make_template(task.model, self.model, impl, num_envs)
        self.data = jax.tree.map(jnp.array, batch_data(data, num_envs))
        frame_skip = task.frame_skip

        def step(model, d, action):
            d = d.replace(ctrl=action.astype(d.ctrl.dtype))
            substep = jax.vmap(mjx.step, in_axes=(None, 0))
            return lax.scan(lambda d, _: (substep(model, d), None), d, None, length=frame_skip)[0]

        self._step = jax.jit(step, donate_argnums=1)

    def step(self, action):
        self.data = self._step(self.model, self.data, action)
        return self.data.qpos

    def close(self) -> None:
        self.data = None


class _Runner:
    def __init__(self, name: str, step, block, actions, setup_s: float, close=None):
        self.name, self._step, self._block, self.actions = name, step, block, actions
        self.setup_s, self.steps_per_s, self.cursor = setup_s, [], 0
        self.close = close or (lambda: None)

    def run(self, nstep: int, num_envs: int) -> None:
        out, pool = None, len(self.actions)
        t0 = time.perf_counter()
        for _ in range(nstep):
            out = self._step(self.actions[self.cursor])
            self.cursor = (self.cursor + 1) % pool
        self._block(out)
        self.steps_per_s.append(num_envs * nstep / (time.perf_counter() - t0))


def _contenders(task_id: str, num_envs: int, impl: str, args, log) -> list[_Runner]:
    import jax
    import jax.numpy as jnp

    import mjvec

    kwargs = TASK_KWARGS.get(task_id, {})
    task = mjvec.make_task(task_id, **kwargs)
    space = task.single_action_space
    rng = np.random.default_rng(args.seed)
    pool = rng.uniform(space.low, space.high, (min(args.steps, 64), num_envs, *space.shape)).astype(np.float32)
    device_pool = [jnp.asarray(a) for a in pool]
    def block(out):
        if type(out).__module__.startswith("torch"):  # a tensor: wait on its stream
            import torch

            if out.device.type == "cuda":
                torch.cuda.synchronize(out.device)
            return out
        return jax.block_until_ready(out)

    runners = []
    for name in args.contenders:
        t0 = time.perf_counter()
        if name == "bare":
            bare = BareScan(task, num_envs, impl or _default_impl(task_id, kwargs))
            step, actions, close = bare.step, device_pool, bare.close
        else:
            array_type = name.split("-")[1]
            env = mjvec.make(task_id, num_envs, backend="mjx", array_type=array_type, impl=impl, **kwargs)
            env.reset(seed=args.seed)
            step, close = (lambda e: lambda a: e.step(a)[0])(env), env.close
            actions = {"jax": device_pool, "numpy": list(pool)}.get(array_type)
            if array_type == "torch":  # tensors on JAX's device, as a torch learner hands them over
                import torch

                actions = [torch.from_dlpack(a) for a in device_pool]
        block(step(actions[0]))  # compiles
        setup = time.perf_counter() - t0
        log(f"  {name}: compiled and first step in {setup:.1f} s")
        runner = _Runner(name, step, block, actions, setup, close)
        runner.run(max(1, args.steps // 4), num_envs)  # warm up
        runner.steps_per_s.clear()
        runners.append(runner)
    return runners


def _default_impl(task_id: str, kwargs: dict) -> str:
    import mjvec

    env = mjvec.make(task_id, 1, backend="mjx", **kwargs)  # what mjvec.make picks here; nothing compiled
    env.close()
    return env.impl


def _device() -> dict[str, Any]:
    import jax

    d = jax.devices()[0]
    return {"platform": d.platform, "device_kind": getattr(d, "device_kind", str(d)), "count": jax.device_count(),
            "x64": bool(jax.config.jax_enable_x64)}


def table(results: list[dict]) -> str:
    head = f"{'task':<16}{'N':>6}  {'impl':<5} {'contender':<12}{'compile s':>10}{'steps/s':>12}{'min':>11}{'max':>11}"
    head += f"{'x bare':>8}{'paired':>8}"
    lines = [head, "-" * len(head)]
    for r in results:
        fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
        lines.append(
            f"{r['task']:<16}{r['num_envs']:>6}  {r.get('impl', '-'):<5} {r['contender']:<12}{r['setup_s']:>10.1f}"
            f"{r['steps_per_s']:>12,.0f}"
            f"{r['steps_per_s_min']:>11,.0f}{r['steps_per_s_max']:>11,.0f}{fmt(r['vs_bare']):>8}"
            f"{fmt(r['vs_bare_paired']):>8}")
    return "\n".join(lines)


def _torch_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("torch") is not None


def measure(args, log, deadline: float | None = None) -> tuple[dict, list[dict]]:
    """``(machine, rows)``: every task x N x impl of ``args``, each contender a row.

    ``args.impls``: MJX implementations to measure (None: the default one). With
    ``deadline`` (a ``time.perf_counter()`` value), the combinations not started by then
    are left out and listed as rows with ``"skipped"``.
    """
    import jax

    from mjvec.tools.bench_common import machine

    device = _device()
    defaults = MJX_QUICK if args.quick else (MJX_FULL if device["platform"] == "gpu" else MJX_FULL_CPU)
    args.tasks = args.tasks or defaults["tasks"]
    args.num_envs = args.num_envs or defaults["num_envs"]
    args.rounds = args.rounds or defaults["rounds"]
    args.steps = args.steps or defaults["steps"]
    # always all: each is the others' reference (torch where it is installed)
    args.contenders = names = [c for c in CONTENDERS if c != "mjvec-torch" or _torch_installed()]
    impls = getattr(args, "impls", None) or [None]
    info = machine()
    info["jax_device"] = device
    from importlib import metadata

    for pkg in ("jax", "jaxlib", "mujoco-mjx", "warp-lang", "torch"):
        try:
            info["versions"][pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            info["versions"][pkg] = None
    log(f"mjvec bench --backend mjx: JAX on {device['count']} x {device['device_kind']} ({device['platform']}),"
        f" jax {jax.__version__}, contenders={','.join(names)}")
    import mjvec

    results = []
    for impl in impls:
        for task in args.tasks:
            frame_skip = mjvec.make_task(task, **TASK_KWARGS.get(task, {})).frame_skip
            for num_envs in args.num_envs:
                if deadline is not None and time.perf_counter() > deadline:
                    results.append({"task": task, "num_envs": num_envs, "impl": impl, "skipped": "time budget"})
                    log(f"{task} N={num_envs} impl={impl}: skipped (time budget)")
                    continue
                log(f"{task} N={num_envs} impl={impl or 'default'}")
                runners = _contenders(task, num_envs, impl, args, log)
                for r in range(args.rounds):
                    k = r % len(runners)
                    for runner in runners[k:] + runners[:k]:
                        runner.run(args.steps, num_envs)
                bare = next((x for x in runners if x.name == "bare"), None)
                used = impl or _default_impl(task, TASK_KWARGS.get(task, {}))
                for runner in runners:
                    median = statistics.median(runner.steps_per_s)
                    row = {"task": task, "num_envs": num_envs, "impl": used, "contender": runner.name,
                           "setup_s": runner.setup_s, "steps_per_round": args.steps, "steps_per_s": median,
                           "physics_steps_per_s": median * frame_skip, "frame_skip": frame_skip,
                           "steps_per_s_min": min(runner.steps_per_s), "steps_per_s_max": max(runner.steps_per_s),
                           "steps_per_s_rounds": runner.steps_per_s, "vs_bare": None, "vs_bare_paired": None}
                    if bare is not None:
                        row["vs_bare"] = median / statistics.median(bare.steps_per_s)
                        row["vs_bare_paired"] = statistics.median(
                            a / b for a, b in zip(runner.steps_per_s, bare.steps_per_s))
                    results.append(row)
                    runner.close()
                log(table(results[-len(runners):]))  # as it goes: a long run stopped early keeps what it measured
    return info, results


def run_mjx(args) -> int:
    """The MJX benchmark with ``mjvec bench``'s parsed ``args`` (``--backend mjx``)."""
    if not args.jax_cache:
        os.environ["MJVEC_JAX_CACHE"] = "0"  # cold compile times
    try:
        import jax  # noqa: F401
    except ImportError as e:
        raise SystemExit(f"mjvec bench --backend mjx: JAX is not installed ({e}); pip install 'mjvec[mjx]'") from e
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    info, results = measure(args, log)
    device = info["jax_device"]
    print(f"\nenv-steps/s on JAX {device['platform']} ({device['device_kind']}), median of {args.rounds}"
          f" interleaved rounds of {args.steps} vector steps; x bare: ratio of medians to the bare"
          " jit(vmap(mjx.step)) scan of the same impl; paired: median of per-round ratios. compile s: first reset"
          f" and step (cold{'' if not args.jax_cache else ' unless cached'}).")
    print(table(results))
    from mjvec.tools.bench_common import write_json

    write_json(args, info, results)
    return 0
