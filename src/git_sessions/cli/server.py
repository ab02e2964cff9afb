"""`server start|stop|status`: the opt-in command server (GIT_SESSIONS_SERVER=1, docs/server.md)."""

from __future__ import annotations

import typer

from git_sessions.cli.app import app, emit_json, out
from git_sessions.cli.authoring import JSON

server_app = typer.Typer(
    help="The command server that lets commands skip Python's start-up (GIT_SESSIONS_SERVER=1).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(server_app, name="server")


@server_app.command("start")
def server_start(
    foreground: bool = typer.Option(
        False, "--foreground", help="Serve in this process until stopped or idle."
    ),
) -> None:
    """Start the server for this Python, this package and these settings (one per key)."""
    from git_sessions.cmdserver import control

    if foreground:
        # A fresh interpreter (same pid, same stdio) rather than serving from here: this
        # process has already imported and registered commands in another order (help lists
        # them in registration order) and sits inside typer's call stack, which children
        # would inherit. It prints `ready PID` once it serves, `running` if another one does.
        control.become_server()
    started, pid = control.start()
    out(f"{'started' if started else 'already running'}: pid {pid or '?'}")


@server_app.command("stop")
def server_stop() -> None:
    """Stop the server: it stops accepting now; commands it is running finish."""
    from git_sessions.cmdserver import control

    pid = control.stop()
    out(f"stopped: pid {pid}" if pid else "no server was running")


@server_app.command("status")
def server_status(as_json: bool = JSON) -> None:
    """Whether a server serves this key, and what it has done."""
    from git_sessions import documents
    from git_sessions.cmdserver import control

    place = control.where()
    reply = control.ask("status") or {}
    data = {
        "running": bool(reply),
        "socket": place.socket,
        "pid": reply.get("pid"),
        "served": reply.get("served"),
        "active": reply.get("running"),
        "started": reply.get("started"),
        "idle_timeout": reply.get("idle_timeout"),
    }
    if as_json:
        emit_json(documents.stamp("server", data))
        return
    if not reply:
        out(f"no server ({place.socket})")
        return
    out(f"pid {data['pid']}: {data['served']} served, {data['active']} running ({place.socket})")
