"""Benchmark the coordination layout against the default one: claim and complete.

Run:  .venv/bin/python bench/layout.py [--sessions N] [--repeat R] [--keep]

Two local bare hubs are built the same way in a temporary directory with a sealed environment
(`git-sessions init`, N planned sessions written with plain git); one is then moved to the
coordination layout (`git-sessions migrate --protocol-branch sessions`). Each round, in both
layouts (the order swaps every round): the whole process `git-sessions claim SLUG` (worktree
included), one small commit in the worktree (not timed), then the whole process `git-sessions
complete SLUG`. Medians of R rounds and the ratio coordination/default are printed. In the
coordination layout a claim also builds the session's start commit (main's code joined with
the claim's `_AGENTS/`), and a completion publishes two refs instead of one.
Every run is verified: main moves only by completions in the coordination layout.
This file is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _support import DATE, OTHER_FILES, SESSION_MD, SESSIONS, BenchFailure, Env, seal

LAYOUTS = ("default", "coordination")


def build(env: Env, root: Path, name: str, sessions: int) -> Path:
    hub, repo = root / f"{name}.git", root / name
    env.git(root, "init", "-q", "--bare", "-b", "main", str(hub))
    env.git(root, "clone", "-q", str(hub), str(repo))
    (repo / "README.md").write_text("# bench\n")
    env.git(repo, "add", "README.md")
    env.git(repo, "commit", "-qm", "initial")
    env.git(repo, "push", "-q", "origin", "main")
    env.run([env.gs, "init"], repo)
    env.git(repo, "pull", "-q")
    for n in range(sessions):
        folder = repo / SESSIONS / "planned" / f"{DATE}-task-{n:03d}"
        folder.mkdir(parents=True)
        (folder / "SESSION.md").write_text(SESSION_MD.format(n=n))
        for file, text in OTHER_FILES.items():
            (folder / file).write_text(text)
    env.git(repo, "add", "_AGENTS")
    env.git(repo, "commit", "-qm", "plan")
    env.git(repo, "push", "-q", "origin", "main")
    if name == "coordination":
        env.run([env.gs, "migrate", "--protocol-branch", "sessions"], repo)
        env.git(repo, "pull", "-q")
    return repo


def one(env: Env, repo: Path, slug: str) -> tuple[float, float]:
    start = time.perf_counter()
    env.run([env.gs, "claim", slug], repo)
    claim = time.perf_counter() - start
    wt = repo / ".worktrees" / slug
    (wt / f"{slug}.txt").write_text("work\n")
    env.git(wt, "add", ".")
    env.git(wt, "commit", "-qm", f"[{slug}] feat: work")
    start = time.perf_counter()
    env.run([env.gs, "complete", slug], repo)
    return claim, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gs-bench-layout-"))
    gs = Path(sys.executable).parent / "git-sessions"
    env = seal(root, gs, pyc=True)
    try:
        repos = {name: build(env, root, name, args.sessions) for name in LAYOUTS}
        main_before = env.git(repos["coordination"], "rev-parse", "origin/main").strip()
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in LAYOUTS}
        for n in range(args.repeat + 1):
            order = LAYOUTS if n % 2 == 0 else LAYOUTS[::-1]
            for name in order:
                result = one(env, repos[name], f"{DATE}-task-{n:03d}")
                if n:  # the first round warms up
                    times[name].append(result)
        hub = root / "coordination.git"
        count = env.git(hub, "rev-list", "--count", f"{main_before}..main").strip()
        if count != str(args.repeat + 1):
            raise BenchFailure(f"main moved {count} times for {args.repeat + 1} completions")
        print(f"{args.sessions} planned sessions, {args.repeat} rounds (medians, whole process)")
        print(f"{'measure':<10} {'default':>10} {'coord':>10} {'ratio':>7}")
        for i, measure in enumerate(("claim", "complete")):
            base = statistics.median(t[i] for t in times["default"])
            ours = statistics.median(t[i] for t in times["coordination"])
            print(f"{measure:<10} {base * 1000:8.1f}ms {ours * 1000:8.1f}ms {ours / base:7.2f}")
    except BenchFailure as exc:
        print(f"FAIL: {exc}")
        return 1
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
