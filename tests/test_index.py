"""The journal index: INDEX.md follows every transition in the same commit; `journal` prints it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Hub, cli, git, push_files

from git_sessions.index import INDEX_FILE, Row, update_rows

Capsys = pytest.CaptureFixture[str]


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def index(hub: Hub) -> str:
    return git(hub.hub, "show", f"main:{INDEX_FILE}")


def row_of(hub: Hub, slug: str) -> str:
    [line] = [line for line in index(hub).splitlines() if f"[{slug}]" in line]
    return line


def test_every_transition_keeps_its_row_current(hub: Hub, capsys: Capsys) -> None:
    a = ok(hub.repo, "new", "alpha", "--date", "2025-10-14", capsys=capsys).strip()
    b = ok(hub.repo, "new", "beta", "--date", "2025-10-13", capsys=capsys).strip()
    assert git(hub.hub, "show", "--stat", "--format=", "main").count(INDEX_FILE) == 1
    assert row_of(hub, a) == f"| 2025-10-14 | [{a}](drafting/{a}/) | alpha | drafting | - | - |"
    lines = [line for line in index(hub).splitlines() if line.startswith("| 2025")]
    assert [line.split(" | ")[0] for line in lines] == ["| 2025-10-13", "| 2025-10-14"]  # by date
    ok(hub.repo, "ready", a, capsys=capsys)
    ok(hub.repo, "claim", a, "--agent", "Ana", "--email", "ana@x", capsys=capsys)
    assert "| active | Ana | - |" in row_of(hub, a)
    wt = hub.repo / ".worktrees" / a
    (wt / "f.txt").write_text("x\n")
    git(wt, "add", "f.txt")
    git(wt, "commit", "-qm", f"[{a}] feat: f")
    ok(hub.repo, "complete", a, capsys=capsys)
    assert row_of(hub, a) == f"| 2025-10-14 | [{a}](completed/{a}/) | alpha | completed | Ana | 1 |"
    assert f"[{b}](drafting/{b}/)" in row_of(hub, b)

    rows = json.loads(ok(hub.repo, "journal", "--json", capsys=capsys))["sessions"]
    assert [(r["slug"], r["state"], r["commits"]) for r in rows] == [
        (b, "drafting", None),
        (a, "completed", 1),
    ]
    text = ok(hub.repo, "journal", "--state", "completed", capsys=capsys)
    assert a in text and b not in text
    attributes = git(hub.hub, "show", "main:.gitattributes")
    assert f"{INDEX_FILE} merge=union" in attributes
    assert cli(hub.repo, "check", capsys=capsys)[0] == 0


def test_a_missing_index_is_rebuilt_whole(hub: Hub, capsys: Capsys) -> None:
    a = ok(hub.repo, "new", "alpha", capsys=capsys).strip()
    push_files(hub.repo, {INDEX_FILE: None}, "lose the index")
    b = ok(hub.repo, "new", "beta", capsys=capsys).strip()
    assert f"[{a}]" in index(hub) and f"[{b}]" in index(hub)
    push_files(hub.repo, {INDEX_FILE: index(hub) + "| junk |\n"}, "a bad merge")
    ok(hub.repo, "journal", "--rebuild", capsys=capsys)
    assert "junk" not in index(hub)
    before = hub.main()
    ok(hub.repo, "journal", "--rebuild", capsys=capsys)
    assert hub.main() == before  # current: nothing to do


def test_rows_are_escaped_and_updates_keep_other_lines() -> None:
    row = Row("2025-01-02-x", "active", "a | b\nc", None, None)
    assert (
        row.line()
        == "| 2025-01-02 | [2025-01-02-x](active/2025-01-02-x/) | a \\| b c | active | - | - |"
    )
    text = "# head\n\n| a | b |\n|---|\n" + Row("2025-01-01-y", "planned", "y", None, None).line()
    updated = update_rows(text + "\n", {"2025-01-02-x": row, "2025-01-01-y": None})
    assert updated == "# head\n\n| a | b |\n|---|\n" + row.line() + "\n"


def test_abandon_and_release_update_the_row(hub: Hub, capsys: Capsys) -> None:
    a = ok(hub.repo, "new", "gone", capsys=capsys).strip()
    b = ok(hub.repo, "new", "back", capsys=capsys).strip()
    for slug in (a, b):
        ok(hub.repo, "ready", slug, capsys=capsys)
        ok(hub.repo, "claim", slug, "--agent", "Bo", "--email", "bo@x", capsys=capsys)
    ok(hub.repo, "abandon", a, "--reason", "obsolete", capsys=capsys)
    assert f"[{a}](abandoned/{a}/) | gone | abandoned | Bo | - |" in row_of(hub, a)
    ok(hub.repo, "release", b, capsys=capsys)
    assert f"[{b}](planned/{b}/) | back | planned | - | - |" in row_of(hub, b)
