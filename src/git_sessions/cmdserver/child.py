"""A forked child: become the client's process (its stdio, cwd, environment, umask, argv),
run the command, and exit. Never returns into the server's loop."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import io
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable

from git_sessions.cmdserver import wire

_EXIT_SETUP = 70


def run(
    conn: socket.socket,
    fds: list[int],
    request: dict[str, wire.Value],
    main: Callable[[list[str]], int],
    close: list[int],
) -> None:
    """In the child right after fork: set up, run `main`, `os._exit` with its code."""
    code = _EXIT_SETUP
    try:
        _restore_signals()
        for fd in close:  # the listener, the wakeup pipe, the lock: the server's, not ours
            os.close(fd)
        _adopt_stdio(fds, request)
        code = _adopt_process(request)
        if code == 0:
            _watch(conn)
            argv = request["argv"]
            assert isinstance(argv, list)
            sys.argv = [str(a) for a in argv]
            code = _as_a_process(main, sys.argv[1:])
    except BaseException:  # the child must never unwind into the server's loop
        import traceback

        traceback.print_exc()
        code = _EXIT_SETUP
    finally:
        _finish(code, conn)


def _as_a_process(main: Callable[[list[str]], int], args: list[str]) -> int:
    """`main(args)`, ending as `sys.exit(main())` would end an interpreter: SystemExit's code
    (typer's shell completion exits that way), a traceback and 1 for anything else that
    escapes, death by SIGINT for an uncaught KeyboardInterrupt."""
    try:
        return main(args)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        sys.stderr.write(f"{exc.code}\n")
        return 1
    except KeyboardInterrupt:
        _finish_streams()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        return 130
    except Exception:
        import traceback

        traceback.print_exc()
        return 1


def _restore_signals() -> None:
    """A fresh interpreter's handlers: KeyboardInterrupt on SIGINT, the default for the rest."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _adopt_stdio(fds: list[int], request: dict[str, wire.Value]) -> None:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)  # inheritable, as a fresh process's 0-2 are
        os.close(fd)
    streams = request.get("streams")
    assert isinstance(streams, dict)
    for target, name in enumerate(("stdin", "stdout", "stderr")):
        pair = streams.get(name)
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError(f"no encoding for {name}")
        stream = _text_stream(target, str(pair[0]), str(pair[1]))
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _text_stream(fd: int, encoding: str, errors: str) -> io.TextIOWrapper:
    """As CPython builds sys.stdin/stdout/stderr: buffered, "\\n" newlines, line-buffered on a
    tty (stderr always)."""
    tty = os.isatty(fd)
    raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
    buffered: io.BufferedReader | io.BufferedWriter = (
        io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
    )
    return io.TextIOWrapper(
        buffered,
        encoding=encoding,
        errors=errors,
        newline="\n",
        line_buffering=tty or fd == 2,
        write_through=fd == 2,
    )


def _adopt_process(request: dict[str, wire.Value]) -> int:
    """The client's cwd, environment and umask; 1 (as the CLI says it) if the cwd is gone."""
    environment = request["environment"]
    assert isinstance(environment, dict)
    os.environ.clear()  # unsetenv/putenv too: libgit2 and subprocesses see the client's
    os.environ.update({str(k): str(v) for k, v in environment.items()})
    umask = request["umask"]
    assert isinstance(umask, int)
    os.umask(umask)
    try:
        os.chdir(str(request["cwd"]))
    except OSError:
        sys.stderr.write("error: the current directory no longer exists\n")
        sys.stderr.write("hint: cd to the repository (or pass -C PATH) and run it again\n")
        return 1
    return 0


def _watch(conn: socket.socket) -> None:
    """Die with the client: its end of the connection closing (even by kill -9) means the
    command dies at that instant, as it would have in-process.

    The kernel does it: with O_ASYNC, F_SETOWN (us) and F_SETSIG (SIGKILL) on our end, the
    client's close queues SIGKILL for us while the client is still exiting, before its parent
    can see it dead, so nothing the parent does next (closing our stdin, running git) can
    race a last step of ours. The client sends nothing after its request, so no other event
    fires. A thread blocked reading the connection (the fallback where F_SETSIG is missing)
    would lose that race: it has to be scheduled first."""
    fd = conn.fileno()
    setsig = getattr(fcntl, "F_SETSIG", None)
    if setsig is None:
        _watch_with_a_thread(conn)
        return
    fcntl.fcntl(fd, fcntl.F_SETOWN, os.getpid())
    fcntl.fcntl(fd, setsig, signal.SIGKILL)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
    try:  # gone before the above took effect?
        gone = conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        gone = False
    except OSError:
        gone = True
    if gone:
        os.kill(os.getpid(), signal.SIGKILL)


def _watch_with_a_thread(conn: socket.socket) -> None:
    def wait() -> None:
        with contextlib.suppress(OSError):
            while conn.recv(4096):
                pass
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=wait, name="client-watchdog", daemon=True).start()


def _finish_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def _finish(code: int, conn: socket.socket) -> None:
    """Flush, run the atexit handlers, tell the client the code, exit. The client need not
    wait for the server to reap us: tearing a large process down takes milliseconds."""
    _finish_streams()
    try:
        atexit._run_exitfuncs()  # what an ordinary exit would run (logging's flush...)
        with contextlib.suppress(OSError):
            wire.send(conn, {"exit": code & 0xFF})
    finally:
        os._exit(code & 0xFF)
