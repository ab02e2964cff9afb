"""Benchmark `git-sessions claim` against the seed's plain-git claim procedure, and under races.

Run:  .venv/bin/python bench/claim.py [--sessions N] [--repeat R]

Everything runs against a bare hub on the local filesystem in a temporary directory, with a sealed
environment (HOME in the temp dir holding a .gitconfig with user.name/email, GIT_CONFIG_NOSYSTEM=1).

1. Latency: the whole-process wall time of `git-sessions claim SLUG` (a fresh process each time,
   with and without its worktree) versus the seed's procedure for another planned session of the
   same shape, done as real `git` subprocesses: pull, append the lock line, commit, push, `git mv`
   planned/ -> active/, commit, write .session-env, commit, push, `git worktree add`. The kinds
   alternate (rotating order) R times each; median and p90 are reported, and the ratio ours/seed.
2. Throughput: K racing agents each run `git-sessions claim --next --no-worktree` in a loop until
   nothing is claimable (exit 1), against one hub with N planned sessions; each agent in its own
   clone ("clones") or all in one clone ("shared"). Afterwards the hub must show every session
   claimed exactly once; anything else prints FAIL and the script exits 1.

Planned sessions are written with plain git (one commit, one push), not one `new` process each.
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
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from _support import (
    DATE,
    LOCK,
    OTHER_FILES,
    SESSION_MD,
    SESSIONS,
    BenchFailure,
    Env,
    children_cpu,
    quantile,
    seal,
    source_revision,
)

NOTHING_CLAIMABLE = "no claimable session"
MAX_CONSECUTIVE_ERRORS = 5


def slug_of(i: int, width: int) -> str:
    return f"{DATE}-task-{i:0{width}d}"


@dataclass(frozen=True)
class Hub:
    path: Path
    slugs: tuple[str, ...]


def build_hub(env: Env, root: Path, n: int, files: int, archive: int = 0) -> Hub:
    """A bare hub with `git-sessions init` done and `n` planned sessions, built with plain git;
    `archive` completed sessions (the four session files each) too."""
    root.mkdir(parents=True)
    hub, setup = env.initialised(root, "setup", files)
    width = max(3, len(str(n)))
    slugs = tuple(slug_of(i, width) for i in range(1, n + 1))
    for i, slug in enumerate(slugs, 1):
        folder = setup / SESSIONS / "planned" / slug
        folder.mkdir(parents=True)
        (folder / "SESSION.md").write_text(SESSION_MD.format(n=f"{i:0{width}d}"))
        for name, text in OTHER_FILES.items():
            (folder / name).write_text(text)
    for i in range(archive):
        folder = setup / SESSIONS / "completed" / f"{DATE}-done-{i:06d}"
        folder.mkdir(parents=True)
        (folder / "SESSION.md").write_text(SESSION_MD.format(n=f"done {i}"))
        for name, text in OTHER_FILES.items():
            (folder / name).write_text(text)
    env.git(setup, "add", SESSIONS)
    env.git(setup, "commit", "-q", "-m", f"plan {n} sessions")
    env.git(setup, "push", "-q", "origin", "main")
    return Hub(hub, slugs)


def clone(env: Env, hub: Path, dest: Path) -> Path:
    env.git(hub.parent, "clone", "-q", str(hub), str(dest))
    return dest


# --- 1. latency ------------------------------------------------------------------------------


def seed_claim(env: Env, repo: Path, slug: str, *, worktree: bool = True) -> None:
    """The seed's claim procedure (004 'Claim Process'), each step a real git call; without
    `worktree`, only its protocol part (everything before `git worktree add`)."""
    env.git(repo, "pull", "-q", "origin", "main")
    lock = repo / LOCK
    held = lock.read_text() if lock.exists() else ""
    if any(line.split(":")[0] == slug for line in held.splitlines()):
        raise BenchFailure(f"seed: {slug} is already in sessions.lock")
    with lock.open("a") as fh:
        fh.write(f"{slug}:{int(time.time())}\n")
    env.git(repo, "add", LOCK)
    env.git(repo, "commit", "-q", "-m", f"[{slug}] Claim session")
    env.git(repo, "push", "-q", "origin", "main")
    active = f"{SESSIONS}/active/{slug}"
    env.git(repo, "mv", f"{SESSIONS}/planned/{slug}", active)
    env.git(repo, "commit", "-q", "-m", f"[{slug}] Move session to active")
    folder = repo / ".worktrees" / slug
    (repo / active / ".session-env").write_text(
        f"export GIT_AUTHOR_NAME='Bench Agent'\nexport GIT_AUTHOR_EMAIL=bench@example.com\n"
        f"export SESSION_ID={slug}\nexport SESSION_BRANCH=session/{slug}\n"
        f"export SESSION_WORKTREE={folder}\n"
    )
    env.git(repo, "add", f"{active}/.session-env")
    env.git(repo, "commit", "-q", "-m", f"[{slug}] Add session env")
    env.git(repo, "push", "-q", "origin", "main")
    if worktree:
        seed_worktree(env, repo, slug)


def seed_worktree(env: Env, repo: Path, slug: str) -> None:
    env.git(repo, "worktree", "add", "-q", "-b", f"session/{slug}", f".worktrees/{slug}")


SEED_WORKTREE = "seed's git worktree add"


@dataclass
class Latency:
    samples: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)  # user+sys of all child processes
    anomalies: list[str] = field(default_factory=list)


def measure_latency(env: Env, root: Path, repeat: int, files: int, archive: int = 0) -> Latency:
    kinds = ("ours", "seed", "ours --no-worktree")
    hub = build_hub(env, root, repeat * len(kinds), files, archive)
    ours_repo = clone(env, hub.path, root / "ours")
    seed_repo = clone(env, hub.path, root / "seed")
    result = Latency({k: [] for k in kinds}, {k: [] for k in kinds})
    todo = iter(hub.slugs)

    def ours(slug: str, *extra: str) -> None:
        proc = env.run([env.gs, "claim", slug, *extra], ours_repo, check=False)
        if proc.returncode != 0:
            result.anomalies.append(
                f"git-sessions claim {slug} {' '.join(extra)} exited {proc.returncode}: "
                f"{proc.stderr.strip()}"
            )

    seeded: list[str] = []
    alone = SEED_WORKTREE
    result.samples[alone], result.cpu[alone] = [], []

    def seed(slug: str) -> None:
        """The seed's procedure, its last step (`git worktree add`) also timed alone: the
        checkout any claim with a worktree has to do, the floor for ours."""
        seeded.append(slug)
        seed_claim(env, seed_repo, slug, worktree=False)
        cpu, start = children_cpu(), time.perf_counter()
        seed_worktree(env, seed_repo, slug)
        result.samples[alone].append(time.perf_counter() - start)
        result.cpu[alone].append(children_cpu() - cpu)

    steps: dict[str, Callable[[str], None]] = {
        "ours": ours,
        "seed": seed,
        "ours --no-worktree": lambda slug: ours(slug, "--no-worktree"),
    }
    for i in range(repeat):
        shift = i % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            slug = next(todo)
            cpu = children_cpu()
            start = time.perf_counter()
            steps[kind](slug)
            result.samples[kind].append(time.perf_counter() - start)
            result.cpu[kind].append(children_cpu() - cpu)
    # Both sides must have left a healthy hub behind. The seed writes .session-env by hand,
    # which `check` reports as not what a claim writes: that is expected for its sessions.
    check = env.run([env.gs, "check", "--json"], ours_repo, check=False)
    if check.returncode != 0:
        try:
            found = json.loads(check.stdout)["violations"]
        except (ValueError, KeyError, TypeError):
            found = [{"rule": "?", "message": check.stdout + check.stderr}]
        unexpected = [
            v["message"]
            for v in found
            if not (v["rule"] == "session-env" and any(s in v["message"] for s in seeded))
        ]
        if unexpected:
            result.anomalies.append(f"git-sessions check: {'; '.join(unexpected)}")
    return result


# --- 2. throughput ---------------------------------------------------------------------------


@dataclass
class Race:
    mode: str
    agents: int
    sessions: int
    claimed: list[tuple[str, str, int, float]] = field(default_factory=list)  # agent, slug, ...
    errors: list[str] = field(default_factory=list)
    calls: int = 0
    cpu: float = 0.0  # user+sys of every process the agents started
    wall: float = 0.0  # start -> last successful claim
    total: float = 0.0  # start -> every agent has stopped
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.claimed) / self.wall if self.wall > 0 else 0.0


def run_race(env: Env, root: Path, sessions: int, agents: int, mode: str, files: int) -> Race:
    hub = build_hub(env, root, sessions, files)
    if mode == "shared":
        shared = clone(env, hub.path, root / "agents")
        repos = [shared] * agents
    else:
        repos = [clone(env, hub.path, root / f"agent{k:02d}") for k in range(agents)]
    race = Race(mode, agents, sessions)
    lock = threading.Lock()
    barrier = threading.Barrier(agents + 1)

    def agent(k: int) -> None:
        name = f"agent-{k:02d}"
        args: list[str | Path] = [env.gs, "claim", "--next", "--no-worktree", "--json"]
        args += ["--agent", name, "--email", f"{name}@example.com"]
        errors_in_a_row = 0
        barrier.wait()
        while True:
            proc = env.run(args, repos[k], check=False)
            done = time.perf_counter()
            with lock:
                race.calls += 1
            if proc.returncode == 0:
                data = json.loads(proc.stdout)
                with lock:
                    race.claimed.append((name, str(data["slug"]), int(data["attempts"]), done))
                    if data.get("already_held"):
                        race.errors.append(f"{name}: --next returned already_held {data}")
                errors_in_a_row = 0
            elif proc.returncode == 1 and NOTHING_CLAIMABLE in proc.stderr:
                return
            else:
                with lock:
                    race.errors.append(f"{name}: exit {proc.returncode}: {proc.stderr.strip()}")
                errors_in_a_row += 1
                if errors_in_a_row >= MAX_CONSECUTIVE_ERRORS:
                    return

    threads = [threading.Thread(target=agent, args=(k,)) for k in range(agents)]
    for thread in threads:
        thread.start()
    cpu = children_cpu()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    race.total = time.perf_counter() - start
    race.cpu = children_cpu() - cpu
    race.wall = max((c[3] for c in race.claimed), default=start) - start
    verify(env, hub, repos[0], race)
    return race


def verify(env: Env, hub: Hub, repo: Path, race: Race) -> None:
    """Every session claimed exactly once, on the hub and in what the agents were told."""
    expected = set(hub.slugs)
    fails = race.failures
    told = [c[1] for c in race.claimed]
    twice = sorted({s for s in told if told.count(s) > 1})
    if twice:
        owners = {s: [c[0] for c in race.claimed if c[1] == s] for s in twice}
        fails.append(f"DOUBLE CLAIM reported to several agents: {owners}")
    if set(told) != expected:
        missing = sorted(expected - set(told))
        fails.append(f"{len(missing)} session(s) never reported claimed: {missing[:5]}")
    git_dir = str(hub.path)
    lock = env.git(hub.path.parent, "--git-dir", git_dir, "show", f"main:{LOCK}")
    lines = [line for line in lock.splitlines() if line.strip()]
    locked = [line.rpartition(":")[0] for line in lines]
    if len(lines) != len(expected) or set(locked) != expected:
        fails.append(
            f"sessions.lock has {len(lines)} lines, {len(set(locked))} distinct slugs; "
            f"expected {len(expected)}"
        )
    planned = env.git(
        hub.path.parent, "--git-dir", git_dir, "ls-tree", "--name-only", f"main:{SESSIONS}/planned/"
    )
    left = [name for name in planned.split() if name != ".gitkeep"]
    if left:
        fails.append(f"{len(left)} session(s) still planned: {left[:5]}")
    log = env.git(hub.path.parent, "--git-dir", git_dir, "log", "--format=%s", "main")
    commits = sum(1 for s in log.splitlines() if s.endswith("chore: claim session"))
    if commits != len(expected):
        fails.append(f"{commits} claim commits on main, expected {len(expected)}")
    check = env.run([env.gs, "check"], repo, check=False)
    if check.returncode != 0:
        fails.append(f"git-sessions check exited {check.returncode}: {check.stdout.strip()}")


# --- report ----------------------------------------------------------------------------------


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def report(latency: Latency | None, races: list[Race], repeat: int) -> bool:
    ok = True
    if latency is not None:
        print(f"\n== 1. claim latency: whole process wall time, R={repeat} each, alternating ==")
        rows = [["procedure", "median ms", "p90 ms", "min ms", "max ms", "cpu median ms"]]
        for kind, values in latency.samples.items():
            rows.append(
                [
                    kind,
                    fmt_ms(statistics.median(values)),
                    fmt_ms(quantile(values, 0.9)),
                    fmt_ms(min(values)),
                    fmt_ms(max(values)),
                    fmt_ms(statistics.median(latency.cpu[kind])),
                ]
            )
        print_table(rows)
        print("cpu: user+sys of every process the procedure started (git, receive-pack, Python)")
        ours, seed = latency.samples["ours"], latency.samples["seed"]
        med = statistics.median(ours) / statistics.median(seed)
        p90 = quantile(ours, 0.9) / quantile(seed, 0.9)
        verdict = "met" if med <= 0.5 else "MISSED"
        print(
            f"ratio ours/seed (with worktree): median {med:.2f}, p90 {p90:.2f}  "
            f"(target <= 0.5: {verdict})"
        )
        nowt = statistics.median(latency.samples["ours --no-worktree"]) / statistics.median(seed)
        print(f"ratio ours --no-worktree/seed: median {nowt:.2f}")
        for line in latency.anomalies:
            ok = False
            print(f"FAIL: {line}")
    if races:
        print("\n== 2. racing agents: git-sessions claim --next --no-worktree until exit 1 ==")
        base = {r.mode: r.rate for r in races if r.agents == 1}
        rows = [
            [
                "mode",
                "agents",
                "claims",
                "calls",
                "wall s",
                "claims/s",
                "vs 1 agent",
                "cpu ms/claim",
                "attempts mean/max",
                "errors",
                "verified",
            ]
        ]
        for r in races:
            one = base.get(r.mode) or base.get("clones") or 0.0
            attempts = [c[2] for c in r.claimed] or [0]
            rows.append(
                [
                    r.mode,
                    str(r.agents),
                    str(len(r.claimed)),
                    str(r.calls),
                    f"{r.wall:.2f}",
                    f"{r.rate:.2f}",
                    f"{r.rate / one:.2f}" if one else "-",
                    f"{r.cpu * 1000 / max(1, len(r.claimed)):.0f}",
                    f"{statistics.mean(attempts):.2f}/{max(attempts)}",
                    str(len(r.errors)),
                    "ok" if not r.failures else "FAIL",
                ]
            )
        print_table(rows)
        print("wall s: from the start signal to the last successful claim; calls include each")
        print("agent's final 'nothing claimable' call and any failed call; cpu ms/claim is the")
        print("user+sys of all agent processes divided by the claims (load-independent).")
        for r in races:
            if r.agents == 16:
                one = base.get(r.mode) or base.get("clones") or 0.0
                if one:
                    ratio = r.rate / one
                    verdict = "met" if ratio >= 0.5 else "MISSED"
                    print(
                        f"16-agent/1-agent rate ({r.mode}): {ratio:.2f} (target >= 0.5: {verdict})"
                    )
        for r in races:
            for line in r.errors:
                print(f"ANOMALY ({r.mode}, {r.agents} agents): {line}")
            for line in r.failures:
                ok = False
                print(f"\n!!!!! FAIL ({r.mode}, {r.agents} agents): {line} !!!!!\n")
    return ok


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=48, help="planned sessions per race")
    parser.add_argument("--repeat", type=int, default=15, help="latency samples per procedure")
    parser.add_argument("--agents", default="1,4,16", help="comma-separated agent counts")
    parser.add_argument("--modes", default="clones,shared", help="clones and/or shared")
    parser.add_argument("--files", type=int, default=0, help="extra files in the repository")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-race", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--no-pyc",
        action="store_true",
        help="inherit PYTHONDONTWRITEBYTECODE instead of caching bytecode in the temp dir",
    )
    parser.add_argument(
        "--gs",
        type=Path,
        default=Path(sys.executable).parent / "git-sessions",
        help="the git-sessions executable (default: next to this Python)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.gs.exists():
        print(f"error: {args.gs} not found (run with .venv/bin/python or pass --gs)")
        return 2
    root = Path(tempfile.mkdtemp(prefix="gs-bench-"))
    env = seal(root, args.gs, pyc=not args.no_pyc)
    git_version = env.git(root, "--version").strip()
    print(
        f"{git_version}; {os.cpu_count()} CPUs; load average {load()}; sessions={args.sessions}"
        f" repeat={args.repeat} files={args.files} bytecode cache={not args.no_pyc};"
        f" temp dir {root}"
    )
    print(f"code under test: {source_revision()}")
    latency: Latency | None = None
    races: list[Race] = []
    try:
        if not args.skip_latency:
            print("latency ...", flush=True)
            latency = measure_latency(env, root / "latency", args.repeat, args.files)
        if not args.skip_race:
            counts = [int(k) for k in args.agents.split(",")]
            for mode in args.modes.split(","):
                for k in counts:
                    if k == 1 and mode != "clones" and "clones" in args.modes:
                        continue  # one agent alone: its own clone and a shared one are the same
                    print(f"race: {mode}, {k} agent(s) ...", flush=True)
                    race = run_race(
                        env, root / f"race-{mode}-{k}", args.sessions, k, mode, args.files
                    )
                    races.append(race)
        ok = report(latency, races, args.repeat)
        print(f"load average at the end: {load()}")
    except BenchFailure as exc:
        print(f"\nFAIL: the benchmark could not run: {exc}")
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if not ok:
        print("\nFAIL: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
