"""`journal`: the quick-reference index of every session (and INDEX.md on main)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from git_sessions.cli.app import app, context, emit_json, note, out, table
from git_sessions.cli.authoring import AGENT, EMAIL, JSON

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot


@app.command()
def journal(
    state: list[str] = typer.Option([], "--state", help="Only this state (repeatable)."),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Rewrite _AGENTS/sessions/INDEX.md on main from the sessions."
    ),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Every session by date: id, title, state, holder, commits (what INDEX.md holds)."""
    from git_sessions import index
    from git_sessions.edits import Change, Write
    from git_sessions.protocol import AGENTS, check_state
    from git_sessions.publish import update_main

    wanted = {check_state(s) for s in state}
    ctx = context()
    if rebuild:
        who = ctx.identity(agent, email)

        def build(snap: Snapshot) -> Change | None:
            text = index.rebuild(snap)
            if text is None:
                return None
            message = f"[{AGENTS}] chore: rebuild the sessions index"
            return Change((Write(index.INDEX_FILE, text.encode()),), message, who)

        published = update_main(ctx.hub, build)
        note(f"rebuilt {index.INDEX_FILE} ({published.commit[:10]})" if published.changed
             else f"{index.INDEX_FILE} is current")  # fmt: skip
    rows = [r for r in index.all_rows(ctx.main()) if not wanted or r.state in wanted]
    if as_json:
        from git_sessions.documents import stamp

        emit_json(stamp("index", {"sessions": [r.to_json() for r in rows]}))
        return
    cells = [
        [r.date, r.slug, r.state, r.holder or "-", "-" if r.commits is None else str(r.commits),
         r.title]
        for r in rows
    ]  # fmt: skip
    out(table(["DATE", "SESSION", "STATE", "HOLDER", "COMMITS", "TITLE"], cells) or "no sessions")
