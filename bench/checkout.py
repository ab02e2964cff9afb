"""Worktree checkout: libgit2's `add_worktree` against `git worktree add`, on F-file trees.

Run:  .venv/bin/python bench/checkout.py [--files 1000,12000] [--repeat R]

For each size a repository with F small files in folders of 100 is committed once; then, R
times in alternating order, a fresh branch is checked out into a new worktree by pygit2
(`Repository.add_worktree`, what git-sessions used before) and by `git worktree add`, with
one checkout worker and with `checkout.workers=0` (one per core; what git-sessions runs now).
The worktree is removed after each run. Medians; ratio is each over `git worktree add`.
Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pygit2
from _support import Env, Row, seal

KINDS = ("libgit2", "git worktree add", "git, workers=0")


def build(env: Env, root: Path, files: int) -> Path:
    repo = root / f"r{files}"
    env.git(root, "init", "-q", str(repo))
    for i in range(files):
        path = repo / "src" / f"d{i // 100:05d}" / f"f{i:07d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {i}\n")
    env.git(repo, "add", "-A")
    env.git(repo, "commit", "-q", "-m", "files")
    return repo


def checkout(env: Env, repo: Path, kind: str, name: str) -> float:
    path = repo.parent / f"wt-{name}"
    env.git(repo, "branch", name)
    start = time.perf_counter()
    if kind == "libgit2":
        handle = pygit2.Repository(str(repo))
        handle.add_worktree(name, str(path), handle.lookup_reference(f"refs/heads/{name}"))
    else:
        extra = ["-c", "checkout.workers=0"] if "workers" in kind else []
        env.git(repo, *extra, "worktree", "add", "-q", str(path), name)
    took = time.perf_counter() - start
    shutil.rmtree(path)
    env.git(repo, "worktree", "prune")
    return took


def measure(env: Env, root: Path, sizes: list[int], repeat: int) -> tuple[list[Row], list[str]]:
    lines = [f"{'files':>8}" + "".join(f"{k + ' ms':>22}" for k in KINDS)]
    rows = []
    for files in sizes:
        repo = build(env, root, files)
        samples: dict[str, list[float]] = {k: [] for k in KINDS}
        for r in range(repeat):
            for kind in KINDS[r % 3 :] + KINDS[: r % 3]:
                samples[kind].append(checkout(env, repo, kind, f"b{r}-{KINDS.index(kind)}"))
        med = {k: statistics.median(v) for k, v in samples.items()}
        lines.append(f"{files:>8}" + "".join(f"{med[k] * 1000:22.1f}" for k in KINDS))
        rows.append(
            Row(
                f"worktree checkout (ours: git, workers=0) vs git worktree add, {files} files",
                med["git, workers=0"],
                med["git worktree add"],
                "<= 1.1",
            )
        )
        rows.append(
            Row(
                f"  libgit2 checkout vs git worktree add, {files} files (before)",
                med["libgit2"],
                med["git worktree add"],
                "<= 1.1",
            )
        )
    return rows, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--files", default="1000,12000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gs-bench-checkout-"))
    try:
        env = seal(root / "env", Path(sys.executable).parent / "git-sessions", pyc=True)
        pygit2.settings.search_path[pygit2.enums.ConfigLevel.GLOBAL] = env.vars["HOME"]
        print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
        sizes = [int(x) for x in args.files.split(",")]
        _, lines = measure(env, root, sizes, args.repeat)
        print("\n".join(lines))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
