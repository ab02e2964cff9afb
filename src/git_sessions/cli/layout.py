"""Commands of the coordination layout: land (review branches merged on main), migrate."""

from __future__ import annotations

import typer

from git_sessions.cli.app import app, emit_json, note, out, repository
from git_sessions.cli.authoring import AGENT, EMAIL, JSON


@app.command()
def land(
    slugs: list[str] = typer.Argument(
        None, help="Sessions to look at (default: every one waiting to land)."
    ),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Mark completed sessions landed once main holds their change (compared by content, so
    squash and rebase merges count), and delete their land/<slug> branches."""
    from git_sessions import documents, landings

    repo = repository(agent, email)
    found = landings.land(repo.ctx, repo.identity(), list(slugs or []))
    if as_json:
        emit_json(documents.stamp("land", {"sessions": [f.to_json() for f in found]}))
        return
    if not found:
        out("no session waits to land")
    for item in found:
        if item.landed:
            out(f"landed {item.slug} ({item.landed[:10]} holds {item.commit[:10]})")
        else:
            out(f"waiting {item.slug}: {item.branch} ({item.commit[:10]}) is not on main yet")


@app.command()
def migrate(
    protocol_branch: str = typer.Option(
        ...,
        "--protocol-branch",
        help="Move _AGENTS/ to this branch of the hub; main's own name moves it back to main.",
    ),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Move the protocol between main and a coordination branch (safe to run again)."""
    from git_sessions import documents, migration

    repo = repository(agent, email)
    done = migration.migrate(repo.ctx, repo.identity(), protocol_branch)
    if as_json:
        emit_json(documents.stamp("migrate", done.to_json()))
        return
    if not done.changed:
        out(f"the protocol is already on {done.protocol_branch}")
        return
    out(f"moved the protocol to {done.protocol_branch}")
    note("run `git pull` in every clone so its _AGENTS/config.yaml names the new layout")
