"""The server: preload, then accept, check and fork one child per command (docs/server.md).

Single-threaded on purpose (selectors plus a SIGCHLD wakeup pipe): forking a multi-threaded
process copies locks other threads held. It serves one key (rendezvous.py); a flock on the key's
lock file decides which of two starting servers serves, and the socket is unlinked before that
lock is released, so no server ever removes another's socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import selectors
import signal
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from git_sessions.cmdserver import child, preload, rendezvous, wire
from git_sessions.errors import BadInput

DEFAULT_IDLE = 600.0
CHECK_EVERY = 0.5  # seconds between checks that the socket path still is this server's socket
_PEERCRED = struct.Struct("3i")


@dataclass
class State:
    """What the loop keeps between events (a resource with a lifetime, so mutable)."""

    inputs: dict[str, wire.Value]
    directory: str
    name: str
    idle: float
    listener: socket.socket | None = None
    selector: selectors.BaseSelector | None = None
    lock_fd: int = -1
    inode: tuple[int, int] = (0, 0)
    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    children: dict[int, socket.socket] = field(default_factory=dict)
    served: int = 0
    started: float = field(default_factory=time.time)
    last: float = field(default_factory=time.monotonic)
    stop_asked: bool = False

    @property
    def path(self) -> str:
        return rendezvous.socket_path(self.directory, self.name)


def idle_timeout(environ: dict[str, str]) -> float:
    try:
        value = float(environ.get(rendezvous.IDLE, ""))
    except ValueError:
        return DEFAULT_IDLE
    return value if value > 0 else DEFAULT_IDLE


def boot() -> int:
    """A server started in the background (by a client, or by `server start`): it says
    `ready PID` or `running` (another one serves this key) on stdout, its only output."""
    try:
        return serve(on_ready=lambda pid: os.write(1, f"ready {pid}\n".encode()))
    except AlreadyServing:
        os.write(1, b"running\n")
        return 0
    except BadInput as exc:
        os.write(1, f"error: {exc.message}\n".encode())
        return 1


class AlreadyServing(Exception):
    """Another server holds this key's lock."""


def serve(*, on_ready: Callable[[int], object]) -> int:
    """Bind this key's socket, preload, and serve until stopped or idle; the exit code."""
    environ = dict(os.environ)
    inputs = rendezvous.key_inputs(environ)  # before any import can add to sys.path
    directory = rendezvous.runtime_dir(environ)
    if not rendezvous.private_dir(directory, create=True):
        raise BadInput(f"{directory} is not a private directory (ours, 0700, not a symlink)")
    state = State(inputs, directory, rendezvous.key(inputs), idle_timeout(environ))
    if len(os.fsencode(state.path)) > rendezvous.MAX_SOCKET_PATH:
        raise BadInput(f"socket path too long for AF_UNIX: {state.path}")
    _lock(state)
    try:
        # bound before the imports: a command arriving meanwhile waits in the backlog (at most
        # the ~0.4 s of preloading) instead of starting yet another server
        _bind(state)
        preload.everything()
        state.files = preload.snapshot()
        # Preloaded objects move to the permanent generation: a child's collections then do
        # not write to (and so copy) the pages they live on.
        gc.collect()
        gc.freeze()
        on_ready(os.getpid())
        _loop(state)
    finally:
        _stop_serving(state)
    return 0


def _lock(state: State) -> None:
    path = rendezvous.lock_path(state.directory, state.name)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:  # e.g. a symlink planted in place of the lock file
        raise BadInput(f"cannot open the lock file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AlreadyServing() from None
    state.lock_fd = fd


def _bind(state: State) -> None:
    if os.path.lexists(state.path):  # left by a server that died: we hold the lock now
        os.unlink(state.path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(state.path)
    listener.listen(128)
    listener.setblocking(False)
    info = os.lstat(state.path)
    state.inode = (info.st_dev, info.st_ino)
    state.listener = listener


def _ours(state: State) -> bool:
    try:
        info = os.lstat(state.path)
    except OSError:
        return False
    return (info.st_dev, info.st_ino) == state.inode


def _stop_serving(state: State) -> None:
    """Stop accepting: unlink the socket (if it still is ours), then release the lock."""
    if state.listener is not None:
        if state.selector is not None:
            state.selector.unregister(state.listener)
        if _ours(state):
            os.unlink(state.path)
        state.listener.close()
        state.listener = None
    if state.lock_fd >= 0:
        os.close(state.lock_fd)
        state.lock_fd = -1


def _loop(state: State) -> None:
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    selector = state.selector = selectors.DefaultSelector()
    assert state.listener is not None
    selector.register(state.listener, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "wake")

    def ask_stop(_signum: int, _frame: object) -> None:
        state.stop_asked = True

    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _s, _f: None)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, ask_stop)
    private = [wake_r, wake_w, state.lock_fd, selector.fileno()]
    try:
        while state.listener is not None or state.children:
            timeout = None if state.listener is None else CHECK_EVERY
            for key, _ in selector.select(timeout):
                if key.data == "wake":
                    while _drain(wake_r):
                        pass
                elif state.listener is not None:
                    others = [c.fileno() for c in state.children.values()]
                    _accept(state, [state.listener.fileno(), *private, *others])
            _reap(state)
            if state.listener is None:
                continue
            quiet = not state.children and time.monotonic() - state.last > state.idle
            if state.stop_asked or quiet or not _ours(state):
                _stop_serving(state)
    finally:
        signal.set_wakeup_fd(-1)
        state.selector = None
        selector.close()
        os.close(wake_r)
        os.close(wake_w)


def _drain(fd: int) -> bool:
    try:
        return bool(os.read(fd, 512))
    except BlockingIOError:
        return False


def _accept(state: State, private: list[int]) -> None:
    assert state.listener is not None
    try:
        conn, _ = state.listener.accept()
    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
        return
    state.last = time.monotonic()
    keep = False
    fds: list[int] = []
    try:
        conn.settimeout(5)  # a client sends its request at once; never hang the server on one
        raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        if _PEERCRED.unpack(raw)[1] != os.getuid():
            return
        request, fds = wire.receive(conn)
        if isinstance(request, dict):
            keep = _answer(state, conn, request, fds, private)
    except (OSError, wire.WireError):
        pass
    finally:
        if not keep:
            for fd in fds:
                os.close(fd)
            conn.close()


def _answer(
    state: State,
    conn: socket.socket,
    request: dict[str, wire.Value],
    fds: list[int],
    private: list[int],
) -> bool:
    """Reply to one request; True when a child now owns the connection (and `fds`)."""
    op = request.get("op")
    if op == "status":
        wire.send(conn, status(state))
    elif op == "stop":
        state.stop_asked = True
        wire.send(conn, {"stopping": os.getpid()})
    elif op != "run" or len(fds) != 3 or request.get("key") != state.inputs:
        reason = "key" if op == "run" and len(fds) == 3 else "request"
        wire.send(conn, {"stale" if reason == "key" else "refused": reason})
    elif preload.snapshot(state.files) != state.files:
        # our own code changed on disk: a new server must load it; release the key first so
        # the one the client starts now can take it
        state.stop_asked = True
        _stop_serving(state)
        wire.send(conn, {"stale": "files"})
    else:
        _fork(state, conn, request, fds, private)
        return True
    return False


def _fork(
    state: State,
    conn: socket.socket,
    request: dict[str, wire.Value],
    fds: list[int],
    private: list[int],
) -> None:
    from git_sessions.cli import main

    conn.settimeout(None)
    pid = os.fork()
    if pid == 0:
        child.run(conn, fds, request, main, private)
    for fd in fds:
        os.close(fd)
    state.children[pid] = conn
    state.served += 1
    with contextlib.suppress(OSError):  # if the client is gone, the child's watchdog saw it too
        wire.send(conn, {"pid": pid})


def _reap(state: State) -> None:
    while state.children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = state.children.pop(pid, None)
        state.last = time.monotonic()
        if conn is None:
            continue
        # the child has sent its exit code itself, unless it died of a signal: this reply is
        # then the client's only news (else the client has gone, or reads the same code)
        if os.WIFSIGNALED(status):
            reply: dict[str, wire.Value] = {"signal": os.WTERMSIG(status)}
        else:
            reply = {"exit": os.waitstatus_to_exitcode(status)}
        with contextlib.suppress(OSError):
            wire.send(conn, reply)
        conn.close()


def status(state: State) -> dict[str, wire.Value]:
    return {
        "pid": os.getpid(),
        "socket": state.path,
        "key": state.name,
        "served": state.served,
        "running": len(state.children),
        "started": int(state.started),
        "idle_timeout": round(state.idle),
    }
