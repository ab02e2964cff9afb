"""`context`: the snapshot an agent reads before it starts a session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from git_sessions.cli.app import app, context, emit_json, note, out, session_slug, start_directory
from git_sessions.cli.authoring import JSON


def _write(path: Path, text: str) -> None:
    """Atomically: a reader never sees half a snapshot."""
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temp.write_text(text)
    os.replace(temp, path)


@app.command("context")
def context_snapshot(
    slug: str | None = typer.Argument(None, help="The session (default: $SESSION_ID or worktree)."),
    out_file: Path | None = typer.Option(None, "--out", "-o", help="Write it to this file."),
    as_json: bool = JSON,
) -> None:
    """What an agent needs to start: the plan, relevant knowledge and learnings, related
    sessions, the files the plan names, recent messages, and a token estimate."""
    from git_sessions.briefing import brief, render
    from git_sessions.documents import stamp
    from git_sessions.errors import BadInput

    ctx = context()
    found = brief(ctx.main(), session_slug(slug))
    document = stamp("context", found.to_json())
    text = json.dumps(document, indent=2, sort_keys=True) + "\n" if as_json else render(found)
    if out_file is None:
        if as_json:
            emit_json(document)
        else:
            out(text.rstrip("\n"))
        return
    target = out_file if out_file.is_absolute() else start_directory() / out_file
    try:
        _write(target, text)
    except OSError as exc:
        raise BadInput(f"cannot write {target}: {exc.strerror or exc}") from None
    note(f"wrote {target} (about {found.tokens} tokens)")
