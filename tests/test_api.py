"""git_sessions.api: the lifecycle in-process, mirroring the CLI tests, against a real bare hub."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path

import pytest
from conftest import Hub, git

from git_sessions import api
from git_sessions.errors import BadInput, Conflict

DAY = dt.date(2026, 5, 5)


def planned(repo: api.Repository, *words: str, **opts: object) -> str:
    made = repo.new(words, date=DAY, **opts)  # type: ignore[arg-type]
    assert made.state == "drafting"
    assert repo.ready(made.slug).state == "planned"
    return made.slug


def test_new_ready_unready_list_show(hub: Hub) -> None:
    repo = api.open_repository(hub.repo)
    made = repo.new(["auth", "system"], capabilities=["python"], priority=5, date=DAY)
    assert made == api.Moved("2026-05-05-auth-system", "drafting", hub.main())
    assert git(hub.hub, "log", "-1", "--format=%s").startswith(f"[{made.slug}] chore: draft")
    repo.ready(made.slug)
    listed = repo.list("planned")
    assert listed.main == hub.main()
    assert [(s.slug, s.priority, s.capabilities) for s in listed.sessions] == [
        (made.slug, 5, ("python",))
    ]
    shown = repo.show(made.slug)
    assert shown.session.state == "planned" and "auth system" in (shown.files["SESSION.md"] or "")
    assert repo.unready(made.slug).state == "drafting"
    assert repo.list("planned").sessions == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.slug = "x"  # type: ignore[misc]


def test_claim_makes_one_commit_worktree_and_environment(hub: Hub) -> None:
    repo = api.open_repository(hub.repo, agent="Bot", email="bot@example.com")
    slug = planned(repo, "thing")
    before = hub.main()
    claimed = repo.claim(slug)
    assert git(hub.hub, "rev-parse", "main~1").strip() == before, "exactly one commit"
    assert claimed.claim.commit == hub.main() and not claimed.claim.already_held
    assert git(hub.hub, "log", "-1", "--format=%an %s") == f"Bot [{slug}] chore: claim session\n"
    worktree = claimed.claim.worktree
    assert worktree == hub.repo / ".worktrees" / slug
    assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD").strip() == f"session/{slug}"
    assert claimed.environment["SESSION_ID"] == slug
    assert claimed.environment["GIT_AUTHOR_NAME"] == "Bot"
    assert claimed.port == int(claimed.environment["SESSION_PORT"])
    again = repo.claim(slug)
    assert again.claim.already_held and hub.main() == claimed.claim.commit


def test_claim_by_another_agent_is_a_conflict(hub: Hub) -> None:
    first = api.open_repository(hub.repo, agent="A", email="a@example.com")
    slug = planned(first, "contested")
    first.claim(slug, worktree=False)
    other = api.open_repository(hub.clone("other"), agent="B", email="b@example.com")
    with pytest.raises(Conflict) as caught:
        other.claim(slug)
    assert caught.value.code == "conflict" and caught.value.exit_code == 3
    assert "A <a@example.com>" in caught.value.message


def test_claim_next_honours_capabilities_priority_and_dependencies(hub: Hub) -> None:
    repo = api.open_repository(hub.repo)
    low = planned(repo, "low", priority=1)
    planned(repo, "rusty", priority=9, capabilities=["rust"])
    planned(repo, "waits", priority=8, depends_on=[low])
    queue = repo.queue(["python"])
    assert [s.slug for s in queue.claimable] == [low]
    reasons = {c.session.slug: c.reason for c in queue.entries}
    assert reasons[f"{DAY}-rusty"] == "needs capability rust"
    assert reasons[f"{DAY}-waits"] == f"blocked by {low}"
    assert repo.claim(capabilities=["python"], worktree=False).slug == low
    with pytest.raises(BadInput, match="no claimable session"):
        repo.claim(capabilities=["python"], worktree=False)


def test_journal_drift_search_and_complete(hub: Hub) -> None:
    repo = api.open_repository(hub.repo)
    slug = planned(repo, "login", criteria=["log in works"])
    wt = repo.claim(slug).claim.worktree
    assert wt is not None
    assert repo.log(slug, "read the code", category="planning").commit is not None
    assert repo.decision(slug, "use bcrypt", "packaged").event.kind == "decision"
    repo.milestone(slug, "log in works", done=True)
    repo.blocker(slug, "db down")
    assert repo.unblock(slug).event.kind == "unblock"
    repo.metric(slug, "tokens", "1200")
    learned = repo.learn(slug, "bcrypt truncates at 72 bytes")
    assert learned.path == f"_AGENTS/knowledge/sessions/{slug}/learnings.md"
    assert repo.heartbeat(slug).branch_pushed == git(wt, "rev-parse", "HEAD").strip()
    (wt / "login.py").write_text("ok\n")
    git(wt, "add", "login.py")
    git(wt, "commit", "-qm", f"[{slug}] feat: log in")
    report = repo.drift(slug)
    assert report.drift is not None and report.data["criteria_met"] == 1
    assert "login.py" in report.drift.touched_files
    assert {h.slug for h in repo.search("BCRYPT")} == {slug}
    done = repo.complete(slug)
    assert done.worktree_removed and done.kb_session is not None
    assert git(hub.hub, "show", "main:login.py") == "ok\n"
    stored = repo.drift(slug)
    assert stored.drift is None and stored.data["criteria_met"] == 1
    assert repo.check().ok


def test_release_and_abandon(hub: Hub) -> None:
    repo = api.open_repository(hub.repo)
    a, b = planned(repo, "first"), planned(repo, "second")
    repo.claim(a)
    released = repo.release(a)
    assert released.worktree_removed and not released.branch_kept
    assert repo.show(a).session.state == "planned"
    repo.claim(b)
    with pytest.raises(BadInput, match="reason"):
        repo.abandon(b, " ")
    gone = repo.abandon(b, "not needed")
    assert gone.branch == f"session/{b}" and repo.show(b).session.state == "abandoned"


def test_open_from_a_worktree_and_ignore_the_process_environment(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = api.open_repository(hub.repo)
    slug = planned(repo, "here")
    wt = repo.claim(slug).claim.worktree
    assert wt is not None
    monkeypatch.setenv("SESSION_ID", "2026-01-01-elsewhere")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Impostor")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "impostor@example.com")
    inside = api.open_repository(wt / "_AGENTS")
    assert inside.path == (wt / "_AGENTS").resolve()
    recorded = inside.log(slug, "from the worktree")
    assert git(wt, "log", "-1", "--format=%an").strip() == "Test Agent"
    assert recorded.commit == git(wt, "rev-parse", "HEAD").strip()


def test_errors_are_typed(hub: Hub, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not a git repository"):
        api.open_repository(tmp_path)
    repo = api.open_repository(hub.repo)
    with pytest.raises(BadInput) as caught:
        repo.show("2026-01-01-nothing")
    assert (caught.value.code, caught.value.exit_code) == ("bad_input", 1)
    assert caught.value.hint
    with pytest.raises(BadInput):
        repo.list("sleeping")
    with pytest.raises(BadInput):
        repo.log("2026-01-01-nothing", "x")


def test_spawn_handoff_crash_recover_status_history_and_reap(hub: Hub) -> None:
    repo = api.open_repository(hub.repo)
    parent = planned(repo, "parent")
    child = repo.spawn(["child"], parent, planned=True)
    assert (child.state, child.parent) == ("planned", parent)
    wt = repo.claim(parent).claim.worktree
    assert wt is not None
    assert repo.handoff(parent, ["write tests"], "halfway").event.kind == "handoff"
    (wt / "left.txt").write_text("unsaved\n")
    crashed = repo.crash(parent, "killed")
    assert crashed.event.kind == "crash" and "left.txt" in str(crashed.event.metadata)
    recovered = repo.recover(parent)
    assert git(wt, "status", "--porcelain") == "" and recovered.commit is not None
    status = repo.status(parent)
    assert status.trace.state == "active" and status.summary.next_steps == ["write tests"]
    kinds = [i.event.kind for i in repo.history(parent).events]
    assert kinds == ["handoff", "crash", "recover"]
    assert [r.outcome for r in repo.reap("1d", dry_run=True)] == []
    stale = repo.reap("1h", dry_run=True, clock=lambda: time.time() + 7200)
    assert [(r.slug, r.outcome) for r in stale] == [(parent, "would reap")]
