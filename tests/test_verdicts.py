"""The server's verdict, from real git over git daemon: a lost compare-and-swap (on our side or
under the hub's ref lock) is a retry; a declining hook, a missing repository, an unreachable
hub stop at once with the server's words and a hint; no secret is ever echoed."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, git, run_process
from tests.servers import free_port

from git_sessions import gitrepo
from git_sessions.errors import GitFailure
from git_sessions.gitrepo.network import Network, is_local_url, redact
from git_sessions.gitrepo.verdicts import NoVerdict

Capsys = pytest.CaptureFixture[str]

DECLINE = """#!/bin/sh
echo "GH006: Protected branch update failed for refs/heads/main." >&2
printf 'second line \\033[31mred\\033[0m\\n' >&2
exit 1
"""


def hook(hub: Hub, text: str) -> None:
    path = hub.hub / "hooks/pre-receive"
    path.write_text(text)
    path.chmod(0o755)


def over_daemon(hub: Hub, git_daemon: str) -> gitrepo.Workspace:
    git(hub.repo, "remote", "set-url", "origin", git_daemon)
    return gitrepo.Workspace(hub.repo)


def new_commit(hub: Hub, message: str) -> str:
    """A commit on top of the hub's main, in the clone only."""
    git(hub.repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(hub.repo, "rev-parse", "HEAD").strip()


def test_a_declining_hook_is_exit_4_at_once_with_its_message(
    hub: Hub, git_daemon: str, capsys: Capsys
) -> None:
    [slug] = add_planned(hub.repo, 1)
    hook(hub, DECLINE)
    git(hub.repo, "remote", "set-url", "origin", git_daemon)
    before = hub.main()
    began = time.monotonic()
    result = run_process(hub.repo, "claim", slug, "--no-worktree")
    elapsed = time.monotonic() - began
    assert result.returncode == 4, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[1].startswith("hint: "), result.stderr
    assert "pre-receive hook declined" in lines[0]
    assert "GH006: Protected branch update failed for refs/heads/main." in lines[0]
    assert "second line red" in lines[0] and "\x1b" not in result.stderr  # no escapes
    assert "hook" in lines[1] and "protected" in lines[1]
    assert hub.main() == before
    assert elapsed < 2.0, elapsed  # one push, no retry loop


def test_the_hook_refuses_one_push_only(hub: Hub, git_daemon: str) -> None:
    """No retry: the hub saw exactly one push of main."""
    [slug] = add_planned(hub.repo, 1)
    count = hub.hub.parent / "pushes"
    hook(hub, f'#!/bin/sh\necho x >> "{count}"\necho refused >&2\nexit 1\n')
    git(hub.repo, "remote", "set-url", "origin", git_daemon)
    result = run_process(hub.repo, "claim", slug, "--no-worktree")
    assert result.returncode == 4 and "refused" in result.stderr
    assert count.read_text() == "x\n"


def test_a_non_fast_forward_is_a_lost_race(hub: Hub, git_daemon: str) -> None:
    ws = over_daemon(hub, git_daemon)
    first = new_commit(hub, "one")
    git(hub.repo, "reset", "-q", "--hard", "HEAD~1")
    second = new_commit(hub, "two")
    assert ws.push("origin", first, "refs/heads/main") is True
    assert ws.push("origin", second, "refs/heads/main") is False
    assert hub.main() == first


def test_a_stale_lease_is_a_lost_race_and_atomic_moves_nothing(hub: Hub, git_daemon: str) -> None:
    ws = over_daemon(hub, git_daemon)
    base = hub.main()
    winner, loser = new_commit(hub, "winner"), new_commit(hub, "loser")
    hub_ = gitrepo.RemoteHub(ws, "origin", "main")
    assert hub_.publish(base, winner) is True
    side = "refs/heads/sessions"
    assert hub_.publish_refs([("refs/heads/main", base, loser), (side, None, loser)]) is False
    assert hub.main() == winner
    assert "sessions" not in git(hub.hub, "branch", "--list", "sessions")
    # both refs move together when both leases hold
    assert hub_.publish_refs([("refs/heads/main", winner, loser), (side, None, winner)])
    assert hub.main() == loser
    assert git(hub.hub, "rev-parse", "sessions").strip() == winner
    # an absent old value is a lease on "must not exist"
    assert hub_.publish_refs([(side, None, loser)]) is False
    assert git(hub.repo, "rev-parse", "refs/remotes/origin/sessions").strip() == winner


def test_a_lost_compare_and_swap_under_the_hubs_lock_is_a_lost_race(
    hub: Hub, git_daemon: str
) -> None:
    """The first push passes our lease, then waits in its hook while a second push moves
    main: receive-pack's own check ("cannot lock ref ... but expected") refuses it."""
    ws = over_daemon(hub, git_daemon)
    base = hub.main()
    slow, fast = new_commit(hub, "slow"), new_commit(hub, "fast")
    gate = hub.hub.parent
    os.mkfifo(gate / "ready")
    os.mkfifo(gate / "go")
    (gate / "hold").write_text("")
    hook(
        hub,
        f'#!/bin/sh\nif rm "{gate}/hold" 2>/dev/null; then\n'
        f'  echo ready > "{gate}/ready"\n  read go < "{gate}/go"\nfi\nexit 0\n',
    )
    results: list[bool | Exception] = []

    def first() -> None:
        try:
            results.append(ws.push_refs("origin", [("refs/heads/main", base, slow)]))
        except Exception as exc:  # the assertion below shows it
            results.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    with open(gate / "ready") as ready:  # blocks until the first push's hook is waiting
        assert ready.readline() == "ready\n"
    assert gitrepo.Workspace(hub.repo).push_refs("origin", [("refs/heads/main", base, fast)])
    with open(gate / "go", "w") as go:
        go.write("go\n")
    thread.join(timeout=60)
    assert results == [False]
    assert hub.main() == fast


def test_a_hub_that_does_not_exist_is_exit_4_with_a_hint(
    hub: Hub, git_daemon: str, capsys: Capsys
) -> None:
    git(hub.repo, "remote", "set-url", "origin", git_daemon.replace("hub.git", "nothere.git"))
    code, _, err = cli(hub.repo, "list", capsys=capsys)
    assert code == 4
    lines = err.splitlines()
    assert lines[0].startswith("error: fetching from origin: ") and "nothere.git" in lines[0]
    assert lines[1] == "hint: check the hub's URL: git remote -v"
    ws = gitrepo.Workspace(hub.repo)
    with pytest.raises(GitFailure, match="not exported"):
        ws.list_heads("origin")
    with pytest.raises(GitFailure) as refused:
        ws.push("origin", hub.main(), "refs/heads/main")
    assert not isinstance(refused.value, NoVerdict)  # refused before sending: never landed


def test_an_unreachable_hub_never_echoes_a_password(hub: Hub, capsys: Capsys) -> None:
    port = free_port()  # nothing listens there
    for url in (
        f"http://agent:s3cr3t-pw@127.0.0.1:{port}/hub.git",
        f"https://tok3n-s3cr3t@127.0.0.1:{port}/hub.git",
    ):
        git(hub.repo, "remote", "set-url", "origin", url)
        code, out, err = cli(hub.repo, "list", capsys=capsys)
        assert code == 4, err
        assert "s3cr3t" not in out + err
        assert f"127.0.0.1:{port}" in err and "hint: the hub is unreachable" in err


def test_redact_strips_user_and_password_from_every_url() -> None:
    text = "fatal: 'https://me:pw@host/x' and ssh://git@host:22/y and git@host:z"
    assert redact(text) == "fatal: 'https://host/x' and ssh://host:22/y and git@host:z"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("host:/srv/hub.git", False),  # scp-style: a colon before any slash names a host
        ("host:hub.git", False),
        ("[host:22]:hub.git", False),
        ("./dir:with-colon/hub.git", True),
        ("/srv/a:b/hub.git", True),
        ("ssh://host:2222/hub.git", False),
    ],
)
def test_is_local_url_decides_like_git(url: str, local: bool) -> None:
    assert is_local_url(url) is local


def test_ssh_never_prompts_unless_the_user_chose_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config: dict[str, str] = {}
    network = Network(tmp_path, 7.0, config.get)
    env = network.environment()
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_SSH_COMMAND"] == "ssh -o BatchMode=yes -o ConnectTimeout=7"
    config["core.sshCommand"] = "ssh -i key"
    assert "GIT_SSH_COMMAND" not in network.environment()
    config.clear()
    monkeypatch.setenv("GIT_SSH_COMMAND", "my-ssh")
    assert network.environment()["GIT_SSH_COMMAND"] == "my-ssh"
    monkeypatch.setenv("GIT_DIR", "/elsewhere")  # a hook's variables never leak into git
    assert "GIT_DIR" not in network.environment()


def test_a_wrong_password_over_http_is_one_attempt(hub: Hub) -> None:
    """A server that answers 401 to everything: exit 4 after one request per call, no
    prompt, no retry loop, no secret in the output."""
    import http.server

    requests: list[str] = []

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="hub"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        url = f"http://agent:wr0ng-pw@127.0.0.1:{port}/hub.git"
        git(hub.repo, "remote", "set-url", "origin", url)
        result = run_process(hub.repo, "list", timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 4, result.stderr
    assert "wr0ng-pw" not in result.stdout + result.stderr
    assert "hint: git has no working credentials for the hub" in result.stderr
    assert 1 <= len(requests) <= 2, requests  # git's own probe and one authenticated try
