"""`acknowledge`: the remedy for a knowledge-base change that broke the KB rule."""

from __future__ import annotations

import typer

from git_sessions.cli.app import app, context, emit_json, out
from git_sessions.cli.authoring import AGENT, EMAIL, JSON


@app.command()
def acknowledge(
    commit: str = typer.Argument(..., help="The violating commit, as `check` names it."),
    reason: str = typer.Option(..., "--reason", "-r", help="Who reviewed it, and why it stays."),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Record on main that a `knowledge` violation found by `check` was reviewed, so `check`
    passes again; the record is one audited commit."""
    from git_sessions.kbrule import ACKNOWLEDGED
    from git_sessions.kbrule import acknowledge as record

    ctx = context()
    published = record(ctx, commit, reason, ctx.identity(agent, email))
    if as_json:
        from git_sessions.documents import stamp

        data = {"commit": published.commit, "changed": published.changed, "file": ACKNOWLEDGED}
        emit_json(stamp("acknowledge", data))
    elif published.changed:
        out(f"acknowledged {commit} in {ACKNOWLEDGED} ({published.commit[:10]})")
    else:
        out(f"{commit} was acknowledged already")
