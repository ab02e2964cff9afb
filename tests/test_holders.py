"""Agent identity (seed 003): recorded at the claim, shown and filtered by list and status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, cli_error, git

from git_sessions.holders import age, parse_claim
from git_sessions.protocol import LOCK_FILE, SESSIONS, parse_lock

Capsys = pytest.CaptureFixture[str]


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def listed(hub: Hub, *args: str, capsys: Capsys) -> list[str]:
    return [
        s["slug"]
        for s in json.loads(ok(hub.repo, "list", "--json", *args, capsys=capsys))["sessions"]
    ]


def test_claim_records_the_agent_type_and_version(
    hub: Hub, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = add_planned(hub.repo, 3)
    out = ok(hub.repo, "claim", a, "--agent-type", "claude", "--agent-version", "sonnet-4.5",
             capsys=capsys)  # fmt: skip
    assert "(claude sonnet-4.5)" in out
    record = json.loads(git(hub.hub, "show", f"main:{SESSIONS}/active/{a}/claim.json"))
    assert record["agent_type"] == "claude" and record["agent_version"] == "sonnet-4.5"
    assert record["name"] == "Test Agent" and isinstance(record["claimed_at"], int)
    entries, bad = parse_lock(git(hub.hub, "show", f"main:{LOCK_FILE}"))
    assert [e.slug for e in entries] == [a] and bad == []  # the seed's slug:timestamp lines
    monkeypatch.setenv("GIT_SESSIONS_AGENT_TYPE", "codex")
    other = hub.clone("other")
    ok(other, "claim", b, "--agent", "Bo", "--email", "bo@example.com", "--no-worktree",
       capsys=capsys)  # fmt: skip
    monkeypatch.delenv("GIT_SESSIONS_AGENT_TYPE")

    assert listed(hub, "--agent-type", "claude", capsys=capsys) == [a]
    assert listed(hub, "--agent-type", "codex", capsys=capsys) == [b]
    assert listed(hub, "--agent", "BO@EXAMPLE", capsys=capsys) == [b]
    assert listed(hub, "--state", "planned", capsys=capsys) == [c]
    assert len(listed(hub, "--limit", "2", capsys=capsys)) == 2
    rows = json.loads(ok(hub.repo, "list", "--json", "--state", "active", capsys=capsys))[
        "sessions"
    ]
    assert rows[0]["holder"]["agent_type"] == "claude" and rows[0]["age_seconds"] >= 0
    table = ok(hub.repo, "list", capsys=capsys).splitlines()
    assert table[0].split()[3:6] == ["CAPABILITIES", "HOLDER", "AGE"]
    mine = next(line for line in table if line.startswith(a))
    assert "Test Agent (claude)" in mine

    status = json.loads(ok(hub.repo, "status", a, "--json", capsys=capsys))
    assert status["holder"]["agent_version"] == "sonnet-4.5"
    assert "agent:       Test Agent (claude sonnet-4.5)" in ok(hub.repo, "status", a, capsys=capsys)


def test_release_forgets_the_holder_and_bad_types_are_refused(hub: Hub, capsys: Capsys) -> None:
    [slug] = add_planned(hub.repo, 1)
    cli_error(hub, "claim", slug, "--agent-type", "a b", code=1, capsys=capsys)
    ok(hub.repo, "claim", slug, "--agent-type", "claude", capsys=capsys)
    ok(hub.repo, "release", slug, capsys=capsys)
    files = git(hub.hub, "ls-tree", "--name-only", f"main:{SESSIONS}/planned/{slug}")
    assert "claim.json" not in files
    assert cli(hub.repo, "check", capsys=capsys)[0] == 0


def test_claim_json_is_parsed_totally() -> None:
    assert parse_claim(None) is None and parse_claim("[1]") is None
    assert parse_claim("{") is None and parse_claim("x" * 5000) is None
    record = parse_claim('{"name": 5, "claimed_at": 1e999, "agent_type": "x"}')
    assert record is not None and record.name is None and record.claimed_at is None
    assert age(59) == "59s" and age(3600 * 5) == "5h" and age(86400 * 3 + 5) == "3d"


def test_history_filters_by_type_and_limits(hub: Hub, capsys: Capsys) -> None:
    [slug] = add_planned(hub.repo, 1)
    out = ok(hub.repo, "claim", slug, "--json", capsys=capsys)
    wt = Path(json.loads(out)["worktree"])
    for text in ("one", "two", "three"):
        ok(wt, "log", text, capsys=capsys)
    ok(wt, "decision", "use x", "-r", "because", capsys=capsys)
    data = json.loads(ok(wt, "history", "--type", "log", "--limit", "2", "--json", capsys=capsys))
    assert [i["text"] for i in data["items"]] == ["two", "three"]
    text = ok(wt, "history", "--type", "decision", capsys=capsys)
    assert "use x" in text and "three" not in text
    data = json.loads(ok(wt, "history", "--limit", "0", "--json", capsys=capsys))
    assert data["items"] == []


def test_watch_records_the_agent_type_from_the_environment(
    hub: Hub, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    [slug] = add_planned(hub.repo, 1)
    monkeypatch.setenv("GIT_SESSIONS_AGENT_TYPE", "codex")
    ok(hub.repo, "watch", "--claim", "--once", "--interval", "0.05", capsys=capsys)
    record = json.loads(git(hub.hub, "show", f"main:{SESSIONS}/active/{slug}/claim.json"))
    assert record["agent_type"] == "codex" and record["agent_version"] is None
