"""Commands that only read main: list, show, check."""

from __future__ import annotations

import typer

from git_sessions.cli.app import app, complete_slug, emit_json, note, out, repository, table
from git_sessions.errors import Conflict
from git_sessions.protocol import STATES

JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _state(value: str | None) -> str | None:
    if value is not None and value not in STATES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(STATES)}")
    return value


@app.command("list")
def list_(
    state: str | None = typer.Option(
        None, "--state", callback=_state, help=f"Only this state: {', '.join(STATES)}."
    ),
    as_json: bool = JSON,
) -> None:
    """List sessions, read straight from the hub's main."""
    from git_sessions import documents

    result = repository().list(state)
    if as_json:
        emit_json(documents.session_list(result))
        return
    rows = [
        [s.slug, s.state, str(s.priority), ",".join(s.capabilities) or "-", s.title]
        for s in result.sessions
    ]
    out(table(["SLUG", "STATE", "PRI", "CAPABILITIES", "TITLE"], rows) or "no sessions")


@app.command()
def show(
    slug: str = typer.Argument(..., help="The session.", autocompletion=complete_slug),
    as_json: bool = JSON,
) -> None:
    """Show one session: its metadata and plan."""
    from git_sessions import documents

    result = repository().show(slug)
    session, files = result.session, result.files
    if as_json:
        emit_json(documents.session_detail(result))
        return
    out(f"{session.slug}  [{session.state}]  priority {session.priority}")
    out(f"title:        {session.title}")
    out(f"capabilities: {', '.join(session.capabilities) or '-'}")
    out(f"depends on:   {', '.join(session.depends_on) or '-'}")
    if session.parent:
        out(f"parent:       {session.parent}")
    out(f"path:         {session.path}")
    for problem in session.problems:
        out(f"problem:      {problem}")
    out()
    out(files["SESSION.md"] or "")


@app.command()
def check(
    as_json: bool = JSON,
    deep: bool = typer.Option(
        False, "--deep", help="Also audit main's whole history (slower as history grows)."
    ),
) -> None:
    """Verify the protocol's invariants on the hub's main; exit 3 listing any violations."""
    from git_sessions import documents

    result = repository().check(deep=deep)
    found = f"{len(result.violations)} invariant violation(s) on main"
    if as_json:
        emit_json(documents.check(result))
        if result.violations:  # the report is the answer: no second, error document
            note(f"error: {found}")
            raise typer.Exit(Conflict.exit_code)
        return
    for v in result.violations:
        out(f"{v.rule}: {v.message}" + (f" (commit {v.commit[:10]})" if v.commit else ""))
    if result.violations:
        raise Conflict(found)
    out(f"ok: main {str(result.main)[:10]} satisfies every invariant")
