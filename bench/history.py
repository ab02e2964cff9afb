"""Reads that must not grow with main's history: check, status, history, drift, at 100 commits
on main and again at N (default 2,000; the issue's goal is stated at 20,000).

Run:  .venv/bin/python bench/history.py [--commits N] [--repeat R]

A hub with `git-sessions init`, four planned sessions claimed with their worktrees (three with
a journal entry, so their branches are on the hub; of those, one is then completed and one
abandoned, so `status` and `history` of an ended session are timed too: they read its end
record, `.ended`, instead of walking main back to the ending), then 100 commits on
main written by `git fast-import` (each changes one file, as lock renewals and other sessions'
claims do).
Each command is timed (median of R whole processes); then main grows to N commits and they are
timed again. The ratio is time at N over time at 100 (goal <= 1.2). `check --deep`, which
audits the whole history on purpose, and `status` of a completed session without its end
record (the walk the record replaces) are shown for contrast. Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _support import DATE, SESSION_MD, SESSIONS, Env, Row, seal, timed

# shown for contrast, not held to the goal: walks of main's history on purpose
CONTRAST = ("check --deep", "status (no record)")


def grow(env: Env, hub: Path, count: int, start: int) -> None:
    """Append `count` one-file commits to the hub's main with git fast-import."""
    tip = env.git(hub, "rev-parse", "main").strip()
    lines = []
    for i in range(start, start + count):
        data = f"noise {i}\n"
        lines += [
            "commit refs/heads/main",
            f"committer Bench <bench@example.com> {1760000000 + i} +0000",
            f"data {len(f'noise {i}')}",
            f"noise {i}",
        ]
        if i == start:
            lines.append(f"from {tip}")
        lines += ["M 100644 inline noise.txt", f"data {len(data)}", data.rstrip("\n"), ""]
    text = "\n".join(lines) + "\n"
    subprocess.run(
        ["git", "--git-dir", str(hub), "fast-import", "--quiet"],
        input=text.encode(),
        env=env.vars,
        check=True,
    )


def build(env: Env, root: Path) -> tuple[Path, Path, list[str]]:
    hub, repo = env.initialised(root)
    # 0, 1 stay active; 2 is completed and 3 abandoned before main grows; 4 is completed and
    # its end record deleted, so reading it walks main as archives from before the record do
    slugs = [f"{DATE}-history-{i}" for i in range(5)]
    for i, slug in enumerate(slugs):
        folder = repo / SESSIONS / "planned" / slug
        folder.mkdir(parents=True)
        (folder / "SESSION.md").write_text(SESSION_MD.format(n=i))
    env.git(repo, "add", SESSIONS)
    env.git(repo, "commit", "-q", "-m", "plan")
    env.git(repo, "push", "-q", "origin", "main")
    for slug in slugs:
        env.run([env.gs, "claim", slug], repo)
    for slug in (slugs[0], slugs[2], slugs[3], slugs[4]):
        env.run([env.gs, "log", "started"], repo / ".worktrees" / slug, SESSION_ID=slug)
    env.run([env.gs, "complete", slugs[2], "--allow-empty"], repo)
    env.run([env.gs, "abandon", slugs[3], "--reason", "bench"], repo)
    env.run([env.gs, "complete", slugs[4], "--allow-empty"], repo)
    env.git(repo, "pull", "-q", "--ff-only")
    record = repo / SESSIONS / "completed" / slugs[4] / ".ended"
    if record.exists():  # a version of git-sessions that writes no record has nothing to drop
        env.git(repo, "rm", "-q", str(record))
        env.git(repo, "commit", "-q", "-m", "drop an end record")
        env.git(repo, "push", "-q", "origin", "main")
    return hub, repo, slugs


def commands(slugs: list[str]) -> dict[str, list[str]]:
    return {
        "check": ["check"],
        "status": ["status", slugs[0]],
        "history": ["history", slugs[0]],
        "drift": ["drift", slugs[1]],
        "status (completed)": ["status", slugs[2]],
        "history (completed)": ["history", slugs[2]],
        "status (abandoned)": ["status", slugs[3]],
        "history (abandoned)": ["history", slugs[3]],
        "check --deep": ["check", "--deep"],
        "status (no record)": ["status", slugs[4]],
    }


def measure(env: Env, root: Path, commits: int, repeat: int) -> tuple[list[Row], list[str]]:
    hub, repo, slugs = build(env, root)
    grow(env, hub, 100, 0)
    small = {
        k: timed(env, [env.gs, *a], repo, repeat, cpu=True) for k, a in commands(slugs).items()
    }
    grow(env, hub, commits - 100, 100)
    large = {
        k: timed(env, [env.gs, *a], repo, repeat, cpu=True) for k, a in commands(slugs).items()
    }
    lines = [
        "cpu ms (user+sys of the process and its children), median",
        f"{'command':<22}{'100 commits':>16}{f'{commits} commits':>20}{'ratio':>8}",
    ]
    rows = []
    for name in small:
        lines.append(
            f"{name:<22}{small[name] * 1000:16.1f}{large[name] * 1000:20.1f}"
            f"{large[name] / small[name]:8.2f}"
        )
        if name not in CONTRAST:
            rows.append(
                Row(f"{name} at {commits} commits vs at 100", large[name], small[name], "<= 1.2")
            )
    return rows, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gs", type=Path, default=Path(sys.executable).parent / "git-sessions")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gs-bench-history-"))
    try:
        env = seal(root, args.gs, pyc=True)
        print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
        _, lines = measure(env, root, args.commits, args.repeat)
        print("\n".join(lines))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
