"""Benchmark `git-sessions log` against a plain `git commit` of the same file change.

Run:  .venv/bin/python bench/journal.py [--repeat R] [--files N]

One bare hub on the local filesystem in a temporary directory, a sealed environment (HOME there
with a .gitconfig holding user.name/email, GIT_CONFIG_NOSYSTEM=1), `git-sessions init`, one
planned session written with plain git and claimed with its worktree. The agent's environment is
the session's .session-env (SESSION_ID, GIT_AUTHOR_*), as after `source .session-env`.

In that worktree, rotating the order every round, R times each (fresh processes every time):

- log:          `git-sessions log "step N"` (appends a line to worklog.md and to events.jsonl,
                commits both on the session branch in memory, keeps the worktree and index clean,
                pushes the branch to the hub as a sign of life);
- commit:       the same change by hand: append the same two lines, `git add` both files,
                `git commit -m "[<slug>] docs: log step N"`;
- commit+push:  the same, then `git push -f origin session/<slug>` (log backs the branch up too);
- import floor: `python -c "import git_sessions.cli"`, the interpreter and the CLI's imports
                alone, for scale: what any git-sessions command costs before it does anything.

Every run is checked (exit code, one new commit on the branch with the expected subject, a
clean worktree, the entry in events.jsonl, and for log the hub's branch at the new commit);
anything wrong prints FAIL and the script exits 1. Medians, p90 and the ratios are printed.
This file is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from _support import (
    DATE,
    SESSIONS,
    BenchFailure,
    Env,
    children_cpu,
    quantile,
    seal,
    source_revision,
)

SESSION_MD = (
    "---\ntitle: journal bench\ncapabilities: []\npriority: 0\ndepends_on: []\n"
    "parent: null\ncreated: 2026-01-01\n---\n# body\n"
)
KINDS = ("log", "commit", "commit+push", "import floor")


@dataclass(frozen=True)
class Session:
    hub: Path
    slug: str
    worktree: Path
    folder: str  # the session's folder inside the worktree
    agent: dict[str, str]  # the .session-env variables


def build(env: Env, root: Path, files: int) -> Session:
    """Hub, clone, `git-sessions init`, one planned session, claimed with its worktree."""
    hub, repo = env.initialised(root, "clone", files)
    slug = f"{DATE}-journal-bench"
    planned = repo / SESSIONS / "planned" / slug
    planned.mkdir(parents=True)
    (planned / "SESSION.md").write_text(SESSION_MD)
    (planned / "worklog.md").write_text(f"# Worklog: {slug}\n")
    env.git(repo, "add", SESSIONS)
    env.git(repo, "commit", "-q", "-m", f"plan {slug}")
    env.git(repo, "push", "-q", "origin", "main")
    data = json.loads(env.run([env.gs, "claim", slug, "--json"], repo).stdout)
    wt = Path(str(data["worktree"]))
    folder = f"{SESSIONS}/active/{slug}"
    agent = {}
    for line in (wt / folder / ".session-env").read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            agent[name] = value.strip("'")
    return Session(hub, slug, wt, folder, agent)


# --- the procedures ----------------------------------------------------------------------------


def run_log(env: Env, s: Session, n: int) -> list[str]:
    proc = env.run([env.gs, "log", f"step {n}"], s.worktree, check=False, **s.agent)
    if proc.returncode != 0:
        return [f"log exited {proc.returncode}: {proc.stderr.strip()}"]
    return [f"log wrote to stderr: {proc.stderr.strip()}"] if proc.stderr else []


def plain_change(s: Session, n: int) -> None:
    """The change `log` makes, by hand: one worklog line and one events.jsonl line."""
    stamp = time.gmtime()
    with (s.worktree / s.folder / "worklog.md").open("a") as f:
        f.write(f"- {time.strftime('%H:%M', stamp)} step {n}\n")
    event = {
        "kind": "log",
        "metadata": {},
        "text": f"step {n}",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp),
    }
    with (s.worktree / s.folder / "events.jsonl").open("a") as f:
        f.write(json.dumps(event, sort_keys=True) + "\n")


def run_commit(env: Env, s: Session, n: int, *, push: bool = False) -> list[str]:
    plain_change(s, n)
    paths = [f"{s.folder}/worklog.md", f"{s.folder}/events.jsonl"]
    steps = [["add", *paths], ["commit", "-q", "-m", f"[{s.slug}] docs: log step {n}"]]
    if push:
        steps.append(["push", "-q", "-f", "origin", f"session/{s.slug}"])
    for args in steps:
        proc = env.run(["git", *args], s.worktree, check=False, **s.agent)
        if proc.returncode != 0:
            return [f"git {args[0]} exited {proc.returncode}: {proc.stderr.strip()}"]
    return []


def run_floor(env: Env, s: Session, n: int) -> list[str]:
    del n
    python = env.gs.parent / "python"
    proc = env.run([python, "-c", "import git_sessions.cli"], s.worktree, check=False)
    return [] if proc.returncode == 0 else [f"import failed: {proc.stderr.strip()}"]


def verify(env: Env, s: Session, kind: str, n: int, before: str) -> list[str]:
    """One new commit on the branch, with the entry, a clean worktree; log also pushed it."""
    if kind == "import floor":
        return []
    problems = []
    head = env.git(s.worktree, "rev-parse", "HEAD").strip()
    parents = env.git(s.worktree, "rev-parse", "HEAD^@").split()
    if parents != [before]:
        problems.append(f"HEAD {head[:10]} has parents {parents}, expected [{before[:10]}]")
    subject = env.git(s.worktree, "log", "-1", "--format=%s").strip()
    if subject != f"[{s.slug}] docs: log step {n}":
        problems.append(f"unexpected subject {subject!r}")
    status = env.git(s.worktree, "status", "--porcelain")
    if status:
        problems.append(f"worktree not clean: {status.split()[:4]}")
    last = env.git(s.worktree, "show", f"HEAD:{s.folder}/events.jsonl").splitlines()[-1]
    if json.loads(last).get("text") != f"step {n}":
        problems.append(f"last event is {last}")
    if kind == "log":
        hub = env.run(
            ["git", "--git-dir", str(s.hub), "rev-parse", f"session/{s.slug}"], s.hub.parent
        )
        if hub.stdout.strip() != head:
            problems.append(f"hub branch at {hub.stdout.strip()[:10]}, not {head[:10]}")
    return [f"{kind} #{n}: {p}" for p in problems]


def measure(
    env: Env, s: Session, repeat: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[str]]:
    procedures: dict[str, Callable[[Env, Session, int], list[str]]] = {
        "log": run_log,
        "commit": run_commit,
        "commit+push": lambda e, x, n: run_commit(e, x, n, push=True),
        "import floor": run_floor,
    }
    wall: dict[str, list[float]] = {k: [] for k in KINDS}
    cpu: dict[str, list[float]] = {k: [] for k in KINDS}
    failures: list[str] = []
    n = 0
    for r in range(repeat + 1):  # round 0 warms caches and is not counted
        order = KINDS[r % len(KINDS) :] + KINDS[: r % len(KINDS)]
        for kind in order:
            n += 1
            before = env.git(s.worktree, "rev-parse", "HEAD").strip()
            c0, t0 = children_cpu(), time.perf_counter()
            problems = procedures[kind](env, s, n)
            t1, c1 = time.perf_counter(), children_cpu()
            problems += verify(env, s, kind, n, before) if not problems else []
            failures += problems
            if r:
                wall[kind].append(t1 - t0)
                cpu[kind].append(c1 - c0)
    return wall, cpu, failures


# --- report ------------------------------------------------------------------------------------


def report(wall: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    rows = [["procedure", "median ms", "p90 ms", "min ms", "max ms", "cpu median ms"]]
    for kind in KINDS:
        values = wall[kind]
        rows.append(
            [
                kind,
                *(
                    f"{v * 1000:.1f}"
                    for v in (
                        statistics.median(values),
                        quantile(values, 0.9),
                        min(values),
                        max(values),
                        statistics.median(cpu[kind]),
                    )
                ),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    med = {k: statistics.median(v) for k, v in wall.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    print(
        f"\nratio log / git commit:        median {med['log'] / med['commit']:.2f}"
        f"  (cpu {cpu_med['log'] / cpu_med['commit']:.2f})"
    )
    print(
        f"ratio log / git commit + push: median {med['log'] / med['commit+push']:.2f}"
        f"  (cpu {cpu_med['log'] / cpu_med['commit+push']:.2f})"
    )
    share = med["import floor"] / med["log"]
    print(f"import floor / log: {share:.2f} (interpreter and imports, before any work)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=20, help="samples per procedure")
    parser.add_argument("--files", type=int, default=0, help="extra files in the repository")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--no-pyc", action="store_true", help="inherit PYTHONDONTWRITEBYTECODE")
    parser.add_argument(
        "--gs",
        type=Path,
        default=Path(sys.executable).parent / "git-sessions",
        help="the git-sessions executable (default: next to this Python)",
    )
    args = parser.parse_args(argv)
    if not args.gs.exists():
        print(f"error: {args.gs} not found (run with .venv/bin/python or pass --gs)")
        return 2
    root = Path(tempfile.mkdtemp(prefix="gs-bench-journal-"))
    env = seal(root, args.gs, pyc=not args.no_pyc)
    print(
        f"{env.git(root, '--version').strip()}; {os.cpu_count()} CPUs; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; repeat={args.repeat} "
        f"files={args.files}; temp dir {root}"
    )
    print(f"code under test: {source_revision()}")
    try:
        session = build(env, root, args.files)
        wall, cpu, failures = measure(env, session, args.repeat)
        print(f"\n== log vs git commit: whole-process wall time, R={args.repeat} each, rotating ==")
        report(wall, cpu)
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
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
