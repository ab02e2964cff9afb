"""What hostile content costs: `check`, `list` and `claim` on a hub full of it, and how fast the
YAML and template bombs are refused.

The hub holds N planned sessions, a tenth of them hostile (symlinked worklogs, `.git` entries,
submodule entries, `priority: .inf`, billion-laughs front matter, garbage lock lines), pushed
with plain git. The floor for reading is `git ls-tree -r` of the same tree; for the refusals it
is parsing the same text without the budget where that terminates (a plain `yaml.safe_load`).

    .venv/bin/python bench/hostile.py [--sessions 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# bench/queue.py builds the same hub (`import queue` would find the standard library's)
_spec = importlib.util.spec_from_file_location("bench_queue", Path(__file__).with_name("queue.py"))
assert _spec is not None and _spec.loader is not None
_queue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_queue)
CLI, run, sealed_env, setup = _queue.CLI, _queue.run, _queue.sealed_env, _queue.setup

LAUGHS = "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9) if p else 'lol, lol, lol, lol, lol, lol, lol, lol'}]\n"
    for p, n in zip(["", "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi", strict=True)
)


def poison(repo: Path, count: int, env: dict[str, str]) -> None:
    """Make every tenth planned session hostile, in one plain-git commit."""
    import subprocess

    planned = repo / "_AGENTS/sessions/planned"
    for n in range(0, count, 10):
        folder = planned / f"2026-01-01-task-{n:05d}"
        kind = (n // 10) % 4
        if kind == 0:
            (folder / "worklog.md").symlink_to("/etc/passwd")
        elif kind == 1:
            (folder / "SESSION.md").write_text("---\npriority: .inf\n---\n")
        elif kind == 2:
            (folder / "SESSION.md").write_text(f"---\n{LAUGHS}title: *i\n---\n")
        else:
            (folder / "SESSION.md").write_text(f"---\npriority: {'9' * 5000}\n---\n")
    lock = repo / "_AGENTS/sessions/sessions.lock"
    lock.write_text(lock.read_text() + "garbage\n2020-01-01-ghost:1\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "hostile"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, check=True, env=env)


def refusal_times(repeat: int) -> list[tuple[str, float, float]]:
    """(what, ours in seconds, floor in seconds), in-process."""
    import yaml

    from git_sessions import catalog, templates, yamltext
    from git_sessions.errors import BadInput

    rows = []
    plan = f"---\n{LAUGHS}title: *i\n---\n"
    ours = min(_time(lambda: catalog.parse_fields(plan)) for _ in range(repeat))
    floor = min(_time(lambda: yaml.safe_load(LAUGHS)) for _ in range(repeat))
    rows.append(("billion laughs front matter refused", ours, floor))
    ours = min(_time(lambda: _refused(yamltext.Refused, yamltext.load, LAUGHS)) for _ in range(3))
    rows.append(("billion laughs YAML refused (yamltext)", ours, floor))
    bomb = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"

    def render() -> None:
        _refused(BadInput, templates.render, "SESSION.md.j2", {}, lambda _: bomb)

    rows.append(("nested-loop template refused", _time(render), float("nan")))
    return rows


def _refused(kind: type[Exception], function: object, *args: object) -> None:
    try:
        function(*args)  # type: ignore[operator]
    except kind:
        return
    raise AssertionError("not refused")


def _time(function: object) -> float:
    start = time.perf_counter()
    function()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="gs-bench-hostile-"))
    try:
        env = sealed_env(base / "home")
        env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
        print(f"building {args.sessions} planned sessions, a tenth hostile ...", flush=True)
        repo = setup(base, args.sessions, env)
        poison(repo, args.sessions, env)
        commands = {
            "check --json": [*CLI, "check", "--json"],
            "list --json": [*CLI, "list", "--json"],
            "queue --json": [*CLI, "queue", "--json"],
        }
        for command in commands.values():  # compile bytecode once; check exits 3 here
            run_any(command, repo, env)
        floor = statistics.median(
            run(["git", "ls-tree", "-r", "main"], repo, env) for _ in range(args.repeat)
        )
        print(f"\nwhole commands, median of {args.repeat} (floor: git ls-tree -r)")
        print(f"{'git ls-tree -r (floor)':<40}{floor * 1000:9.1f} ms")
        for name, command in commands.items():
            took = statistics.median(run_any(command, repo, env) for _ in range(args.repeat))
            print(f"{name:<40}{took * 1000:9.1f} ms  ratio to floor {took / floor:6.1f}")
        print("\nrefusals, in-process (floor: yaml.safe_load of the same text, unbudgeted)")
        for what, ours, floor_s in refusal_times(args.repeat):
            extra = f"  floor {floor_s * 1e3:8.3f} ms" if floor_s == floor_s else ""
            print(f"{what:<40}{ours * 1000:9.3f} ms{extra}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


def run_any(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    import subprocess

    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
