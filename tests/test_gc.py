"""gc after other clones squash-merged or abandoned our sessions: free what is safe only."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import Hub, cli, git, push_files

from test_complete import claimed, commit, planned


def ok(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def take_over(other: Path, slug: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Another clone takes the session over on purpose and continues the hub's branch."""
    ok(other, "release", slug, "--force", capsys=capsys)
    ok(other, "claim", slug, capsys=capsys)


def test_gc_after_squash_merges_by_other_clones(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    landed, extra, dirty, mine, dropped, reaped = (
        planned(hub, capsys, word)
        for word in ("landed", "extra", "dirty", "mine", "dropped", "reaped")
    )
    trees = {}
    for slug in (landed, extra, dirty, mine, dropped, reaped):
        wt = claimed(hub, capsys, slug)
        commit(wt, f"[{slug}] feat: work", {f"{slug}.txt": b"work\n"})
        ok(wt, "log", "journal entry", capsys=capsys)
        git(hub.repo, "push", "-q", "origin", f"session/{slug}")
        trees[slug] = wt
    other = hub.clone("other")
    for slug in (landed, extra, dirty):
        take_over(other, slug, capsys)
    commit(trees[extra], f"[{extra}] feat: more, never pushed", {"more.txt": b"more\n"})
    (trees[dirty] / "scratch.txt").write_text("not committed\n")
    for slug in (landed, extra, dirty):
        ok(other, "complete", slug, capsys=capsys)  # a squash merge made elsewhere
    ok(other, "abandon", dropped, "--force", "--reason", "elsewhere", capsys=capsys)
    assert git(hub.hub, "branch", "--list", f"session/{landed}") == ""
    # `reaped` was reaped and claimed again by someone else: still active, another holder
    env_file = f"_AGENTS/sessions/active/{reaped}/.session-env"
    held = git(hub.hub, "show", f"main:{env_file}").replace("Test Agent", "Someone Else")
    push_files(hub.repo, {env_file: held}, "reclaimed elsewhere")

    # crash debris in our clone
    root = hub.repo / ".worktrees"
    aside = root / f"{mine}.orphaned-1700000000"
    aside.mkdir()
    (aside / "junk.bin").write_bytes(b"x" * 5000)
    git(hub.repo, "worktree", "add", "-q", str(tmp_path / "gone"), "-b", "gone")
    shutil.rmtree(tmp_path / "gone")
    stray = root / "2026-01-01-not-ours"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine\n")
    lock = hub.repo / ".git/refs/heads/stuck.lock"
    lock.write_text("0" * 40 + "\n")
    os.utime(lock, (1_000_000_000, 1_000_000_000))
    loose_before = int(git(hub.hub, "count-objects").split()[0])
    assert loose_before > 0

    dry = json.loads(ok(hub.repo, "gc", "--dry-run", "--json", capsys=capsys))
    assert dry["dry_run"] and dry["freed"]["count"] >= 6 and dry["freed"]["bytes"] > 5000
    assert trees[landed].is_dir() and aside.is_dir() and lock.exists()

    report = json.loads(ok(hub.repo, "gc", "--json", capsys=capsys))
    items = {(i["kind"], i["name"]): i for i in report["items"]}
    assert {k: i["removed"] for k, i in items.items() if i["kind"] == "session"} == {
        ("session", landed): True,
        ("session", dropped): True,
        ("session", reaped): True,
        ("session", extra): False,
        ("session", dirty): False,
        ("session", stray.name): False,
    }
    assert "not a worktree" in items[("session", stray.name)]["reason"]
    assert (stray / "notes.txt").read_text() == "mine\n"
    assert "nowhere else" in items[("session", extra)]["reason"]
    assert "uncommitted" in items[("session", dirty)]["reason"]
    assert items[("orphaned", aside.name)]["bytes"] >= 5000
    assert items[("worktree-entry", "gone")]["removed"]
    assert items[("ref-lock", "refs/heads/stuck.lock")]["removed"]
    assert any(k[0] == "hub-objects" for k in items)
    assert report["freed"] == {
        "count": sum(i["removed"] for i in report["items"]),
        "bytes": sum(i["bytes"] for i in report["items"] if i["removed"]),
    }
    # what went is gone; what was kept is intact
    assert not trees[landed].exists() and not trees[dropped].exists()
    assert not trees[reaped].exists() and git(hub.hub, "branch", "--list", f"session/{reaped}")
    assert git(hub.repo, "branch", "--list", f"session/{landed}") == ""
    assert trees[extra].is_dir() and git(hub.repo, "branch", "--list", f"session/{extra}")
    assert (trees[dirty] / "scratch.txt").read_text() == "not committed\n"
    assert trees[mine].is_dir() and git(hub.repo, "branch", "--list", f"session/{mine}")
    assert not aside.exists() and not lock.exists()
    assert "gone" not in git(hub.repo, "worktree", "list")
    # reachable objects are packed; unreachable ones wait for git's grace period (a writer may
    # be about to reference them)
    assert int(git(hub.hub, "count-objects").split()[0]) < loose_before
    git(hub.hub, "fsck", "--no-progress")

    text = ok(hub.repo, "gc", capsys=capsys)
    assert text.splitlines()[-1].startswith("freed ")
    assert f"kept session {extra}" in text

    # --push backs the unique work up on the hub, then frees it
    extra_tip = git(hub.repo, "rev-parse", f"session/{extra}").strip()
    text = ok(hub.repo, "gc", "--push", capsys=capsys)
    assert f"removed session {extra}" in text and "pushed" in text
    assert git(hub.hub, "rev-parse", f"session/{extra}").strip() == extra_tip
    assert not trees[extra].exists() and trees[dirty].is_dir()
