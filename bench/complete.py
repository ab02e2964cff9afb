"""Benchmark `git-sessions complete` against the same ending done with plain git.

Run:  .venv/bin/python bench/complete.py [--files N] [--repeat R]

Everything runs against bare hubs on the local filesystem in a temporary directory, with a sealed
environment (HOME in the temp dir holding a .gitconfig with user.name/email, GIT_CONFIG_NOSYSTEM=1).
Every measured session gets a hub of its own, built the same way (`git-sessions init`, one planned
session written with plain git, `--base-files` extra files), so each ending starts from the same
repository size whatever ran before it.

Each measured session is prepared before its timer starts: `git-sessions claim SLUG` (which makes
.worktrees/SLUG on branch session/SLUG), N new small text files committed in that worktree as a few
commits (one directory each), and a `git pull` of the main checkout. Then one of:

- ours:  the whole process `git-sessions complete SLUG` (squash merge on the hub, patch, drift
  report, archive, worktree and branch removal);
- plain: real `git` subprocesses doing the equivalent: `git format-patch CLAIM..session/SLUG` into
  a file, `git checkout main`, `git pull`, `git merge --squash session/SLUG`, `git commit`,
  `git push`, `git worktree remove .worktrees/SLUG`, `git branch -D session/SLUG`.

The two alternate (the order swaps every round) R times each; medians and the ratio ours/plain are
printed. Every run is verified afterwards (exit code, hub main holds exactly the branch's files,
archive/patch/drift/lock for ours, no worktree or branch left behind); anything wrong prints FAIL
and the script exits 1. `--profile` runs one more `complete` under cProfile and prints hotspots.
This file is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
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
    seal,
    source_revision,
)

KINDS = ("ours", "plain")
PLAIN_STEPS = (
    "format-patch",
    "checkout main",
    "pull",
    "merge --squash",
    "commit",
    "push",
    "worktree remove",
    "branch -D",
)


# --- setup -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hub:
    path: Path
    repo: Path  # the clone the procedure runs in (the "main checkout")
    slug: str  # its one planned session


def build_hub(env: Env, root: Path, n: int, base_files: int) -> Hub:
    """A bare hub with `git-sessions init` done and one planned session written with plain git."""
    root.mkdir(parents=True)
    hub, repo = env.initialised(root, "clone", base_files)
    slug = f"{DATE}-task-{n:03d}"
    folder = repo / SESSIONS / "planned" / slug
    folder.mkdir(parents=True)
    (folder / "SESSION.md").write_text(SESSION_MD.format(n=f"{n:03d}"))
    for name, text in OTHER_FILES.items():
        (folder / name).write_text(text)
    env.git(repo, "add", SESSIONS)
    env.git(repo, "commit", "-q", "-m", f"plan {slug}")
    env.git(repo, "push", "-q", "origin", "main")
    return Hub(hub, repo, slug)


@dataclass(frozen=True)
class Session:
    slug: str
    claim: str  # the commit that claimed it (where session/<slug> starts)
    tip: str  # session/<slug> after the work commits
    work_dir: str  # the folder (relative to the repository root) holding the session's files
    work_tree: str  # that folder's tree id at the tip
    main_before: str  # the hub's main when the timer starts


def prepare(env: Env, hub: Hub, files: int, commits: int) -> Session:
    """Claim the hub's session, commit `files` new files in its worktree, pull main."""
    slug = hub.slug
    proc = env.run([env.gs, "claim", slug, "--json"], hub.repo)
    data = json.loads(proc.stdout)
    claim = str(data["commit"])
    wt = Path(str(data["worktree"]))
    if not wt.is_dir():
        raise BenchFailure(f"claim {slug} made no worktree at {wt}")
    work_dir = f"work/{slug}"
    for c in range(commits):
        sub = f"{work_dir}/d{c}"
        for i in range(c, files, commits):
            path = wt / sub / f"f{i:05d}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{slug} file {i}\nline two\nline three\n")
        env.git(wt, "add", sub)
        env.git(wt, "commit", "-q", "-m", f"[{slug}] feat: part {c + 1} of {commits}")
    tip = env.git(hub.repo, "rev-parse", f"refs/heads/session/{slug}").strip()
    work_tree = env.git(hub.repo, "rev-parse", f"{tip}:{work_dir}").strip()
    env.git(hub.repo, "pull", "-q", "origin", "main")
    main_before = env.git(hub.repo, "rev-parse", "HEAD").strip()
    return Session(slug, claim, tip, work_dir, work_tree, main_before)


# --- the two procedures ------------------------------------------------------------------------


def ours(env: Env, hub: Hub, s: Session) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    proc = env.run([env.gs, "complete", s.slug, "--json"], hub.repo, check=False)
    return proc, time.perf_counter() - start


def plain(env: Env, hub: Hub, s: Session, patches: Path) -> tuple[dict[str, float], float]:
    """The ending with plain git; returns each step's time and the whole sequence's."""
    repo, branch = hub.repo, f"session/{s.slug}"
    steps: dict[str, float] = {}
    start = time.perf_counter()
    mark = start

    def step(name: str, *args: str) -> None:
        nonlocal mark
        env.git(repo, *args)
        now = time.perf_counter()
        steps[name] = now - mark
        mark = now

    with (patches / f"{s.slug}.patch").open("w") as fh:
        proc = subprocess.run(
            ["git", "format-patch", "--stdout", f"{s.claim}..{branch}"],
            cwd=repo,
            env=env.vars,
            stdout=fh,
            stderr=subprocess.PIPE,
            text=True,
        )
    if proc.returncode != 0:
        raise BenchFailure(f"plain: git format-patch exited {proc.returncode}: {proc.stderr}")
    mark = time.perf_counter()
    steps["format-patch"] = mark - start
    step("checkout main", "checkout", "-q", "main")
    step("pull", "pull", "-q", "origin", "main")
    step("merge --squash", "merge", "-q", "--squash", branch)
    step("commit", "commit", "-q", "-m", f"[{s.slug}] feat: squash-merge the session")
    step("push", "push", "-q", "origin", "main")
    step("worktree remove", "worktree", "remove", f".worktrees/{s.slug}")
    step("branch -D", "branch", "-q", "-D", branch)
    return steps, time.perf_counter() - start


# --- verification ------------------------------------------------------------------------------


def leftovers(env: Env, hub: Hub, s: Session) -> list[str]:
    """Worktree folders, worktree registrations and branches the ending should have removed."""
    found = []
    if (hub.repo / ".worktrees" / s.slug).exists():
        found.append(f"worktree folder .worktrees/{s.slug} still exists")
    if (hub.repo / ".git" / "worktrees" / s.slug).exists():
        found.append(f".git/worktrees/{s.slug} still registered")
    listed = env.git(hub.repo, "worktree", "list", "--porcelain")
    if f"/.worktrees/{s.slug}\n" in listed:
        found.append(f"`git worktree list` still lists .worktrees/{s.slug}")
    ref = f"refs/heads/session/{s.slug}"
    if env.run(["git", "rev-parse", "-q", "--verify", ref], hub.repo, check=False).returncode == 0:
        found.append(f"local branch session/{s.slug} still exists")
    return found


def check_main(env: Env, hub: Hub, s: Session) -> tuple[str, list[str]]:
    """The hub's main after an ending: one new commit holding the branch's files (ours is
    followed by its end record, which adds only `.ended`)."""
    problems: list[str] = []
    main = env.hub_git(hub.path, "rev-parse", "main").stdout.strip()
    subject = env.hub_git(hub.path, "log", "-1", "--format=%s", main).stdout
    if f"[{s.slug}] record: ended in " in subject:
        added = env.hub_git(hub.path, "diff", "--name-only", f"{main}^", main).stdout.split()
        if added != [f"{SESSIONS}/completed/{s.slug}/.ended"]:
            problems.append(f"the end record {main[:10]} changes {added}")
        main = env.hub_git(hub.path, "rev-parse", f"{main}^").stdout.strip()
    parents = env.hub_git(hub.path, "rev-parse", f"{main}^@").stdout.split()
    if parents != [s.main_before]:
        problems.append(f"main {main[:10]} has parents {parents}, expected [{s.main_before}]")
    found = env.hub_git(hub.path, "rev-parse", "--verify", "-q", f"{main}:{s.work_dir}")
    got = found.stdout.strip() if found.returncode == 0 else "missing"
    if got != s.work_tree:
        problems.append(f"main:{s.work_dir} is {got}, the branch has {s.work_tree}")
    # Nothing else from the branch may be missing from main (the whole diff, not only work/).
    # The clone has both commits (the hub need not have the branch tip), so compare there.
    env.git(hub.repo, "fetch", "-q", "origin", "main")
    diff = env.run(
        ["git", "diff", "--name-only", s.tip, main, "--", f":(top,exclude){SESSIONS}"],
        hub.repo,
        check=False,
    )
    if diff.returncode != 0 or diff.stdout.strip():
        problems.append(
            f"main differs from the branch tip outside {SESSIONS} (git diff exited "
            f"{diff.returncode}): {' '.join((diff.stdout + diff.stderr).split()[:5])}"
        )
    return main, problems


def check_ours(
    env: Env, hub: Hub, s: Session, proc: subprocess.CompletedProcess[str], root: Path
) -> list[str]:
    if proc.returncode != 0:
        failed = f"`git-sessions complete {s.slug}` exited {proc.returncode}: {proc.stderr.strip()}"
        return [failed, *leftovers(env, hub, s)]
    main, problems = check_main(env, hub, s)
    data = json.loads(proc.stdout)
    if data.get("commit") != main:
        problems.append(f"complete reported commit {data.get('commit')}, hub main is {main}")
    if not data.get("worktree_removed"):
        problems.append("complete reported worktree_removed false")
    done = f"{SESSIONS}/completed/{s.slug}"
    for name in (f"{s.slug}.patch", "drift.md", "SESSION.md", "worklog.md"):
        if env.hub_git(hub.path, "cat-file", "-e", f"{main}:{done}/{name}").returncode != 0:
            problems.append(f"main lacks {done}/{name}")
    active = f"{main}:{SESSIONS}/active/{s.slug}"
    if env.hub_git(hub.path, "cat-file", "-e", active).returncode == 0:
        problems.append(f"{SESSIONS}/active/{s.slug} is still on main")
    lock = env.hub_git(hub.path, "show", f"{main}:{LOCK}").stdout
    if any(line.split(":")[0] == s.slug for line in lock.splitlines()):
        problems.append(f"{s.slug} is still in sessions.lock")
    if env.hub_git(hub.path, "rev-parse", "-q", "--verify", f"refs/heads/session/{s.slug}").stdout:
        problems.append(f"branch session/{s.slug} is still on the hub")
    problems += patch_problems(env, hub, s, main, root)
    return problems + leftovers(env, hub, s)


def patch_problems(env: Env, hub: Hub, s: Session, main: str, root: Path) -> list[str]:
    """The stored code patch, applied to the squash commit's parent, must give main's code (the
    tree outside _AGENTS/), and it must name that parent as its base."""
    text = env.hub_git(hub.path, "show", f"{main}:{SESSIONS}/completed/{s.slug}/{s.slug}.patch")
    if f"base-commit: {s.main_before}" not in text.stdout:
        return [f"the stored patch does not name its base {s.main_before[:10]}"]
    patch = root / f"ours-{s.slug}.patch"
    patch.write_text(text.stdout)
    index_env = {**env.vars, "GIT_INDEX_FILE": str(root / f"index-{s.slug}")}

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=hub.repo, env=index_env, capture_output=True, text=True
        )

    git("read-tree", s.main_before)
    applied = git("apply", "--cached", str(patch))
    if applied.returncode != 0:
        return [f"the stored patch does not apply to its base: {applied.stderr[:300]}"]
    tree = git("write-tree").stdout.strip()
    diff = git("diff", "--name-only", tree, main, "--", ":(top,exclude)_AGENTS").stdout.strip()
    if diff:
        return [f"the stored patch applied to its base differs from main in: {diff[:200]}"]
    return []


def check_plain(env: Env, hub: Hub, s: Session) -> list[str]:
    _, problems = check_main(env, hub, s)
    return problems + leftovers(env, hub, s)


# --- driver ------------------------------------------------------------------------------------


@dataclass
class Results:
    wall: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    steps: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in PLAIN_STEPS})
    failures: list[str] = field(default_factory=list)
    setup: list[float] = field(default_factory=list)


def run_one(
    env: Env, kind: str, n: int, args: argparse.Namespace, root: Path, res: Results
) -> tuple[float, float, dict[str, float]]:
    """Prepare a fresh hub and session `n`, end it with `kind` (timed), verify, clean up."""
    t0 = time.perf_counter()
    hub = build_hub(env, root / f"s{n:03d}", n, args.base_files)
    s = prepare(env, hub, args.files, args.commits)
    res.setup.append(time.perf_counter() - t0)
    cpu = children_cpu()
    if kind == "ours":
        proc, wall = ours(env, hub, s)
        used = children_cpu() - cpu
        problems = check_ours(env, hub, s, proc, root)
        steps: dict[str, float] = {}
    else:
        steps, wall = plain(env, hub, s, root / "patches")
        used = children_cpu() - cpu
        problems = check_plain(env, hub, s)
    # Either way the protocol on main must still be healthy (plain leaves the session active).
    check = env.run([env.gs, "check"], hub.repo, check=False)
    if check.returncode != 0:
        problems.append(f"git-sessions check exited {check.returncode}: {check.stdout.strip()}")
    res.failures += [f"{kind} {s.slug} (hub {hub.path}): {p}" for p in problems]
    if not args.keep and not problems:
        shutil.rmtree(hub.path.parent, ignore_errors=True)
    return wall, used, steps


def profile(env: Env, n: int, args: argparse.Namespace, root: Path) -> None:
    """One more `complete`, under cProfile: the top functions by own time and cumulative time."""
    hub = build_hub(env, root / f"s{n:03d}", n, args.base_files)
    s = prepare(env, hub, args.files, args.commits)
    out = root / "complete.prof"
    python = Path(sys.executable)
    cmd: list[str | Path] = [python, "-m", "cProfile", "-o", out, "-m", "git_sessions"]
    cmd += ["complete", s.slug]
    start = time.perf_counter()
    proc = env.run(cmd, hub.repo, check=False)
    wall = time.perf_counter() - start
    print(f"\n== profile: `git-sessions complete` under cProfile: {wall * 1000:.0f} ms wall ==")
    if proc.returncode != 0:
        print(f"FAIL: profiled complete exited {proc.returncode}: {proc.stderr.strip()}")
        return
    for key, title in (("tottime", "own time"), ("cumulative", "cumulative time")):
        print(f"\n-- top {args.profile_top} by {title} --")
        stats = pstats.Stats(str(out))
        if args.strip_dirs:
            stats.strip_dirs()
        stats.sort_stats(key).print_stats(args.profile_top)


def median_ms(values: Sequence[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f}" if values else "       -"


def report(res: Results, args: argparse.Namespace) -> None:
    print(
        f"\n== complete: whole wall time, {args.files} files in {args.commits} commits, "
        f"R={args.repeat} each, alternating =="
    )
    print(f"{'procedure':<10} {'median ms':>9} {'min ms':>8} {'max ms':>8} {'cpu median ms':>13}")
    for kind in KINDS:
        wall = res.wall[kind]
        if not wall:
            continue
        print(
            f"{kind:<10} {median_ms(wall):>9} {min(wall) * 1000:8.1f} {max(wall) * 1000:8.1f}"
            f" {median_ms(res.cpu[kind]):>13}"
        )
    print("cpu: user+sys of every process the procedure started (git, Python)")
    if res.wall["ours"] and res.wall["plain"]:
        ratio = statistics.median(res.wall["ours"]) / statistics.median(res.wall["plain"])
        print(f"ratio ours/plain (median wall): {ratio:.2f}")
        samples = ", ".join(
            f"{o * 1000:.0f}/{p * 1000:.0f}"
            for o, p in zip(res.wall["ours"], res.wall["plain"], strict=True)
        )
        print(f"samples ours/plain ms, in round order: {samples}")
    print(
        "\nplain steps, median ms: "
        + ", ".join(
            f"{name} {statistics.median(v) * 1000:.1f}" for name, v in res.steps.items() if v
        )
    )
    if res.setup:
        print(
            f"setup per session (fresh hub, claim, commits, pull; not measured): median "
            f"{statistics.median(res.setup) * 1000:.0f} ms"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=1000, help="new files on each session branch")
    parser.add_argument("--commits", type=int, default=4, help="commits (and folders) they span")
    parser.add_argument("--repeat", type=int, default=5, help="samples per procedure")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first")
    parser.add_argument("--base-files", type=int, default=0, help="files on main before it all")
    parser.add_argument("--profile", action="store_true", help="also profile one complete")
    parser.add_argument("--profile-top", type=int, default=25, help="rows per profile table")
    parser.add_argument(
        "--strip-dirs", action="store_true", help="profile: file names without their folders"
    )
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
    args = parser.parse_args(argv)
    args.gs = args.gs.absolute()  # the procedures run in other folders
    if args.files < 1 or args.commits < 1 or args.repeat < 1 or args.warmup < 0:
        parser.error("--files, --commits and --repeat must be >= 1, --warmup >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.gs.exists():
        print(f"error: {args.gs} not found (run with .venv/bin/python or pass --gs)")
        return 2
    root = Path(tempfile.mkdtemp(prefix="gs-bench-complete-"))
    env = seal(root, args.gs, pyc=not args.no_pyc)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{env.git(root, '--version').strip()}; {os.cpu_count()} CPUs; load average {load};"
        f" files={args.files} commits={args.commits} repeat={args.repeat} warmup={args.warmup}"
        f" base-files={args.base_files}; temp dir {root}"
    )
    print(f"code under test: {source_revision()}")
    rounds = args.warmup + args.repeat
    res = Results()
    try:
        (root / "patches").mkdir()
        n = 0
        for r in range(rounds):
            warm = r < args.warmup
            order = KINDS if r % 2 == 0 else KINDS[::-1]
            for kind in order:
                n += 1
                wall, cpu, steps = run_one(env, kind, n, args, root, res)
                if warm:
                    continue
                res.wall[kind].append(wall)
                res.cpu[kind].append(cpu)
                for name, seconds in steps.items():
                    res.steps[name].append(seconds)
            label = "warm-up round" if warm else "round"
            print(f"{label} {r + 1}/{rounds} done", flush=True)
        report(res, args)
        if args.profile:
            profile(env, n + 1, args, root)
        print("load average at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    except BenchFailure as exc:
        print(f"\nFAIL: the benchmark could not run: {exc}")
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    for line in res.failures:
        print(f"FAIL: {line}")
    return 1 if res.failures else 0


if __name__ == "__main__":
    sys.exit(main())
