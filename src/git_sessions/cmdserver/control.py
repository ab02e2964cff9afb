"""`server start|stop|status` from the command line: ask the server for this process's key."""

from __future__ import annotations

import _socket
import fcntl
import os
import sys
from dataclasses import dataclass
from typing import NoReturn

from git_sessions.cmdserver import client, rendezvous, wire
from git_sessions.errors import BadInput


@dataclass(frozen=True)
class Where:
    directory: str
    socket: str
    lock: str


def where() -> Where:
    environ = dict(os.environ)
    directory = rendezvous.runtime_dir(environ)
    name = rendezvous.key(rendezvous.key_inputs(environ))
    return Where(
        directory, rendezvous.socket_path(directory, name), rendezvous.lock_path(directory, name)
    )


def ask(op: str) -> dict[str, wire.Value] | None:
    """The server's reply to `op` (status, stop), or None when no server answers."""
    place = where()
    if not rendezvous.private_dir(place.directory, create=False):
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(10)
        sock.connect(place.socket)
        wire.send(sock, {"op": op})
        reply, fds = wire.receive(sock)
    except (OSError, wire.WireError):
        return None
    finally:
        sock.close()
    for fd in fds:
        os.close(fd)
    return reply if isinstance(reply, dict) else None


def stop() -> int | None:
    """Ask the server to stop; once it has stopped accepting (released its lock), its pid.
    None when none was running. Commands it is running still finish."""
    reply = ask("stop")
    if reply is None:
        return None
    fd = os.open(where().lock, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the server unlinks its socket, then releases this
    finally:
        os.close(fd)
    pid = reply.get("stopping")
    return pid if isinstance(pid, int) else None


def server_command() -> list[str]:
    """The command line of a server with this process's interpreter, flags and sys.path."""
    return [
        sys.executable,
        *rendezvous.interpreter_options(),
        "-c",
        client.BOOT,
        client.encoded_path(),
    ]


def become_server() -> NoReturn:
    """Replace this process with a server (daemon.boot)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, server_command())


def start() -> tuple[bool, int]:
    """Start a server in the background unless one serves; (started now, its pid)."""
    place = where()
    if not rendezvous.private_dir(place.directory, create=True):
        raise BadInput(
            f"{place.directory} is not a private directory (ours, 0700, not a symlink)",
            hint="set GIT_SESSIONS_RUNTIME_DIR to a directory only you can use",
        )
    read, write = os.pipe2(os.O_CLOEXEC)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDWR, 0),
        (os.POSIX_SPAWN_DUP2, write, 1),
        (os.POSIX_SPAWN_DUP2, 0, 2),
    ]
    try:
        pid = os.posix_spawn(
            sys.executable, server_command(), os.environ, file_actions=actions, setsid=True
        )
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as said:
        line = said.readline().decode(errors="replace").strip()
    if line.startswith("ready "):
        return True, int(line.split()[1])
    os.waitpid(pid, 0)  # it has said why it will not serve and is exiting
    if line == "running":
        reply = ask("status")
        served = reply.get("pid") if reply else None
        return False, served if isinstance(served, int) else 0
    raise BadInput(f"the server did not start: {line.removeprefix('error: ') or 'no reason'}")
