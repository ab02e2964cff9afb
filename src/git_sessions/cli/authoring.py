"""Commands that write the protocol: init, new, ready, unready."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from git_sessions.cli.app import (
    app,
    complete_slug,
    emit_json,
    note,
    out,
    repository,
    start_directory,
)

AGENT = typer.Option(None, "--agent", help="Agent name (default: git config user.name).")
EMAIL = typer.Option(None, "--email", help="Agent email (default: git config user.email).")
JSON = typer.Option(False, "--json", help="Print a JSON object instead of text.")


@app.command()
def init(
    hub: Path | None = typer.Option(
        None, "--hub", help="Create a bare hub repository here and make it the remote."
    ),
    protocol_branch: str | None = typer.Option(
        None,
        "--protocol-branch",
        help="Keep the protocol (_AGENTS/) on this branch of the hub, e.g. sessions, so "
        "claims and leases never touch main (see: git sessions migrate).",
    ),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Scaffold _AGENTS/ on the hub's main (idempotent), commit and push."""
    from git_sessions import documents

    repo = repository(agent, email)
    ctx = repo.ctx
    if hub is not None and not hub.is_absolute():
        hub = start_directory() / hub  # like git -C: relative to the -C directory
    result = repo.init(hub, protocol_branch=protocol_branch)
    if as_json:
        emit_json(
            documents.stamp(
                "init",
                {
                    "commit": result.commit,
                    "changed": result.changed,
                    "hub": result.hub,
                    "created_hub": str(result.created_hub) if result.created_hub else None,
                },
            )
        )
        return
    if result.created_hub:
        note(f"created hub {result.created_hub} (remote {ctx.config.remote})")
    if result.changed:
        where = protocol_branch or ctx.branch
        out(f"initialised _AGENTS/ on {where} ({result.commit[:10]})")
        note("run `git pull` to see it in this checkout")
    else:
        out(f"already initialised ({result.commit[:10]})")


def parse_date(text: str | None) -> dt.date | None:
    from git_sessions.errors import BadInput

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"invalid --date {text!r}", hint="use YYYY-MM-DD") from None


@app.command()
def new(
    words: list[str] = typer.Argument(..., help="Words that name the session."),
    title: str | None = typer.Option(None, "--title", help="Title (default: the words)."),
    capability: list[str] = typer.Option([], "--capability", "-c", help="Needed capability."),
    priority: int = typer.Option(0, "--priority", "-p", help="Higher is claimed first."),
    depends_on: list[str] = typer.Option(
        [], "--depends-on", help="Slug that must complete first.", autocompletion=complete_slug
    ),
    parent: str | None = typer.Option(
        None, "--parent", help="Parent session slug.", autocompletion=complete_slug
    ),
    date: str | None = typer.Option(None, "--date", help="Date in the slug (default: today)."),
    context_text: str = typer.Option("", "--context", help="The Context section."),
    problem: str = typer.Option("", "--problem", help="The Problem statement section."),
    criteria: list[str] = typer.Option([], "--criteria", help="An acceptance criterion."),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Draft a new session in drafting/ and print its slug."""
    from git_sessions import documents

    result = repository(agent, email).new(
        words,
        title=title,
        capabilities=capability,
        priority=priority,
        depends_on=depends_on,
        parent=parent,
        date=parse_date(date),
        context=context_text,
        problem=problem,
        criteria=criteria,
    )
    if as_json:
        emit_json(documents.transition(result))
    else:
        out(result.slug)


def _move(slug: str, dst: str, agent: str | None, email: str | None, as_json: bool) -> None:
    from git_sessions import documents

    repo = repository(agent, email)
    result = repo.ready(slug) if dst == "planned" else repo.unready(slug)
    if as_json:
        emit_json(documents.transition(result))
    else:
        out(f"{slug} is {dst} ({result.commit[:10]})")


SLUG = typer.Argument(..., help="The session.", autocompletion=complete_slug)


@app.command()
def ready(
    slug: str = SLUG, agent: str | None = AGENT, email: str | None = EMAIL, as_json: bool = JSON
) -> None:
    """Move a session from drafting to planned, where agents can claim it."""
    _move(slug, "planned", agent, email, as_json)


@app.command()
def unready(
    slug: str = SLUG, agent: str | None = AGENT, email: str | None = EMAIL, as_json: bool = JSON
) -> None:
    """Move a planned session back to drafting to rework its plan."""
    _move(slug, "drafting", agent, email, as_json)
