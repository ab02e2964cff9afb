"""Run every benchmark with small defaults and print one table of ratios against plain git.

Run:  bench/run [--quick]      (or: .venv/bin/python bench/run.py)

Each row: what is measured, ours, the baseline in the same run, ours/baseline, the goal from
issue 14 (scaled to the small sizes where the row says so), and whether it was met. Times are
medians of whole processes, in ms (wall time, or CPU time where the row says cpu).
`--quick` runs fewer repeats. Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import checkout
import claim
import history
import journal
import queue_list
import scale
import startup
import transport
from _support import Row, seal, source_revision


def claim_rows(root: Path, gs: Path, repeat: int) -> list[Row]:
    env = seal(root / "env", gs, pyc=True)
    latency = claim.measure_latency(env, root / "latency", repeat, 3000)
    if latency.anomalies:
        raise RuntimeError("; ".join(latency.anomalies))
    med = {k: statistics.median(v) for k, v in latency.samples.items()}
    archived = claim.measure_latency(env, root / "archive", repeat, 0, archive=5000)
    if archived.anomalies:
        raise RuntimeError("; ".join(archived.anomalies))
    big = {k: statistics.median(v) for k, v in archived.samples.items()}
    cpu = {k: statistics.median(v) for k, v in latency.cpu.items()}
    return [
        Row(
            "claim with worktree vs seed's, 5000 archived sessions (20k files)",
            big["ours"],
            big["seed"],
            "<= 1",
        ),
        Row(
            "claim with worktree vs seed's git procedure, 3000 files",
            med["ours"],
            med["seed"],
            "<= 0.5",
        ),
        Row(
            "  the seed's own git worktree add alone vs the seed's procedure",
            med[claim.SEED_WORKTREE],
            med["seed"],
            "-",
        ),
        Row(
            "claim --no-worktree vs seed's git procedure",
            med["ours --no-worktree"],
            med["seed"],
            "<= 0.5",
        ),
        Row(
            "  3000 files, cpu time (user+sys of every process)", cpu["ours"], cpu["seed"], "<= 0.5"
        ),
        Row("  --no-worktree, cpu time", cpu["ours --no-worktree"], cpu["seed"], "<= 0.5"),
    ]


def race_rows(root: Path, gs: Path, sessions: int) -> list[Row]:
    env = seal(root / "env", gs, pyc=True)
    one = claim.run_race(env, root / "one", sessions, 1, "clones", 0)
    many = claim.run_race(env, root / "many", sessions, 16, "clones", 0)
    problems = one.failures + many.failures + one.errors + many.errors
    if problems:
        raise RuntimeError("; ".join(problems))
    # rates, not times: the goal is on many/one, so ours = 16 agents' claims/s
    measure = "16 agents' claim rate vs 1 agent (0 double claims)"
    return [Row(measure, many.rate, one.rate, ">= 1", "claims/s")]


def transport_rows(root: Path, gs: Path, sessions: int) -> list[Row]:
    env = seal(root / "env", gs, pyc=True)
    pairs = transport.measure_all(env, root, transport.TRANSPORTS, [1, 16], sessions)
    failed = transport.problems(pairs)
    if failed:
        raise RuntimeError("; ".join(failed[:4]))
    return transport.rows(pairs)


def journal_rows(root: Path, gs: Path, repeat: int) -> list[Row]:
    env = seal(root, gs, pyc=True)
    session = journal.build(env, root, 0)
    wall, cpu, failures = journal.measure(env, session, repeat)
    if failures:
        raise RuntimeError("; ".join(failures))
    med = {k: statistics.median(v) for k, v in wall.items()}
    used = {k: statistics.median(v) for k, v in cpu.items()}
    return [
        Row("log vs git commit + git push", med["log"], med["commit+push"], "<= 2"),
        Row("  the same, cpu time", used["log"], used["commit+push"], "<= 2"),
    ]


def queue_rows(root: Path, count: int, repeat: int) -> list[Row]:
    env = queue_list.sealed_env(root / "home")
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    repo = queue_list.setup(root, count, env)
    times = queue_list.measure(repo, env, repeat)
    f, c, p, w = (statistics.median(times[k]) for k in ("floor", "cold", "plans", "warm"))
    t, wc, tc = (statistics.median(times[k]) for k in ("typer", "warm cpu", "typer cpu"))
    return [
        Row(f"queue --json, {count} planned, warm vs git ls-tree -r", w, f, "<= 2"),
        Row("  the same on the typer path (GIT_SESSIONS_NO_FAST=1)", t, f, "-"),
        Row("  warm, cpu time: fast path vs typer path", wc, tc, "-"),
        Row("  main moved (plan cache only) vs git ls-tree -r", p, f, "-"),
        Row(f"queue --json, {count} planned, cold (s; goal < 0.5 s)", c, None, "< 0.5"),
    ]


def render(rows: list[Row]) -> str:
    head = ("measure", "ours", "baseline", "ratio", "goal", "met")
    cells = [head]
    for row in rows:
        cells.append(
            (
                row.measure,
                row.show(row.ours),
                row.show(row.baseline),
                f"{row.ratio:.2f}",
                row.goal,
                {True: "yes", False: "NO", None: "-"}[row.met()],
            )
        )
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    lines = []
    for n, r in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated: startup,claim,race,transport,journal,history,scale,queue,checkout",
    )
    args = parser.parse_args()
    gs = Path(sys.executable).parent / "git-sessions"
    repeat = 3 if args.quick else 7
    root = Path(tempfile.mkdtemp(prefix="gs-bench-run-"))
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    print(
        f"{platform.machine()} {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
        f"{git}; Python {platform.python_version()}; code {source_revision()}; "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    suites = {
        "startup": lambda d: startup.measure(seal(d, gs, pyc=True), d, repeat)[0],
        "claim": lambda d: claim_rows(d, gs, repeat),
        "race": lambda d: race_rows(d, gs, 24),
        "transport": lambda d: transport_rows(d, gs, 16 if args.quick else 24),
        "journal": lambda d: journal_rows(d, gs, repeat),
        "history": lambda d: history.measure(seal(d, gs, pyc=True), d, 2000, repeat)[0],
        "scale": lambda d: scale.measure(seal(d / "env", gs, pyc=True), d, 200, repeat)[0],
        "queue": lambda d: queue_rows(d, 10_000, repeat),
        "checkout": lambda d: checkout.measure(
            seal(d / "env", gs, pyc=True), d, [1000, 12000], max(3, repeat // 2)
        )[0],
    }
    chosen = [s for s in args.only.split(",") if s] or list(suites)
    rows: list[Row] = []
    failed = []
    try:
        for name in chosen:
            start = time.perf_counter()
            folder = root / name
            folder.mkdir()
            try:
                rows += suites[name](folder)
            except Exception as exc:  # one broken suite must not hide the others' numbers
                failed.append(f"{name}: {exc}")
            shutil.rmtree(folder, ignore_errors=True)
            print(f"  {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(render(rows))
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for line in failed:
        print(f"FAIL: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
