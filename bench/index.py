"""What INDEX.md adds to every transition, in process, on a hub with many sessions.

Builds a bare hub with N sessions (plain git, one commit), then times on its main snapshot:
the claim change itself (`transitions.claim`, the in-memory edits), `index.with_index` on it
(the row update: one pass over INDEX.md), the write of the whole claim commit with and without
the index row, and once the full rebuild (`index.all_rows` + render: what the first transition
pays when INDEX.md is missing).

    .venv/bin/python -P bench/index.py [--sessions 10000] [--repeat 15]

(-P: bench/queue.py would otherwise shadow the standard library's queue, which pygit2 imports.)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from git_sessions import index, transitions
from git_sessions.edits import Identity
from git_sessions.gitrepo import LocalHub

PLAN = "---\ntitle: task {n}\npriority: 0\n---\n# task {n}\n"
WHO = Identity("Bench", "bench@example.com")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def build_hub(base: Path, count: int) -> Path:
    repo, hub = base / "repo", base / "hub.git"
    git(base, "init", "-q", "-b", "main", str(repo))
    sessions = repo / "_AGENTS" / "sessions"
    (sessions / "planned").mkdir(parents=True)
    (sessions / "sessions.lock").write_text("")
    for n in range(count):
        folder = sessions / "planned" / f"2026-01-01-task-{n:05d}"
        folder.mkdir()
        (folder / "SESSION.md").write_text(PLAN.format(n=n))
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "sessions")
    git(base, "clone", "-q", "--bare", str(repo), str(hub))
    return hub


def median_ms(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = LocalHub(build_hub(Path(tmp), args.sessions), "main")
        snap = hub.snapshot(hub.tip())
        rebuild_start = time.perf_counter()
        text = index.render(index.all_rows(snap))
        rebuild_ms = (time.perf_counter() - rebuild_start) * 1000
        with_file = index.with_index(snap, transitions.claim(snap, "2026-01-01-task-00000", WHO,
                                                             1, "export X=1\n"))  # fmt: skip
        seeded = hub.snapshot(hub.commit(hub.tip(), with_file))
        slug = f"2026-01-01-task-{args.sessions // 2:05d}"

        def claim() -> object:
            return transitions.claim(seeded, slug, WHO, 2, "export X=1\n")

        change = claim()
        build_ms = median_ms(args.repeat, claim)
        row_ms = median_ms(args.repeat, lambda: index.with_index(seeded, change))
        base = seeded.commit
        plain_ms = median_ms(args.repeat, lambda: hub.commit(base, change))
        indexed = index.with_index(seeded, change)
        full_ms = median_ms(args.repeat, lambda: hub.commit(base, indexed))
    print(f"sessions: {args.sessions}, INDEX.md: {len(text) // 1024} KiB, repeat: {args.repeat}")
    print(f"claim change built:             {build_ms:8.2f} ms (median)")
    print(f"index row update (with_index):  {row_ms:8.2f} ms")
    print(f"claim commit written, no index: {plain_ms:8.2f} ms")
    print(f"claim commit written, indexed:  {full_ms:8.2f} ms")
    print(f"ratio indexed/plain commit:     {full_ms / plain_ms:8.2f}")
    print(f"one-time full rebuild:          {rebuild_ms:8.1f} ms")


if __name__ == "__main__":
    main()
