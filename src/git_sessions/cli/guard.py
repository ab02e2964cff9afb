"""`guard` (a hub's pre-receive hook) and `guard install --hub PATH`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from git_sessions.cli.app import app, emit_json, note, out, start_directory
from git_sessions.cli.authoring import JSON

guard_app = typer.Typer(
    help="Judge a push, as a bare hub's pre-receive hook (git's input on stdin): exit 3 with"
    " one line per ref whose update breaks the protocol. `guard install` sets the hook up.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(guard_app, name="guard")


@guard_app.callback(invoke_without_command=True)
def guard(ctx: typer.Context) -> None:
    """Judge a push: run inside a bare hub with git's pre-receive input on stdin; exit 3,
    one line per refused ref, if any update breaks the protocol."""
    if ctx.invoked_subcommand is not None:
        return
    from git_sessions import guard as guard_mod
    from git_sessions.errors import Conflict

    updates = guard_mod.parse_updates(sys.stdin.read())
    hub = guard_mod.hook_git_dir(os.environ, Path.cwd())
    refused = guard_mod.judge_push(hub, updates, os.environ)
    for refusal in refused[:-1]:
        note(f"error: git-sessions guard refused {refusal.ref}: {refusal.reason}")
    if refused:
        last = refused[-1]
        raise Conflict(f"git-sessions guard refused {last.ref}: {last.reason}")


@guard_app.command("install")
def guard_install(
    hub: Path = typer.Option(..., "--hub", help="The bare hub repository."),
    force: bool = typer.Option(False, "--force", help="Replace a pre-receive hook of its own."),
    as_json: bool = JSON,
) -> None:
    """Make the hub run `git sessions guard` on every push (hooks/pre-receive)."""
    from git_sessions import guard as guard_mod

    path = hub if hub.is_absolute() else start_directory() / hub
    done = guard_mod.install(path, force=force)
    if as_json:
        from git_sessions.documents import stamp

        emit_json(stamp("guard", {"path": str(done.path), "updated": done.updated}))
        return
    out(f"{'installed' if done.updated else 'already installed:'} {done.path}")
