"""Commands that end a session or record what it learned: complete, abandon, drift, learn."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

from git_sessions.cli.app import app, context, emit_json, note, out, session_slug
from git_sessions.cli.authoring import AGENT, EMAIL, JSON

if TYPE_CHECKING:
    from git_sessions.context import Context
    from git_sessions.edits import Identity

SLUG = typer.Argument(None, help="The session (default: $SESSION_ID or the worktree you are in).")


def _slug(slug: str | None) -> str:
    return session_slug(slug)


def acting(ctx: Context, slug: str, agent: str | None, email: str | None) -> Identity:
    """Who ends the session: --agent/--email if given, else the session's own identity."""
    from git_sessions.journal import session_identity

    return ctx.identity(agent, email) if agent or email else session_identity(ctx, slug, os.environ)


@app.command()
def complete(
    slug: str | None = SLUG,
    message: str | None = typer.Option(
        None, "--message", "-m", help="Squash commit description (default: the title)."
    ),
    kind: str = typer.Option("feat", "--type", help="Commit type: feat, fix, refactor, docs..."),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Squash-merge the session into main with its patch and drift report, archive it."""
    from git_sessions import completing

    ctx = context()
    name = _slug(slug)
    who = acting(ctx, name, agent, email)
    result = completing.complete(ctx, name, who, message=message, kind=kind)
    if as_json:
        emit_json(result.__dict__)
        return
    if result.resumed:
        out(f"completed {name} earlier ({result.commit[:10]}); finished its local cleanup")
        return
    out(f"completed {name}: {result.commits} commit(s) squash-merged ({result.commit[:10]})")
    out(f"patch:  {result.patch}")
    out(f"drift:  {result.drift}")
    if result.kb_session:
        out(f"planned knowledge-base merge session {result.kb_session}")
    if result.worktree_removed:
        note("removed its worktree and branch")


@app.command()
def abandon(
    slug: str | None = SLUG,
    reason: str = typer.Option(..., "--reason", "-r", help="Why the session stops here."),
    force: bool = typer.Option(
        False, "--force", help="Abandon a session someone else holds (recorded with your name)."
    ),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Stop a session: active -> abandoned, reason in its worklog, work kept as patch and branch."""
    from git_sessions import abandoning

    ctx = context()
    name = _slug(slug)
    who = acting(ctx, name, agent, email)
    result = abandoning.abandon(ctx, name, who, reason, force=force)
    if as_json:
        emit_json(result.__dict__)
        return
    out(f"abandoned {name} ({result.commit[:10]}); work kept in {result.patch}")
    out(f"and on branch {result.branch}")


@app.command()
def drift(slug: str | None = SLUG, as_json: bool = JSON) -> None:
    """The plan against what happened: criteria met, files planned vs touched, scope added."""
    from git_sessions import completing
    from git_sessions import drift as drift_mod

    ctx = context()
    report = completing.drift_report(ctx, _slug(slug))
    if isinstance(report, drift_mod.Drift):
        if as_json:
            emit_json(report.to_json())
        else:
            out(drift_mod.render(report).split("---\n", 2)[2].lstrip("\n"))
        return
    if as_json:
        emit_json(report)
    else:
        met, criteria = report.get("criteria_met", 0), report.get("criteria") or []
        total = len(criteria) if isinstance(criteria, list) else 0
        out(f"{report.get('slug')}: {met} of {total} criteria met, {report.get('commits')} commits")


@app.command()
def learn(
    insight: str = typer.Argument(..., help="What you learned, in one line."),
    session: str | None = typer.Option(None, "--session", "-s", help="Session slug."),
    no_commit: bool = typer.Option(False, "--no-commit", help="Only write the file."),
    at: str | None = typer.Option(None, "--at", help="When (YYYY-MM-DDTHH:MM UTC, or HH:MM)."),
    as_json: bool = JSON,
) -> None:
    """Record a learning in the session's knowledge/sessions/<slug>/learnings.md and commit it."""
    import time

    from git_sessions.events import parse_at
    from git_sessions.journal import learn as record

    ctx = context()
    when = parse_at(at, int(time.time())) if at is not None else None
    entry = record(ctx, _slug(session), insight, commit=not no_commit, at=when)
    if as_json:
        emit_json(entry.__dict__)
    else:
        out(f"learned: {entry.path}" + (f" ({entry.commit[:10]})" if entry.commit else ""))
