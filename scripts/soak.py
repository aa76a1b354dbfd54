"""Soak test: millions of env-steps through ``mjvec.make``, with memory sampled over time.

    python scripts/soak.py --plot docs/soak/soak.png     # 10M env-steps of HalfCheetah-v5, N=64
    python scripts/soak.py --env Ant-v5 --steps 2e6
    python scripts/soak.py --steps 2e5 --json ""         # a smoke run, < 1 min, no file written

A script run by hand before a release, not a CI test; results in docs/reliability.md.

Three envs of one task, one per autoreset mode (NEXT_STEP, SAME_STEP, DISABLED), are made
once and stepped in turns of ``--segment`` vector steps, each turn starting with a seeded
``reset(seed=...)``, so a leak in any of them keeps growing. Actions are uniform in the
action box. Episodes end as the task says and reset by each mode's own path; in DISABLED
mode the script resets ended envs with ``reset(options={"reset_mask": ...})`` and, every
``--reset-every`` vector steps (97: prime, so rarely at a time limit), a random tenth of
the envs with fresh seeds.

Divergences: every ``--inject-every`` env-steps one live env is made to diverge.
``--inject-via action`` (default) does it through the public API: the envs are made with
the task's own actions plus an ``xfrc_applied`` force on its root body
(``actions=mjvec.ActionSpec(...)``), 0 but in that env's injection step, when it is 1e15 N
upwards: a finite action, accepted as given, under which MuJoCo's dynamics blow up.
``--inject-via state`` keeps the task's own actions and writes into the env's velocities
through the backend (``env._backend.sim.data.qvel``, as tests/test_reliability.py does),
alternately a finite kick of 1e4 on every DOF (below MuJoCo's 1e10 check; the dynamics
then blow up) and a NaN. Checked: each such env is flagged ``info["diverged"]`` in that
step, and no observation, reward or final observation is ever non-finite.

Sampled every ``--sample-every`` env-steps: RSS (psutil if installed, else
``/proc/self/statm``), bytes malloc has handed out (glibc), env-steps/s, native threads.
Reported: RSS at the start (envs made and reset), end and max, and the least-squares
slope of RSS per million env-steps after the warm-up (``--warmup``, a fraction of the
run, while allocator pools and caches fill). Exit status 1 if the slope exceeds
``--max-slope`` or a check failed; Ctrl-C stops early, reports and exits with 130.
``--tracemalloc`` lists the Python allocation sites that grew most after the warm-up
(slow: for hunting a leak).
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone

import mujoco
import numpy as np

import mjvec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ("next_step", "same_step", "disabled")
RESET_FRACTION = 0.1  # DISABLED mode: the share of envs each periodic seeded reset picks
FORCE = 1e15  # N, up, on the injected env's root body: finite, accepted as an action, and it blows up
KICK = 1e4  # rad/s or m/s on every DOF: finite, below MuJoCo's 1e10 check, and enough to blow up


# -- measuring ---------------------------------------------------------------------------
try:
    import psutil
except ImportError:
    psutil = None
RSS_SOURCE = "psutil" if psutil is not None else "/proc/self/statm"


def rss_bytes() -> int:
    if psutil is not None:
        return psutil.Process().memory_info().rss
    with open("/proc/self/statm") as f:  # size resident shared ... (pages)
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def native_threads() -> int | None:
    """Threads of this process, MuJoCo's workers included (Python's count misses them)."""
    return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


try:  # glibc >= 2.33
    _mallinfo2 = ctypes.CDLL(None).mallinfo2
    _mallinfo2.restype = _MallInfo2
except (OSError, AttributeError):
    _mallinfo2 = None


def malloc_in_use_bytes() -> int | None:
    """Bytes malloc has handed out and not got back (MuJoCo's and NumPy's allocations).

    Allocated, not resident: MuJoCo reserves each MjData's arena up front and touches
    little of it, so this exceeds RSS. A native leak grows it; RSS can creep while it
    stays flat (pages of those arenas touched for the first time, fragmentation).
    glibc only (None elsewhere).
    """
    info = _mallinfo2() if _mallinfo2 is not None else None
    return None if info is None else info.uordblks + info.hblkhd  # in arenas + in mmapped chunks


def injectable_actions(task) -> tuple[mjvec.ActionSpec, str]:
    """The task's own actions plus an xfrc force on its root body (the body of its first joint); the body.

    The force stays 0 but in the steps that inject a divergence.
    """
    d = task.default_actions()
    model = task.model
    moving = [model.body(int(b)).name for b in dict.fromkeys(model.jnt_bodyid.tolist())]
    free = [b for b in moving if b not in d.xfrc]
    if not free:
        raise SystemExit(f"soak: every moving body of {type(task).__name__} is already pushed by its actions;"
                         " run with --inject-every 0")
    spec = mjvec.ActionSpec(ctrl=d.ctrl, qfrc=d.qfrc, xfrc={**d.xfrc, free[0]: "force"}, mocap=d.mocap, eq=d.eq,
                            bounds=d.bounds, workspace=d.workspace, dtype=d.dtype)
    return spec, free[0]


def slope_per_million(steps: np.ndarray, mb: np.ndarray) -> float | None:
    """Least-squares slope of MB per million env-steps; None from fewer than 2 samples."""
    return float(np.polyfit(steps / 1e6, mb, 1)[0]) if len(steps) >= 2 else None


# -- the run -------------------------------------------------------------------------------
class Soak:
    """Three envs of one task, one per autoreset mode, stepped in turns; samples RSS."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        n = args.num_envs
        self.rng = np.random.default_rng(args.seed)
        via_action = args.inject_every and args.inject_via == "action"
        spec, body = injectable_actions(mjvec.make_task(args.env)) if via_action else (None, None)
        self.envs = {m: mjvec.make(args.env, n, nthread=args.nthread, autoreset_mode=m, actions=spec) for m in MODES}
        space = self.envs[MODES[0]].action_space
        # uniform in the action box; unbounded entries in [-1, 1]; the injection force 0
        low, high = np.where(np.isfinite(space.low), space.low, -1), np.where(np.isfinite(space.high), space.high, 1)
        high = np.maximum(high, low)  # a half-bounded entry [5, inf) becomes 5
        if body is not None:
            entry = next(e for e in self.envs[MODES[0]].action_spec.layout if e.kind == "xfrc" and e.name == body)
            self.force_column = entry.start + 2  # the force's z
            low[:, entry.start : entry.stop] = high[:, entry.start : entry.stop] = 0
        self.low, self.span = low.astype(space.dtype), (high - low).astype(space.dtype)
        self.actions = np.zeros(space.shape, dtype=space.dtype)
        self.vector_total = -(-int(args.steps) // n)
        self.sample_every = max(1, round(args.sample_every / n))  # in vector steps
        inject_every = max(1, round(args.inject_every / n)) if args.inject_every else 0
        self.inject_at = set(range(inject_every, self.vector_total, inject_every)) if inject_every else set()
        self.env_steps = 0
        self.counts = {
            "vector_steps": 0, "episodes_ended": {m: 0 for m in MODES}, "full_resets": 0,
            "masked_resets": 0, "seeded_masked_resets": 0, "injected": 0, "injected_flagged": 0,
            "diverged_not_injected": 0, "nonfinite_outputs": 0, "failed_checks": 0,
        }
        self.failures: list[str] = []
        self.samples: list[dict] = []
        self.seed_counter = args.seed
        self.tracemalloc_baseline = None
        self.interrupted = False
        self._start = self._last_t = time.perf_counter()
        self._last_steps = 0

    def run(self) -> None:
        for env in self.envs.values():
            self._full_reset(env)
        self.sample()  # the start: envs made and reset, nothing stepped
        turn = 0
        try:
            while self.counts["vector_steps"] < self.vector_total:
                mode = MODES[turn % len(MODES)]
                self.run_segment(mode, min(self.args.segment, self.vector_total - self.counts["vector_steps"]))
                turn += 1
        except KeyboardInterrupt:  # Ctrl-C ends a long run early; what was measured is still reported
            self.interrupted = True
            if self.samples[-1]["env_steps"] != self.env_steps:
                self.sample()

    def run_segment(self, mode: str, vector_steps: int) -> None:
        """``vector_steps`` steps of the env in ``mode``, starting with a seeded full reset."""
        env, n = self.envs[mode], self.args.num_envs
        self._full_reset(env)
        live = np.ones(n, dtype=bool)  # envs that the next step steps rather than resets
        no_divergence = np.zeros(n, dtype=bool)
        for _ in range(vector_steps):
            actions = self._sample_actions()
            victim = self._inject(env, actions, live) if self.counts["vector_steps"] in self.inject_at else None
            obs, reward, terminated, truncated, info = env.step(actions)
            self.counts["vector_steps"] += 1
            self.env_steps += n
            done = terminated | truncated
            diverged = info.get("diverged", no_divergence)
            flagged = victim is not None and bool(diverged[victim])
            if victim is not None and not flagged:
                self._fail(f"{mode}: env {victim} was broken but not flagged at env-step {self.env_steps}")
            self.counts["injected_flagged"] += flagged
            self.counts["diverged_not_injected"] += int(diverged.sum()) - flagged
            if not (np.isfinite(obs).all() and np.isfinite(reward).all()):
                self.counts["nonfinite_outputs"] += 1
                self._fail(f"{mode}: non-finite observation or reward at env-step {self.env_steps}")
            final = info["final_obs"][done] if mode == "same_step" and done.any() else ()
            if not all(np.isfinite(o).all() for o in final):
                self._fail(f"same_step: non-finite final_obs at env-step {self.env_steps}")
            self.counts["episodes_ended"][mode] += int(done.sum())
            if mode == "next_step":
                live = ~done
            elif mode == "disabled":
                self._disabled_resets(env, done)
            if self.counts["vector_steps"] % self.sample_every == 0 or self.counts["vector_steps"] == self.vector_total:
                self.sample()

    def _fail(self, message: str) -> None:
        self.counts["failed_checks"] += 1
        if len(self.failures) < 100:  # kept bounded: a growing list would read as a leak
            self.failures.append(message)

    def sample(self) -> None:
        now = time.perf_counter()
        window = self.env_steps - self._last_steps
        in_use = malloc_in_use_bytes()
        row = {
            "env_steps": self.env_steps, "time_s": round(now - self._start, 3), "rss_mb": rss_bytes() / 2**20,
            "malloc_mb": None if in_use is None else in_use / 2**20,
            "env_steps_per_s": window / (now - self._last_t) if window else None, "threads": native_threads(),
            "diverged": self.counts["injected_flagged"] + self.counts["diverged_not_injected"],
        }
        self.samples.append(row)
        rate = f"{row['env_steps_per_s']:,.0f}" if window else "-"
        malloc = "-" if in_use is None else f"{row['malloc_mb']:.1f}"
        print(f"{row['env_steps']:>12,} {row['time_s']:>8.1f} {row['rss_mb']:>8.1f} {malloc:>9} {rate:>12}"
              f" {row['threads'] or '-':>7} {row['diverged']:>8}", flush=True)
        self._last_t, self._last_steps = now, self.env_steps
        if self.args.tracemalloc and self.tracemalloc_baseline is None and self.env_steps >= self.args.warmup * self.args.steps:
            import tracemalloc

            self.tracemalloc_baseline = tracemalloc.take_snapshot()

    def _next_seed(self) -> int:
        self.seed_counter += self.args.num_envs  # fresh seeds for every env, never reused
        return self.seed_counter

    def _full_reset(self, env) -> None:
        env.reset(seed=self._next_seed())
        self.counts["full_resets"] += 1

    def _sample_actions(self) -> np.ndarray:
        self.rng.random(out=self.actions, dtype=self.actions.dtype)
        self.actions *= self.span
        self.actions += self.low
        return self.actions

    def _inject(self, env, actions: np.ndarray, live: np.ndarray) -> int | None:
        """Make one live env diverge in this step; its id, or None if none is live."""
        if not live.any():
            return None
        i = int(self.rng.choice(np.flatnonzero(live)))
        if self.args.inject_via == "action":
            actions[i, self.force_column] = FORCE
        else:
            qvel = env._backend.sim.data.qvel  # the batch's live (num_envs, nv) state
            if self.counts["injected"] % 2 == 0:
                qvel[i, :] = KICK
            else:
                qvel[i, int(self.rng.integers(qvel.shape[1]))] = np.nan
        self.counts["injected"] += 1
        return i

    def _disabled_resets(self, env, done: np.ndarray) -> None:
        """Reset ended envs (their streams go on) and, periodically, random ones with new seeds."""
        if self.counts["vector_steps"] % self.args.reset_every == 0:
            mask = done | (self.rng.random(self.args.num_envs) < RESET_FRACTION)
            mask[self.rng.integers(self.args.num_envs)] = True  # never an empty mask
            base = self._next_seed()
            seeds = [base + i if m else None for i, m in enumerate(mask)]
            env.reset(seed=seeds, options={"reset_mask": mask})
            self.counts["seeded_masked_resets"] += 1
        elif done.any():
            env.reset(options={"reset_mask": done})
            self.counts["masked_resets"] += 1

    def close(self) -> None:
        for env in self.envs.values():
            env.close()


def run(args: argparse.Namespace) -> dict:
    """Run the soak; the results as plain data (written as JSON)."""
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(10)
    soak = Soak(args)
    print(f"soak: {args.env}, N={args.num_envs}, {int(args.steps):,} env-steps, RSS from {RSS_SOURCE}", flush=True)
    print(f"{'env-steps':>12} {'time s':>8} {'RSS MB':>8} {'malloc MB':>9} {'env-steps/s':>12} {'threads':>7}"
          f" {'diverged':>8}", flush=True)
    soak.run()
    elapsed = soak.samples[-1]["time_s"]
    diagnostics = {m: env.diagnostics() for m, env in soak.envs.items()}
    growth = []
    if args.tracemalloc:
        if soak.tracemalloc_baseline is not None:
            stats = tracemalloc.take_snapshot().compare_to(soak.tracemalloc_baseline, "traceback")
            growth = [{"size_diff_kb": st.size_diff / 1024, "count_diff": st.count_diff,
                       "where": st.traceback.format()[-6:]} for st in stats[:10]]
        tracemalloc.stop()
    soak.close()

    samples = soak.samples
    steps = np.array([s["env_steps"] for s in samples], dtype=np.float64)
    rss = np.array([s["rss_mb"] for s in samples])
    after = steps >= args.warmup * args.steps
    summary = {
        "env_steps": soak.env_steps, "seconds": round(elapsed, 1), "env_steps_per_s": soak.env_steps / elapsed,
        "rss_start_mb": rss[0], "rss_end_mb": rss[-1], "rss_max_mb": rss.max(),
        "rss_after_warmup_min_mb": rss[after].min(), "rss_after_warmup_max_mb": rss[after].max(),
        "slope_mb_per_million_steps": slope_per_million(steps[after], rss[after]),
        "slope_mb_per_million_steps_whole_run": slope_per_million(steps, rss),
        "threads_start": samples[0]["threads"], "threads_end": samples[-1]["threads"], "rss_source": RSS_SOURCE,
        "interrupted": soak.interrupted,
    }
    if samples[0]["malloc_mb"] is not None:
        malloc = np.array([s["malloc_mb"] for s in samples])
        summary.update(malloc_start_mb=malloc[0], malloc_end_mb=malloc[-1],
                       malloc_slope_mb_per_million_steps=slope_per_million(steps[after], malloc[after]))
    slope = summary["slope_mb_per_million_steps"]
    summary["flat"] = slope is not None and abs(slope) <= args.max_slope
    soak.counts["injected_not_flagged"] = soak.counts["injected"] - soak.counts["injected_flagged"]
    return {
        "config": {k: v for k, v in vars(args).items() if k not in ("json", "plot")},
        "machine": machine(),
        "summary": {k: float(v) if isinstance(v, np.floating) else v for k, v in summary.items()},
        "counts": soak.counts,
        "failures": soak.failures,
        "diagnostics": diagnostics,
        "tracemalloc_growth": growth,
        "samples": samples,
    }


def machine() -> dict:
    try:
        git = ["git", "rev-parse", "--short", "HEAD"]
        commit = subprocess.run(git, capture_output=True, text=True, cwd=ROOT, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg(),
        "python": platform.python_version(), "numpy": np.__version__, "mujoco": mujoco.__version__,
        "mjvec": mjvec.__version__, "git_commit": commit,
    }


def _slope(mb: float | None) -> str:
    return "n/a (too few samples)" if mb is None else f"{mb:+.3f}"


def report(result: dict) -> None:
    s, c = result["summary"], result["counts"]
    print("\ninterrupted: the run was cut short" if s["interrupted"] else "")
    print(f"{s['env_steps']:,} env-steps in {s['seconds']:.0f} s ({s['env_steps_per_s']:,.0f} env-steps/s)")
    print(f"RSS MB: start {s['rss_start_mb']:.1f}, end {s['rss_end_mb']:.1f}, max {s['rss_max_mb']:.1f}"
          f"; after warm-up {s['rss_after_warmup_min_mb']:.1f}"
          f"-{s['rss_after_warmup_max_mb']:.1f}")
    print(f"RSS slope after warm-up: {_slope(s['slope_mb_per_million_steps'])} MB per million env-steps"
          f" (whole run {_slope(s['slope_mb_per_million_steps_whole_run'])}): {'flat' if s['flat'] else 'NOT FLAT'}")
    if "malloc_start_mb" in s:
        print(f"malloc in use MB: start {s['malloc_start_mb']:.1f}, end {s['malloc_end_mb']:.1f};"
              f" slope after warm-up {_slope(s['malloc_slope_mb_per_million_steps'])} MB per million env-steps")
    print(f"threads: {s['threads_start']} -> {s['threads_end']}")
    print(f"episodes ended {c['episodes_ended']}; full resets {c['full_resets']}, masked {c['masked_resets']},"
          f" seeded masked {c['seeded_masked_resets']}")
    print(f"divergences injected {c['injected']}, flagged {c['injected_flagged']};"
          f" others diverged {c['diverged_not_injected']}; non-finite outputs {c['nonfinite_outputs']}")
    for g in result["tracemalloc_growth"]:
        print(f"  +{g['size_diff_kb']:.1f} KiB ({g['count_diff']:+d} blocks) at {g['where'][-2:]}")
    for f in result["failures"][:10]:
        print("FAILED:", f)


def plot(result: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples, s = result["samples"], result["summary"]
    steps = np.array([r["env_steps"] for r in samples]) / 1e6
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    # growth since the start, so a drift of a fraction of a MB shows; absolute values in the legend
    for key, name in (("rss_mb", "RSS"), ("malloc_mb", "malloc in use")):
        if samples[0][key] is not None:
            mb = np.array([r[key] for r in samples])
            ax1.plot(steps, mb - mb[0], marker=".", label=f"{name} (start {mb[0]:.1f} MB)")
    ax1.legend()
    ax1.set_ylabel("MB above the start")
    ax1.set_title(f"{result['config']['env']}, N={result['config']['num_envs']}: RSS slope after warm-up"
                  f" {_slope(s['slope_mb_per_million_steps'])} MB / M env-steps")
    ax2.plot(steps[1:], [r["env_steps_per_s"] for r in samples[1:]], marker=".")
    ax2.set_ylabel("env-steps/s")
    ax2.set_xlabel("million env-steps")
    ax1.grid(alpha=0.3), ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="HalfCheetah-v5", help="registered task (default: %(default)s)")
    p.add_argument("--num-envs", type=int, default=64, help="N (default: %(default)s)")
    p.add_argument("--nthread", type=int, default=None, help="threads of each env (default: every usable CPU)")
    p.add_argument("--steps", type=float, default=10e6, help="env-steps in all (default: 1e7)")
    p.add_argument("--segment", type=int, default=2000, help="vector steps per turn of one mode (default: %(default)s)")
    p.add_argument("--reset-every", type=int, default=97,
                   help="DISABLED mode: vector steps between seeded resets of random envs (default: %(default)s)")
    p.add_argument("--inject-every", type=float, default=1e6,
                   help="env-steps between injected divergences; 0 for none (default: 1e6)")
    p.add_argument("--inject-via", choices=("action", "state"), default="action",
                   help="a 1e15 N force action, or a write into the state (default: %(default)s)")
    p.add_argument("--sample-every", type=float, default=1e5, help="env-steps between RSS samples (default: 1e5)")
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of the run left out of the slope (default: %(default)s)")
    p.add_argument("--max-slope", type=float, default=1.0, help="MB per million env-steps counted as flat (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tracemalloc", action="store_true", help="list the Python allocation sites that grew (slow)")
    p.add_argument("--json", default=os.path.join(ROOT, "docs", "soak", "soak.json"),
                   help="where to write the results; '' for nowhere (default: docs/soak/soak.json)")
    p.add_argument("--plot", default=None, help="PNG of RSS and env-steps/s over the run (needs matplotlib)")
    return p


def check_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    names = [t.name for t in mjvec.TASKS]
    if args.env not in names:
        p.error(f"--env must be one of {names}, got {args.env!r}")
    for name in ("num_envs", "segment", "reset_every", "nthread"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if not args.steps >= args.num_envs:
        p.error(f"--steps must be >= --num-envs ({args.num_envs}), got {args.steps:g}")
    if not args.sample_every >= args.num_envs or not args.inject_every >= 0:
        p.error(f"--sample-every must be >= --num-envs and --inject-every >= 0, got {args.sample_every:g}, {args.inject_every:g}")
    if not 0 <= args.warmup < 1 or not args.max_slope > 0:
        p.error(f"--warmup must be in [0, 1) and --max-slope > 0, got {args.warmup}, {args.max_slope}")
    if args.plot and importlib.util.find_spec("matplotlib") is None:  # before the run, not after it
        p.error("--plot needs matplotlib (pip install matplotlib)")


def main(argv: list[str] | None = None) -> int:
    p = arg_parser()
    args = p.parse_args(argv)
    check_args(p, args)
    warnings.filterwarnings("ignore", message=".*settotalmass.*")  # Gymnasium's MJCF files, MuJoCo 4.0
    result = run(args)
    report(result)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print(f"wrote {args.json}")
    if args.plot:
        plot(result, args.plot)
        print(f"wrote {args.plot}")
    if result["summary"]["interrupted"]:
        return 130  # as a shell reports Ctrl-C
    return 0 if result["summary"]["flat"] and not result["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
