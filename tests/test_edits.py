"""gitrepo: snapshots, in-memory tree edits, and LocalHub's compare-and-swap on main.

Every commit here is built by gitrepo inside a real bare repository; the git CLI checks results.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from git_sessions import gitrepo
from git_sessions.edits import Change, Edit, Identity, Move, Remove, Write
from git_sessions.errors import GitFailure
from git_sessions.gitrepo import LocalHub, Snapshot

WHO = Identity("Edit Agent", "edit@example.com")
SEED = {
    "README.md": b"# seed\n",
    "a/one.txt": b"one\n",
    "a/deep/two.txt": b"two\n",
    "b/three.txt": b"three\n",
}


@pytest.fixture
def bare(tmp_path: Path) -> LocalHub:
    """A bare hub whose main holds SEED."""
    gitrepo.init_bare(tmp_path / "hub.git", "main")
    hub = LocalHub(tmp_path / "hub.git", "main")
    seed = hub.commit(None, change(*(Write(p, d) for p, d in SEED.items())))
    assert hub.publish(None, seed)
    return hub


def change(*edits: Edit, message: str = "test: edit") -> Change:
    return Change(tuple(edits), message, WHO)


def apply(hub: LocalHub, *edits: Edit) -> Snapshot:
    """Build a commit on main's tip (without publishing it) and return its snapshot."""
    return hub.snapshot(hub.commit(hub.tip(), change(*edits)))


def files(hub: LocalHub, commit: str | None) -> dict[str, str]:
    """path -> mode of every file in `commit`, as the git CLI sees it."""
    listing = git(hub.path, "ls-tree", "-r", str(commit))
    return {line.split("\t")[1]: line.split()[0] for line in listing.splitlines() if "\t" in line}


# --------------------------------------------------------------------------- snapshots


def test_snapshot_reads(bare: LocalHub) -> None:
    snap = bare.snapshot(bare.tip())
    assert snap.read("a/one.txt") == b"one\n"
    assert snap.text("a/deep/two.txt") == "two\n"
    assert snap.read("a") is None  # a folder is not a file
    assert snap.read("nope") is None and snap.text("a/nope") is None
    assert snap.listdir("a") == ["deep", "one.txt"]
    assert snap.listdir("") == ["README.md", "a", "b"]
    assert snap.listdir("README.md") == [] and snap.listdir("nope") == []
    assert snap.is_dir("a/deep") and not snap.is_dir("a/one.txt") and not snap.is_dir("x")
    assert snap.object_id("a/one.txt") == git(bare.path, "rev-parse", "main:a/one.txt").strip()
    assert snap.object_id("nope") is None
    assert dict(snap.files("a")) == {"a/one.txt": b"one\n", "a/deep/two.txt": b"two\n"}
    assert list(snap.files("nope")) == []


def test_snapshot_history(bare: LocalHub) -> None:
    seed = bare.tip()
    second = bare.commit(seed, change(Write("c.txt", b"c"), message="[x] chore: second\n"))
    assert bare.publish(seed, second)
    snap = bare.snapshot(second)
    assert snap.message == "[x] chore: second\n"
    parent = snap.parent()
    assert parent is not None and parent.commit == seed
    assert parent.parent() is None
    name, email, when = snap.commit_info(second)
    assert (name, email) == (WHO.name, WHO.email)
    assert when > 0
    assert git(bare.path, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main").strip() == (
        "Edit Agent <edit@example.com>|Edit Agent <edit@example.com>"
    )


def test_snapshot_of_nothing(bare: LocalHub) -> None:
    empty = bare.snapshot(None)
    assert empty.commit is None
    assert empty.listdir("") == [] and empty.text("README.md") is None
    assert empty.parent() is None and empty.message == ""
    assert not empty.is_dir("")


def test_changed_paths(bare: LocalHub) -> None:
    base = bare.snapshot(bare.tip())
    after = apply(
        bare, Write("a/one.txt", b"changed\n"), Write("a/new.txt", b"n"), Remove("a/deep")
    )
    assert after.changed_paths(base, "a") == ["a/deep/two.txt", "a/new.txt", "a/one.txt"]
    assert after.changed_paths(base, "b") == []
    assert after.changed_paths(after, "a") == []
    gone = apply(bare, Remove("a"))
    assert gone.changed_paths(base, "a") == ["a/deep/two.txt", "a/one.txt"]
    assert base.changed_paths(gone, "a") == ["a/deep/two.txt", "a/one.txt"]
    assert gone.changed_paths(base, "nowhere") == []


# --------------------------------------------------------------------------- tree edits


def test_write_creates_nested_folders_and_modes(bare: LocalHub) -> None:
    snap = apply(
        bare, Write("x/y/z/new.md", b"new\n"), Write("x/run.sh", b"#!/bin/sh\n", executable=True)
    )
    modes = files(bare, snap.commit)
    assert modes["x/y/z/new.md"] == "100644"
    assert modes["x/run.sh"] == "100755"
    assert snap.read("x/y/z/new.md") == b"new\n"
    assert {k: v for k, v in modes.items() if not k.startswith("x/")} == {p: "100644" for p in SEED}


def test_write_replaces(bare: LocalHub) -> None:
    snap = apply(bare, Write("a/one.txt", b"1"), Write("a/one.txt", b"2"))
    assert snap.read("a/one.txt") == b"2"
    assert snap.read("a/deep/two.txt") == b"two\n"


def test_write_turns_a_folder_into_a_file_and_back(bare: LocalHub) -> None:
    snap = apply(bare, Write("a", b"now a file"))
    assert snap.read("a") == b"now a file"
    assert set(files(bare, snap.commit)) == {"README.md", "a", "b/three.txt"}
    snap = apply(bare, Write("README.md/inside", b"x"))
    assert snap.read("README.md/inside") == b"x" and snap.is_dir("README.md")


def test_remove(bare: LocalHub) -> None:
    snap = apply(bare, Remove("a/one.txt"), Remove("b"), Remove("not/there"))
    assert set(files(bare, snap.commit)) == {"README.md", "a/deep/two.txt"}


def test_removing_the_last_file_drops_the_folder(bare: LocalHub) -> None:
    snap = apply(bare, Remove("a/deep/two.txt"))
    assert snap.listdir("a") == ["one.txt"]
    snap = apply(bare, *(Remove(p) for p in SEED))
    assert snap.listdir("") == []
    assert git(bare.path, "ls-tree", str(snap.commit)) == ""


def test_later_edits_win(bare: LocalHub) -> None:
    snap = apply(bare, Write("c/new", b"x"), Remove("c"))
    assert snap.listdir("c") == []
    snap = apply(bare, Remove("a"), Write("a/fresh", b"f"))
    assert snap.listdir("a") == ["fresh"]


def test_move_a_folder_keeps_its_objects(bare: LocalHub) -> None:
    before = bare.snapshot(bare.tip())
    snap = apply(bare, Move("a", "moved/here"))
    assert snap.listdir("a") == []
    assert snap.object_id("moved/here") == before.object_id("a")
    assert snap.read("moved/here/deep/two.txt") == b"two\n"
    status = git(bare.path, "diff", "--name-status", "-M", str(before.commit), str(snap.commit))
    assert sorted(status.splitlines()) == [
        "R100\ta/deep/two.txt\tmoved/here/deep/two.txt",
        "R100\ta/one.txt\tmoved/here/one.txt",
    ]


def test_move_then_edit_inside_the_destination(bare: LocalHub) -> None:
    # The shape of claim and release: move a session folder and adjust files inside it.
    snap = apply(
        bare,
        Move("a", "z"),
        Write("z/.session-env", b"export X=1\n"),
        Remove("z/deep/two.txt"),
        Write("lock", b"z:1\n"),
    )
    assert set(files(bare, snap.commit)) == {
        "README.md",
        "b/three.txt",
        "lock",
        "z/.session-env",
        "z/one.txt",
    }


def test_move_of_a_missing_path_fails(bare: LocalHub) -> None:
    with pytest.raises(GitFailure):
        apply(bare, Move("nope", "z"))


# Edits apply in order, so a Move must see what earlier edits in the same commit did: pending
# writes inside the source, removals above it, and a folder moved earlier in the same commit.
ORDERED_MOVES = {
    "write then move the folder": (
        (Write("a/new.txt", b"n"), Move("a", "z")),
        {"z/new.txt", "z/one.txt", "z/deep/two.txt"},
    ),
    "write a new folder then move it": (
        (Write("q/new.txt", b"n"), Move("q", "z")),
        {"a/one.txt", "a/deep/two.txt", "z/new.txt"},
    ),
    "move a moved folder's file": (
        (Move("a", "z"), Move("z/one.txt", "y.txt")),
        {"z/deep/two.txt", "y.txt"},
    ),
}


@pytest.mark.parametrize("name", ORDERED_MOVES)
def test_move_sees_earlier_edits(bare: LocalHub, name: str) -> None:
    edits, expected = ORDERED_MOVES[name]
    snap = apply(bare, *edits)
    assert set(files(bare, snap.commit)) == expected | {"README.md", "b/three.txt"}


def test_move_of_a_removed_file_fails(bare: LocalHub) -> None:
    with pytest.raises(GitFailure):
        apply(bare, Remove("a"), Move("a/one.txt", "z.txt"))


@pytest.mark.parametrize("path", ["../x", "a/../x", "/abs", "a//b", ".git/config", "", "a/."])
def test_paths_that_escape_the_tree_are_refused(bare: LocalHub, path: str) -> None:
    with pytest.raises(GitFailure):
        apply(bare, Write(path, b"x"))


def test_root_commit_on_an_empty_hub(tmp_path: Path) -> None:
    gitrepo.init_bare(tmp_path / "hub.git", "trunk")
    assert git(tmp_path / "hub.git", "symbolic-ref", "HEAD").strip() == "refs/heads/trunk"
    hub = LocalHub(tmp_path / "hub.git", "trunk")
    assert hub.tip() is None
    assert hub.snapshot(None).listdir("") == []
    root = hub.commit(None, change(Write("f", b"x")))
    assert hub.publish(None, root)
    assert hub.tip() == root
    assert git(hub.path, "rev-list", "--parents", "trunk").split() == [root]


def test_init_bare_keeps_an_existing_hub(bare: LocalHub) -> None:
    tip = bare.tip()
    gitrepo.init_bare(bare.path, "other")
    assert LocalHub(bare.path, "main").tip() == tip


def test_init_bare_refuses_a_non_repository(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file").write_text("x")
    with pytest.raises(GitFailure):
        gitrepo.init_bare(tmp_path / "junk", "main")


def test_hub_heads_and_delete_ref(bare: LocalHub) -> None:
    tip = str(bare.tip())
    git(bare.path, "update-ref", "refs/heads/session/x", tip)
    assert bare.heads() == {"refs/heads/main": tip, "refs/heads/session/x": tip}
    bare.delete_ref("refs/heads/session/x")
    bare.delete_ref("refs/heads/never-there")
    assert bare.heads() == {"refs/heads/main": tip}


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("/srv/hub.git", True),
        ("../hub.git", True),
        ("file:///srv/hub.git", True),
        ("git://host/hub.git", False),
        ("https://host/hub.git", False),
        ("ssh://git@host/hub.git", False),
        ("git@host:org/hub.git", False),
    ],
)
def test_is_local_url(url: str, local: bool) -> None:
    assert gitrepo.is_local_url(url) is local


# --------------------------------------------------------------------------- compare-and-swap


def test_publish_moves_main_from_base(bare: LocalHub) -> None:
    base = bare.tip()
    new = bare.commit(base, change(Write("c", b"c")))
    assert bare.publish(base, new)
    assert git(bare.path, "rev-parse", "main").strip() == new


def test_publish_on_a_stale_base_changes_nothing(bare: LocalHub) -> None:
    stale = bare.tip()
    winner = bare.commit(stale, change(Write("w", b"winner")))
    assert bare.publish(stale, winner)
    heads = bare.heads()
    loser = bare.commit(stale, change(Write("l", b"loser")))
    assert bare.publish(stale, loser) is False
    assert bare.heads() == heads
    assert bare.tip() == winner
    assert git(bare.path, "rev-parse", "main").strip() == winner


def test_publish_without_base_loses_to_an_existing_main(bare: LocalHub) -> None:
    tip = bare.tip()
    other = bare.commit(None, change(Write("x", b"x")))
    assert bare.publish(None, other) is False
    assert bare.tip() == tip


class Interloper:
    """A repository handle on which another writer moves main right after it is read."""

    def __init__(self, repo: Any, moved_to: str, hub: Path) -> None:
        self._repo, self._moved_to, self._hub = repo, moved_to, hub

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    def lookup_reference(self, name: str) -> Any:
        ref = self._repo.lookup_reference(name)
        git(self._hub, "update-ref", name, self._moved_to)  # the real git CLI wins the race
        return ref


def test_publish_is_a_compare_and_swap_inside_its_own_window(bare: LocalHub) -> None:
    base = str(bare.tip())
    theirs = bare.commit(base, change(Write("theirs", b"t")))
    ours = bare.commit(base, change(Write("ours", b"o")))
    bare.repo = Interloper(bare.repo, theirs, bare.path)
    assert bare.publish(base, ours) is False
    assert git(bare.path, "rev-parse", "main").strip() == theirs


def test_publish_while_another_writer_holds_the_lock(bare: LocalHub) -> None:
    base = bare.tip()
    new = bare.commit(base, change(Write("c", b"c")))
    lock = bare.path / "refs" / "heads" / "main.lock"
    lock.write_text("held\n")
    assert bare.publish(base, new) is False
    lock.unlink()
    assert bare.tip() == base
    assert bare.publish(base, new)


def test_publish_recovers_a_lock_left_by_a_killed_writer(bare: LocalHub) -> None:
    base = bare.tip()
    new = bare.commit(base, change(Write("c", b"c")))
    lock = bare.path / "refs" / "heads" / "main.lock"
    lock.write_text("left behind\n")
    os.utime(lock, (time.time() - 3600, time.time() - 3600))
    assert bare.publish(base, new) is False  # met the lock: removed it, retry like a lost race
    assert not lock.exists() and bare.tip() == base
    assert bare.publish(base, new) is True and bare.tip() == new
