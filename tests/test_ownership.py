"""Only a session's holder may act on it: reaped agents lose with exit 3, over a local hub and
over git daemon, and the new holder's work stays intact. Overrides are audited; session
branches only move forward; a `git commit` racing a journal entry is never dropped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Hub, add_planned, age_claims, git, run_process, serve_git_daemon


def who(name: str) -> list[str]:
    return ["--agent", name, "--email", f"{name}@agents.test"]


@pytest.fixture(params=["local", "daemon"])
def url(request: pytest.FixtureRequest, hub: Hub) -> Iterator[str]:
    """The hub as agents reach it: its path, or git:// through git daemon."""
    if request.param == "local":
        yield str(hub.hub)
        return
    for prefix in serve_git_daemon(hub.hub.parent):
        yield f"{prefix}/{hub.hub.name}"


def clone(hub: Hub, url: str, name: str) -> Path:
    path = hub.repo.parent / name
    git(hub.repo.parent, "clone", "-q", url, str(path))
    return path


def claim(repo: Path, slug: str, name: str) -> Path:
    result = run_process(repo, "claim", slug, "--json", *who(name))
    assert result.returncode == 0, result.stderr
    return Path(json.loads(result.stdout)["worktree"])


OLD = {"GIT_AUTHOR_DATE": "@1000000000 +0000", "GIT_COMMITTER_DATE": "@1000000000 +0000"}


def commit(wt: Path, slug: str, name: str, env: dict[str, str] | None = None) -> str:
    (wt / name).write_text(f"{name}\n")
    git(wt, "add", name)
    git(wt, "commit", "-qm", f"[{slug}] feat: {name}", env=env)
    return git(wt, "rev-parse", "HEAD").strip()


@dataclass
class Takeover:
    slug: str
    stale_wt: Path  # the reaped agent's worktree (its claim is gone)
    new_repo: Path
    new_wt: Path
    new_tip: str  # the new holder's work, pushed to the hub


def take_over(hub: Hub, url: str, first: str, second: str) -> Takeover:
    """`first` claims in one clone and goes silent; it is reaped; `second` claims from another
    clone, commits and pushes its branch; then the stale agent commits too."""
    [slug] = add_planned(hub.repo, 1)
    stale_wt = claim(clone(hub, url, "first-clone"), slug, first)
    age_claims(hub.repo)
    reaped = run_process(hub.repo, "reap", "--older-than", "1h", "--json", *who("reaper"))
    assert [r["outcome"] for r in json.loads(reaped.stdout)["reaped"]] == ["reaped"], reaped.stderr
    new_repo = clone(hub, url, "second-clone")
    new_wt = claim(new_repo, slug, second)
    commit(new_wt, slug, "new.txt")
    assert run_process(new_wt, "heartbeat").returncode == 0
    commit(stale_wt, slug, "stale.txt")
    new_tip = git(hub.hub, "rev-parse", f"session/{slug}").strip()
    return Takeover(slug, stale_wt, new_repo, new_wt, new_tip)


STALE_COMMANDS = [
    ["complete"],
    ["abandon", "--reason", "stale"],
    ["release", "{slug}"],
    ["log", "still here"],
    ["milestone", "done", "--done"],
    ["heartbeat"],
    ["recover"],
]


def assert_stale_agent_loses(hub: Hub, t: Takeover, message: str) -> None:
    before = hub.main()
    for command in STALE_COMMANDS:
        args = [a.replace("{slug}", t.slug) for a in command]
        result = run_process(t.stale_wt, *args)
        assert result.returncode == 3, (args, result.stderr)
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert hub.main() == before, args
        assert git(hub.hub, "rev-parse", f"session/{t.slug}").strip() == t.new_tip, args
    assert t.stale_wt.exists(), "a stale agent's own worktree is left for it to look at"


def assert_new_holder_completes(hub: Hub, t: Takeover) -> None:
    done = run_process(t.new_wt, "complete")
    assert done.returncode == 0, done.stderr
    files = git(hub.hub, "ls-tree", "-r", "--name-only", "main").split()
    assert "new.txt" in files and "stale.txt" not in files
    assert run_process(t.new_repo, "check").returncode == 0
    git(hub.hub, "fsck", "--strict")


def test_a_reaped_agent_loses_every_command_with_exit_3(hub: Hub, url: str) -> None:
    t = take_over(hub, url, "alice", "bob")
    assert_stale_agent_loses(hub, t, "now held by bob <bob@agents.test>")
    assert_new_holder_completes(hub, t)


def test_the_same_name_reclaiming_from_another_clone_is_another_holder(hub: Hub, url: str) -> None:
    t = take_over(hub, url, "alice", "alice")
    assert_stale_agent_loses(hub, t, "through a claim made from another clone")
    again = run_process(t.stale_wt, "claim", t.slug, *who("alice"))
    assert again.returncode == 3 and "from another clone" in again.stderr
    assert_new_holder_completes(hub, t)


def test_overrides_are_audited_and_keep_the_holders_branch(hub: Hub) -> None:
    t = take_over(hub, str(hub.hub), "alice", "bob")
    result = run_process(hub.repo, "release", t.slug, *who("carol"))
    assert result.returncode == 3 and "now held by bob" in result.stderr
    result = run_process(hub.repo, "release", t.slug, "--force", *who("carol"))
    assert result.returncode == 0, result.stderr
    audit = "Forced-by: carol <carol@agents.test> (the claim was held by bob <bob@agents.test>)"
    assert audit in git(hub.hub, "log", "-1", "--format=%B", "main")
    worklog = git(hub.hub, "show", f"main:_AGENTS/sessions/planned/{t.slug}/worklog.md")
    assert audit in worklog
    assert git(hub.hub, "rev-parse", f"session/{t.slug}").strip() == t.new_tip
    assert git(t.new_repo, "rev-parse", f"session/{t.slug}").strip() == t.new_tip
    assert run_process(hub.repo, "check").returncode == 0


def test_a_forced_abandon_keeps_the_holders_pushed_work(hub: Hub) -> None:
    t = take_over(hub, str(hub.hub), "alice", "bob")
    result = run_process(hub.repo, "abandon", t.slug, "-r", "stuck", "--force", *who("carol"))
    assert result.returncode == 0, result.stderr
    assert "Forced-by: carol" in git(hub.hub, "log", "-1", "--format=%B", "main^")
    folder = f"main:_AGENTS/sessions/abandoned/{t.slug}"
    assert f"[{t.slug}] feat: new.txt" in git(hub.hub, "show", f"{folder}/{t.slug}.patch")
    assert "Forced-by: carol" in git(hub.hub, "show", f"{folder}/worklog.md")
    assert git(hub.hub, "rev-parse", f"session/{t.slug}").strip() == t.new_tip
    assert run_process(hub.repo, "check").returncode == 0


def test_the_session_branch_is_never_force_pushed(hub: Hub, url: str) -> None:
    """A commit on the hub's session branch that the holder's clone lacks (pushed there with
    plain git) survives heartbeat, journal, abandon and complete: each stops with exit 3."""
    [slug] = add_planned(hub.repo, 1)
    repo = clone(hub, url, "holder")
    wt = claim(repo, slug, "alice")
    commit(wt, slug, "mine.txt")
    assert run_process(wt, "heartbeat").returncode == 0
    peer = clone(hub, str(hub.hub), "peer")
    git(peer, "checkout", "-q", f"session/{slug}")
    theirs = commit(peer, slug, "theirs.txt")
    git(peer, "push", "-q", "origin", f"session/{slug}")
    commit(wt, slug, "more.txt")
    before = hub.main()
    for args in (["heartbeat"], ["log", "more"], ["abandon", "-r", "x"], ["complete"]):
        result = run_process(wt, *args)
        assert result.returncode == 3, (args, result.stderr)
        assert "has commits this clone does not have" in result.stderr, result.stderr
        assert git(hub.hub, "rev-parse", f"session/{slug}").strip() == theirs, args
        assert hub.main() == before, args


def test_a_git_commit_racing_a_journal_entry_is_kept(hub: Hub) -> None:
    """The journal's branch update names the tip it built on: a `git commit` that lands
    between reading that tip and moving the branch makes it rebuild on top, not drop it."""
    [slug] = add_planned(hub.repo, 1)
    wt = claim(hub.repo, slug, "alice")
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_sessions", "-C", str(wt), "log", "journal entry"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GIT_SESSIONS_FAULT": "branch:before-update"},
    )
    assert proc.stdin is not None and proc.stderr is not None
    assert proc.stderr.readline() == "fault: branch:before-update\n"
    user = commit(wt, slug, "user.txt")  # lands while the journal waits to move the branch
    _, err = proc.communicate("\n\n", timeout=60)  # go on (and again, on the retry)
    assert proc.returncode == 0, err
    log = git(wt, "log", "--format=%H %s", f"session/{slug}").splitlines()
    assert log[1].split()[0] == user and "journal entry" in log[0]
    assert "user.txt" in git(wt, "ls-tree", "--name-only", "HEAD")
    assert git(wt, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("command", "phase"),
    [(["complete"], "complete:before-publish"), (["log", "late"], "branch:before-update")],
)
def test_a_reap_and_reclaim_racing_the_holders_command_wins(
    hub: Hub, url: str, command: list[str], phase: str
) -> None:
    """The holder's command has checked its claim and is about to publish when the claim is
    reaped and taken by bob: the check is redone inside the compare-and-swap, so it loses with
    exit 3 and bob's claim and work stand."""
    [slug] = add_planned(hub.repo, 1)
    wt = claim(clone(hub, url, "alice-clone"), slug, "alice")
    commit(wt, slug, "alice.txt", env=OLD)  # no sign of life, even once pushed
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_sessions", "-C", str(wt), *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GIT_SESSIONS_FAULT": phase},
    )
    assert proc.stderr is not None
    assert proc.stderr.readline() == f"fault: {phase}\n"
    age_claims(hub.repo)
    reaped = run_process(hub.repo, "reap", "--older-than", "1h", "--json", *who("reaper"))
    assert [r["outcome"] for r in json.loads(reaped.stdout)["reaped"]] == ["reaped"], reaped.stderr
    bob_wt = claim(clone(hub, url, "bob-clone"), slug, "bob")
    bob_tip = commit(bob_wt, slug, "bob.txt")
    assert run_process(bob_wt, "heartbeat").returncode == 0
    before = hub.main()
    _, err = proc.communicate("\n\n", timeout=120)
    assert proc.returncode == 3, err
    assert "now held by bob <bob@agents.test>" in err
    assert hub.main() == before
    assert git(hub.hub, "rev-parse", f"session/{slug}").strip() == bob_tip
    assert f"active/{slug}/.session-env" in git(hub.hub, "ls-tree", "-r", "--name-only", "main")


def test_a_claim_without_a_record_is_taken_back_by_release_force(hub: Hub) -> None:
    """A claim made before claim records existed: its agent is refused like a stranger, and
    takes it back as documented (release --force, claim again, which continues the branch)."""
    [slug] = add_planned(hub.repo, 1)
    wt = claim(hub.repo, slug, "alice")
    work = commit(wt, slug, "old.txt")
    (hub.repo / ".git/git-sessions/claims" / f"{slug}.json").unlink()
    assert run_process(wt, "log", "x").returncode == 3
    forced = run_process(hub.repo, "release", slug, "--force", *who("alice"))
    assert forced.returncode == 0, forced.stderr
    wt = claim(hub.repo, slug, "alice")
    git(wt, "merge-base", "--is-ancestor", work, "HEAD")
    done = run_process(wt, "complete")
    assert done.returncode == 0, done.stderr
    assert "old.txt" in git(hub.hub, "ls-tree", "--name-only", "main")


def test_two_agents_of_one_clone_racing_for_a_session_leave_the_winner_its_claim(
    hub: Hub,
) -> None:
    """Both build their claim and record it before publishing; the one that recorded first
    publishes first and wins. The loser's record, written last, must not cost the winner the
    right to act on its session."""
    [slug] = add_planned(hub.repo, 1)
    procs = {}
    for name in ("first", "second"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "git_sessions", "-C", str(hub.repo), "claim", slug, *who(name)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "GIT_SESSIONS_FAULT": "claim:before-publish"},
        )
        assert proc.stderr is not None
        assert proc.stderr.readline() == "fault: claim:before-publish\n"  # recorded, not published
        procs[name] = proc
    _, err = procs["first"].communicate("\n", timeout=120)
    assert procs["first"].returncode == 0, err
    _, err = procs["second"].communicate("\n" * 40, timeout=120)  # it retries, then loses
    assert procs["second"].returncode == 3, err
    wt = hub.repo / ".worktrees" / slug
    logged = run_process(wt, "log", "the winner still holds it")
    assert logged.returncode == 0, logged.stderr
    done = run_process(wt, "complete", "--allow-empty")
    assert done.returncode == 0, done.stderr
