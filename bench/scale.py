"""Commands over many sessions must stay linear: `search` and `check` at N and at 10N sessions.

Run:  .venv/bin/python bench/scale.py [--sessions N] [--repeat R]

Two hubs, with N and 10N completed sessions (default N=200; the issue's goal is stated for 2k
vs 20k) of four files each, plus 1% of them active (with their lock lines and .session-env),
written with plain git in one commit. `search` and `check` are timed on each (median CPU time
of R whole processes, start-up included). Linear work gives a ratio up to 10 (less, since the
start-up is the same); the goal is <= 12. Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _support import DATE, LOCK, OTHER_FILES, SESSION_MD, SESSIONS, Env, Row, seal, timed

from git_sessions.edits import Identity
from git_sessions.sessionenv import make, render


def build(env: Env, root: Path, count: int) -> Path:
    root.mkdir(parents=True)
    _hub, repo = env.initialised(root)
    lock = []
    for i in range(count):
        slug = f"{DATE}-scale-{i:06d}"
        state = "active" if i % 100 == 0 else "completed"
        folder = repo / SESSIONS / state / slug
        folder.mkdir(parents=True)
        (folder / "SESSION.md").write_text(SESSION_MD.format(n=i))
        for name, text in OTHER_FILES.items():
            (folder / name).write_text(text + f"step {i} needle{i % 7}\n")
        if state == "active":
            lock.append(f"{slug}:1760000000\n")
            who = Identity("Bench Agent", "bench@example.com")  # the committer (check compares)
            wt = str(repo / ".worktrees" / slug)
            (folder / ".session-env").write_text(render(make(slug, who, wt, 20000 + i)))
    (repo / LOCK).write_text("".join(lock))
    env.git(repo, "add", "-A")
    env.git(repo, "commit", "-q", "-m", f"{count} sessions")
    env.git(repo, "push", "-q", "origin", "main")
    return repo


def measure(env: Env, root: Path, sessions: int, repeat: int) -> tuple[list[Row], list[str]]:
    cases = {"search": ["search", "needle3"], "check": ["check"]}
    times: dict[int, dict[str, float]] = {}
    for count in (sessions, sessions * 10):
        repo = build(env, root / f"n{count}", count)
        times[count] = {
            name: timed(env, [env.gs, *args], repo, repeat, cpu=True)
            for name, args in cases.items()
        }
    small, large = times[sessions], times[sessions * 10]
    lines = [
        "cpu ms (user+sys), median",
        f"{'command':<10}{f'{sessions} sessions':>16}{f'{sessions * 10} sessions':>18}{'ratio':>8}",
    ]
    rows = []
    for name in cases:
        lines.append(
            f"{name:<10}{small[name] * 1000:16.1f}{large[name] * 1000:18.1f}"
            f"{large[name] / small[name]:8.2f}"
        )
        rows.append(
            Row(
                f"{name} at {sessions * 10} sessions vs {sessions}",
                large[name],
                small[name],
                "<= 12",
            )
        )
    return rows, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gs", type=Path, default=Path(sys.executable).parent / "git-sessions")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gs-bench-scale-"))
    try:
        env = seal(root / "env", args.gs, pyc=True)
        print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
        _, lines = measure(env, root, args.sessions, args.repeat)
        print("\n".join(lines))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
