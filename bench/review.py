"""Benchmark `git-sessions board` and `review` over many sessions against `git log --oneline`.

Run:  .venv/bin/python bench/review.py [--sessions N] [--active A] [--repeat R]

The hub (a bare repository on the local filesystem, `git-sessions init` first) gets N sessions
written with `git fast-import`, one commit each, as a history of landings would leave them:
70% completed (SESSION.md, worklog, events.jsonl, drift.md from git_sessions.drift, a code patch,
HANDOFF.md, and the code file they landed), 10% abandoned, 15% planned, then A active ones
(default 50) with lock lines, `.session-env`, and a `session/<slug>` branch on the hub holding one
code commit and one journal entry each. So main has about N + A + 2 commits.

Each round (R, default 5) times, as whole processes in the clone: the floor `git log --oneline
main` over that same history, `git-sessions board --json`, and `git-sessions review --out DIR`
(index plus N + A pages). Printed: medians and each ratio to `git log --oneline`. It checks that
board lists every session and review wrote every page. Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _support import (
    DATE,
    LOCK,
    OTHER_FILES,
    SESSION_MD,
    SESSIONS,
    BenchFailure,
    Env,
    seal,
    source_revision,
)

from git_sessions import drift, events


def blob(path: str, text: str) -> str:
    data = text.encode()
    return f"M 100644 inline {path}\ndata {len(data)}\n" + text + "\n"


def stream(n: int, active: int, parent: str, when: int) -> tuple[str, list[str], list[str]]:
    """A fast-import stream: N session commits on main, then the active sessions' branches."""
    out: list[str] = []
    lock: list[str] = []
    slugs: list[str] = []
    actives: list[str] = []
    mark = 0

    def commit(ref: str, message: str, files: dict[str, str], base: str) -> None:
        nonlocal mark, when
        mark += 1
        when += 60
        out.append(
            f"commit {ref}\nmark :{mark}\ncommitter Bench Agent <bench@example.com> {when} +0000\n"
            f"data {len(message.encode())}\n{message}\nfrom {base}\n"
        )
        out.extend(blob(p, t) for p, t in files.items())

    base = parent
    for i in range(n + active):
        slug = f"{DATE}-task-{i:05d}"
        slugs.append(slug)
        kind = (
            "active"
            if i >= n
            else "completed"
            if i % 10 < 7
            else "abandoned"
            if i % 10 == 7
            else "planned"
        )
        folder = f"{SESSIONS}/{kind}/{slug}"
        plan = SESSION_MD.format(n=i).replace(
            "# body\n", f"# body\nChange `src/m{i}.py`.\n## Acceptance criteria\n- [ ] works\n"
        )
        files = {f"{folder}/SESSION.md": plan}
        files |= {f"{folder}/{name}": text for name, text in OTHER_FILES.items()}
        if kind in ("completed", "abandoned"):
            event = events.decision_event(f"decided {i}", "because", when)
            files[f"{folder}/events.jsonl"] = events.jsonl_line(event)
            report = drift.compute(
                slug,
                plan,
                plan,
                {},
                {"worklog.md": "- [x] works\n"},
                [f"src/m{i}.py", "x.txt"],
                started=when - 3600,
                ended=when,
                commits=3,
                code_commits=2,
            )
            files[f"{folder}/drift.md"] = drift.render(report)
            files[f"{folder}/{slug}.patch"] = (
                f"From {'0' * 40} Mon Sep 17 00:00:00 2001\nFrom: A <a@x>\n"
                f"Date: Thu, 1 Jan 2026 00:00:00 +0000\nSubject: [PATCH] [{slug}] feat: m{i}\n\n"
                f"---\ndiff --git a/src/m{i}.py b/src/m{i}.py\nnew file mode 100644\n"
                f"--- /dev/null\n+++ b/src/m{i}.py\n@@ -0,0 +1,2 @@\n+x = {i}\n+y = 2\n"
                f"\nbase-commit: {'0' * 40}\n-- \ngit-sessions 0.1.0\n\n"
            )
            files[f"{folder}/HANDOFF.md"] = f"# Handoff: {slug}\n\n- Status: {kind}\n"
            if kind == "completed":
                files[f"src/m{i}.py"] = f"x = {i}\ny = 2\n"
        if kind == "active":
            actives.append(slug)
            lock.append(f"{slug}:{when}")
            files[f"{folder}/.session-env"] = (
                f"export SESSION_ID={slug}\nexport GIT_AUTHOR_NAME=agent-{i}\n"
                f"export GIT_AUTHOR_EMAIL=agent-{i}@example.com\n"
            )
            files[LOCK] = "".join(f"{line}\n" for line in lock)
        commit("refs/heads/main", f"[{slug}] feat: task {i}", files, base)
        base = f":{mark}"
    main_mark = base
    for i, slug in enumerate(actives):
        folder = f"{SESSIONS}/active/{slug}"
        event = events.milestone_event(f"half of {slug}", done=True, now=when)
        commit(
            f"refs/heads/session/{slug}",
            f"[{slug}] feat: work",
            {f"src/a{i}.py": f"a = {i}\n", f"{folder}/events.jsonl": events.jsonl_line(event)},
            main_mark,
        )
    return "".join(out), slugs, actives


def timed(env: Env, args: Sequence[str | Path], cwd: Path) -> float:
    start = time.perf_counter()
    env.run(args, cwd)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--active", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--gs", type=Path, default=Path(sys.executable).parent / "git-sessions")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gs-bench-review-"))
    env = seal(root, args.gs.absolute(), pyc=True)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{env.git(root, '--version').strip()}; {os.cpu_count()} CPUs; load average {load}")
    print(f"sessions={args.sessions} active={args.active} repeat={args.repeat}; temp dir {root}")
    print(f"code under test: {source_revision()}")
    try:
        hub, repo = root / "hub.git", root / "clone"
        env.git(root, "init", "-q", "--bare", "-b", "main", str(hub))
        env.git(root, "clone", "-q", str(hub), str(repo))
        (repo / "README.md").write_text("bench\n")
        env.git(repo, "add", "README.md")
        env.git(repo, "commit", "-qm", "initial")
        env.git(repo, "push", "-q", "origin", "main")
        env.run([env.gs, "init"], repo)
        tip = env.hub_git(hub, "rev-parse", "main").stdout.strip()
        text, slugs, actives = stream(args.sessions, args.active, tip, int(time.time()) - 86400)
        proc = subprocess.run(
            ["git", "--git-dir", str(hub), "fast-import", "--quiet"],
            input=text,
            text=True,
            env=env.vars,
            capture_output=True,
        )
        if proc.returncode != 0:
            raise BenchFailure(f"fast-import: {proc.stderr}")
        env.git(repo, "pull", "-q", "origin", "main")
        commits = int(env.git(repo, "rev-list", "--count", "main").strip())
        print(f"main has {commits} commits, {len(actives)} session branches on the hub")
        floor, board, review = [], [], []
        site = root / "site"
        for _ in range(args.repeat + 1):
            floor.append(timed(env, ["git", "log", "--oneline", "main"], repo))
            board.append(timed(env, [env.gs, "board", "--json"], repo))
            shutil.rmtree(site, ignore_errors=True)
            review.append(timed(env, [env.gs, "review", "--out", site], repo))
        rows = json.loads(env.run([env.gs, "board", "--json"], repo).stdout)["sessions"]
        problems = []
        if sorted(r["slug"] for r in rows) != sorted(slugs):
            problems.append(f"board listed {len(rows)} sessions, expected {len(slugs)}")
        if not all(r["ahead"] == 1 for r in rows if r["state"] == "active"):
            problems.append("board: an active session is not 1 commit ahead")
        pages = len(list(site.glob("*.html")))
        if pages != len(slugs) + 1:
            problems.append(f"review wrote {pages} pages, expected {len(slugs) + 1}")
        base = statistics.median(floor[1:])
        print(f"\n{'command':<32} {'median ms':>9} {'min ms':>8} {'ratio':>7}")
        for name, values in (
            ("git log --oneline main", floor),
            ("git-sessions board --json", board),
            ("git-sessions review", review),
        ):
            med = statistics.median(values[1:])
            print(f"{name:<32} {med * 1000:9.1f} {min(values[1:]) * 1000:8.1f} {med / base:7.1f}")
        print("(first round discarded as warm-up; ratio = median / median of git log --oneline)")
    except BenchFailure as exc:
        print(f"\nFAIL: the benchmark could not run: {exc}")
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    for line in problems:
        print(f"FAIL: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
