"""`gc`: remove what sessions leave behind in this clone once they are done elsewhere."""

from __future__ import annotations

import typer

from git_sessions.cli.app import app, context, emit_json, out
from git_sessions.cli.authoring import JSON


def human(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"


@app.command()
def gc(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would go."),
    push: bool = typer.Option(
        False, "--push", help="Push branches with work found nowhere else to the hub, then free."
    ),
    as_json: bool = JSON,
) -> None:
    """Remove worktrees and branches of sessions no longer held here (completed, abandoned,
    reaped, released) once their work is on main or the hub, plus crash debris."""
    from git_sessions import gc as gc_mod

    report = gc_mod.collect(context(), dry_run=dry_run, push=push)
    if as_json:
        from git_sessions import documents

        emit_json(documents.gc(report.to_json()))
        return
    verb = "would remove" if dry_run else "removed"
    for item in report.freed:
        out(f"{verb} {item.kind} {item.name} ({human(item.bytes)}): {item.reason}")
    for item in report.kept:
        out(f"kept {item.kind} {item.name}: {item.reason}")
    total = sum(i.bytes for i in report.freed)
    out(f"{'would free' if dry_run else 'freed'} {len(report.freed)} item(s), {human(total)}")
