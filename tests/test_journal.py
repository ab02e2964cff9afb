"""The journal: entries on the session branch, worklog.md and events.jsonl, handoffs, crashes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, cli_error, git

from git_sessions import events
from git_sessions.summaries import summarize
from git_sessions.worklog import SUBJECT_LIMIT, append_worklog, commit_message

T0 = 1_767_268_800  # 2026-01-01T12:00:00Z


def claimed(hub: Hub, capsys: pytest.CaptureFixture[str], n: int = 1) -> list[tuple[str, Path]]:
    found = []
    for slug in add_planned(hub.repo, n):
        code, out, err = cli(hub.repo, "claim", slug, "--json", capsys=capsys)
        assert code == 0, err
        found.append((slug, Path(json.loads(out)["worktree"])))
    return found


def ok(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def folder(state: str, slug: str) -> str:
    return f"_AGENTS/sessions/{state}/{slug}"


def show(hub: Hub, path: str) -> str:
    return git(hub.hub, "show", f"main:{path}")


def commit_in(wt: Path, name: str, message: str) -> None:
    (wt / name).write_text(f"{name}\n")
    git(wt, "add", name)
    git(wt, "commit", "-qm", message)


# --------------------------------------------------------------------------- the whole story


def test_scripted_session_leaves_its_journal_on_main(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    [(slug, wt)] = claimed(hub, capsys)
    ok(hub.repo, "hooks", "install", capsys=capsys)
    ok(wt, "log", "parser scaffolded", "--category", "implementation", capsys=capsys)
    ok(wt, "decision", "use sha-256", "--rationale", "fast and standard", capsys=capsys)
    ok(wt, "milestone", "parser works", "--done", capsys=capsys)
    ok(wt, "metric", "tokens_used", "1200", capsys=capsys)
    ok(wt, "metric", "tokens_used", "800", capsys=capsys)
    ok(wt, "metric", "cost_usd", "0.25", capsys=capsys)
    commit_in(wt, "a.py", f"[{slug}] feat: parser")
    commit_in(wt, "b.py", f"[{slug}] test: parser tests")
    ok(wt, "handoff", "--next", "document the parser", capsys=capsys)
    assert git(wt, "status", "--porcelain") == ""

    active = json.loads(ok(hub.repo, "status", slug, "--json", capsys=capsys))
    assert active["state"] == "active" and active["source"] == "local branch"
    assert active["commits"] == 2 and active["journal_commits"] == 7

    ok(hub.repo, "complete", slug, capsys=capsys)
    done = folder("completed", slug)
    worklog = show(hub, f"{done}/worklog.md")
    for line in (
        "] parser scaffolded",
        "Decision: use sha-256",
        "  Rationale: fast and standard",
        "- [x] parser works",
        "Metric: tokens_used=1200",
        "Metric: tokens_used=800",
        "Metric: cost_usd=0.25",
        "Handoff: HANDOFF.md written",
        "  Next: document the parser",
    ):
        assert line in worklog
    assert "[implementation] parser scaffolded" in worklog
    recorded = [json.loads(line) for line in show(hub, f"{done}/events.jsonl").splitlines()]
    assert [(e["kind"], e["text"]) for e in recorded] == [
        ("log", "parser scaffolded"),
        ("decision", "use sha-256"),
        ("milestone", "parser works"),
        ("metric", "tokens_used=1200"),
        ("metric", "tokens_used=800"),
        ("metric", "cost_usd=0.25"),
        ("handoff", "HANDOFF.md written"),
    ]
    assert [e["metadata"] for e in recorded] == [
        {"category": "implementation"},
        {"rationale": "fast and standard"},
        {"done": True},
        {"name": "tokens_used", "value": 1200},
        {"name": "tokens_used", "value": 800},
        {"name": "cost_usd", "value": 0.25},
        {"next_steps": ["document the parser"]},
    ]
    assert all(set(e) == {"time", "kind", "text", "metadata"} for e in recorded)
    handoff = show(hub, f"{done}/HANDOFF.md")
    assert "- Status: completed" in handoff
    assert "- use sha-256 (rationale: fast and standard)" in handoff
    assert "## Files touched\n- a.py\n- b.py\n" in handoff
    assert "- document the parser" in handoff and "- [x] parser works" in handoff
    assert f"- [{slug}] feat: parser\n- [{slug}] test: parser tests\n" in handoff
    patch = show(hub, f"{done}/{slug}.journal.patch")
    assert patch.count(f"Session: {slug}\n") == 9  # two work commits and seven journal ones
    squash = "main^"  # main: its end record
    trailer = git(hub.hub, "log", "-1", "--format=%(trailers:key=Session,valueonly)", squash)
    assert trailer.strip() == slug

    status = json.loads(ok(hub.repo, "status", slug, "--json", capsys=capsys))
    assert status["state"] == "completed" and status["goal"] == "task 0"
    assert status["owner"] == {"name": "Test Agent", "email": "agent@example.com"}
    assert status["commits"] == 2 and status["commits_with_trailer"] == 2
    assert status["journal_commits"] == 7 and status["event_count"] == 7
    assert status["events"] == {"decision": 1, "handoff": 1, "log": 1, "metric": 3, "milestone": 1}
    assert status["metrics"] == {"cost_usd": 0.25, "tokens_used": 2000}
    assert status["milestones"] == {"done": ["parser works"], "open": []}
    assert status["blockers"] == [] and status["next_steps"] == ["document the parser"]
    assert status["last_activity"]["kind"] == "complete"
    assert status["duration_seconds"] >= 0 and status["claimed"] and status["ended"]

    items = json.loads(ok(hub.repo, "history", slug, "--json", capsys=capsys))["items"]
    kinds = [i["kind"] for i in items if i["kind"] != "journal"]
    assert kinds[0] == "claim" and kinds[-1] == "complete"
    assert kinds[1:-1] == [
        *("log", "decision", "milestone", "metric", "metric", "metric"),
        *("work", "work", "handoff"),
    ]
    times = [i["time"] for i in items]
    assert times == sorted(times)
    work = [i for i in items if i["kind"] == "work"]
    assert [w["subject"] for w in work] == [
        f"[{slug}] feat: parser",
        f"[{slug}] test: parser tests",
    ]
    assert all(w["session_trailer"] for w in work)
    journal = {i["id"]: i for i in items if i["kind"] == "journal"}
    for item in items:
        if item["type"] == "event":  # each event links to the commit that recorded it
            assert journal[item["commit"]]["subject"].startswith(f"[{slug}] docs: {item['kind']}")


def test_refusals(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    [(slug, wt)] = claimed(hub, capsys)
    tip = git(wt, "rev-parse", "HEAD")
    err = cli_error(hub, "decision", "use redis", "-s", slug, code=1, capsys=capsys)
    assert "rationale" in err
    cli_error(hub, "decision", "use redis", "-r", "  ", "-s", slug, code=1, capsys=capsys)
    err = cli_error(hub, "log", "orphan entry", code=1, capsys=capsys)
    assert err.startswith("error: no current session")
    for args in (
        ("log", "x", "--category", "vibes"),
        ("log", "   "),
        ("metric", "tokens_used", "many"),
        ("metric", "Tokens Used", "1"),
        ("metric", "cost", "nan"),
        ("unblock",),
        ("recover", "-s", "2026-01-01-not-here"),
    ):
        cli_error(hub, *args, code=1, capsys=capsys, repo=wt)
    cli_error(hub, "log", "x", "-s", "2026-01-01-unknown", code=1, capsys=capsys)
    assert cli(wt, "log", capsys=capsys)[0] == 2
    assert git(wt, "rev-parse", "HEAD") == tip
    assert git(wt, "status", "--porcelain") == ""


def test_session_from_environment_and_no_commit(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    [(slug, wt)] = claimed(hub, capsys)
    monkeypatch.setenv("SESSION_ID", slug)
    tip = git(wt, "rev-parse", "HEAD")
    out = ok(hub.repo, "log", "drafted", "--no-commit", "--json", capsys=capsys)
    assert json.loads(out)["commit"] is None
    assert git(wt, "rev-parse", "HEAD") == tip
    assert git(wt, "status", "--porcelain").splitlines() == [
        f" M {folder('active', slug)}/worklog.md",
        f"?? {folder('active', slug)}/events.jsonl",
    ]
    out = ok(hub.repo, "blocker", "waiting for review", "--json", capsys=capsys)
    new = json.loads(out)["commit"]
    assert git(wt, "status", "--porcelain") == ""
    assert git(wt, "rev-parse", "HEAD").strip() == new
    shown = git(wt, "show", "HEAD:" + f"{folder('active', slug)}/events.jsonl")
    assert [e.kind for e in events.parse_jsonl(shown)] == ["log", "blocker"]
    ok(hub.repo, "unblock", capsys=capsys)
    status = json.loads(ok(hub.repo, "status", "--json", capsys=capsys))
    assert status["blockers"] == [] and status["events"]["unblock"] == 1


def test_crash_then_recover_commits_leftovers(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    [(slug, wt)] = claimed(hub, capsys)
    commit_in(wt, "keep.py", f"[{slug}] feat: keep")
    (wt / "half.py").write_text("def half(): ...\n")
    (wt / "keep.py").unlink()
    out = ok(wt, "crash", "agent ran out of memory", "--json", capsys=capsys)
    assert json.loads(out)["event"]["metadata"] == {"uncommitted": ["half.py", "keep.py"]}
    out = ok(wt, "recover", capsys=capsys)
    assert "Recovered: commit leftover work" in out and f"{slug}  [active]" in out
    assert git(wt, "status", "--porcelain") == ""
    assert git(wt, "log", "-1", "--format=%s").strip() == f"[{slug}] recover: commit leftover work"
    changed = git(wt, "show", "--name-status", "--format=", "HEAD").splitlines()
    assert "A\thalf.py" in changed and "D\tkeep.py" in changed
    recorded = events.parse_jsonl((wt / folder("active", slug) / "events.jsonl").read_text())
    assert recorded[-1].kind == "recover"
    assert recorded[-1].metadata["crash"] == "agent ran out of memory"
    out = ok(wt, "recover", "--json", capsys=capsys)
    assert json.loads(out)["event"]["text"] == "nothing left uncommitted"


def test_abandon_writes_a_handoff(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    [(slug, wt)] = claimed(hub, capsys)
    ok(wt, "blocker", "the API is gone", capsys=capsys)
    ok(wt, "milestone", "call the API", capsys=capsys)
    ok(hub.repo, "abandon", slug, "--reason", "no API", capsys=capsys)
    handoff = show(hub, f"{folder('abandoned', slug)}/HANDOFF.md")
    assert "- Status: abandoned: no API" in handoff
    assert "## Blockers\n- the API is gone\n" in handoff
    assert "## Next steps\n- call the API\n" in handoff
    status = json.loads(ok(hub.repo, "status", slug, "--json", capsys=capsys))
    assert status["state"] == "abandoned" and status["last_activity"]["kind"] == "abandon"
    assert status["blockers"] == ["the API is gone"]


def test_an_unreachable_hub_costs_a_note_not_the_entry(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    [(_, wt)] = claimed(hub, capsys)
    git(hub.repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    code, _, err = cli(wt, "log", "offline work", capsys=capsys)
    assert code == 0, err
    assert err.startswith("note: the journal entry is committed locally")
    assert "offline work" in git(wt, "show", "HEAD")


def test_concurrent_writers_lose_nothing(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    """Two processes log into one session while a third logs into another: every entry lands,
    and both sessions complete without conflicts (each writes only inside its own folder)."""
    import subprocess
    import sys

    (one, wt1), (two, wt2) = claimed(hub, capsys, 2)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "git_sessions", "-C", str(wt), "log", f"entry {n}"],
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for n, wt in enumerate((wt1, wt1, wt2))
    ]
    for proc in procs:
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    for slug, wt, count in ((one, wt1, 2), (two, wt2, 1)):
        text = git(wt, "show", f"HEAD:{folder('active', slug)}/events.jsonl")
        assert len(events.parse_jsonl(text)) == count
        assert git(wt, "status", "--porcelain") == ""
    for slug in (one, two):
        ok(hub.repo, "complete", slug, "--allow-empty", capsys=capsys)
    assert len(events.parse_jsonl(show(hub, f"{folder('completed', one)}/events.jsonl"))) == 2
    ok(hub.repo, "check", capsys=capsys)


def test_learn_is_a_journal_event_too(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    [(slug, wt)] = claimed(hub, capsys)
    ok(wt, "learn", "libgit2 pushes to local paths are not atomic", "-s", slug, capsys=capsys)
    assert git(wt, "status", "--porcelain") == ""
    assert git(wt, "log", "-1", "--format=%s").strip() == f"[{slug}] docs: capture learning"
    worklog = (wt / folder("active", slug) / "worklog.md").read_text()
    assert "Learned: libgit2 pushes to local paths are not atomic" in worklog


# --------------------------------------------------------------------------- pure formatting


def test_worklog_groups_entries_by_day() -> None:
    day2 = T0 + 86_400
    text = "# Worklog: s\n\nIntro.\n"
    text = append_worklog(text, events.log_event("one", "testing", T0))
    text = append_worklog(text, events.decision_event("two", "why\nreally", T0 + 60))
    text = append_worklog(text, events.milestone_event("three", done=False, now=T0 + 120))
    text = append_worklog(text, events.log_event("four\nsecond line", None, day2))
    assert text == (
        "# Worklog: s\n\nIntro.\n\n## 2026-01-01\n\n"
        "- 12:00 [testing] one\n"
        "- 12:01 Decision: two\n  Rationale: why\n  really\n"
        "- [ ] three\n  Milestone set at 12:02\n"
        "\n## 2026-01-02\n\n"
        "- 12:00 four\n  second line\n"
    )


def test_events_round_trip_and_summary() -> None:
    made = [
        events.log_event("a", None, T0),
        events.milestone_event("Ship it", done=False, now=T0),
        events.blocker_event("x", T0),
        events.blocker_event("y", T0),
        events.metric_event("tokens_used", "10", T0),
        events.metric_event("tokens_used", "2.5", T0),
        events.milestone_event("ship it", done=True, now=T0),
    ]
    made.append(events.unblock_event(made, "X", T0))
    text = "".join(events.jsonl_line(e) for e in made) + "not json\n"
    assert events.parse_jsonl(text) == made
    summary = summarize(made)
    assert summary.metrics == {"tokens_used": 12.5}
    assert summary.milestones == {"Ship it": True}
    assert summary.blockers == ["y"]
    assert json.loads(events.jsonl_line(made[0]))["time"] == "2026-01-01T12:00:00Z"
    message = commit_message("2026-01-01-s", events.log_event("w " * 60, None, T0))
    subject = message.splitlines()[0]
    assert len(subject) <= SUBJECT_LIMIT and subject.endswith("w...")
    assert message.endswith("\n\nSession: 2026-01-01-s\nSession-Event: log\n")


def test_worktrees_leave_other_sessions_out_and_keep_them_in_commits(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    [(slug, wt), (other, _)] = claimed(hub, capsys, 2)
    sessions = wt / "_AGENTS" / "sessions"
    assert (sessions / "active" / slug / "SESSION.md").is_file()
    assert (sessions / "sessions.lock").is_file()
    assert not (sessions / "active" / other).exists()
    assert {p.name for p in (sessions / "active").iterdir()} <= {slug, ".gitkeep"}
    assert git(wt, "status", "--porcelain") == ""
    # a commit of everything (recover) and a journal entry keep the folders left out
    (wt / "leftover.py").write_text("x = 1\n")
    ok(wt, "recover", capsys=capsys)
    ok(wt, "log", "still here", capsys=capsys)
    tree = git(wt, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    assert f"{folder('planned', other)}/SESSION.md" in tree  # as it was at this claim
    assert "leftover.py" in tree
    assert git(wt, "status", "--porcelain") == ""
    assert not (sessions / "active" / other).exists()
    ok(wt, "complete", capsys=capsys)
    main_tree = git(hub.hub, "ls-tree", "-r", "--name-only", "main").splitlines()
    assert f"{folder('active', other)}/SESSION.md" in main_tree
    assert f"{folder('completed', slug)}/SESSION.md" in main_tree
    assert "leftover.py" in main_tree
