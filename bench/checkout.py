"""Worktree checkout: git-sessions' sparse worktree, libgit2's `add_worktree` and the ways
git-sessions used before, against `git worktree add`, on F-file trees.

Run:  .venv/bin/python bench/checkout.py [--files 1000,3000,12000] [--repeat R]

For each size a repository with F small files in folders of 100 is committed (and packed, as
a clone is) once; then, R times in alternating order, a fresh branch is checked out into a new
worktree by: pygit2 (`Repository.add_worktree`, what git-sessions used first); `git worktree
add` with one checkout worker (the baseline) and with `checkout.workers=0` (one per core);
git-sessions' sparse worktree as it was made before, by three git processes (`worktree add
--no-checkout`, `sparse-checkout set`, `checkout`); and as it is made now
(`Workspace.add_worktree`: git's files written directly, then one `git checkout`). The
repository has made one sparse worktree before the runs, as any clone that claimed once has
(the first one turns per-worktree config on). The worktree is removed after each run.
Medians of wall time, and of CPU time (user+sys of this process and the git processes it
started); ratio is each over `git worktree add`. Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pygit2
from _support import Env, Row, seal

from git_sessions.gitrepo import Workspace

THREE = "sparse, 3 git processes"
OURS = "sparse, linked + 1 git"
KINDS = ("libgit2", "git worktree add", "git, workers=0", THREE, OURS)
PATTERNS = ("/*", "!/_AGENTS/sessions/*/*/", "/_AGENTS/sessions/active/x/")


def _cpu() -> float:
    mine, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return mine.ru_utime + mine.ru_stime + kids.ru_utime + kids.ru_stime


def build(env: Env, root: Path, files: int) -> Path:
    repo = root / f"r{files}"
    env.git(root, "init", "-q", str(repo))
    for i in range(files):
        path = repo / "src" / f"d{i // 100:05d}" / f"f{i:07d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {i}\n")
    env.git(repo, "add", "-A")
    env.git(repo, "commit", "-q", "-m", "files")
    env.git(repo, "gc", "-q")
    # what the first sparse worktree of a clone leaves: per-worktree config turned on
    env.git(repo, "branch", "first")
    (root / f"w{files}").mkdir()
    Workspace(repo).add_worktree("first", root / f"w{files}" / "first", "first", sparse=PATTERNS)
    return repo


def checkout(env: Env, repo: Path, kind: str, name: str) -> tuple[float, float]:
    """(wall, cpu) seconds of making one worktree of a fresh branch `name` the `kind` way."""
    path = repo.parent / name
    env.git(repo, "branch", name)
    cpu, start = _cpu(), time.perf_counter()
    if kind == "libgit2":
        handle = pygit2.Repository(str(repo))
        handle.add_worktree(name, str(path), handle.lookup_reference(f"refs/heads/{name}"))
    elif kind == OURS:
        Workspace(repo).add_worktree(name, path, name, sparse=PATTERNS)
    elif kind == THREE:
        workers = ["-c", "checkout.workers=0"]
        env.git(repo, *workers, "worktree", "add", "-q", "--no-checkout", str(path), name)
        env.git(path, "sparse-checkout", "set", "--no-cone", *PATTERNS)
        env.git(path, *workers, "checkout", "-q")
    else:
        extra = ["-c", "checkout.workers=0"] if "workers" in kind else []
        env.git(repo, *extra, "worktree", "add", "-q", str(path), name)
    took, used = time.perf_counter() - start, _cpu() - cpu
    shutil.rmtree(path)
    env.git(repo, "worktree", "prune")
    return took, used


def measure(env: Env, root: Path, sizes: list[int], repeat: int) -> tuple[list[Row], list[str]]:
    lines = [f"{'files':>8}  {'':>4}" + "".join(f"{k + ' ms':>28}" for k in KINDS)]
    saved = dict(os.environ)
    os.environ.update(env.vars)  # for Workspace's git processes, as for env.git's
    try:
        return _measure(env, root, sizes, repeat, lines)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _measure(
    env: Env, root: Path, sizes: list[int], repeat: int, lines: list[str]
) -> tuple[list[Row], list[str]]:
    rows = []
    for files in sizes:
        repo = build(env, root, files)
        wall: dict[str, list[float]] = {k: [] for k in KINDS}
        cpu: dict[str, list[float]] = {k: [] for k in KINDS}
        for r in range(repeat):
            shift = r % len(KINDS)
            for kind in KINDS[shift:] + KINDS[:shift]:
                took, used = checkout(env, repo, kind, f"b{r}-{KINDS.index(kind)}")
                wall[kind].append(took)
                cpu[kind].append(used)
        med = {k: statistics.median(v) for k, v in wall.items()}
        mcpu = {k: statistics.median(v) for k, v in cpu.items()}
        lines.append(f"{files:>8}  wall" + "".join(f"{med[k] * 1000:28.1f}" for k in KINDS))
        lines.append(f"{'':>8}  cpu " + "".join(f"{mcpu[k] * 1000:28.1f}" for k in KINDS))
        rows.append(
            Row(
                f"worktree checkout (ours: sparse, 1 git) vs git worktree add, {files} files",
                med[OURS],
                med["git worktree add"],
                "<= 1.1",
            )
        )
        rows.append(
            Row(
                f"  sparse with 3 git processes vs git worktree add, {files} files (before)",
                med[THREE],
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
    parser.add_argument("--files", default="1000,3000,12000")
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
