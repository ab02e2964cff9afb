"""Claim's own work: `main(["claim", SLUG])` in a process that has everything imported already.

Run:  .venv/bin/python bench/claim_inprocess.py [--files 3000] [--repeat 15] [--profile N]

What a command server (a forked, preloaded child) leaves of a claim: the in-process work and
the git processes it starts, without Python start-up and imports. The hub is bench/claim.py's
(a bare hub with `git-sessions init` and planned sessions, plus F files of code). One claim is
run first to warm up (imports, caches); then R claims with a worktree and R with
--no-worktree, alternating, each of a fresh planned session. Reported: median and min wall
time, and the median CPU time of this process and of its children (the git processes) apart.
With --profile N, cProfile's top N functions by cumulative time over the claims of each kind.
Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import claim
from _support import seal

KINDS = ("worktree", "--no-worktree")


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--profile", type=int, default=0, help="show the top N functions")
    parser.add_argument("--archive", type=int, default=0, help="completed sessions on main")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gs-bench-inproc-"))
    try:
        env = seal(root / "env", Path(sys.executable).parent / "git-sessions", pyc=True)
        hub = claim.build_hub(env, root / "hub", 2 * args.repeat + 1, args.files, args.archive)
        repo = claim.clone(env, hub.path, root / "repo")
        os.environ.clear()
        os.environ.update(env.vars)
        os.chdir(repo)
        from git_sessions.cli import main as cli

        slugs = iter(hub.slugs)

        def run(kind: str) -> None:
            extra = ["--no-worktree"] if kind == "--no-worktree" else []
            with redirect_stdout(io.StringIO()):
                code = cli(["claim", next(slugs), *extra])
            if code != 0:
                raise SystemExit(f"claim {kind} exited {code}")

        run("worktree")  # warm-up: imports, first reads
        wall: dict[str, list[float]] = {k: [] for k in KINDS}
        own: dict[str, list[float]] = {k: [] for k in KINDS}
        kids: dict[str, list[float]] = {k: [] for k in KINDS}
        profiles = {k: cProfile.Profile() for k in KINDS}
        for i in range(args.repeat):
            for kind in KINDS[i % 2 :] + KINDS[: i % 2]:
                prof = profiles[kind] if args.profile else None
                me, them = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                if prof is not None:
                    prof.enable()
                run(kind)
                if prof is not None:
                    prof.disable()
                wall[kind].append(time.perf_counter() - start)
                own[kind].append(_cpu(resource.RUSAGE_SELF) - me)
                kids[kind].append(_cpu(resource.RUSAGE_CHILDREN) - them)
        print(
            f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}; files={args.files}"
            f" archive={args.archive} repeat={args.repeat}"
            f"{' (profiled: times include the profiler)' if args.profile else ''}"
        )
        print(f"{'claim':<16}{'median ms':>10}{'min ms':>9}{'cpu self ms':>13}{'cpu git ms':>12}")
        for kind in KINDS:
            print(
                f"{kind:<16}{statistics.median(wall[kind]) * 1000:10.1f}"
                f"{min(wall[kind]) * 1000:9.1f}{statistics.median(own[kind]) * 1000:13.1f}"
                f"{statistics.median(kids[kind]) * 1000:12.1f}"
            )
        if args.profile:
            for kind in KINDS:
                print(f"\n== {kind}: top {args.profile} ==")
                stats = pstats.Stats(profiles[kind], stream=sys.stdout)
                order = os.environ.get("PROFILE_SORT", "cumulative")  # or tottime
                stats.strip_dirs().sort_stats(order).print_stats(args.profile)
    finally:
        os.chdir("/")
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
