"""history, status and search, read from branches, the hub and the archive on main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, git

from git_sessions.patch import PatchCommit, added_lines, format_series, parse_patch


def ok(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def claim(repo: Path, slug: str, capsys: pytest.CaptureFixture[str]) -> Path:
    return Path(json.loads(ok(repo, "claim", slug, "--json", capsys=capsys))["worktree"])


def test_history_links_each_event_to_the_commit_that_recorded_it(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    [slug] = add_planned(hub.repo, 1)
    wt = claim(hub.repo, slug, capsys)
    ok(wt, "log", "first, written only", "--no-commit", capsys=capsys)
    (wt / "code.py").write_text("x = 1\n")
    git(wt, "add", "code.py")
    git(wt, "commit", "-qm", f"[{slug}] feat: code")
    ok(wt, "log", "second", capsys=capsys)
    ok(wt, "log", "third, not committed yet", "--no-commit", capsys=capsys)
    trace = json.loads(ok(wt, "history", "--json", capsys=capsys))
    assert trace["slug"] == slug and trace["source"] == "local branch"
    items = trace["items"]
    assert items[0]["kind"] == "claim"
    commits = {i["kind"]: i for i in items if i["type"] == "commit"}
    found = {i["text"]: i["commit"] for i in items if i["type"] == "event"}
    assert found == {
        "first, written only": commits["journal"]["id"],
        "second": commits["journal"]["id"],
        "third, not committed yet": None,
    }
    assert commits["work"]["subject"] == f"[{slug}] feat: code"
    assert items[-1]["text"] == "third, not committed yet"
    text = ok(wt, "history", capsys=capsys)
    assert text.splitlines()[0] == f"{slug}  [active]  read from the local branch"
    assert "uncommitted" in text.splitlines()[-1] and "journal" not in text


def test_status_reads_the_hub_branch_of_a_session_claimed_elsewhere(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    planned, elsewhere = add_planned(hub.repo, 2)
    status = json.loads(ok(hub.repo, "status", planned, "--json", capsys=capsys))
    assert status["state"] == "planned" and status["owner"] is None
    assert status["commits"] == 0 and status["event_count"] == 0 and status["claimed"] is None
    other = hub.clone("other")
    wt = claim(other, elsewhere, capsys)
    ok(wt, "metric", "tokens_used", "42", capsys=capsys)
    ok(wt, "milestone", "half way", capsys=capsys)
    status = json.loads(ok(hub.repo, "status", elsewhere, "--json", "-v", capsys=capsys))
    assert status["source"] == "hub branch" and status["state"] == "active"
    assert status["metrics"] == {"tokens_used": 42}
    assert status["milestones"] == {"done": [], "open": ["half way"]}
    assert status["journal_commits"] == 2 and len(status["commit_list"]) == 3
    assert [e["kind"] for e in status["recent_events"]] == ["metric", "milestone"]
    assert status["last_activity"]["kind"] == "milestone"
    text = ok(hub.repo, "status", elsewhere, capsys=capsys)
    assert "metrics:     tokens_used 42" in text and "  [ ] half way" in text


def test_search_finds_lines_across_states_without_a_checkout(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        hub.repo, "new", "cache", "layer", "--context", "Put Redis in front.", capsys=capsys
    )
    assert code == 0, err
    drafted = out.strip()
    done, active = add_planned(hub.repo, 2)
    wt = claim(hub.repo, done, capsys)
    ok(wt, "decision", "use redis", "--rationale", "we run it already", capsys=capsys)
    ok(hub.repo, "learn", "REDIS needs maxmemory set", "-s", done, capsys=capsys)
    ok(hub.repo, "complete", done, "--allow-empty", capsys=capsys)
    wt = claim(hub.repo, active, capsys)
    ok(wt, "blocker", "redis is down", capsys=capsys)  # only on the session branch so far

    hits = json.loads(ok(hub.repo, "search", "Redis", "--json", capsys=capsys))["hits"]
    seen = {(h["slug"], h["state"], h["path"].rsplit("/", 1)[-1], h["source"]) for h in hits}
    assert seen == {
        (drafted, "drafting", "SESSION.md", "main"),
        (done, "completed", "worklog.md", "main"),
        (done, "completed", "HANDOFF.md", "main"),
        (done, "completed", "learnings.md", "main"),
        (active, "active", "worklog.md", "local branch"),
    }
    for hit in hits:  # the line numbers point at the text on main or on the branch
        where, tree = (
            (hub.repo, f"session/{active}") if hit["state"] == "active" else (hub.hub, "main")
        )
        lines = git(where, "show", f"{tree}:{hit['path']}").splitlines()
        assert lines[hit["line"] - 1].strip() == hit["text"]
    only = json.loads(
        ok(hub.repo, "search", "redis", "--state", "active", "--json", capsys=capsys)
    )["hits"]
    assert [h["slug"] for h in only] == [active]
    text = ok(hub.repo, "search", "maxmemory", capsys=capsys).splitlines()
    assert [line.split(": ", 1)[0] for line in text] == [
        f"{done} [completed] worklog.md:7",
        f"{done} [completed] learnings.md:3",
    ]
    assert all(line.endswith("REDIS needs maxmemory set") for line in text)
    code, out, err = cli(hub.repo, "search", "no such words", capsys=capsys)
    assert code == 0 and out == "" and err == "no match\n"
    assert cli(hub.repo, "search", " ", capsys=capsys)[0] == 1
    assert cli(hub.repo, "search", "x", "--state", "nowhere", capsys=capsys)[0] == 1


def test_patch_series_parses_back_into_commits() -> None:
    path = "_AGENTS/sessions/active/2026-01-01-x/events.jsonl"
    diff = (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1,3 @@\n"
        ' {"a": 1}\n+{"b": 2}\n+{"c": 3}\n'
        "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -0,0 +1 @@\n+print()\n"
    )
    subject = "[2026-01-01-x] feat: " + "naïve unicode subject that is long " * 3
    commits = [
        PatchCommit("a" * 40, "Zoë Agent", "z@x.test", 1_767_268_800, 60, subject.strip(), diff),
        PatchCommit("b" * 40, "Bo", "b@x.test", 1_767_268_900, 0, "fix: y\n\nwhy\n\nS: 1\n", diff),
        PatchCommit("c" * 40, "Cy", "c@x.test", 1_767_269_000, 0, "fix: z", "-a\n---\n+b\n"),
    ]
    parsed = parse_patch(format_series(commits))
    assert [p.id for p in parsed] == ["a" * 40, "b" * 40, "c" * 40]
    assert parsed[0].author.name == "Zoë Agent" and parsed[0].time == 1_767_268_800
    assert parsed[0].message == subject.strip() + "\n"
    assert parsed[1].message == "fix: y\n\nwhy\n\nS: 1\n"
    assert [added_lines(p.diff, path) for p in parsed] == [2, 2, 0]
    assert parsed[2].message == "fix: z\n" and parsed[2].diff.startswith("-a\n---\n+b\n")
    assert parse_patch("") == []
