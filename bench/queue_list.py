"""`git-sessions queue --json` over many planned sessions, cold and warm, against the floor.

The floor is `git ls-tree -r` of the same tree: listing what is there, no plan read. Cold means
no cache at all (every SESSION.md parsed); "plan cache only" means the plans are cached by blob
id but the last answer is not (as after main moved); warm means the same call again with main
where it was (the stored answer is printed, by the typer-free fast path of cli/fast.py; "typer
path" is the same call with GIT_SESSIONS_NO_FAST=1, paired in each round).

    .venv/bin/python bench/queue_list.py [--sessions 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _support import children_cpu

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "git_sessions"]
PLAN = (
    "---\ntitle: task {n}\ncapabilities: [{caps}]\npriority: {pri}\ndepends_on: []\n"
    "parent: null\ncreated: 2026-01-01\n---\n# task {n}\n\n## Acceptance criteria\n- [ ] done\n"
)


def sealed_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SESSION_"))}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", PYTHONPATH=str(ROOT / "src"))
    return env


NO_FAST = {"GIT_SESSIONS_NO_FAST": "1"}


def run(cmd: list[str], cwd: Path, env: dict[str, str], *, cpu: bool = False) -> float:
    """Wall time of one run, or with `cpu` its user+sys time."""
    start, used = time.perf_counter(), children_cpu()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return children_cpu() - used if cpu else time.perf_counter() - start


def setup(base: Path, count: int, env: dict[str, str]) -> Path:
    hub, repo = base / "hub.git", base / "repo"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(hub)], check=True, env=env)
    subprocess.run(["git", "clone", "-q", str(hub), str(repo)], check=True, env=env,
                   capture_output=True)  # fmt: skip
    (repo / "README.md").write_text("bench\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, check=True, env=env)
    subprocess.run([*CLI, "init"], cwd=repo, check=True, env=env, capture_output=True)
    subprocess.run(["git", "pull", "-q"], cwd=repo, check=True, env=env)
    planned = repo / "_AGENTS/sessions/planned"
    for n in range(count):
        folder = planned / f"2026-01-01-task-{n:05d}"
        folder.mkdir()
        caps = "python" if n % 3 else "rust"
        (folder / "SESSION.md").write_text(PLAN.format(n=n, caps=caps, pri=n % 7))
    subprocess.run(["git", "add", "_AGENTS"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "plan"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, check=True, env=env)
    return repo


def measure(repo: Path, env: dict[str, str], repeat: int) -> dict[str, list[float]]:
    """R rounds of: the floor, a cold queue, one with the plan cache only, a warm one, a warm
    one on the typer path; then the two warm ones' cpu time."""
    caches = repo / ".git" / "git-sessions"
    queue = [*CLI, "queue", "--json", "-c", "python"]
    run(queue, repo, env)  # compile bytecode once, like an installed package
    names = ("floor", "cold", "plans", "warm", "typer", "warm cpu", "typer cpu")
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeat):
        times["floor"].append(run(["git", "ls-tree", "-r", "main"], repo, env))
        shutil.rmtree(caches, ignore_errors=True)
        times["cold"].append(run(queue, repo, env))
        shutil.rmtree(caches / "queue")
        times["plans"].append(run(queue, repo, env))
        times["warm"].append(run(queue, repo, env))
        times["typer"].append(run(queue, repo, {**env, **NO_FAST}))
        times["warm cpu"].append(run(queue, repo, env, cpu=True))
        times["typer cpu"].append(run(queue, repo, {**env, **NO_FAST}, cpu=True))
    shutil.rmtree(caches)
    answers = [subprocess.run(queue, cwd=repo, env=extra, capture_output=True, check=True).stdout
               for extra in (env, env, {**env, **NO_FAST}, env)]  # fmt: skip
    if len(set(answers)) != 1:
        raise SystemExit("FAIL: a cached queue printed other bytes than the cold one")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="gs-bench-queue-"))
    try:
        env = sealed_env(base / "home")
        env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        print(f"building {args.sessions} planned sessions ...", flush=True)
        repo = setup(base, args.sessions, env)
        times = measure(repo, env, args.repeat)
        floor, cold, plans, warm = (times[k] for k in ("floor", "cold", "plans", "warm"))
        startup = statistics.median(run([*CLI, "--help"], repo, env) for _ in range(args.repeat))
        f, c, p, w = (statistics.median(x) for x in (floor, cold, plans, warm))
        print(f"\nqueue --json over {args.sessions} planned sessions (median of {args.repeat})")
        print(f"{'git ls-tree -r (floor)':<28}{f * 1000:9.1f} ms")
        print(f"{'git-sessions --help':<28}{startup * 1000:9.1f} ms  (process start-up)")
        print(f"{'queue --json, cold cache':<28}{c * 1000:9.1f} ms  ratio to floor {c / f:6.1f}")
        print(f"{'queue --json, plan cache':<28}{p * 1000:9.1f} ms  ratio to floor {p / f:6.1f}")
        print(f"{'queue --json, warm cache':<28}{w * 1000:9.1f} ms  ratio to floor {w / f:6.1f}")
        t = statistics.median(times["typer"])
        print(f"{'  on the typer path':<28}{t * 1000:9.1f} ms  ratio to floor {t / f:6.1f}")
        print(f"warm minus start-up: {(w - startup) * 1000:.1f} ms of work")
        print(f"target: cold < 500 ms: {'met' if c < 0.5 else 'MISSED'}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
