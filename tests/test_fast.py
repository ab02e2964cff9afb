"""The typer-free fast path (cli/fast.py) prints, to the byte, what the typer path prints.

Every case runs twice as a real process: with GIT_SESSIONS_NO_FAST=1 (the typer path), then
without it. Exit code, stdout and stderr must be identical, and the case must have been
answered by the path the table says (typer imported or not), so a fast path that silently
stopped answering fails here too.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, push_files

from git_sessions.cli import fast

# Runs main() like the console script and records, in a file, whether typer was imported.
PROBE = """
import json, sys
from git_sessions.cli import main
code = main(sys.argv[2:])
sys.stdout.flush()
with open(sys.argv[1], "w") as f:
    f.write(json.dumps("typer" in sys.modules))
sys.exit(code)
"""

PLAN = "---\ntitle: needs rust\ncapabilities: [rust]\npriority: 5\n---\n# plan\n"


def run(
    cwd: Path, args: list[str], extra: dict[str, str], flag: Path
) -> tuple[int, str, str, bool]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(flag), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **extra},
        timeout=120,
        check=False,
    )
    typer_loaded = json.loads(flag.read_text())
    flag.unlink()
    return proc.returncode, proc.stdout, proc.stderr, typer_loaded


def both_ways(
    cases: list[tuple[list[str], Path, dict[str, str], bool]], tmp_path: Path
) -> list[tuple[int, str, str]]:
    """Run each case on the typer path, then on the default path; assert they agree and
    that the default path was (or was not) the fast one, as the case says."""
    flag = tmp_path / "typer-loaded.json"
    results = []
    for args, cwd, extra, answered_fast in cases:
        *slow, slow_typer = run(cwd, args, {**extra, fast.OFF: "1"}, flag)
        *quick, quick_typer = run(cwd, args, extra, flag)
        assert slow_typer, (args, "GIT_SESSIONS_NO_FAST=1 must take the typer path")
        assert quick == slow, args
        assert quick_typer is not answered_fast, (args, "fast path expected" * answered_fast)
        results.append((quick[0], quick[1], quick[2]))
    return results


def test_queue_from_the_cache_is_the_typer_answer(hub: Hub, tmp_path: Path) -> None:
    add_planned(hub.repo, 3)
    push_files(hub.repo, {"_AGENTS/sessions/planned/2026-02-01-rust/SESSION.md": PLAN}, "rust")
    repo, parent = hub.repo, hub.repo.parent
    hits = [
        ["queue", "--json"],
        ["queue"],
        ["queue", "--all"],
        ["queue", "--json", "--all", "-c", "rust"],
        ["queue", "-crust", "--json", "--all"],
        ["queue", "--capability", "rust"],
        ["queue", "--capability=rust", "--all"],
        ["queue", "-c", "rust", "--capability", "python", "--json"],
    ]
    cases = [(args, repo, {}, True) for args in hits]
    cases += [
        (["-C", str(repo), "queue", "--json"], tmp_path, {}, True),
        ([f"-C{repo}", "queue"], tmp_path, {}, True),
        (["-C", repo.name, "queue", "--all"], parent, {}, True),
    ]
    misses = [
        ["queue", "--bogus"],
        ["queue", "extra"],
        ["queue", "-c"],
        ["queue", "--capability="],
        ["queue", "--json=yes"],
        ["queue", "--all", "-h"],
        ["queue", "--", "--json"],
        ["-C", str(repo), "-C", str(repo), "queue"],
        ["-C", str(tmp_path / "nowhere"), "queue"],
        ["-C"],
        ["quux"],
    ]
    cases += [(args, repo, {}, False) for args in misses]
    results = both_ways(cases, tmp_path)
    codes = [code for code, _, _ in results]
    assert codes[: len(hits) + 3] == [0] * (len(hits) + 3)
    assert "2026-02-01-rust" in results[3][1] and "2026-02-01-rust" not in results[0][1]
    bogus = results[len(hits) + 3]
    assert bogus[0] == 2 and bogus[2].startswith("error: ") and "--bogus" in bogus[2]


def test_env_in_a_worktree_is_the_typer_answer(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slug, other, tampered = add_planned(hub.repo, 3)
    worktrees = {}
    for name in (slug, tampered):
        code, out, err = cli(hub.repo, "claim", name, "--json", capsys=capsys)
        assert code == 0, err
        worktrees[name] = Path(json.loads(out)["worktree"])
    worktree = worktrees[slug]
    env_file = worktrees[tampered] / "_AGENTS/sessions/active" / tampered / ".session-env"
    env_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    env_file.write_text(env_file.read_text().replace("SESSION_PORT=", "SESSION_PORT=9"))
    inside = {"SESSION_ID": slug}
    cases = [
        (["env"], worktree, {}, True),
        (["env"], worktree / "_AGENTS", {}, True),
        (["env", slug], worktree, {}, True),
        (["env"], worktree, inside, True),
        (["-C", str(worktree), "env"], tmp_path, {}, True),
        (["env", "--json"], worktree, {}, False),
        (["env", "not-a-slug"], worktree, {}, False),
        (["env"], hub.repo, {}, False),
        (["env", slug], hub.repo, {}, False),
        (["env", "a", "b"], worktree, {}, False),
        (["env", "--bogus"], worktree, {}, False),
        (["env", other], worktree, {}, False),
        (["env"], worktrees[tampered], {}, False),
    ]
    results = both_ways(cases, tmp_path)
    code, out, _ = results[0]
    assert code == 0 and f"export SESSION_ID={slug}\n" in out
    assert all(r[:2] == results[0][:2] for r in results[1:5])
    assert [r[0] for r in results[6:8]] == [1, 1]
    assert results[8][0] == 0 and results[8][1] == out  # read from the hub, same lines
    assert results[12][0] == 1 and "SESSION_PORT" in results[12][2]


def test_only_the_exact_spellings_are_parsed_here() -> None:
    environ = {fast.OFF: "1"}
    assert fast.answer(["queue", "--json"], environ) is None
    assert fast.answer(["queue"], {"_GIT_SESSIONS_COMPLETE": "bash_complete"}) is None
    assert fast._root(["-C", "x", "queue", "--json"]) == ("x", "queue", ["--json"])
    assert fast._root(["-Cx", "env"]) == ("x", "env", [])
    assert fast._root(["queue"]) == (".", "queue", [])
    for args in (["--help"], ["-C"], ["-C", "x"], ["-C", "--json", "queue"], ["-C=x", "queue"]):
        assert fast._root(args) is None, args
    assert fast._value("-c", ["-c", "py"], 0) == ("py", 2)
    assert fast._value("-cpy", ["-cpy"], 0) == ("py", 1)
    assert fast._value("--capability=py", ["--capability=py"], 0) == ("py", 1)
    for option, rest in (("-c", ["-c"]), ("-c", ["-c", "--all"]), ("--cap", ["--cap", "x"])):
        assert fast._value(option, rest, 0) is None, option
