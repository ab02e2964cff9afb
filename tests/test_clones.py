"""Clone mode: a shallow clone per session in .sessions/<slug>, with the hub as its remote."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, cli_error, git, push_files

from git_sessions.protocol import CONFIG_FILE, SESSIONS

Capsys = pytest.CaptureFixture[str]


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def claim_clone(hub: Hub, capsys: Capsys, *extra: str) -> tuple[str, Path]:
    [slug] = add_planned(hub.repo, 1)
    out = json.loads(ok(hub.repo, "claim", slug, "--json", *extra, capsys=capsys))
    return slug, Path(out["worktree"])


def work(clone: Path, slug: str, name: str = "a.py") -> None:
    (clone / name).write_text("print('hi')\n")
    git(clone, "add", name)
    git(clone, "commit", "-qm", f"[{slug}] feat: {name}")


def hub_branch(hub: Hub, slug: str) -> str:
    return git(hub.hub, "rev-parse", f"refs/heads/session/{slug}").strip()


def test_claim_clone_makes_an_isolated_shallow_clone(hub: Hub, capsys: Capsys) -> None:
    slug, clone = claim_clone(hub, capsys, "--clone")
    assert clone == hub.repo / ".sessions" / slug
    assert (clone / ".git").is_dir() and (clone / ".git" / "shallow").is_file()
    assert git(clone, "rev-parse", "--abbrev-ref", "HEAD").strip() == f"session/{slug}"
    assert (
        Path(git(clone, "remote", "get-url", "origin").strip().removeprefix("file://")) == hub.hub
    )
    assert slug not in git(hub.repo, "worktree", "list")
    plan = clone / SESSIONS / "active" / slug / "SESSION.md"
    assert not plan.stat().st_mode & stat.S_IWUSR
    env = (clone / SESSIONS / "active" / slug / ".session-env").read_text()
    assert str(clone) in env
    line = ok(hub.repo, "claim", slug, capsys=capsys).strip().splitlines()[-1]  # held: repairs
    assert line.startswith(f"cd {clone} && source ")
    assert git(hub.repo, "status", "--porcelain") == ""  # .sessions/ is ignored


def test_journal_heartbeat_and_complete_from_inside_the_clone(hub: Hub, capsys: Capsys) -> None:
    slug, clone = claim_clone(hub, capsys, "--clone")
    ok(clone, "log", "started in a clone", capsys=capsys)
    assert git(clone, "log", "-1", "--format=%s").startswith(f"[{slug}] docs: log")
    assert hub_branch(hub, slug) == git(clone, "rev-parse", "HEAD").strip()  # sign of life
    work(clone, slug)
    ok(clone, "heartbeat", capsys=capsys)
    assert hub_branch(hub, slug) == git(clone, "rev-parse", "HEAD").strip()
    ok(clone, "complete", capsys=capsys)
    # the squash, then its end record
    assert git(hub.hub, "log", "-1", "--format=%s", "main^").startswith(f"[{slug}] feat:")
    assert "print('hi')" in git(hub.hub, "show", "main:a.py")
    assert not clone.exists()
    assert git(hub.hub, "branch", "--list", f"session/{slug}").strip() == ""
    assert cli(hub.repo, "check", capsys=capsys)[0] == 0


def test_complete_from_the_main_checkout_takes_the_clones_work(hub: Hub, capsys: Capsys) -> None:
    slug, clone = claim_clone(hub, capsys, "--clone")
    work(clone, slug, "b.py")
    ok(hub.repo, "complete", slug, capsys=capsys)
    assert "print('hi')" in git(hub.hub, "show", "main:b.py")
    assert not clone.exists()


def test_config_workspace_clone_with_bootstrap_crash_and_recover(hub: Hub, capsys: Capsys) -> None:
    config = (hub.repo / CONFIG_FILE).read_text().replace("workspace: worktree", "workspace: clone")
    config = config.replace("run: []", 'run: ["echo booted > booted.txt"]')
    ignores = "booted.txt\n.sessions/\n.worktrees/\n"
    push_files(hub.repo, {".gitignore": ignores, CONFIG_FILE: config}, "clone mode")
    _, clone = claim_clone(hub, capsys, "--yes")  # --yes: approve config's bootstrap.run
    assert clone.parent.name == ".sessions"
    assert (clone / "booted.txt").read_text() == "booted\n"
    (clone / "left.txt").write_text("half done\n")
    ok(clone, "crash", "agent died", capsys=capsys)
    ok(clone, "recover", capsys=capsys)
    assert git(clone, "status", "--porcelain") == ""
    assert "left.txt" in git(clone, "show", "--stat", "--format=", "HEAD")


def test_abandon_and_release_clean_up_the_clone(hub: Hub, capsys: Capsys) -> None:
    a, b = add_planned(hub.repo, 2)
    clone_a = Path(
        json.loads(ok(hub.repo, "claim", a, "--clone", "--json", capsys=capsys))["worktree"]
    )
    work(clone_a, a)
    ok(hub.repo, "abandon", a, "--reason", "not needed", capsys=capsys)
    assert not clone_a.exists()
    assert "print('hi')" in git(hub.hub, "show", f"session/{a}:a.py")  # the work is kept
    clone_b = Path(
        json.loads(ok(hub.repo, "claim", b, "--clone", "--json", capsys=capsys))["worktree"]
    )
    ok(hub.repo, "release", b, capsys=capsys)
    assert not clone_b.exists()
    assert cli(hub.repo, "check", capsys=capsys)[0] == 0


def test_status_drift_and_abandon_from_inside_the_clone(hub: Hub, capsys: Capsys) -> None:
    slug, clone = claim_clone(hub, capsys, "--clone")
    ok(hub.repo, "new", "other", "work", capsys=capsys)  # main moves on after the claim
    work(clone, slug)
    ok(clone, "milestone", "task 0 done", "--done", capsys=capsys)
    report = json.loads(ok(clone, "drift", "--json", capsys=capsys))
    assert report["touched_files"] == ["a.py"]
    status = json.loads(ok(clone, "status", "--json", capsys=capsys))
    assert status["commits"] == 1 and status["source"] == "local branch"
    ok(clone, "abandon", "--reason", "testing", capsys=capsys)
    assert not clone.exists()
    assert "print('hi')" in git(hub.hub, "show", f"session/{slug}:a.py")


def test_clone_mode_over_a_network_hub(hub: Hub, git_daemon: str, capsys: Capsys) -> None:
    [slug] = add_planned(hub.repo, 1)
    git(hub.repo, "remote", "set-url", "origin", git_daemon)
    out = json.loads(ok(hub.repo, "claim", slug, "--clone", "--json", capsys=capsys))
    clone = Path(out["worktree"])
    assert (clone / ".git" / "shallow").is_file()
    assert git(clone, "remote", "get-url", "origin").strip() == git_daemon
    ok(clone, "log", "over the network", capsys=capsys)
    work(clone, slug)
    ok(hub.repo, "new", "meanwhile", capsys=capsys)  # main moves on
    ok(clone, "complete", capsys=capsys)
    assert "print('hi')" in git(hub.hub, "show", "main:a.py")
    assert not clone.exists()


def test_a_symlinked_sessions_folder_is_refused_before_the_claim(
    hub: Hub, capsys: Capsys, tmp_path: Path
) -> None:
    [slug] = add_planned(hub.repo, 1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (hub.repo / ".sessions").symlink_to(elsewhere)
    err = cli_error(hub, "claim", slug, "--clone", code=1, capsys=capsys)
    assert "symlink" in err
    assert list(elsewhere.iterdir()) == []
