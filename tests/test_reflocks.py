"""A ref lock left in a local hub by a killed writer: recovered safely, reported by `check`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, run_process

from git_sessions.gitrepo import reflocks

Capsys = pytest.CaptureFixture[str]

# What git and libgit2 do to update a ref: create <ref>.lock exclusively and write the new value
# into it (then rename it over the ref). This writer is killed -9 before the rename.
HOLD_LOCK = r"""
import os, signal, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
os.write(fd, (sys.argv[2] + "\n").encode())
print("locked", flush=True)
signal.pause()  # held until the test kills it
"""


def killed_holding_the_lock(hub: Hub) -> Path:
    lock = hub.hub / "refs" / "heads" / "main.lock"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock), hub.main()],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert lock.exists()
    return lock


def age(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when))


def test_a_lock_left_by_a_killed_writer_is_recovered_by_the_next_writer(
    hub: Hub, capsys: Capsys
) -> None:
    [slug] = add_planned(hub.repo, 1)
    lock = killed_holding_the_lock(hub)
    age(lock, reflocks.STALE_SECONDS + 5)
    code, out, _ = cli(hub.repo, "check", "--json", capsys=capsys)
    assert code == 3
    [found] = json.loads(out)["violations"]
    assert found["rule"] == "ref-lock"
    assert found["message"].endswith(f"remove it with: rm '{lock}'")
    assert "killed writer" in found["message"]
    before = hub.main()
    claimed = run_process(hub.repo, "claim", slug, "--no-worktree", timeout=60)
    assert claimed.returncode == 0, claimed.stderr
    assert hub.main() != before and not lock.exists()
    assert list(lock.parent.iterdir()) == [lock.parent / "main"], "nothing left aside"
    assert cli(hub.repo, "check", capsys=capsys)[0] == 0


def test_a_fresh_lock_is_never_taken(tmp_path: Path) -> None:
    lock = tmp_path / "main.lock"
    lock.write_text("abc\n")
    assert reflocks.stale(lock) is None
    assert reflocks.recover(lock) is False and lock.read_text() == "abc\n"
    age(lock, reflocks.STALE_SECONDS - 2)
    assert reflocks.recover(lock) is False and lock.exists()
    assert reflocks.recover(tmp_path / "absent.lock") is False


def test_a_lock_replaced_by_a_live_writer_after_the_look_is_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stale lock is judged, then (before our rename) another recoverer removes it and a
    live writer takes the lock afresh: we move the live lock aside, see that it is not the
    file we judged, and put it back."""
    lock = tmp_path / "main.lock"
    lock.write_text("dead\n")
    age(lock, reflocks.STALE_SECONDS + 60)
    rename = os.rename

    def live_writer_first(src: Path, dst: Path) -> None:
        lock.unlink()  # the other recoverer
        lock.write_text("live\n")  # the live writer, now
        rename(src, dst)

    monkeypatch.setattr(reflocks.os, "rename", live_writer_first)
    assert reflocks.recover(lock) is False
    assert lock.read_text() == "live\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.lock"]


def test_racing_recoverers_remove_a_stale_lock_exactly_once(tmp_path: Path) -> None:
    for round_ in range(20):
        lock = tmp_path / f"r{round_}.lock"
        lock.write_text("dead\n")
        age(lock, reflocks.STALE_SECONDS + 60)
        start = threading.Barrier(8)
        wins: list[bool] = []

        def recover(
            lock: Path = lock, start: threading.Barrier = start, wins: list[bool] = wins
        ) -> None:
            start.wait()
            wins.append(reflocks.recover(lock))

        threads = [threading.Thread(target=recover) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert wins.count(True) == 1 and not lock.exists()
    assert list(tmp_path.iterdir()) == []


def test_find_stale_lists_every_old_lock_under_refs(hub: Hub) -> None:
    heads = hub.hub / "refs" / "heads"
    (heads / "session").mkdir()
    old = [heads / "session" / "x.lock", hub.hub / "packed-refs.lock"]
    for path in [*old, heads / "fresh.lock"]:
        path.write_text("")
    for path in old:
        age(path, 3600)
    found = reflocks.find_stale(hub.hub / "refs")
    assert sorted(s.path for s in found) == sorted(old)
    assert all(s.age > 3500 for s in found)


def test_a_session_branch_lock_left_behind_is_recovered_too(hub: Hub) -> None:
    from git_sessions.gitrepo import LocalHub

    local = LocalHub(hub.hub, "main")
    main = hub.main()
    parent = local.objects.info(main).parents[0]
    assert local.push_branch("origin", "refs/heads/session/x", parent)
    lock = hub.hub / "refs" / "heads" / "session" / "x.lock"
    lock.write_text("dead\n")
    age(lock, 3600)
    assert local.push_branch("origin", "refs/heads/session/x", main)
    assert local.heads()["refs/heads/session/x"] == main and not lock.exists()
