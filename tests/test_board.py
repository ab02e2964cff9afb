"""board: one line per session from one read of the hub, every state, and --problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Hub, cli, git, push_files

from test_complete import claimed, commit, planned

LOCK = "_AGENTS/sessions/sessions.lock"


def ok(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def board_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    doc = json.loads(ok(repo, "board", "--json", capsys=capsys))
    assert doc["schema"] == "git-sessions/board/v1"
    rows: list[dict[str, Any]] = doc["sessions"]
    return rows


def test_board_shows_every_state_and_the_problems(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    drafted = ok(hub.repo, "new", "rough", "idea", capsys=capsys).strip()
    clean, clash, blocked, stale, done, dropped, waiting = (
        planned(hub, capsys, word, criteria="it works", context="Change `src/app.py`.")
        for word in ("clean", "clash", "blocked", "stale", "done", "dropped", "waiting")
    )
    queued = planned(hub, capsys, "queued", criteria="a\n- [ ] b")
    for slug, files in (
        (clean, {"src/app.py": b"app\n", "extra.txt": b"x\n"}),
        (clash, {"README.md": b"session side\n"}),
        (blocked, {"src/b.py": b"b\n"}),
        (stale, {"src/s.py": b"s\n"}),
        (done, {"src/d.py": b"d\n"}),
        (dropped, {"src/x.py": b"x\n"}),
        (waiting, {"src/w.py": b"w\n"}),
    ):
        wt = claimed(hub, capsys, slug, "--agent", f"agent-{slug[-5:]}", "--email", "a@x.test")
        commit(wt, f"[{slug}] feat: work", files)
        if slug == blocked:
            ok(wt, "blocker", "waiting for the \x1b[31mAPI", capsys=capsys)
        if slug == waiting:
            worklog = wt / f"_AGENTS/sessions/active/{slug}/worklog.md"
            worklog.write_text(worklog.read_text() + "- [x] it works\n")
            git(wt, "commit", "-qam", f"[{slug}] docs: done")
        if slug == done:
            ok(hub.repo, "complete", slug, capsys=capsys)
        elif slug == dropped:
            ok(hub.repo, "abandon", slug, "--reason", "not needed", capsys=capsys)
        else:
            git(hub.repo, "push", "-q", "origin", f"session/{slug}")
    # main moves in README.md (a conflict for `clash`); `stale` lost its branch and its lock
    # line is old: no sign of life for years
    lock = git(hub.hub, "show", f"main:{LOCK}")
    lines = [f"{stale}:1000000000" if s.startswith(stale) else s for s in lock.splitlines()]
    push_files(hub.repo, {"README.md": "main side\n", LOCK: "\n".join(lines) + "\n"}, "move")
    git(hub.repo, "push", "-q", "origin", f":session/{stale}")

    rows = {r["slug"]: r for r in board_json(hub.repo, capsys)}
    assert rows[drafted]["state"] == "drafting" and rows[queued]["state"] == "planned"
    assert rows[queued]["criteria"] == {"done": 0, "total": 2}
    row = rows[clean]
    assert row["state"] == "active" and row["holder"]["name"] == f"agent-{clean[-5:]}"
    assert row["criteria"] == {"done": 0, "total": 1} and row["unplanned_files"] == 1
    assert row["ahead"] == 1 and row["behind"] > 1 and row["conflicts"] == []
    assert not row["stale"] and row["lease_age"] is not None and row["lease_ttl"] == 7200
    assert rows[clash]["conflicts"] == ["README.md"]
    assert rows[blocked]["blockers"] == ["waiting for the \x1b[31mAPI"]
    assert rows[blocked]["last_event"]["kind"] == "blocker"
    assert rows[stale]["stale"] and rows[stale]["ahead"] is None
    assert rows[waiting]["waiting_to_land"] and rows[waiting]["criteria"]["done"] == 1
    assert rows[done]["state"] == "completed" and rows[done]["criteria"]["total"] == 1
    assert rows[dropped]["state"] == "abandoned"
    assert not rows[done]["problems"] and not rows[clean]["problems"]

    text = ok(hub.repo, "board", capsys=capsys)
    assert "\x1b" not in text  # hub text never drives the terminal
    line = next(t for t in text.splitlines() if clean in t)
    assert line.split()[:2] == ["active", clean] and f"+1 -{row['behind']}" in line
    assert "clean" in line
    assert " 0/1 " in line and " +1 " in line
    assert "conflict" in next(t for t in text.splitlines() if clash in t)
    assert "STALE" in next(t for t in text.splitlines() if stale in t)

    problems = ok(hub.repo, "board", "--problems", capsys=capsys).splitlines()
    assert problems[0].split()[0] == "STATE" and problems[0].endswith("PROBLEMS")
    found = {p.split()[1]: p for p in problems[1:]}
    assert set(found) == {clash, blocked, stale, waiting}
    assert found[clash].endswith("conflicts with main")
    assert found[stale].endswith("stale lease") and found[blocked].endswith("blocked")
    assert found[waiting].endswith("waiting to land")
    data = json.loads(ok(hub.repo, "board", "--problems", "--json", capsys=capsys))["sessions"]
    assert {r["slug"] for r in data} == set(found)
    assert cli(hub.repo, "board", "--state", "nope", capsys=capsys)[0] == 1


def test_board_and_review_survive_malformed_hub_files(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    done = "2026-01-01-broken-report"
    planned_slug = "2026-01-01-broken-plan"
    active = planned(hub, capsys, "broken", "active")
    wt = claimed(hub, capsys, active)
    commit(wt, f"[{active}] feat: work", {"w.txt": b"w\n"})
    git(hub.repo, "push", "-q", "origin", f"session/{active}")
    folder = f"_AGENTS/sessions/completed/{done}"
    push_files(
        hub.repo,
        {
            f"{folder}/SESSION.md": "---\ntitle: x\n---\n",
            f"{folder}/drift.md": "---\ncriteria: [unclosed\n---\n",
            f"{folder}/events.jsonl": '{"time": "never"}\nnot json\n\x00\n',
            f"{folder}/{done}.patch": "From x\n---\ndiff --git a/\n-- \ngit-sessions 9\n",
            f"_AGENTS/sessions/planned/{planned_slug}/SESSION.md": "---\n: : :\n",
            f"_AGENTS/sessions/active/{active}/SESSION.md": "---\n- [ ] [\n---\n",
        },
        "hand-edited files",
    )
    rows = {r["slug"]: r for r in board_json(hub.repo, capsys)}
    assert rows[done]["criteria"] == {"done": 0, "total": 0}
    assert rows[done]["last_event"] is None
    assert rows[planned_slug]["criteria"] == {"done": 0, "total": 0}
    assert rows[active]["state"] == "active" and rows[active]["criteria"]["total"] == 0
    out = tmp_path / "site"
    ok(hub.repo, "review", "--out", str(out), capsys=capsys)
    for slug in (done, planned_slug, active):
        assert (out / f"{slug}.html").is_file()


def test_board_over_a_network_hub(
    hub: Hub,
    git_daemon: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slug = planned(hub, capsys, "remote", criteria="it works")
    wt = claimed(hub, capsys, slug, "--agent", "far", "--email", "far@x.test")
    commit(wt, f"[{slug}] feat: work", {"far.txt": b"far\n"})
    git(hub.repo, "push", "-q", "origin", f"session/{slug}")
    clone = hub.repo.parent / "networked"
    git(hub.repo.parent, "clone", "-q", git_daemon, str(clone))
    rows = {r["slug"]: r for r in board_json(clone, capsys)}
    row = rows[slug]
    assert row["holder"]["name"] == "far" and row["ahead"] == 1 and row["behind"] == 0
    assert row["conflicts"] == [] and row["unplanned_files"] == 1
