"""The command server (GIT_SESSIONS_SERVER=1): real servers, real clients, real bare hubs.

Every test starts its own server in the foreground in a short private runtime directory
(AF_UNIX paths hold at most 107 bytes; pytest's are longer) and stops it. Clients run the
installed `git-sessions` script, as `git sessions` does: its sys.path (part of the server's
key) does not depend on the directory it starts in, unlike `python -m git_sessions`.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Hub, add_planned, git

from test_claim_race import assert_held_exactly_once

SCRIPT = str(Path(sys.executable).with_name("git-sessions"))
pytestmark = pytest.mark.skipif(not os.path.exists(SCRIPT), reason="git-sessions not installed")


@dataclass
class Served:
    env: dict[str, str]
    runtime: Path
    proc: subprocess.Popen[str]
    pid: int

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SCRIPT, *args],
            cwd=cwd,
            env=env or self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def status(self) -> dict[str, object]:
        result = self.run("server", "status", "--json")
        assert result.returncode == 0, result.stderr
        data: dict[str, object] = json.loads(result.stdout)
        return data

    def served(self) -> int:
        count = self.status()["served"]
        assert isinstance(count, int)
        return count


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [SCRIPT, "server", "start", "--foreground"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ready "):
        proc.kill()
        raise AssertionError(line + proc.communicate()[1])
    return proc, int(line.split()[1])


@pytest.fixture
def runtime() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="gs-", dir="/tmp"))  # short: AF_UNIX path limit
    yield base
    shutil.rmtree(base, ignore_errors=True)  # any server a client spawned sees it go, exits


@pytest.fixture
def served(runtime: Path) -> Iterator[Served]:
    env = {
        **os.environ,
        "GIT_SESSIONS_SERVER": "1",
        "GIT_SESSIONS_RUNTIME_DIR": str(runtime / "run"),
        "GIT_SESSIONS_SERVER_IDLE": "120",
    }
    proc, pid = start_server(env)
    server = Served(env, runtime, proc, pid)
    yield server
    stopped = server.run("server", "stop")
    assert server.proc.wait(timeout=60) == 0, server.proc.communicate()[1]
    assert stopped.returncode == 0, stopped.stderr


def direct(env: dict[str, str]) -> dict[str, str]:
    return {**env, "GIT_SESSIONS_SERVER": "0"}


# ---------------------------------------------------------------------------- equivalence

_HEX = re.compile(r"\b[0-9a-f]{7,40}\b")
_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}(:\d{2})?(?!\d)")
_AGE = re.compile(r"\b\d+[smhd]\b")
_PORT = re.compile(r"(SESSION_PORT\W+|\"port\": |_seconds\": )\d+")


def normal(text: str, base: Path) -> str:
    """Output with what differs between two identical runs masked: the base directory, oids,
    clock times, ages, ports."""
    text = text.replace(str(base), "<base>")
    text = _HEX.sub("<hex>", text)
    text = _CLOCK.sub("<time>", text)
    text = _AGE.sub("<age>", text)
    return _PORT.sub(r"\1<port>", text)


def scripted(run: object, repo: Path) -> list[tuple[int, str, str]]:
    """The sequence: init, new, ready, claim, log, reads, a usage error, a bad-input error
    with --json, help and version; (exit, stdout, stderr) of each."""
    assert callable(run)
    results = []

    def step(*args: str) -> str:
        result = run("-C", str(repo), *args)
        results.append((result.returncode, result.stdout, result.stderr))
        return str(result.stdout)

    step("init")
    slug = step("new", "first", "task").strip()
    step("ready", slug)
    step("claim", slug, "--json")
    step("log", "did a thing", "-s", slug)
    step("status", "--json", slug)
    step("queue")
    step("list")
    step("show", slug)
    step("claim", "--bogus")
    step("show", "nope", "--json")
    step("-h")
    step("--version")
    return results


def test_commands_through_the_server_equal_direct_runs(
    served: Served, plain_template: Path, tmp_path: Path
) -> None:
    outputs = []
    for name, env in (("a", direct(served.env)), ("b", served.env)):
        base = tmp_path / name
        shutil.copytree(plain_template, base, symlinks=True)
        git(base / "repo", "remote", "set-url", "origin", str(base / "hub.git"))
        before = served.served()
        results = scripted(lambda *a, env=env, base=base: served.run(*a, env=env), base / "repo")
        through = served.served() - before
        assert through == (0 if name == "a" else len(results)), "which runs the server served"
        outputs.append([(c, normal(o, base), normal(e, base)) for c, o, e in results])
    assert outputs[0] == outputs[1]
    codes = [c for c, _, _ in outputs[1]]
    assert codes == [0] * 9 + [2, 1, 0, 0], outputs[1]
    assert json.loads(outputs[1][10][1])["error"]["code"] == "bad_input"


def test_cwd_env_umask_and_stdin_are_the_clients(served: Served, hub: Hub) -> None:
    slug, second = add_planned(hub.repo, 2)
    claimed = served.run("-C", str(hub.repo), "claim", slug, "--json")
    assert claimed.returncode == 0, claimed.stderr
    worktree = Path(json.loads(claimed.stdout)["worktree"])
    # the session comes from the client's cwd (a worktree), then from its SESSION_ID
    inside = served.run("env", "--json", cwd=worktree)
    assert inside.returncode == 0, inside.stderr
    assert json.loads(inside.stdout)["slug"] == slug
    by_env = served.run(
        "-C", str(hub.repo), "env", "--json", env={**served.env, "SESSION_ID": slug}
    )
    assert json.loads(by_env.stdout)["slug"] == slug
    missing = served.run("-C", str(hub.repo), "env")
    assert missing.returncode == 1 and "no current session" in missing.stderr
    # -C relative to the client's cwd
    relative = served.run("-C", "repo", "list", cwd=hub.repo.parent)
    assert relative.returncode == 0 and slug in relative.stdout
    # umask: files the command creates (a worktree's checkout) get the client's permissions
    script = f"umask 077; exec {SCRIPT} -C {hub.repo} claim {second} --json"
    result = subprocess.run(
        ["sh", "-c", script], env=served.env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    readme = Path(json.loads(result.stdout)["worktree"]) / "README.md"
    assert stat.S_IMODE(readme.stat().st_mode) == 0o600
    assert stat.S_IMODE((worktree / "README.md").stat().st_mode) == 0o666 & ~current_umask()
    # stdin (and its encoding): the new plan of `override --file -`
    plan = (worktree / "_AGENTS/sessions/active" / slug / "SESSION.md").read_text()
    new_plan = plan.replace("# task", "# naïve µ-task")
    overridden = served.run(
        "override", "--reason", "from stdin", "--file", "-", cwd=worktree, stdin=new_plan
    )
    assert overridden.returncode == 0, overridden.stderr
    on_main = git(hub.hub, "show", f"main:_AGENTS/sessions/active/{slug}/SESSION.md")
    assert "# naïve µ-task" in on_main
    assert served.served() >= 7


def current_umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------- kills and signals


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(text.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def wait_gone(pid: int, timeout: float = 60) -> None:
    """Block until process `pid` has exited (a pidfd turns readable), at most `timeout`."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"process {pid} still runs"
    finally:
        os.close(fd)


def held_at(served: Served, repo: Path, phase: str, *args: str) -> subprocess.Popen[str]:
    """A client whose command (run by the server) waits at fault point `phase`."""
    proc = subprocess.Popen(
        [SCRIPT, "-C", str(repo), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**served.env, "GIT_SESSIONS_FAULT": phase},
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line == f"fault: {phase}\n", line + proc.stderr.read()
    return proc


def test_kill_9_of_the_client_kills_the_command_at_that_instant(served: Served, hub: Hub) -> None:
    (slug,) = add_planned(hub.repo, 1)
    before = hub.main()
    proc = held_at(served, hub.repo, "claim:after-publish", "claim", slug)
    (child,) = children_of(served.pid)
    proc.kill()
    proc.wait()
    wait_gone(child)  # its stdin is still open here: only the watchdog can have ended it
    assert hub.main() != before, "the claim was published before the kill"
    assert served.run("-C", str(hub.repo), "check").returncode == 0
    again = served.run("-C", str(hub.repo), "claim", slug, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["already_held"] is True
    assert served.run("-C", str(hub.repo), "check").returncode == 0


def test_sigint_reaches_the_command_which_exits_130(served: Served, hub: Hub) -> None:
    (slug,) = add_planned(hub.repo, 1)
    proc = held_at(served, hub.repo, "claim:before-publish", "claim", slug)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err


def test_a_command_killed_by_a_signal_kills_its_client_alike(served: Served, hub: Hub) -> None:
    (slug,) = add_planned(hub.repo, 1)
    proc = held_at(served, hub.repo, "claim:before-publish", "claim", slug)
    proc.send_signal(signal.SIGTERM)  # forwarded; the child dies of it, so does the client
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM


def test_a_sent_command_never_runs_twice_even_if_the_server_dies(served: Served, hub: Hub) -> None:
    first, second = add_planned(hub.repo, 2)
    finishing = held_at(served, hub.repo, "claim:before-publish", "claim", first, "--json")
    (finishing_child,) = children_of(served.pid)
    dying = held_at(served, hub.repo, "claim:before-publish", "claim", second, "--json")
    (dying_child,) = set(children_of(served.pid)) - {finishing_child}
    os.kill(served.pid, signal.SIGKILL)
    served.proc.wait()
    # the orphaned child goes on, finishes and reports its own exit code
    out, err = finishing.communicate("\n", timeout=60)
    assert finishing.returncode == 0, err
    assert json.loads(out)["already_held"] is False
    # a child that dies too leaves its client with no status from anyone: it says so
    os.kill(dying_child, signal.SIGKILL)
    out, err = dying.communicate(timeout=60)
    assert dying.returncode == 70, err
    assert err.startswith("error: the git-sessions server went away"), err
    log = git(hub.hub, "log", "--format=%s", "main")
    assert log.count(f"[{first}] chore: claim session") == 1, "claimed once, not run again"
    assert log.count(f"[{second}] chore: claim session") == 0, "not run here after all"
    served.proc = subprocess.Popen(["true"])  # the fixture's stop finds nothing to wait for


# ---------------------------------------------------------------------------- concurrency


def who(i: int) -> list[str]:
    return ["--agent", f"agent{i}", "--email", f"agent{i}@agents.test"]


def test_sixteen_concurrent_claims_through_one_server(served: Served, hub: Hub) -> None:
    slugs = add_planned(hub.repo, 4)
    clones = [hub.clone(f"agent{i}") for i in range(16)]
    procs = {
        f"agent{i}": subprocess.Popen(
            [SCRIPT, "-C", str(clone), "claim", slugs[i % 4], "--json", "--no-worktree", *who(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=served.env,
        )
        for i, clone in enumerate(clones)
    }
    results: dict[str, list[dict[str, object]]] = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode in (0, 3), err
        results[name] = [json.loads(out)] if proc.returncode == 0 else []
        assert proc.returncode == 0 or "already claimed" in err, err
    assert sum(len(r) for r in results.values()) == 4, "one winner per session"
    assert_held_exactly_once(hub.hub, slugs, results)
    assert served.served() == 16


# ---------------------------------------------------------------------------- lifetime


def test_a_changed_module_file_makes_a_new_server(served: Served, hub: Hub) -> None:
    import git_sessions.faults

    path = Path(git_sessions.faults.__file__)
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    try:
        direct_list = served.run("-C", str(hub.repo), "list", env=direct(served.env))
        listed = served.run("-C", str(hub.repo), "list")  # stale: run here, old server exits
        assert (listed.returncode, listed.stdout) == (0, direct_list.stdout), listed.stderr
        assert served.proc.wait(timeout=60) == 0
        started = served.run("server", "start")
        assert started.returncode == 0, started.stderr
        again = served.run("-C", str(hub.repo), "list")
        assert (again.returncode, again.stdout) == (0, direct_list.stdout)
        status = served.status()
        assert status["pid"] != served.pid and status["served"] == 1
        assert served.run("server", "stop").returncode == 0
    finally:
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


@pytest.mark.parametrize("kind", ["open to all", "symlink"])
def test_an_unsafe_runtime_dir_means_running_in_process(runtime: Path, hub: Hub, kind: str) -> None:
    target = runtime / "real"
    target.mkdir(mode=0o700)
    if kind == "symlink":
        (runtime / "run").symlink_to(target)
    else:
        (runtime / "run").mkdir()
        (runtime / "run").chmod(0o777)
    env = {
        **os.environ,
        "GIT_SESSIONS_SERVER": "1",
        "GIT_SESSIONS_RUNTIME_DIR": str(runtime / "run"),
    }
    expected = subprocess.run(
        [SCRIPT, "-C", str(hub.repo), "list"], capture_output=True, text=True, check=True
    )
    result = subprocess.run(
        [SCRIPT, "-C", str(hub.repo), "list"], env=env, capture_output=True, text=True
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, expected.stdout, "")
    assert os.listdir(target) == [] and os.listdir(runtime / "run") == [], "no server, no socket"
    refused = subprocess.run(
        [SCRIPT, "server", "start"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1 and "not a private directory" in refused.stderr


def test_the_server_exits_when_idle(runtime: Path, hub: Hub) -> None:
    env = {
        **os.environ,
        "GIT_SESSIONS_SERVER": "1",
        "GIT_SESSIONS_RUNTIME_DIR": str(runtime / "run"),
        "GIT_SESSIONS_SERVER_IDLE": "1",
    }
    proc, _ = start_server(env)
    listed = subprocess.run([SCRIPT, "-C", str(hub.repo), "list"], env=env, capture_output=True)
    assert listed.returncode == 0
    assert proc.wait(timeout=60) == 0
    assert os.listdir(runtime / "run") == [f for f in os.listdir(runtime / "run") if "lock" in f]


def test_the_server_exits_when_its_socket_is_removed(runtime: Path) -> None:
    env = {
        **os.environ,
        "GIT_SESSIONS_SERVER": "1",
        "GIT_SESSIONS_RUNTIME_DIR": str(runtime / "run"),
    }
    proc, _ = start_server(env)
    (sock,) = (runtime / "run").glob("*.sock")
    sock.unlink()
    assert proc.wait(timeout=60) == 0


def test_shell_completion_through_the_server(served: Served, hub: Hub) -> None:
    """typer ends a completion with sys.exit: the child ends the same way a process does."""
    (slug,) = add_planned(hub.repo, 1)
    asked = {
        "_GIT_SESSIONS_COMPLETE": "complete_bash",
        "COMP_WORDS": f"git-sessions -C {hub.repo} show 2026-01",
        "COMP_CWORD": "4",
    }
    before = served.served()
    through = served.run(env={**served.env, **asked})
    here = served.run(env={**direct(served.env), **asked})
    assert (through.returncode, through.stdout, through.stderr) == (0, f"{slug}\n", "")
    assert (here.returncode, here.stdout, here.stderr) == (0, f"{slug}\n", "")
    assert served.served() == before + 1


def test_which_commands_stay_in_process() -> None:
    from git_sessions.cmdserver.client import in_process

    for args in (["server", "status"], ["-C", "x", "mcp"], ["watch"], ["guard"], ["override"]):
        assert in_process(args), args
    for args in (["log", "x"], ["-C", "mcp", "list"], ["override", "-f", "-"], ["--version"]):
        assert not in_process(args), args
    assert not in_process(["override", "--unlock"]) and in_process(["override", "-r", "why"])


@pytest.mark.parametrize(
    "messages, code",
    [
        ([{"pid": 1}, {"exit": 3}], 3),
        ([{"exit": 3}, {"pid": 1}], 3),  # a quick child reported before the server sent its pid
        ([{"pid": 1}], 70),  # nobody reported: the command may or may not have run
        ([{"pid": "x"}, {"exit": 0}], 70),
    ],
)
def test_the_client_takes_pid_and_status_in_either_order(
    messages: list[dict[str, object]], code: int
) -> None:
    import socket

    from git_sessions.cmdserver import client, wire

    saved = {s: signal.getsignal(s) for s in client.FORWARDED}
    ours, theirs = socket.socketpair()
    try:
        for message in messages:
            wire.send(theirs, message)  # type: ignore[arg-type]
        theirs.close()
        assert client._stand_in(ours, "/nonexistent") == code
    finally:
        ours.close()
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def test_many_quick_commands_in_a_row(served: Served, tmp_path: Path) -> None:
    # `--version` is answered before the server is asked; `-h` is the quickest served command
    first = served.run("-h", cwd=tmp_path)
    assert first.returncode == 0 and "Usage" in first.stdout and first.stderr == ""
    for _ in range(29):
        result = served.run("-h", cwd=tmp_path)
        assert (result.returncode, result.stdout, result.stderr) == (0, first.stdout, "")
    assert served.served() == 30
