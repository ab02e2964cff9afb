"""Counters and gauges, progress, and retroactive journal entries (seeds 001-003)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, cli_error

from git_sessions import events
from git_sessions.summaries import summarize

Capsys = pytest.CaptureFixture[str]
NOW = 1_767_268_800  # 2026-01-01T12:00:00Z


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def claimed(hub: Hub, capsys: Capsys) -> Path:
    [slug] = add_planned(hub.repo, 1)
    return Path(json.loads(ok(hub.repo, "claim", slug, "--json", capsys=capsys))["worktree"])


def status(wt: Path, capsys: Capsys) -> dict[str, object]:
    data: dict[str, object] = json.loads(ok(wt, "status", "--json", capsys=capsys))
    return data


def test_a_gauge_replaces_and_a_counter_adds(hub: Hub, capsys: Capsys) -> None:
    wt = claimed(hub, capsys)
    ok(wt, "metric", "progress_pct", "30", "--set", capsys=capsys)
    ok(wt, "metric", "progress_pct", "60", "--set", capsys=capsys)
    ok(wt, "metric", "tokens_used", "100", capsys=capsys)
    ok(wt, "metric", "tokens_used", "50", capsys=capsys)
    data = status(wt, capsys)
    assert data["metrics"] == {"progress_pct": 60, "tokens_used": 150}
    assert data["progress_pct"] == 60.0
    assert "progress:    60%" in ok(wt, "status", capsys=capsys)


def test_progress_from_milestones(hub: Hub, capsys: Capsys) -> None:
    wt = claimed(hub, capsys)
    assert status(wt, capsys)["progress_pct"] is None
    for goal in ("parse", "render", "ship", "docs"):
        ok(wt, "milestone", goal, capsys=capsys)
    ok(wt, "milestone", "parse", "--done", capsys=capsys)
    assert status(wt, capsys)["progress_pct"] == 25.0


def test_progress_is_clamped_and_the_newest_gauge_wins() -> None:
    def metric(value: str, at: int, *, gauge: bool = True) -> events.Event:
        return events.metric_event("progress_pct", value, at, gauge=gauge)

    assert summarize([metric("250", 1)]).progress_pct == 100.0
    late_but_old = events.backdate(metric("10", NOW), NOW - 3600, NOW)
    summary = summarize([metric("70", NOW - 60), late_but_old])
    assert summary.metrics["progress_pct"] == 70 and summary.progress_pct == 70.0


def test_at_records_a_retroactive_entry(hub: Hub, capsys: Capsys) -> None:
    wt = claimed(hub, capsys)
    done = json.loads(
        ok(wt, "log", "created connector.py", "--at", "2026-01-01T13:45", "--json", capsys=capsys)
    )
    event = done["event"]
    assert event["time"] == "2026-01-01T13:45:00Z"
    assert event["metadata"]["retroactive"] is True and "recorded_at" in event["metadata"]
    ok(wt, "milestone", "parser", "--done", "--at", "2026-01-01T14:00+01:00", capsys=capsys)
    worklog = next(wt.glob("_AGENTS/sessions/active/*/worklog.md")).read_text()
    assert "- 13:45 (retroactive) created connector.py" in worklog
    assert "Milestone reached at 13:00 (retroactive)" in worklog
    lines = [json.loads(x) for x in next(wt.glob("_AGENTS/sessions/active/*/events.jsonl")).open()]
    assert [x["metadata"].get("retroactive") for x in lines] == [True, True]


def test_at_is_checked(hub: Hub, capsys: Capsys) -> None:
    wt = claimed(hub, capsys)
    for bad in ("yesterday", "2999-01-01T00:00", "1990-01-01", "25:99"):
        cli_error(hub, "log", "x", "--at", bad, code=1, capsys=capsys, repo=wt)


def test_parse_at_forms() -> None:
    assert events.parse_at("11:30", NOW) == NOW - 1800
    assert events.parse_at("2026-01-01 11:00:00Z", NOW) == NOW - 3600
    with pytest.raises(events.BadInput):
        events.parse_at("12:30", NOW)  # later today: the future


def test_learn_and_crash_take_at_too(hub: Hub, capsys: Capsys) -> None:
    wt = claimed(hub, capsys)
    ok(wt, "learn", "the proxy strips headers", "--at", "2026-01-01T09:30", capsys=capsys)
    ok(wt, "crash", "the agent died", "--at", "2026-01-01T10:00Z", capsys=capsys)
    lines = [json.loads(x) for x in next(wt.glob("_AGENTS/sessions/active/*/events.jsonl")).open()]
    assert [(x["kind"], x["time"], x["metadata"]["retroactive"]) for x in lines] == [
        ("learning", "2026-01-01T09:30:00Z", True),
        ("crash", "2026-01-01T10:00:00Z", True),
    ]
    learnings = next(wt.glob("_AGENTS/knowledge/sessions/*/learnings.md")).read_text()
    assert "- 2026-01-01 09:30 the proxy strips headers" in learnings
