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
    agent: str | None = typer.Option(
        None, "--agent", help="Only sessions whose holder's name or email contains this."
    ),
    agent_type: str | None = typer.Option(
        None, "--agent-type", help="Only sessions claimed by this kind of agent (e.g. claude)."
    ),
    limit: int | None = typer.Option(None, "--limit", help="At most this many sessions."),
    as_json: bool = JSON,
) -> None:
    """List sessions, read straight from the hub's main, with holder and age."""
    import time

    from git_sessions import documents, holders, landings
    from git_sessions.errors import BadInput
    from git_sessions.protocol import LOCK_FILE

    repo = repository()
    result = repo.list(state)
    snap = repo.ctx.hub.snapshot(result.main)  # the commit listed: no second fetch
    if snap.object_id(LOCK_FILE) is None:
        raise BadInput("git-sessions is not initialised on main", hint="run: git sessions init")
    found = holders.rows(snap, result.sessions, holders.Filter(agent, agent_type, limit))
    now = int(time.time())
    waiting = landings.waiting(snap) if repo.ctx.split else {}

    def landing(row: holders.Row) -> dict[str, str]:
        marker = waiting.get(row.session.slug) if row.session.state == "completed" else None
        return {"landing": marker.branch} if marker is not None else {}

    if as_json:
        rows_json = [{**r.to_json(now), **landing(r)} for r in found]
        emit_json(documents.stamp("list", {"main": result.main, "sessions": rows_json}))
        return

    def who(row: holders.Row) -> str:
        if row.claim is None or not row.claim.name:
            return "-"
        kind = row.claim.agent_type
        return row.claim.name + (f" ({kind})" if kind else "")

    rows = [
        [
            r.session.slug,
            r.session.state + (", to land" if landing(r) else ""),
            str(r.session.priority),
            ",".join(r.session.capabilities) or "-",
            who(r),
            holders.age(now - r.since) if r.since is not None else "-",
            r.session.title,
        ]
        for r in found
    ]
    out(
        table(["SLUG", "STATE", "PRI", "CAPABILITIES", "HOLDER", "AGE", "TITLE"], rows)
        or "no sessions"
    )


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
    rev: str | None = typer.Option(
        None, "--rev", help="Check this commit of the local repository (e.g. HEAD), not the hub."
    ),
    as_json: bool = JSON,
    deep: bool = typer.Option(
        False, "--deep", help="Also audit main's whole history (slower as history grows)."
    ),
) -> None:
    """Verify the protocol's invariants on the hub's main; exit 3 listing any violations."""
    from git_sessions import documents

    result = repository().check(deep=deep, rev=rev)
    where = "main" if rev is None else rev
    found = f"{len(result.violations)} invariant violation(s) on {where}"
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
    out(f"ok: {where} {str(result.main)[:10]} satisfies every invariant")
