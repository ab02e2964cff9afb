"""The cached answer of `queue`: the same bytes as the ordinary path, and never a stale one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, git, push_files

from git_sessions import queuecache
from test_startup import loaded

PLAN = "---\ntitle: {title}\ncapabilities: [{caps}]\npriority: {pri}\n---\n# plan\n"
OPTIONS = (
    ("queue", "--json"),
    ("queue",),
    ("queue", "--all"),
    ("queue", "--json", "--all", "-c", "rust"),
    ("queue", "-c", "rust", "-c", "python"),
)


def _question(repo: Path, args: tuple[str, ...]) -> queuecache.Question:
    caps = tuple(args[i + 1] for i, a in enumerate(args) if a == "-c")
    return queuecache.Question(repo.resolve(), caps, "--all" in args, "--json" in args)


def _entries(repo: Path) -> list[Path]:
    folder = repo / ".git" / "git-sessions" / "queue"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _slow(
    repo: Path, args: tuple[str, ...], capsys: pytest.CaptureFixture[str], start: Path | None = None
) -> str:
    """The ordinary path's answer: with no cache entry at all."""
    shutil.rmtree(repo / ".git" / "git-sessions" / "queue", ignore_errors=True)
    code, out, err = cli(start or repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def _plans(hub: Hub) -> None:
    add_planned(hub.repo, 3)
    push_files(
        hub.repo,
        {
            "_AGENTS/sessions/planned/2026-02-01-needs-rust/SESSION.md": PLAN.format(
                title="needs rust", caps="rust", pri=5
            ),
            "_AGENTS/sessions/planned/2026-02-02-odd-title/SESSION.md": PLAN.format(
                title="'tab\\there'", caps="", pri=1
            ),
        },
        "more plans",
    )


def test_the_cached_answer_is_the_ordinary_one_byte_for_byte(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    _plans(hub)
    for args in OPTIONS:
        slow = _slow(hub.repo, args, capsys)
        assert queuecache.lookup(_question(hub.repo, args), os.environ) == slow, args
        code, again, _ = cli(hub.repo, *args, capsys=capsys)
        assert (code, again) == (0, slow), args
    _slow(hub.repo, OPTIONS[0], capsys)
    for args in OPTIONS:
        cli(hub.repo, *args, capsys=capsys)
    assert len(_entries(hub.repo)) == len(OPTIONS) < queuecache.KEEP  # one per set of options


def test_a_cached_queue_does_not_import_pygit2(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    _plans(hub)
    code, names = loaded(hub.repo, "queue", "--json")  # the ordinary path, which stores it
    assert code == 0 and "pygit2" in names
    heavy = ("pydantic", "pygit2", "jinja2", "yaml", "typer", "dataclasses", "hashlib", "shutil")
    code, names = loaded(hub.repo, "queue", "--json", heavy=heavy)
    assert code == 0
    assert names == set(), names  # nor typer: cli/fast.py answers it


# What a cached queue must not import: each costs it 1-4 ms of its ~20 ms (python itself
# starts in ~9 ms). Recorded from a bare interpreter (nothing imported before main()).
LIGHT_PROBE = """
import sys
before = set(sys.modules)
from git_sessions.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
added = sorted(set(sys.modules) - before)
sys.stderr.write("ADDED " + " ".join(added) + "\\n")
sys.exit(code)
"""
STDLIB_NOT_NEEDED = ("typing", "pathlib", "json", "re", "contextlib", "collections", "enum")


def test_a_cached_queue_imports_no_typing_pathlib_json_or_re(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    _plans(hub)
    slow = _slow(hub.repo, ("queue", "--json"), capsys)
    proc = subprocess.run(
        [sys.executable, "-c", LIGHT_PROBE, "queue", "--json"],
        cwd=hub.repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, slow), proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("ADDED ")]
    added = set(line.split()[1:])
    assert "git_sessions.queuecache" in added  # it did answer from the cache
    assert added.isdisjoint(STDLIB_NOT_NEEDED), sorted(added & set(STDLIB_NOT_NEEDED))


def test_main_moving_invalidates_it(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    _plans(hub)
    args = ("queue", "--json")
    before = _slow(hub.repo, args, capsys)
    push_files(
        hub.repo,
        {
            "_AGENTS/sessions/planned/2026-03-01-late/SESSION.md": PLAN.format(
                title="late", caps="", pri=9
            )
        },
        "a new plan",
    )
    assert queuecache.lookup(_question(hub.repo, args), os.environ) is None
    code, after, _ = cli(hub.repo, *args, capsys=capsys)
    assert code == 0 and "2026-03-01-late" in after and "2026-03-01-late" not in before
    assert after == _slow(hub.repo, args, capsys)


def test_a_changed_plan_invalidates_it(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    _plans(hub)
    args = ("queue", "--json", "--all", "-c", "rust")
    assert "needs rust" in _slow(hub.repo, args, capsys)
    path = "_AGENTS/sessions/planned/2026-02-01-needs-rust/SESSION.md"
    push_files(hub.repo, {path: PLAN.format(title="needs go", caps="go", pri=5)}, "replan")
    code, out, _ = cli(hub.repo, *args, capsys=capsys)
    assert code == 0 and "needs go" in out and "needs rust" not in out
    assert out == _slow(hub.repo, args, capsys)


def test_packed_refs_are_read_too(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    _plans(hub)
    args = ("queue", "--json")
    slow = _slow(hub.repo, args, capsys)
    git(hub.hub, "pack-refs", "--all", "--prune")
    assert not (hub.hub / "refs" / "heads" / "main").exists()
    assert queuecache.lookup(_question(hub.repo, args), os.environ) == slow
    push_files(hub.repo, {"README.md": "moved\n"}, "main moves")  # a loose ref again
    assert queuecache.lookup(_question(hub.repo, args), os.environ) is None
    git(hub.hub, "pack-refs", "--all", "--prune")  # now only packed, at the new commit
    assert queuecache.lookup(_question(hub.repo, args), os.environ) is None
    code, out, _ = cli(hub.repo, *args, capsys=capsys)
    assert code == 0 and out != slow and out == _slow(hub.repo, args, capsys)


def _other_tip(data: bytes) -> bytes:
    """The entry with its tip field (main's commit) reversed: same length, still hex."""
    found = queuecache._decode(data, queuecache.HEADER)
    assert found is not None
    tip = found[0][3]
    assert len(tip) == 40
    return data.replace(b"40:%s\n" % tip, b"40:%s\n" % tip[::-1], 1)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: b"not a header\n" + data,
        lambda data: b"",
        lambda data: _other_tip(data),  # well formed, but stored at another commit of main
        lambda data: data + b"tail",
        lambda data: data.replace(b"needs rust", b"needs rusT"),  # same length, other bytes
        lambda data: b"9" * 19 + b":" + data,  # a field longer than the entry
        lambda data: b"-1:\n" + data,
        lambda data: data.replace(b"\n", b"\r", 1),
    ],
)
def test_a_corrupt_entry_is_not_used(
    hub: Hub, capsys: pytest.CaptureFixture[str], damage: object
) -> None:
    _plans(hub)
    args = ("queue", "--json", "--all")
    slow = _slow(hub.repo, args, capsys)
    (entry,) = _entries(hub.repo)
    entry.write_bytes(damage(entry.read_bytes()))  # type: ignore[operator]
    assert queuecache.lookup(_question(hub.repo, args), os.environ) is None
    code, out, _ = cli(hub.repo, *args, capsys=capsys)
    assert (code, out) == (0, slow)
    assert queuecache.lookup(_question(hub.repo, args), os.environ) == slow  # rewritten


def test_a_changed_configuration_invalidates_it(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    _plans(hub)
    args = ("queue", "--json")
    _slow(hub.repo, args, capsys)
    config = hub.repo / "_AGENTS" / "config.yaml"
    config.write_text(config.read_text().replace("capabilities: []", "capabilities: [rust]"))
    assert queuecache.lookup(_question(hub.repo, args), os.environ) is None
    code, out, _ = cli(hub.repo, *args, capsys=capsys)
    assert code == 0 and "needs rust" in out


def test_another_hub_invalidates_it(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    _plans(hub)
    args = ("queue", "--json")
    slow = _slow(hub.repo, args, capsys)
    other = hub.hub.parent / "other.git"
    shutil.copytree(hub.hub, other, symlinks=True)
    git(hub.repo, "remote", "set-url", "origin", str(other))
    assert queuecache.lookup(_question(hub.repo, args), os.environ) is None
    code, out, _ = cli(hub.repo, *args, capsys=capsys)
    assert (code, out) == (0, slow)  # the same commit, but read from the other hub
    push_files(hub.repo, {"README.md": "other\n"}, "moves the other hub")
    assert queuecache.lookup(_question(hub.repo, args), os.environ) is None


def test_the_environment_is_part_of_it(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _plans(hub)
    args = ("queue", "--json")
    _slow(hub.repo, args, capsys)
    monkeypatch.setenv("GIT_SESSIONS_TIMEOUT", "forever")
    assert queuecache.lookup(_question(hub.repo, args), os.environ) is None
    code, _, err = cli(hub.repo, *args, capsys=capsys)
    assert code == 1 and "GIT_SESSIONS_TIMEOUT" in err  # what the ordinary path says


def test_from_a_worktree_and_a_subfolder(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    _plans(hub)
    code, _, err = cli(hub.repo, "claim", "2026-01-01-task-000", "--json", capsys=capsys)
    assert code == 0, err
    worktree = hub.repo / ".worktrees" / "2026-01-01-task-000"
    for start in (worktree, hub.repo / "_AGENTS" / "sessions"):
        args = ("queue", "--json")
        slow = _slow(hub.repo, args, capsys, start)
        assert "2026-01-01-task-000" not in slow
        assert queuecache.lookup(_question(start, args), os.environ) == slow
        code, again, _ = cli(start, *args, capsys=capsys)
        assert (code, again) == (0, slow)


def test_the_coordination_layout_is_cached_on_its_branch(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    _plans(hub)
    code, _, err = cli(hub.repo, "migrate", "--protocol-branch", "sessions", capsys=capsys)
    assert code == 0, err
    git(hub.repo, "pull", "-q", "--ff-only")
    args = ("queue", "--json")
    slow = _slow(hub.repo, args, capsys)
    assert '"main": "' + git(hub.hub, "rev-parse", "sessions").strip() in slow
    assert queuecache.lookup(_question(hub.repo, args), os.environ) == slow
    push_files(hub.repo, {"README.md": "code moves main\n"}, "code on main")
    assert queuecache.lookup(_question(hub.repo, args), os.environ) == slow  # not its branch
    code, _, err = cli(hub.repo, "new", "late", "plan", "--date", "2026-03-03", capsys=capsys)
    assert code == 0, err
    assert cli(hub.repo, "ready", "2026-03-03-late-plan", capsys=capsys)[0] == 0
    assert queuecache.lookup(_question(hub.repo, args), os.environ) is None
    code, out, _ = cli(hub.repo, *args, capsys=capsys)
    assert code == 0 and "2026-03-03-late-plan" in out and out == _slow(hub.repo, args, capsys)


def test_a_broken_plan_cache_is_an_empty_one(tmp_path: Path) -> None:
    from git_sessions import plancache

    path = plancache.cache_path(tmp_path)
    path.parent.mkdir()
    for broken in ("", "{not json", "[" * 100_000 + "]" * 100_000, '{"version": 0}'):
        path.write_text(broken)
        assert plancache.load(path) == {}
