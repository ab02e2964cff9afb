"""A push whose reply is lost: the hub applied it, the connection died before its verdict
came back. The command looks at the hub and reports what happened: exit 0, the transition
made exactly once, and running it again changes nothing.

A loopback proxy in front of git daemon forwards every byte of a push to the hub, then
swallows the hub's reply and cuts the connection once the hub has finished (so the update is
applied by then). In "before" mode it cuts before the push reaches the hub: nothing lands, and
the command must try again on its own.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Hub, add_planned, git, run_process

AGENT = ["--agent", "one", "--email", "one@agents.test"]


class LossyProxy:
    """Forwards git:// connections to `target`; cuts `cuts` pushes that update `ref`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.ref = b"refs/heads/main"
        self.cuts = 0
        self.mode = "after"
        self.cut = 0  # pushes cut so far
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"git://127.0.0.1:{self.port}/{path}"

    def arm(self, ref: str, cuts: int = 1, mode: str = "after") -> None:
        with self.lock:
            self.ref, self.cuts, self.mode = ref.encode(), cuts, mode

    def close(self) -> None:
        cut(self.server)  # wakes the accepting thread (a close alone would not)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        swallow = threading.Event()  # from then on the hub's reply never reaches the client

        def down() -> None:  # hub -> client
            with contextlib.suppress(OSError):
                while data := upstream.recv(65536):
                    if not swallow.is_set():
                        client.sendall(data)
            # the hub is done (the update applied, the reply written): now cut the client.
            # shutdown, not just close: the other thread is blocked reading this socket, and
            # a close alone would not end the connection until that read returns
            cut(client)

        threading.Thread(target=down, daemon=True).start()
        try:
            request = read_pkt_lines(client, until_flush=False)  # names the service
            upstream.sendall(request)
            if b"git-receive-pack" in request:
                commands = read_pkt_lines(client, until_flush=True)  # after the ref listing
                if self.ref in commands and self._take():
                    if self.mode == "before":
                        cut(upstream)
                        cut(client)
                        return
                    swallow.set()
                upstream.sendall(commands)
            while data := client.recv(65536):
                upstream.sendall(data)
            upstream.shutdown(socket.SHUT_WR)  # the client is done talking; the hub finishes
        except OSError:
            cut(upstream)

    def _take(self) -> bool:
        with self.lock:
            if self.cut >= self.cuts:
                return False
            self.cut += 1
            return True


def cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def read_pkt_lines(sock: socket.socket, *, until_flush: bool) -> bytes:
    """Read whole pkt-lines from `sock`: one, or up to and including a flush (0000), and
    whatever came with them. git may write a line's length and its payload separately, so
    one recv is not one line."""
    data = b""
    at = 0  # where the next pkt-line starts

    def need(n: int) -> None:
        nonlocal data
        while len(data) < n:
            more = sock.recv(65536)
            if not more:
                raise OSError("connection closed mid pkt-line")
            data += more

    while True:
        need(at + 4)
        size = int(data[at : at + 4], 16)
        if size == 0:
            return data
        need(at + size)
        at += size
        if not until_flush:
            return data


@pytest.fixture
def proxy(hub: Hub, git_daemon: str) -> Iterator[LossyProxy]:
    host, port = git_daemon.removeprefix("git://").split("/")[0].split(":")
    lossy = LossyProxy((host, int(port)))
    git(hub.repo, "remote", "set-url", "origin", lossy.url(hub.hub.name))
    yield lossy
    lossy.close()


def on_main(hub: Hub, path: str) -> list[str]:
    out = git(hub.hub, "ls-tree", "--name-only", "main", f"{path}/")
    return [n for n in (line.rsplit("/", 1)[-1] for line in out.split()) if n != ".gitkeep"]


def lock_lines(hub: Hub) -> list[str]:
    text = git(hub.hub, "show", "main:_AGENTS/sessions/sessions.lock")
    return [line.split(":")[0] for line in text.split()]


def claims_of(hub: Hub, slug: str) -> int:
    log = git(hub.hub, "log", "--format=%s", "main")
    return log.count(f"[{slug}] chore: claim session")


def test_a_claim_whose_reply_is_lost_succeeds_once(hub: Hub, proxy: LossyProxy) -> None:
    [slug] = add_planned(hub.repo, 1)
    proxy.arm("refs/heads/main")
    result = run_process(hub.repo, "claim", slug, "--json", *AGENT)
    assert proxy.cut == 1  # the reply really was lost
    assert result.returncode == 0, result.stderr
    # it knows it made the claim: it looked at the hub (a retry would find it "already held")
    assert json.loads(result.stdout)["already_held"] is False
    assert on_main(hub, "_AGENTS/sessions/active") == [slug]
    assert lock_lines(hub) == [slug]
    assert claims_of(hub, slug) == 1
    tip = hub.main()
    again = run_process(hub.repo, "claim", slug, "--json", *AGENT)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["already_held"] is True
    assert hub.main() == tip
    assert run_process(hub.repo, "check").returncode == 0


def test_a_claim_cut_before_the_hub_saw_it_is_retried(hub: Hub, proxy: LossyProxy) -> None:
    [slug] = add_planned(hub.repo, 1)
    proxy.arm("refs/heads/main", mode="before")
    result = run_process(hub.repo, "claim", slug, "--no-worktree", *AGENT)
    assert proxy.cut == 1
    assert result.returncode == 0, result.stderr
    assert lock_lines(hub) == [slug] and claims_of(hub, slug) == 1


def test_a_completion_whose_reply_is_lost_succeeds_once(hub: Hub, proxy: LossyProxy) -> None:
    [slug] = add_planned(hub.repo, 1)
    claimed = run_process(hub.repo, "claim", slug, "--json", *AGENT)
    assert claimed.returncode == 0, claimed.stderr
    wt = Path(json.loads(claimed.stdout)["worktree"])
    (wt / "feature.txt").write_text("done\n")
    git(wt, "add", "feature.txt")
    git(wt, "commit", "-qm", f"[{slug}] feat: the feature")
    proxy.arm("refs/heads/main")
    result = run_process(wt, "complete", slug, "--json", *AGENT, "--message", "the feature")
    assert proxy.cut == 1
    assert result.returncode == 0, result.stderr
    assert on_main(hub, "_AGENTS/sessions/completed") == [slug]
    assert on_main(hub, "_AGENTS/sessions/active") == []
    assert lock_lines(hub) == []
    assert git(hub.hub, "show", "main:feature.txt") == "done\n"
    log = git(hub.hub, "log", "--format=%s", "main")
    assert log.count(f"[{slug}] feat: the feature") == 1
    assert not wt.exists()  # cleaned up as after any completion
    tip = hub.main()
    again = run_process(hub.repo, "complete", slug, *AGENT)
    # the repeat changes nothing: it says the session is completed, as after any completion
    assert again.returncode == 3 and f"{slug} is completed" in again.stderr, again.stderr
    assert hub.main() == tip
    assert run_process(hub.repo, "check").returncode == 0


def test_a_branch_push_whose_reply_is_lost_succeeds(hub: Hub, proxy: LossyProxy) -> None:
    [slug] = add_planned(hub.repo, 1)
    claimed = run_process(hub.repo, "claim", slug, "--json", *AGENT)
    assert claimed.returncode == 0, claimed.stderr
    wt = Path(json.loads(claimed.stdout)["worktree"])
    git(wt, "commit", "-q", "--allow-empty", "-m", f"[{slug}] feat: work")
    tip = git(wt, "rev-parse", "HEAD").strip()
    proxy.arm(f"refs/heads/session/{slug}")
    result = run_process(wt, "heartbeat")
    assert proxy.cut == 1
    assert result.returncode == 0, result.stderr
    assert git(hub.hub, "rev-parse", f"session/{slug}").strip() == tip
