"""The client: hand one command to the server and stand in for it until it ends.

Runs first in every command when GIT_SESSIONS_SERVER=1, before typer is imported, so it imports
only light modules (_socket rather than socket, which pulls in enum and selectors). It falls
back to running the command in this process (returns None) only while nothing has been sent,
or when the server explicitly answers "stale" or "refused": once a request is out, the command
is never run a second time here.
"""

from __future__ import annotations

import _socket
import os
import struct
import sys

from git_sessions.cmdserver import rendezvous, wire

TYPE_CHECKING = False  # see wire.py
if TYPE_CHECKING:
    import signal
else:  # the C module: `signal` imports enum, 2-3 ms of the client's few
    import _signal as signal

# Long-lived or semantics-changing commands stay in-process. `server` manages the server itself;
# `mcp` and `watch` run for a long time and forking saves nothing on their start; `guard` runs
# as a hook inside git on the hub's host (often another account, with git's quarantine
# environment), where a per-user server has nothing to offer and should not be spawned;
# `override` without --file or --unlock runs the user's editor, which wants the terminal as
# its controlling terminal (a served child has none: it lives in the server's session).
IN_PROCESS = frozenset({"server", "mcp", "watch", "guard"})
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
EXIT_LOST = 70
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid

# A server script, not `-m git_sessions`: it must see the client's sys.path (part of the key)
# rather than one that depends on where it was started.
# Each entry hex-encoded (a path may hold any byte but NUL, and argv cannot carry NUL).
BOOT = (
    "import sys; sys.path[:] = [bytes.fromhex(p).decode('utf-8', 'surrogateescape') "
    "for p in sys.argv[1].split(',')]; "
    "from git_sessions.cmdserver.daemon import boot; sys.exit(boot())"
)


def command_word(args: list[str]) -> str | None:
    """The subcommand, skipping the root's -C PATH (as cli.command_name does)."""
    rest = iter(args)
    for arg in rest:
        if arg == "-C":
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return None


def in_process(args: list[str]) -> bool:
    word = command_word(args)
    if word == "override":
        return not any(a == "--unlock" or a.startswith(("--file", "-f")) for a in args)
    return word in IN_PROCESS


def run(argv: list[str]) -> int | None:
    """Run `argv` (sys.argv) through the server: its exit code, or None to run it here."""
    if in_process(argv[1:]):
        return None
    environ = dict(os.environ)
    inputs = rendezvous.key_inputs(environ)
    directory = rendezvous.runtime_dir(environ)
    if not rendezvous.private_dir(directory, create=True):
        return None
    path = rendezvous.socket_path(directory, rendezvous.key(inputs))
    if len(os.fsencode(path)) > rendezvous.MAX_SOCKET_PATH:
        return None
    try:
        cwd = os.getcwd()
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:  # no cwd (the command says so itself) or a closed standard stream
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
            _, uid, _ = _PEERCRED.unpack(
                sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, _PEERCRED.size)
            )
        except OSError:
            spawn(directory)
            return None
        if uid != os.getuid():
            return None
        request: dict[str, wire.Value] = {
            "op": "run",
            "key": inputs,
            "argv": list(argv),
            "cwd": cwd,
            "environment": dict(environ),
            "umask": _umask(),
            "pid": os.getpid(),
            "streams": _streams(),
        }
        try:
            wire.send(sock, request, (0, 1, 2))
        except OSError:
            # nothing (or not all) reached the server: a partial message is never run
            return None
        return _stand_in(sock, directory)
    finally:
        sock.close()


def _stand_in(sock: _socket.socket, directory: str) -> int | None:
    """Wait for the child's pid, forward signals to it, and end the way it ended."""
    child = {"pid": 0}
    pending: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if child["pid"]:
            os.kill(child["pid"], signum)
        else:
            pending.append(signum)

    before = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        reply = _reply(sock)
    except (wire.WireError, OSError):
        return _lost()
    if reply.get("stale") is not None or reply.get("refused") is not None:
        if reply.get("stale") is not None:
            spawn(directory)  # the old server is on its way out: start the next one
        # running here after all: this process's own handlers again, and the signals that
        # came meanwhile delivered to it (Ctrl-C then interrupts, as during any start-up)
        for signum, handler in before.items():
            signal.signal(signum, handler)
        for waiting in pending:
            os.kill(os.getpid(), waiting)
        return None
    # the child's pid (from the server) and its status (from the child itself, or from the
    # server when it died of a signal) come in either order: a quick child can finish before
    # the server, which forked it, has sent the pid
    while "exit" not in reply and "signal" not in reply:
        pid = reply.get("pid")
        if not isinstance(pid, int) or pid <= 0:
            return _lost()
        child["pid"] = pid
        for waiting in pending:
            os.kill(pid, waiting)
        try:
            reply = _reply(sock)
        except (wire.WireError, OSError):
            return _lost()
    code, killed = reply.get("exit"), reply.get("signal")
    if isinstance(killed, int) and killed > 0:
        signal.signal(killed, signal.SIG_DFL)
        os.kill(os.getpid(), killed)
        return 128 + killed  # the signal is blocked or ignored here: say it the shell's way
    if isinstance(code, int):
        return code
    return _lost()


def _reply(sock: _socket.socket) -> dict[str, wire.Value]:
    value, fds = wire.receive(sock)
    for fd in fds:
        os.close(fd)
    if not isinstance(value, dict):
        raise wire.WireError("a reply that is not a dict")
    return value


def _lost() -> int:
    os.write(
        2,
        b"error: the git-sessions server went away while it ran this command; it may or may "
        b"not have taken effect\nhint: run `git sessions check`, then the command again\n",
    )
    return EXIT_LOST


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def _streams() -> dict[str, wire.Value]:
    """Encoding, errors and tty-ness of stdin, stdout and stderr, to rebuild them alike."""
    found: dict[str, wire.Value] = {}
    for name in ("stdin", "stdout", "stderr"):
        stream = getattr(sys, name)
        found[name] = [
            getattr(stream, "encoding", None) or "utf-8",
            getattr(stream, "errors", None) or "strict",
        ]
    return found


def encoded_path() -> str:
    return ",".join(p.encode("utf-8", "surrogateescape").hex() for p in sys.path)


def spawn(directory: str) -> None:
    """Start a server in the background for the next command (its own session, stdio on
    /dev/null); it decides by a lock whether it is the one that serves."""
    if not rendezvous.private_dir(directory, create=False):
        return
    null = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDWR, 0),
        (os.POSIX_SPAWN_DUP2, 0, 1),
        (os.POSIX_SPAWN_DUP2, 0, 2),
    ]
    args = [sys.executable, *rendezvous.interpreter_options(), "-c", BOOT, encoded_path()]
    try:
        os.posix_spawn(sys.executable, args, os.environ, file_actions=actions, setsid=True)
    except (OSError, ValueError):
        return  # no server next time either; this command still runs here
