"""What every benchmark here shares: a sealed git environment, running commands, small stats.

Imported by the bench scripts (run as `python bench/<name>.py`, so this folder is on sys.path).
"""

from __future__ import annotations

import math
import os
import resource
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DATE = "2026-01-01"
SESSIONS = "_AGENTS/sessions"
LOCK = f"{SESSIONS}/sessions.lock"
SESSION_MD = (
    "---\ntitle: task {n}\ncapabilities: []\npriority: 0\ndepends_on: []\n"
    "parent: null\ncreated: 2026-01-01\n---\n# body\n"
)
OTHER_FILES = {
    "worklog.md": "# Worklog\n",
    "active-plan.md": "# Active plan\n",
    "subsessions.md": "# Subsessions\n",
}


class BenchFailure(Exception):
    """A setup step or a plain-git step failed: the benchmark cannot go on."""


@dataclass(frozen=True)
class Env:
    """The sealed environment and the CLI under test."""

    vars: dict[str, str]
    gs: Path

    def run(
        self, args: Sequence[str | Path], cwd: Path, *, check: bool = True, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env={**self.vars, **extra},
            capture_output=True,
            text=True,
        )
        if check and proc.returncode != 0:
            raise BenchFailure(
                f"{' '.join(str(a) for a in args)} (in {cwd}) exited {proc.returncode}:\n"
                f"{proc.stdout}{proc.stderr}"
            )
        return proc

    def git(self, cwd: Path, *args: str) -> str:
        return self.run(["git", *args], cwd).stdout

    def initialised(self, root: Path, clone: str = "repo", files: int = 0) -> tuple[Path, Path]:
        """A bare hub `root/hub.git` and its clone `root/<clone>`: one initial commit (a README
        and `files` files under base/), then `git-sessions init`, pulled back into the clone."""
        hub, repo = root / "hub.git", root / clone
        self.git(root, "init", "-q", "--bare", "-b", "main", str(hub))
        self.git(root, "clone", "-q", str(hub), str(repo))
        (repo / "README.md").write_text("bench\n")
        for i in range(files):
            path = repo / "base" / f"d{i // 100:03d}" / f"f{i:05d}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"file {i}\n")
        self.git(repo, "add", "-A")
        self.git(repo, "commit", "-q", "-m", "initial")
        self.git(repo, "push", "-q", "origin", "main")
        self.run([self.gs, "init"], repo)
        self.git(repo, "pull", "-q", "origin", "main")
        return hub, repo

    def hub_git(self, hub: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(["git", "--git-dir", str(hub), *args], hub.parent, check=False)


def seal(root: Path, gs: Path, *, pyc: bool) -> Env:
    """A private HOME with a fixed identity and no user or system git config."""
    home = root / "home"
    home.mkdir(parents=True)
    # gc.auto=0: an auto-gc in the middle of a timed plain-git sequence would only add noise.
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Bench Agent\n\temail = bench@example.com\n"
        "[init]\n\tdefaultBranch = main\n[pull]\n\trebase = false\n"
        "[advice]\n\tdetachedHead = false\n[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SESSION_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_EDITOR="false",
    )
    if pyc:
        # As on an ordinary install, modules load from cached bytecode; the cache lives in the temp
        # dir so that running the benchmark leaves no __pycache__ in the source tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    return Env(env, gs)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (q in [0, 1])."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def source_revision() -> str:
    """The commit of the code under test, and whether its tree has changes (read-only)."""
    here = Path(__file__).resolve().parent
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # status must not refresh the index

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=here, env=env, capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{head} + uncommitted changes" if git("status", "--porcelain", "-uno") else head


@dataclass(frozen=True)
class Row:
    """One line of bench/run's table: ours against a baseline, with the goal for the ratio."""

    measure: str
    ours: float  # seconds (or a ratio already, when baseline is None)
    baseline: float | None
    goal: str  # e.g. "<= 0.5"
    unit: str = "s"  # "s" (shown in ms) or a rate such as "claims/s"

    def show(self, value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value * 1000:.1f} ms" if self.unit == "s" else f"{value:.2f} {self.unit}"

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else self.ours

    def met(self) -> bool | None:
        """Whether the goal was met; None for a row shown for scale, with no goal ("-")."""
        if self.goal == "-":
            return None
        op, _, bound = self.goal.partition(" ")
        value = float(bound)
        return (
            self.ratio <= value
            if op == "<="
            else self.ratio < value
            if op == "<"
            else (self.ratio >= value)
        )


def timed(
    env: Env,
    args: Sequence[str | Path],
    cwd: Path,
    repeat: int,
    *,
    cpu: bool = False,
    **extra: str,
) -> float:
    """Median wall time of `repeat` runs of a command (each must exit 0), after one unmeasured
    warm-up run; with `cpu`, the median user+sys time of it and its children instead, which
    other load on the machine disturbs much less."""
    import statistics
    import time

    env.run(args, cwd, **extra)
    samples = []
    for _ in range(repeat):
        start, used = time.perf_counter(), children_cpu()
        env.run(args, cwd, **extra)
        samples.append(children_cpu() - used if cpu else time.perf_counter() - start)
    return statistics.median(samples)
