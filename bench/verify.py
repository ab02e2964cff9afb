"""Benchmark `git-sessions complete` with a `verify:` command against the same landing by hand.

Run:  .venv/bin/python bench/verify.py [--files N] [--repeat R] [--command CMD]

Every measured session gets a fresh hub built as in bench/complete.py (`git-sessions init`, one
planned session, claimed, N files committed in its worktree), plus `verify: [CMD]` in
_AGENTS/config.yaml (approved beforehand, as an agent's machine would have). Then, timed:

- ours:  `git-sessions complete SLUG --json`: squash merge in memory, CMD run on the merged tree
  in a temporary folder, compare-and-swap, patch, drift, archive, cleanup;
- plain: by hand with real `git`: `checkout main`, `pull`, `merge --squash`, run CMD in the
  checkout, `commit`, `push`, `worktree remove`, `branch -D` (no patch, no archive).

Both must land the branch's files on main; medians and the ratio ours/plain are printed. The
default CMD counts the files of the tree (`find . -type f | wc -l`): cheap, so the ratio shows
what verifying costs besides the command itself. This file is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _support import BenchFailure, Env, children_cpu, seal, source_revision
from complete import Hub, Session, build_hub, check_main, leftovers, prepare

KINDS = ("ours", "plain")


def configure(env: Env, hub: Hub, command: str) -> None:
    config = hub.repo / "_AGENTS/config.yaml"
    config.write_text(config.read_text() + f"verify: [{command!r}]\n".replace("'", '"'))
    env.git(hub.repo, "commit", "-qam", "verify before landing")
    env.git(hub.repo, "push", "-q", "origin", "main")
    from git_sessions import approvals  # the machine approved this list once, before

    approvals.approve(hub.repo / ".git", [command], kind="verify")


def ours(env: Env, hub: Hub, s: Session) -> tuple[bool, str, float]:
    start = time.perf_counter()
    proc = env.run([env.gs, "complete", s.slug, "--json"], hub.repo, check=False)
    wall = time.perf_counter() - start
    ok = proc.returncode == 0 and '"verified": [' in proc.stdout and '"tree"' in proc.stdout
    return ok, proc.stderr.strip(), wall


def plain(env: Env, hub: Hub, s: Session, command: str) -> tuple[bool, str, float]:
    repo, branch = hub.repo, f"session/{s.slug}"
    start = time.perf_counter()
    env.git(repo, "checkout", "-q", "main")
    env.git(repo, "pull", "-q", "origin", "main")
    env.git(repo, "merge", "-q", "--squash", branch)
    ran = env.run(["/bin/sh", "-c", command], repo, check=False)
    if ran.returncode != 0:
        return False, f"verify by hand failed: {ran.stdout}{ran.stderr}", 0.0
    env.git(repo, "commit", "-q", "-m", f"[{s.slug}] feat: squash-merge the session")
    env.git(repo, "push", "-q", "origin", "main")
    env.git(repo, "worktree", "remove", f".worktrees/{s.slug}")
    env.git(repo, "branch", "-q", "-D", branch)
    return True, "", time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--commits", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--command", default="find . -type f | wc -l")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--gs", type=Path, default=Path(sys.executable).parent / "git-sessions")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gs-bench-verify-"))
    env = seal(root, args.gs.absolute(), pyc=True)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{env.git(root, '--version').strip()}; {os.cpu_count()} CPUs; load average {load};")
    print(
        f"files={args.files} commits={args.commits} repeat={args.repeat} command={args.command!r}"
    )
    print(f"code under test: {source_revision()}")
    wall: dict[str, list[float]] = {k: [] for k in KINDS}
    cpu: dict[str, list[float]] = {k: [] for k in KINDS}
    failures: list[str] = []
    try:
        n = 0
        for r in range(args.repeat + 1):  # the first round warms caches up and is not counted
            for kind in KINDS if r % 2 == 0 else KINDS[::-1]:
                n += 1
                hub = build_hub(env, root / f"s{n:03d}", n, 0)
                configure(env, hub, args.command)
                s = prepare(env, hub, args.files, args.commits)
                used = children_cpu()
                if kind == "ours":
                    ok, why, seconds = ours(env, hub, s)
                else:
                    ok, why, seconds = plain(env, hub, s, args.command)
                used = children_cpu() - used
                _, problems = check_main(env, hub, s)
                problems += leftovers(env, hub, s)
                if not ok:
                    problems.insert(0, why)
                failures += [f"{kind} {s.slug}: {p}" for p in problems]
                if r:
                    wall[kind].append(seconds)
                    cpu[kind].append(used)
                if not args.keep:
                    shutil.rmtree(hub.path.parent, ignore_errors=True)
        print(f"\n{'procedure':<10} {'median ms':>9} {'min ms':>8} {'max ms':>8} {'cpu ms':>8}")
        for kind in KINDS:
            print(
                f"{kind:<10} {statistics.median(wall[kind]) * 1000:9.1f}"
                f" {min(wall[kind]) * 1000:8.1f} {max(wall[kind]) * 1000:8.1f}"
                f" {statistics.median(cpu[kind]) * 1000:8.1f}"
            )
        ratio = statistics.median(wall["ours"]) / statistics.median(wall["plain"])
        print(f"ratio ours/plain (median wall): {ratio:.2f}")
    except BenchFailure as exc:
        print(f"\nFAIL: the benchmark could not run: {exc}")
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    for line in failures:
        print(f"FAIL: {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
