"""Messages between sessions: one commit each on main, inboxes with per-recipient read state."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, cli_error, git, push_files

from git_sessions.messages import BROADCAST, inbox_file

Capsys = pytest.CaptureFixture[str]


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def box(repo: Path, slug: str, capsys: Capsys, *args: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(ok(repo, "inbox", slug, "--json", *args, capsys=capsys))
    return data


def test_send_read_and_broadcast(hub: Hub, capsys: Capsys) -> None:
    a, b = add_planned(hub.repo, 2)
    before = hub.main()
    sent = json.loads(
        ok(
            hub.repo,
            "message",
            "--to",
            a,
            "API changed",
            "--priority",
            "high",
            "--json",
            capsys=capsys,
        )
    )
    assert git(hub.hub, "rev-list", "--count", f"{before}..main").strip() == "1"
    assert git(hub.hub, "log", "-1", "--format=%s", "main").strip().endswith(f"message to {a}")
    ok(hub.repo, "message", "--all", "standup at 10", capsys=capsys)
    first = box(hub.repo, a, capsys)
    assert first["unread"] == 2 and first["high_priority_unread"] == 1
    texts = [m["text"] for m in first["messages"]]  # type: ignore[attr-defined]
    assert texts == ["API changed", "standup at 10"]
    assert box(hub.repo, b, capsys)["unread"] == 1  # only the broadcast

    shown = ok(hub.repo, "inbox", a, "--mark-read", capsys=capsys)
    assert "! " in shown and "API changed" in shown
    assert box(hub.repo, a, capsys)["unread"] == 0
    assert box(hub.repo, b, capsys)["unread"] == 1  # read state is per recipient
    assert len(box(hub.repo, a, capsys, "--all")["messages"]) == 2  # type: ignore[arg-type]
    marks = git(hub.hub, "show", f"main:{inbox_file(a)}").splitlines()
    assert json.loads(marks[-1]) == {"read": sent["id"]} or "read" in marks[-1]
    assert cli(hub.repo, "check", capsys=capsys)[0] == 0


def test_status_shows_the_inbox(hub: Hub, capsys: Capsys) -> None:
    [slug] = add_planned(hub.repo, 1)
    wt = Path(json.loads(ok(hub.repo, "claim", slug, "--json", capsys=capsys))["worktree"])
    ok(hub.repo, "message", "--to", slug, "please rebase", "--priority", "high", capsys=capsys)
    text = ok(wt, "status", capsys=capsys)
    assert "inbox:       1 unread, 1 high priority" in text and "please rebase" in text
    data = json.loads(ok(wt, "status", "--json", capsys=capsys))
    assert data["inbox"]["unread"] == 1
    # sent from inside a session, the sender is the session
    ok(wt, "message", "--all", "done soon", capsys=capsys)
    [_, broadcast] = box(hub.repo, slug, capsys)["messages"]  # type: ignore[misc]
    assert broadcast["from"] == slug


def test_bad_messages_and_a_hostile_inbox(hub: Hub, capsys: Capsys) -> None:
    [slug] = add_planned(hub.repo, 1)
    cli_error(hub, "message", "--to", "2026-01-01-nobody", "hi", code=1, capsys=capsys)
    cli_error(hub, "message", "--to", "../etc", "hi", code=1, capsys=capsys)
    cli_error(hub, "message", "--to", slug, "  ", code=1, capsys=capsys)
    cli_error(hub, "message", "--to", slug, "x", "--priority", "urgent", code=1, capsys=capsys)
    assert cli(hub.repo, "message", "hi", capsys=capsys)[0] == 2  # neither --to nor --all
    empty = '{"id":"x","time":1,"from":"f","to":"all","priority":"high","text":""}'
    junk = f'[1]\n{{"id": 5}}\nnot json\n{empty}\n'
    push_files(hub.repo, {BROADCAST: junk}, "junk")
    data = box(hub.repo, slug, capsys)
    assert data["unread"] == 1
    assert "f -> all" in ok(hub.repo, "inbox", slug, capsys=capsys)


def test_concurrent_senders_lose_no_message(hub: Hub) -> None:
    """Six processes send at once; compare-and-swap keeps every message, each once."""
    [slug] = add_planned(hub.repo, 1)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "git_sessions", "-C", str(hub.repo), "message", "--to", slug,
             f"note {i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    lines = git(hub.hub, "show", f"main:{inbox_file(slug)}").splitlines()
    assert sorted(json.loads(line)["text"] for line in lines) == [f"note {i}" for i in range(6)]
