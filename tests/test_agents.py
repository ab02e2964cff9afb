"""Background agents: queue, watch, heartbeat and reap, bootstrap, spawn; real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Hub, age_claims, cli, git, run_process

Capsys = pytest.CaptureFixture[str]


def planned(hub: Hub, capsys: Capsys, *words: str, **opts: str) -> str:
    args = [*words]
    for key, value in opts.items():
        args += [f"--{key.replace('_', '-')}", value]
    code, out, err = cli(hub.repo, "new", *args, "--date", "2026-04-04", capsys=capsys)
    assert code == 0, err
    slug = out.strip()
    assert cli(hub.repo, "ready", slug, capsys=capsys)[0] == 0
    return slug


def as_agent(name: str) -> list[str]:
    return ["--agent", name, "--email", f"{name}@agents.test"]


def test_queue_order_and_reasons(hub: Hub, capsys: Capsys) -> None:
    low = planned(hub, capsys, "low", priority="1")
    high = planned(hub, capsys, "high", priority="7")
    rusty = planned(hub, capsys, "rusty", priority="9", capability="rust")
    waits = planned(hub, capsys, "waits", priority="8", depends_on=low)
    code, out, _ = cli(hub.repo, "queue", "--json", capsys=capsys)
    assert code == 0
    assert [s["slug"] for s in json.loads(out)["sessions"]] == [high, low]
    code, out, _ = cli(hub.repo, "queue", "--all", "--json", capsys=capsys)
    rows = {s["slug"]: (s["claimable"], s["reason"]) for s in json.loads(out)["sessions"]}
    assert [s["slug"] for s in json.loads(out)["sessions"]] == [rusty, waits, high, low]
    assert rows[rusty] == (False, "needs capability rust")
    assert rows[waits] == (False, f"blocked by {low}")
    code, out, _ = cli(hub.repo, "queue", "-c", "rust", capsys=capsys)
    assert out.splitlines()[1].startswith(rusty)
    # claim --next takes them in exactly this order
    code, out, _ = cli(hub.repo, "claim", "--next", "--no-worktree", "--json", capsys=capsys)
    assert json.loads(out)["slug"] == high


def test_watch_claims_a_session_readied_after_it_started(hub: Hub, capsys: Capsys) -> None:
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "git_sessions",
            "-C",
            str(hub.repo),
            "watch",
            "--claim",
            "--once",
            "--interval",
            "0.1",
            "--json",
            "--exec",
            "echo $SESSION_ID > started.txt",
            *as_agent("watcher"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    first = [json.loads(watcher.stdout.readline()) for _ in range(2)]
    assert [e["event"] for e in first] == ["started", "idle"], "nothing to claim yet"
    assert watcher.poll() is None, "it keeps polling"
    slug = planned(hub, capsys, "arrives", "later")
    out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    events = first + [json.loads(line) for line in out.splitlines()]
    kinds = [e["event"] for e in events]
    assert "claimed" in kinds and kinds[-1] == "stopped"
    claimed = next(e for e in events if e["event"] == "claimed")
    assert claimed["slug"] == slug
    worktree = Path(claimed["claim"]["worktree"])
    assert (worktree / "started.txt").read_text().strip() == slug


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_watch_stops_cleanly_on_sigterm(hub: Hub, sig: signal.Signals) -> None:
    """The signal is sent once the watcher says it is watching: its handlers are installed
    by then, so it stops cleanly however loaded the machine is."""
    watcher = subprocess.Popen(
        [sys.executable, "-m", "git_sessions", "-C", str(hub.repo), "watch", "--interval", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watcher.stderr is not None
    assert watcher.stderr.readline().startswith("watching")
    watcher.send_signal(sig)
    _, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    assert "stopped" in err and "Traceback" not in err


def test_two_concurrent_reapers_return_a_stale_claim_exactly_once(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, capsys, "stale")
    assert cli(hub.repo, "claim", slug, *as_agent("sleepy"), capsys=capsys)[0] == 0
    age_claims(hub.repo)
    reapers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "git_sessions",
                "-C",
                str(hub.repo),
                "reap",
                "--older-than",
                "1h",
                "--json",
                *as_agent(f"reaper{i}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outcomes = []
    for proc in reapers:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outcomes += [r["outcome"] for r in json.loads(out)["reaped"]]
    assert outcomes.count("reaped") == 1
    subjects = git(hub.hub, "log", "--format=%s", "main").splitlines()
    assert subjects.count(f"[{slug}] chore: reap session") == 1
    worklog = git(hub.hub, "show", f"main:_AGENTS/sessions/planned/{slug}/worklog.md")
    assert "Reaped by reaper" in worklog and "sleepy <sleepy@agents.test>" in worklog
    assert run_process(hub.repo, "check").returncode == 0


def test_heartbeat_prevents_a_reap(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, capsys, "alive")
    assert cli(hub.repo, "claim", slug, capsys=capsys)[0] == 0
    age_claims(hub.repo)
    code, out, _ = cli(hub.repo, "reap", "--older-than", "1h", "--dry-run", "--json", capsys=capsys)
    assert [r["outcome"] for r in json.loads(out)["reaped"]] == ["would reap"]
    code, out, err = cli(hub.repo, "heartbeat", slug, "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["renewed"]
    code, out, _ = cli(hub.repo, "reap", "--older-than", "1h", "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["reaped"] == []
    assert f"active/{slug}/SESSION.md" in git(hub.hub, "ls-tree", "-r", "--name-only", "main")


def test_reaped_session_continues_on_the_same_branch(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, capsys, "relay")
    code, out, _ = cli(hub.repo, "claim", slug, "--json", *as_agent("first"), capsys=capsys)
    wt = Path(json.loads(out)["worktree"])
    (wt / "relay.txt").write_text("leg one\n")
    git(wt, "add", "relay.txt")
    old = {"GIT_AUTHOR_DATE": "@1000000000 +0000", "GIT_COMMITTER_DATE": "@1000000000 +0000"}
    git(wt, "-c", "user.name=first", "commit", "-qm", f"[{slug}] feat: leg one", env=old)
    assert cli(hub.repo, "heartbeat", slug, capsys=capsys)[0] == 0
    first_tip = git(wt, "rev-parse", "HEAD").strip()
    age_claims(hub.repo)  # the branch on the hub is as old: no sign of life since
    code, out, _ = cli(hub.repo, "reap", "--older-than", "1h", "--json", capsys=capsys)
    assert code == 0 and [r["outcome"] for r in json.loads(out)["reaped"]] == ["reaped"]
    other = hub.clone("second-machine")
    result = run_process(other, "claim", slug, "--json", *as_agent("second"))
    assert result.returncode == 0, result.stderr
    wt2 = Path(json.loads(result.stdout)["worktree"])
    assert (wt2 / "relay.txt").read_text() == "leg one\n"
    git(wt2, "merge-base", "--is-ancestor", first_tip, "HEAD")
    worklog = (wt2 / f"_AGENTS/sessions/active/{slug}/worklog.md").read_text()
    assert "Reaped by" in worklog
    env = (wt2 / f"_AGENTS/sessions/active/{slug}/.session-env").read_text()
    assert "GIT_AUTHOR_EMAIL=second@agents.test" in env
    assert git(wt2, "status", "--porcelain") == ""


def test_bootstrap_copies_runs_and_sets_the_port(hub: Hub, capsys: Capsys) -> None:
    (hub.repo / ".env").write_text("SECRET=42\n")
    (hub.repo / "_AGENTS/config.yaml").write_text(
        'bootstrap:\n  copy: [.env]\n  run:\n    - echo "$SESSION_PORT" > port.txt\n'
        "ports:\n  base: 30000\n  block: 5\n  slots: 100\n"
    )
    slug = planned(hub, capsys, "booted")
    code, out, err = cli(hub.repo, "claim", slug, "--json", "--yes", capsys=capsys)
    assert code == 0, err
    data = json.loads(out)
    wt = Path(data["worktree"])
    assert data["bootstrap"]["ok"] and data["bootstrap"]["copied"] == [".env"]
    assert (wt / ".env").read_text() == "SECRET=42\n"
    env = (wt / f"_AGENTS/sessions/active/{slug}/.session-env").read_text()
    port = int(env.split("SESSION_PORT=")[1].split()[0])
    assert 30000 <= port < 30500 and (port - 30000) % 5 == 0
    assert (wt / "port.txt").read_text().strip() == str(port)


def test_failing_bootstrap_is_reported_and_the_claim_stays(hub: Hub, capsys: Capsys) -> None:
    (hub.repo / "_AGENTS/config.yaml").write_text(
        "bootstrap:\n  run:\n    - echo installing; echo broken >&2; exit 3\n    - touch never\n"
    )
    slug = planned(hub, capsys, "badboot")
    code, out, err = cli(hub.repo, "claim", slug, "--json", "--yes", capsys=capsys)
    assert code == 0, err
    boot = json.loads(out)["bootstrap"]
    assert not boot["ok"] and len(boot["ran"]) == 1
    assert boot["ran"][0]["returncode"] == 3 and "broken" in boot["ran"][0]["output"]
    assert not (Path(json.loads(out)["worktree"]) / "never").exists()
    assert f"active/{slug}/SESSION.md" in git(hub.hub, "ls-tree", "-r", "--name-only", "main")
    code, out, err = cli(hub.repo, "claim", planned(hub, capsys, "badboot", "two"), capsys=capsys)
    assert code == 0 and "bootstrap" in err and "exit 3" in err


def test_spawn_links_parent_and_child(hub: Hub, capsys: Capsys) -> None:
    parent = planned(hub, capsys, "parent", "work")
    assert cli(hub.repo, "claim", parent, "--no-worktree", capsys=capsys)[0] == 0
    code, out, err = cli(
        hub.repo, "spawn", "child", "bit", "--parent", parent, "--planned", "--json", capsys=capsys
    )
    assert code == 0, err
    child = json.loads(out)["slug"]
    code, out, _ = cli(hub.repo, "show", child, "--json", capsys=capsys)
    shown = json.loads(out)
    assert shown["state"] == "planned" and shown["parent"] == parent
    subs = git(hub.hub, "show", f"main:_AGENTS/sessions/active/{parent}/subsessions.md")
    assert f"- {child}: child bit" in subs
    assert run_process(hub.repo, "check").returncode == 0
    code, _, err = cli(hub.repo, "spawn", "orphan", "--parent", "2026-01-01-none", capsys=capsys)
    assert code == 1


def test_plan_cache_speeds_listing_and_survives_corruption(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, capsys, "cached")
    code, first, _ = cli(hub.repo, "list", "--json", capsys=capsys)
    assert code == 0
    cache = hub.repo / ".git/git-sessions/plans.json"
    blob = git(hub.hub, "rev-parse", f"main:_AGENTS/sessions/planned/{slug}/SESSION.md").strip()
    assert blob in json.loads(cache.read_text())["entries"]
    assert cli(hub.repo, "list", "--json", capsys=capsys)[1] == first
    cache.write_text("{not json")
    assert cli(hub.repo, "list", "--json", capsys=capsys)[1] == first


def test_plan_cache_is_merged_by_queue_and_pruned_by_a_full_list(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, capsys, "kept")
    drafted = cli(hub.repo, "new", "draft", "only", capsys=capsys)[1].strip()
    cache = hub.repo / ".git/git-sessions/plans.json"
    assert cli(hub.repo, "list", capsys=capsys)[0] == 0
    full = set(json.loads(cache.read_text())["entries"])
    draft_blob = git(hub.hub, "rev-parse", f"main:_AGENTS/sessions/drafting/{drafted}/SESSION.md")
    assert draft_blob.strip() in full
    # a queue with a cold view of its own (planned only) adds, never rewrites with less
    entries = json.loads(cache.read_text())
    entries["entries"] = {}
    cache.write_text(json.dumps(entries))
    assert cli(hub.repo, "list", "--state", "drafting", capsys=capsys)[0] == 0
    assert cli(hub.repo, "queue", capsys=capsys)[0] == 0
    assert set(json.loads(cache.read_text())["entries"]) == full
    # plans no longer on main leave the cache at the next full listing
    entries["entries"] = {**json.loads(cache.read_text())["entries"], "0" * 40: {}}
    cache.write_text(json.dumps(entries))
    assert cli(hub.repo, "queue", capsys=capsys)[0] == 0
    assert "0" * 40 in json.loads(cache.read_text())["entries"]
    assert cli(hub.repo, "list", capsys=capsys)[0] == 0
    assert set(json.loads(cache.read_text())["entries"]) == full
    assert slug


def test_a_reaped_agent_cannot_touch_the_new_holders_session(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, capsys, "taken", "over")
    code, out, _ = cli(hub.repo, "claim", slug, "--json", *as_agent("alice"), capsys=capsys)
    assert code == 0
    old_wt = Path(json.loads(out)["worktree"])
    age_claims(hub.repo)
    assert cli(hub.repo, "reap", "--older-than", "1h", capsys=capsys)[0] == 0
    other = hub.clone("bob-machine")
    result = run_process(other, "claim", slug, "--json", *as_agent("bob"))
    assert result.returncode == 0, result.stderr
    bob_wt = Path(json.loads(result.stdout)["worktree"])
    (bob_wt / "bob.txt").write_text("bob\n")
    git(bob_wt, "add", "bob.txt")
    git(bob_wt, "commit", "-qm", f"[{slug}] feat: bob")
    assert run_process(other, "heartbeat", slug).returncode == 0
    bob_tip = git(hub.hub, "rev-parse", f"session/{slug}").strip()
    before = hub.main()
    (old_wt / "alice.txt").write_text("stale\n")
    git(old_wt, "add", "alice.txt")
    git(old_wt, "commit", "-qm", f"[{slug}] feat: stale")
    stale = run_process(old_wt, "heartbeat", slug)
    assert stale.returncode == 3
    assert "now held by bob <bob@agents.test>" in stale.stderr
    assert git(hub.hub, "rev-parse", f"session/{slug}").strip() == bob_tip
    assert hub.main() == before


def test_reap_looks_for_signs_of_life_again_before_it_commits(hub: Hub, capsys: Capsys) -> None:
    """A heartbeat that lands between reap's scan and its commit saves the claim."""
    slug = planned(hub, capsys, "late", "heartbeat")
    assert cli(hub.repo, "claim", slug, capsys=capsys)[0] == 0
    age_claims(hub.repo)
    reap = ["reap", "--older-than", "1h", "--json", *as_agent("reaper")]
    reaper = subprocess.Popen(
        [sys.executable, "-m", "git_sessions", "-C", str(hub.repo), *reap],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GIT_SESSIONS_FAULT": "reap:after-scan"},
    )
    assert reaper.stderr is not None
    assert reaper.stderr.readline() == "fault: reap:after-scan\n"  # it found the claim stale
    code, _, err = cli(hub.repo, "heartbeat", slug, capsys=capsys)
    assert code == 0, err
    out, err = reaper.communicate("\n", timeout=60)
    assert reaper.returncode == 0, err
    assert [r["outcome"] for r in json.loads(out)["reaped"]] == ["saved"]
    assert f"active/{slug}/SESSION.md" in git(hub.hub, "ls-tree", "-r", "--name-only", "main")
