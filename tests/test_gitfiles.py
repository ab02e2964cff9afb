"""gitfiles reads refs and finds git dirs as git does, or says it cannot (never guesses)."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import Hub, git, push_files

from git_sessions.gitrepo import Workspace, gitfiles


def test_loose_and_packed_refs_read_as_git_does(hub: Hub) -> None:
    main = hub.main()
    assert gitfiles.read_ref(hub.hub, "refs/heads/main") == main
    git(hub.hub, "tag", "-a", "-m", "annotated", "v1", "main")  # a peeled `^` line when packed
    git(hub.hub, "pack-refs", "--all", "--prune")
    assert not (hub.hub / "refs/heads/main").exists()
    assert gitfiles.read_ref(hub.hub, "refs/heads/main") == main
    assert gitfiles.read_ref(hub.hub, "refs/tags/v1") == git(hub.hub, "rev-parse", "v1").strip()
    new = push_files(hub.repo, {"README.md": "new\n"}, "move main")  # loose again, packed stale
    assert gitfiles.read_ref(hub.hub, "refs/heads/main") == new != main
    assert git(hub.hub, "rev-parse", "main").strip() == new
    assert gitfiles.read_ref(hub.hub, "refs/heads/nothing") is None


def test_what_it_cannot_read_with_certainty_is_none(hub: Hub, tmp_path: Path) -> None:
    main = hub.main()
    refs = hub.hub / "refs" / "heads"
    (refs / "sym").write_text("ref: refs/heads/main\n")
    (refs / "short").write_text(main[:20] + "\n")
    (refs / "link").symlink_to(refs / "main")
    (refs / "folder").mkdir()
    for ref in ("sym", "short", "link", "folder"):
        assert gitfiles.read_ref(hub.hub, f"refs/heads/{ref}") is None, ref
    for ref in ("refs/heads/../heads/main", "HEAD", "refs//heads/main", "refs/heads/.main"):
        assert gitfiles.read_ref(hub.hub, ref) is None, ref
    (hub.hub / "reftable").mkdir()
    assert gitfiles.read_ref(hub.hub, "refs/heads/main") is None


def test_git_dirs_agree_with_libgit2(hub: Hub) -> None:
    git(hub.repo, "worktree", "add", "-q", "-b", "side", str(hub.repo.parent / "side"))
    starts = [hub.repo, hub.repo / "_AGENTS" / "sessions", hub.repo.parent / "side"]
    for start in starts:
        ws = Workspace(start)
        found = gitfiles.git_dirs(start.resolve(), os.environ)
        assert found == (str(ws.git_dir), str(ws.common_dir)), start
    assert gitfiles.git_dirs(hub.repo.resolve(), {"GIT_DIR": str(hub.repo / ".git")}) is None
    assert gitfiles.git_dirs(hub.hub.resolve(), os.environ) is None  # bare: not a clone


def test_fingerprint_refuses_includes_and_symlinks(tmp_path: Path) -> None:
    plain, missing = tmp_path / "plain", tmp_path / "missing"
    plain.write_text("[user]\n\tname = x\n")
    assert gitfiles.fingerprint([plain, missing]) == {
        str(plain): "=[user]\n\tname = x\n",
        str(missing): gitfiles.MISSING,
    }
    included = tmp_path / "included"
    included.write_text("[include]\n\tpath = other\n")
    assert gitfiles.fingerprint([plain, included]) is None
    link = tmp_path / "link"
    link.symlink_to(plain)
    assert gitfiles.fingerprint([link]) is None
