"""Checkout hazards at claim: after the first claim of a clone, only what changed on main since
the tree that claim checked is looked at; it must find what the whole-tree scan finds."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, git

from git_sessions import claiming, hazards
from git_sessions.gitrepo import Workspace
from test_hostile import blob, gitlink, link, put

Capsys = pytest.CaptureFixture[str]


def record(repo: Path) -> Path:
    return repo / ".git" / "git-sessions" / "clean-tree"


def test_the_scan_since_a_clean_tree_finds_what_the_whole_scan_finds(
    hub: Hub, capsys: Capsys
) -> None:
    first, victim = add_planned(hub.repo, 2)
    code, _, err = cli(hub.repo, "claim", first, "--no-worktree", capsys=capsys)
    assert code == 0, err
    clean = record(hub.repo).read_text().strip()
    assert git(hub.hub, "cat-file", "-t", clean).strip() == "tree"
    assert clean == git(hub.hub, "rev-parse", "main~1^{tree}").strip(), "the tree it checked"
    empty = git(hub.repo, "hash-object", "-w", "-t", "tree", "/dev/null").strip()
    head = put(
        hub.repo,
        {
            "empty/.git": ("040000", "tree", empty),
            "deep/er/.GIT./hooks/x": blob(hub.repo, "x"),
            "docs/git~1": blob(hub.repo, "y"),
            f"long/{'n' * 256}": blob(hub.repo, "z"),
            "fine/name.txt": blob(hub.repo, "ok"),
            "fine/link": link(hub.repo, "name.txt"),
            "fine/module": gitlink("1234567890" * 4),
        },
    )
    snap = Workspace(hub.repo).snapshot(head)
    whole = hazards.checkout(snap)
    assert (
        len(whole) == 4
        and "'empty/.git' is a .git entry" in whole
        and any(p == "'deep/er/.GIT.' is a .git entry" for p in whole)
    )
    assert sorted(hazards.checkout(snap, clean=clean)) == sorted(whole)
    changed = snap.paths_since(clean)
    assert changed is not None, "only what changed, not the whole tree, was scanned"
    assert {"deep/er/.GIT.", "deep/er/.GIT./hooks/x", "fine/link", "fine/module"} <= set(changed)
    assert "README.md" not in changed, changed
    code, _, err = cli(hub.repo, "claim", victim, capsys=capsys)
    assert code == 1 and "(and 3 more)" in err, err
    assert record(hub.repo).read_text().strip() == clean, "a refused tree is not recorded"


@pytest.mark.parametrize("kept", ["0" * 40, "not a tree id", "f" * 64, ""])
def test_a_record_of_no_tree_here_means_the_whole_scan(hub: Hub, capsys: Capsys, kept: str) -> None:
    first, victim = add_planned(hub.repo, 2)
    assert cli(hub.repo, "claim", first, "--no-worktree", capsys=capsys)[0] == 0
    put(hub.repo, {"src/.git": blob(hub.repo, "[core]\n")})
    record(hub.repo).write_text(kept)
    code, _, err = cli(hub.repo, "claim", victim, capsys=capsys)
    assert code == 1 and "'src/.git' is a .git entry" in err, err
    snap = Workspace(hub.repo).snapshot(git(hub.repo, "rev-parse", "HEAD").strip())
    assert snap.paths_since(kept) is None


def test_the_record_is_replaced_once_the_scan_since_it_has_grown(
    hub: Hub, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claiming, "RECORD_AFTER", 24)  # a claim here scans about 20 entries
    first, second, third = add_planned(hub.repo, 3)
    checked = git(hub.hub, "rev-parse", "main^{tree}").strip()
    assert cli(hub.repo, "claim", first, "--no-worktree", capsys=capsys)[0] == 0
    assert record(hub.repo).read_text().strip() == checked, "no record: the whole scan"
    assert cli(hub.repo, "claim", second, "--no-worktree", capsys=capsys)[0] == 0
    assert record(hub.repo).read_text().strip() == checked, "a small scan: kept"
    one = blob(hub.repo, "x")
    put(hub.repo, {f"code/f{n:03d}.txt": one for n in range(8)})
    grown = git(hub.hub, "rev-parse", "main^{tree}").strip()
    assert cli(hub.repo, "claim", third, "--no-worktree", capsys=capsys)[0] == 0
    assert record(hub.repo).read_text().strip() == grown
