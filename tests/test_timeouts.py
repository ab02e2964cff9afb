"""A hub that accepts connections and never answers: every command gives up with exit 4 within
the configured timeout, and the clone's lock stays free while a command waits on the network."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, git, run_process
from filelock import FileLock


class HungHub:
    """A loopback server that accepts every connection and never says a word."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"git://127.0.0.1:{self.server.getsockname()[1]}/hub.git"
        self.connected = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.held.append(conn)
            self.connected.set()

    def close(self) -> None:
        # shutdown first: a close alone leaves the socket listening (and its descriptor number
        # free for reuse) while the accepting thread is blocked in accept()
        for sock in (self.server, *self.held):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def hung() -> Iterator[HungHub]:
    server = HungHub()
    yield server
    server.close()


def start(repo: Path, *args: str, timeout: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "git_sessions", "-C", str(repo), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GIT_SESSIONS_TIMEOUT": timeout},
    )


@pytest.mark.parametrize(
    "args", [["list"], ["queue"], ["claim", "--next", "--no-worktree"], ["check"]]
)
def test_a_hub_that_never_answers_is_exit_4_within_the_timeout(
    hub: Hub, hung: HungHub, args: list[str]
) -> None:
    git(hub.repo, "remote", "set-url", "origin", hung.url)
    began = time.monotonic()
    proc = start(hub.repo, *args, timeout="1")
    _, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - began
    assert proc.returncode == 4, err
    assert err.startswith("error: ") and "timed out" in err and "Traceback" not in err
    assert "hint: the hub did not answer within 1s" in err
    assert hung.connected.is_set()
    assert elapsed < 20, f"gave up after {elapsed:.1f}s"  # 1 s, plus a loaded machine's startup


def test_the_timeout_comes_from_config_yaml(hub: Hub, hung: HungHub) -> None:
    git(hub.repo, "remote", "set-url", "origin", hung.url)
    config = hub.repo / "_AGENTS/config.yaml"
    config.write_text(config.read_text().replace("timeout: 30s", "timeout: 1s"))
    began = time.monotonic()
    result = run_process(hub.repo, "list", timeout=60)
    assert result.returncode == 4 and "timed out" in result.stderr
    assert time.monotonic() - began < 20
    config.write_text(config.read_text().replace("timeout: 1s", "timeout: soon"))
    result = run_process(hub.repo, "list")
    assert result.returncode == 1
    assert "invalid timeout in _AGENTS/config.yaml: 'soon'" in result.stderr


def test_the_clones_lock_is_free_while_a_command_waits_on_the_hub(
    hub: Hub, hung: HungHub, capsys: pytest.CaptureFixture[str]
) -> None:
    [slug] = add_planned(hub.repo, 1)
    code, out, err = cli(hub.repo, "claim", slug, "--json", capsys=capsys)
    assert code == 0, err
    wt = Path(json.loads(out)["worktree"])
    git(hub.repo, "remote", "set-url", "origin", hung.url)
    lock = FileLock(str(hub.repo / ".git/git-sessions.lock"))
    for repo, args in ((hub.repo, ["claim", "--next"]), (wt, ["log", "offline"])):
        proc = _reach(hung, repo, args)
        try:
            lock.acquire(timeout=0)  # would time out if the command held it over the fetch
            lock.release()
        finally:
            proc.kill()
            proc.wait()


def _reach(hung: HungHub, repo: Path, args: list[str]) -> subprocess.Popen[str]:
    """Start the command and return it once it is connected to the hung hub.

    Under a full suite on a loaded machine, `log` has now and then given up on the hub at
    once ("could not be reached", exit 0) without connecting; not understood yet, so that
    outcome is tried again (at most three times) and anything else fails the test."""
    for _ in range(3):
        hung.connected.clear()
        proc = start(repo, *args, timeout="120")
        deadline = time.monotonic() + 120
        while not hung.connected.wait(timeout=0.5):  # an event, checked for an early exit
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                _, err = proc.communicate()
                if proc.returncode == 0 and "could not be reached" in err:
                    break
                pytest.fail(f"{args} never reached the hub (exit {proc.returncode}): {err}")
        else:
            return proc
    pytest.fail(f"{args} gave up on the hub three times without connecting")


def test_waiting_for_the_clones_lock_is_bounded(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    [slug] = add_planned(hub.repo, 1)
    code, out, err = cli(hub.repo, "claim", slug, "--json", capsys=capsys)
    assert code == 0, err
    wt = Path(json.loads(out)["worktree"])
    with FileLock(str(hub.repo / ".git/git-sessions.lock")):
        proc = start(wt, "log", "waits", timeout="1")
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "another git-sessions command has held" in err and "hint: " in err
    assert "waits" not in git(wt, "log", "-1", "--format=%s")
