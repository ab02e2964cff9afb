"""Start-up of the commands agents call most: whole process, and where the imports go.

Run:  .venv/bin/python bench/startup.py [--repeat R]

For `--version`, `env` (inside a session's worktree), `log` and `claim --no-worktree`: the
median whole-process wall time, and from `python -X importtime` the cumulative import time of
the heavy packages (typer, pydantic, pygit2, jinja2, yaml) and of everything. Baselines: a bare
`python -c pass` and `git --version`. Not part of the pytest suite.
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

from _support import DATE, SESSION_MD, SESSIONS, Env, Row, seal, timed

HEAVY = ("typer", "pydantic", "pygit2", "jinja2", "yaml")


def import_costs(env: Env, cwd: Path, args: list[str], **extra: str) -> dict[str, float]:
    """Cumulative import ms of each heavy package (top-level entry) and of all imports."""
    proc = env.run([sys.executable, "-X", "importtime", "-m", "git_sessions", *args], cwd, **extra)
    costs = dict.fromkeys((*HEAVY, "all"), 0.0)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if not cumulative.isdigit():
            continue
        top = name.split(".")[0]
        if name in HEAVY:  # the outermost entry of a package holds its whole cost
            costs[name] = max(costs[name], int(cumulative) / 1000)
        if not line.split("|")[2].startswith("  "):  # a top-level import
            costs["all"] += int(cumulative) / 1000
        del top
    return costs


def _line(name: str, wall: float, costs: dict[str, float]) -> str:
    return f"{name:<28}{wall * 1000:9.1f}" + "".join(f"{costs[h]:10.1f}" for h in (*HEAVY, "all"))


def build(env: Env, root: Path, sessions: int) -> tuple[Path, list[str]]:
    _hub, repo = env.initialised(root)
    slugs = [f"{DATE}-start-{i:03d}" for i in range(sessions)]
    for i, slug in enumerate(slugs):
        folder = repo / SESSIONS / "planned" / slug
        folder.mkdir(parents=True)
        (folder / "SESSION.md").write_text(SESSION_MD.format(n=i))
    env.git(repo, "add", SESSIONS)
    env.git(repo, "commit", "-q", "-m", "plan")
    env.git(repo, "push", "-q", "origin", "main")
    return repo, slugs


def measure(env: Env, root: Path, repeat: int) -> tuple[list[Row], list[str]]:
    repo, slugs = build(env, root, repeat + 3)
    env.run([env.gs, "claim", slugs[0]], repo)
    worktree = repo / ".worktrees" / slugs[0]
    agent = {"SESSION_ID": slugs[0]}
    lines = [
        f"{'command':<28}{'wall ms':>9}" + "".join(f"{h:>10}" for h in (*HEAVY, "all")),
        "(import columns: cumulative ms from python -X importtime; 0 = not imported)",
    ]
    rows: list[Row] = []
    floor = timed(env, [sys.executable, "-c", "pass"], root, repeat)
    git_version = timed(env, ["git", "--version"], root, repeat)
    todo = iter(slugs[1:])
    cases: list[tuple[str, list[str], Path, dict[str, str]]] = [
        ("--version", ["--version"], root, {}),
        ("env (in its worktree)", ["env"], worktree, agent),
        ("log", ["log", "bench step"], worktree, agent),
    ]
    for name, args, cwd, extra in cases:
        wall = timed(env, [env.gs, *args], cwd, repeat, **extra)
        costs = import_costs(env, cwd, args, **extra)
        lines.append(_line(name, wall, costs))
        if name.startswith("env"):  # log does real work: bench/journal.py compares it
            rows.append(Row(f"start-up: {name} vs python -c pass", wall, floor, "-"))
    # env's fast path (cli/fast.py) against its typer path, paired in cpu time
    typer_path = {**agent, "GIT_SESSIONS_NO_FAST": "1"}
    wall = timed(env, [env.gs, "env"], worktree, repeat, **typer_path)
    rows.append(Row("  env on the typer path (GIT_SESSIONS_NO_FAST=1)", wall, floor, "-"))
    fast_cpu, typer_cpu = (
        timed(env, [env.gs, "env"], worktree, repeat, cpu=True, **extra)
        for extra in (agent, typer_path)
    )
    rows.append(Row("  env, cpu time: fast path vs typer path", fast_cpu, typer_cpu, "-"))
    claims = []
    for _ in range(repeat):
        start = time.perf_counter()
        env.run([env.gs, "claim", next(todo), "--no-worktree"], repo)
        claims.append(time.perf_counter() - start)
    costs = import_costs(env, repo, ["claim", next(todo), "--no-worktree"])
    wall = statistics.median(claims)
    lines.append(_line("claim --no-worktree", wall, costs))
    lines.append(f"{'python -c pass':<28}{floor * 1000:9.1f}")
    lines.append(f"{'git --version':<28}{git_version * 1000:9.1f}")
    version = timed(env, [env.gs, "--version"], root, repeat)
    rows.insert(0, Row("start-up: --version vs git --version", version, git_version, "-"))
    return rows, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--gs", type=Path, default=Path(sys.executable).parent / "git-sessions")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gs-bench-startup-"))
    try:
        env = seal(root, args.gs, pyc=True)
        print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; repeat={args.repeat}")
        _, lines = measure(env, root, args.repeat)
        print("\n".join(lines))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
