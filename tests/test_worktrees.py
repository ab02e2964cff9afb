"""Sparse worktrees: the first made by git's three commands, the rest by one git process after
writing git's own files; both must be the same proper, sparse, filtered worktree."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Hub, add_planned, git, run_process

from git_sessions.context import open_context
from git_sessions.errors import GitFailure
from git_sessions.gitrepo import LocalHub, Workspace
from test_claim_race import killed_at

PATTERNS = ("/*", "!/_AGENTS/sessions/*/*/", "/_AGENTS/sessions/active/mine/")


def repository(tmp_path: Path) -> Path:
    """A repository with code, two sessions' folders, a smudge filter and a post-checkout hook
    that logs where it ran; branches b1..b4 at its one commit."""
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    files = {
        "src/code.txt": "lower case\n",
        "_AGENTS/sessions/completed/other/SESSION.md": "other\n",
        "_AGENTS/sessions/active/mine/SESSION.md": "mine\n",
        ".gitattributes": "*.txt filter=upper\n",
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "config", "filter.upper.smudge", "tr a-z A-Z")
    git(repo, "config", "filter.upper.clean", "tr A-Z a-z")
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f'#!/bin/sh\nbasename "$PWD" >> {tmp_path / "hook.log"}\n')
    hook.chmod(0o755)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "files")
    for n in range(1, 5):
        git(repo, "branch", f"b{n}")
    (tmp_path / "wts").mkdir()
    return repo


def assert_proper(repo: Path, path: Path) -> None:
    listed = git(repo, "worktree", "list", "--porcelain").split("\n\n")
    [entry] = [e for e in listed if e.startswith(f"worktree {path}\n")]
    assert f"branch refs/heads/{path.name}" in entry and "locked" not in entry
    assert git(path, "status", "--porcelain") == ""
    assert tuple(git(path, "sparse-checkout", "list").split()) == PATTERNS
    assert (path / "src/code.txt").read_text() == "LOWER CASE\n", "the user's filter ran"
    assert (path / "_AGENTS/sessions/active/mine/SESSION.md").is_file()
    assert not (path / "_AGENTS/sessions/completed/other").exists()
    assert git(repo, "config", "--get", "core.sparseCheckout", check=False) == ""
    assert git(repo, "status", "--porcelain") == "", "the main worktree stays whole"


def test_every_sparse_worktree_is_proper_and_all_but_the_first_link_themselves(
    tmp_path: Path,
) -> None:
    repo = repository(tmp_path)
    ws = Workspace(repo)
    with ws.lock():
        assert not ws._links_itself("b1"), "no per-worktree config yet: git sets it up"
        ws.add_worktree("b1", tmp_path / "wts" / "b1", "b1", sparse=PATTERNS)
        for name in ("b2", "b3"):
            assert ws._links_itself(name)
            ws.add_worktree(name, tmp_path / "wts" / name, name, sparse=PATTERNS)
    for name in ("b1", "b2", "b3"):
        assert_proper(repo, tmp_path / "wts" / name)
    assert (tmp_path / "hook.log").read_text().split() == ["b1", "b2", "b3"]
    assert sorted(w.name for w in Workspace(repo).worktrees()) == ["b1", "b2", "b3"]


def test_linking_refuses_what_git_worktree_add_refuses(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    ws = Workspace(repo)
    with ws.lock():
        ws.add_worktree("b1", tmp_path / "wts" / "b1", "b1", sparse=PATTERNS)
        git(repo, "switch", "-q", "b2")  # the main worktree has b2 checked out
        with pytest.raises(GitFailure, match="'b2' is already checked out"):
            ws.add_worktree("b2", tmp_path / "wts" / "b2", "b2", sparse=PATTERNS)
        with pytest.raises(GitFailure, match=r"'b1' is already checked out at .*wts/b1/\.git"):
            ws.add_worktree("b1x", tmp_path / "wts" / "b1x", "b1", sparse=PATTERNS)
        busy = tmp_path / "wts" / "b3"
        busy.mkdir()
        (busy / "keep.txt").write_text("mine\n")
        with pytest.raises(GitFailure, match="creating worktree"):
            ws.add_worktree("b3", busy, "b3", sparse=PATTERNS)
    assert (busy / "keep.txt").read_text() == "mine\n"
    assert sorted(os.listdir(repo / ".git" / "worktrees")) == ["b1"], "no entry left behind"
    assert not (tmp_path / "wts" / "b2").exists()


def test_a_main_worktree_with_its_own_config_goes_through_git(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    ws = Workspace(repo)
    with ws.lock():
        ws.add_worktree("b1", tmp_path / "wts" / "b1", "b1", sparse=PATTERNS)
        git(repo, "config", "--worktree", "diff.noprefix", "true")
        assert not ws._links_itself("b2"), "git copies the main worktree's config.worktree"
        ws.add_worktree("b2", tmp_path / "wts" / "b2", "b2", sparse=PATTERNS)
    assert_proper(repo, tmp_path / "wts" / "b2")
    assert git(tmp_path / "wts" / "b2", "config", "diff.noprefix").strip() == "true"


def test_a_claim_killed_before_the_linked_checkout_is_repaired_by_claiming_again(
    hub: Hub,
) -> None:
    first, second = add_planned(hub.repo, 2)
    assert run_process(hub.repo, "claim", first).returncode == 0  # per-worktree config is on
    killed_at(hub.repo, "worktree:before-checkout", "claim", second)
    wt = hub.repo / ".worktrees" / second
    assert (wt / ".git").is_file() and not (wt / "README.md").exists()
    again = run_process(hub.repo, "claim", second, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["already_held"] is True
    assert git(wt, "status", "--porcelain") == ""
    assert (wt / "README.md").is_file()
    listed = git(hub.repo, "worktree", "list", "--porcelain")
    assert listed.count(f"worktree {wt}\n") == 1 and "locked" not in listed
    assert run_process(hub.repo, "check").returncode == 0


def test_a_claim_copies_its_objects_from_a_local_hub_instead_of_fetching(hub: Hub) -> None:
    first, second = add_planned(hub.repo, 2)
    tracking = git(hub.repo, "rev-parse", "origin/main").strip()
    for slug in (first, second):
        done = run_process(hub.repo, "claim", slug, "--json")
        assert done.returncode == 0, done.stderr
        claim = json.loads(done.stdout)["commit"]
        assert git(hub.repo, "cat-file", "-t", claim).strip() == "commit"
    assert git(hub.repo, "rev-parse", "origin/main").strip() == tracking, "no fetch ran"
    git(hub.repo, "fsck", "--connectivity-only", "--no-dangling")
    assert (
        git(hub.repo, "rev-list", "--count", claim).strip()
        == git(hub.hub, "rev-list", "--count", "main").strip()
    )
    ctx = open_context(hub.repo)
    assert isinstance(ctx.hub, LocalHub)
    other = hub.clone("other")
    git(other, "commit", "-q", "--allow-empty", "-m", "one")
    git(other, "commit", "-q", "--allow-empty", "-m", "two")
    git(other, "push", "-q", "origin", "main")
    tip = git(hub.hub, "rev-parse", "main").strip()
    assert not ctx.hub.copy_commit(tip, limit=1), "over the limit: fetch instead"
    assert git(hub.repo, "cat-file", "-t", tip, check=False) == "", "nothing was written"
    (ctx.ws.common_dir / "shallow").write_text("")
    assert not ctx.hub.copy_commit(tip), "a shallow clone always fetches"
    (ctx.ws.common_dir / "shallow").unlink()
    assert ctx.hub.copy_commit(tip)
    git(hub.repo, "fsck", "--connectivity-only", "--no-dangling", tip)
