"""Removing a worktree: everything goes, read-only files and folders included, without a
chmod per file (only SESSION.md is made read-only; a 20k-file worktree cost 20k calls)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from git_sessions import safefs


def test_remove_tree_chmods_nothing_when_nothing_is_in_the_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = tmp_path / "wt"
    for n in range(50):
        (top / f"d{n % 5}").mkdir(parents=True, exist_ok=True)
        (top / f"d{n % 5}" / f"f{n}.txt").write_text("x\n")
    plan = top / "d0" / "SESSION.md"
    plan.write_text("plan\n")
    plan.chmod(0o444)
    calls: list[object] = []
    monkeypatch.setattr(os, "chmod", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(os, "fchmod", lambda *a, **k: calls.append(a))
    safefs.remove_tree(top)
    assert not top.exists()
    assert calls == []


def test_remove_tree_gets_through_read_only_folders(tmp_path: Path) -> None:
    top = tmp_path / "wt"
    locked = top / "a" / "locked"
    locked.mkdir(parents=True)
    (locked / "f.txt").write_text("x\n")
    (top / "a" / "link").symlink_to(tmp_path)  # removed as a link, never followed
    keep = tmp_path / "keep.txt"
    keep.write_text("outside\n")
    locked.chmod(0o555)
    (top / "a").chmod(0o555)
    safefs.remove_tree(top)
    assert not top.exists()
    assert keep.read_text() == "outside\n"
