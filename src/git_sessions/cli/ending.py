"""Commands that end a session or record what it learned: complete, abandon, drift, learn."""

from __future__ import annotations

import typer

from git_sessions.cli.app import app, complete_slug, emit_json, note, out, repository, session_slug
from git_sessions.cli.authoring import AGENT, EMAIL, JSON

SLUG = typer.Argument(
    None,
    help="The session (default: $SESSION_ID or the worktree you are in).",
    autocompletion=complete_slug,
)
SESSION = typer.Option(
    None,
    "--session",
    "-s",
    help="Session slug (default: $SESSION_ID or the worktree you are in).",
    autocompletion=complete_slug,
)


def _slug(slug: str | None) -> str:
    return session_slug(slug)


@app.command()
def complete(
    slug: str | None = SLUG,
    message: str | None = typer.Option(
        None, "--message", "-m", help="Squash commit description (default: the title)."
    ),
    kind: str = typer.Option("feat", "--type", help="Commit type: feat, fix, refactor, docs..."),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="Land a session without code commits (recorded as such)."
    ),
    yes: bool = typer.Option(
        False, "--yes", help="Approve the verify commands of _AGENTS/config.yaml on this machine."
    ),
    land: str | None = typer.Option(
        None,
        "--land",
        help="direct (land on main) or review (push to land/<slug>; coordination layout only). "
        "Default: landing in _AGENTS/config.yaml.",
    ),
    as_json: bool = JSON,
) -> None:
    """Squash-merge the session into main with its patch and drift report, archive it.

    With `verify:` commands in _AGENTS/config.yaml, they run on the merged tree first (exit 3
    and nothing lands if one fails)."""
    from git_sessions import documents
    from git_sessions.verification import VerifyFailed

    name = _slug(slug)
    try:
        result = repository(agent, email).complete(
            name, message=message, kind=kind, allow_empty=allow_empty, approve=yes, land=land
        )
    except VerifyFailed as exc:
        note("".join(f"| {line}\n" for line in exc.tail.split("\n")).rstrip("\n"))
        raise
    if as_json:
        emit_json(documents.completion(result))
        return
    if result.resumed:
        out(f"completed {name} earlier ({result.commit[:10]}); finished its local cleanup")
        return
    if result.landing:
        out(f"completed {name}: {result.commits} commit(s) squashed onto {result.landing}")
        note(f"it waits to land: merge {result.landing}, then run: git sessions land {name}")
    else:
        out(f"completed {name}: {result.commits} commit(s) squash-merged ({result.commit[:10]})")
    for run in result.verified:
        out(f"verified: {run['tree']} by {len(run['commands'])} command(s), {run['seconds']}s")
    out(f"patch:  {result.patch}")
    out(f"journal: {result.journal_patch}")
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
    from git_sessions import documents

    name = _slug(slug)
    result = repository(agent, email).abandon(name, reason, force=force)
    if as_json:
        emit_json(documents.abandonment(result))
        return
    out(f"abandoned {name} ({result.commit[:10]}); work kept in {result.patch}")
    out(f"and on branch {result.branch}")


@app.command()
def drift(slug: str | None = SLUG, as_json: bool = JSON) -> None:
    """The plan against what happened: criteria met, files planned vs touched, scope added."""
    from git_sessions import documents
    from git_sessions import drift as drift_mod

    report = repository().drift(_slug(slug))
    if as_json:
        emit_json(documents.drift(report))
    elif report.drift is not None:
        out(drift_mod.render(report.drift).split("---\n", 2)[2].lstrip("\n"))
    else:
        out(report.text.rstrip("\n"))


@app.command()
def learn(
    insight: str = typer.Argument(..., help="What you learned, in one line."),
    session: str | None = SESSION,
    no_commit: bool = typer.Option(False, "--no-commit", help="Only write the file."),
    at: str | None = typer.Option(None, "--at", help="When (YYYY-MM-DDTHH:MM UTC, or HH:MM)."),
    as_json: bool = JSON,
) -> None:
    """Record a learning in the session's knowledge/sessions/<slug>/learnings.md and commit it."""
    import time

    from git_sessions import documents
    from git_sessions.events import parse_at

    when = parse_at(at, int(time.time())) if at is not None else None
    entry = repository().learn(_slug(session), insight, commit=not no_commit, at=when)
    if as_json:
        emit_json(documents.learning(entry))
    else:
        out(f"learned: {entry.path}" + (f" ({entry.commit[:10]})" if entry.commit else ""))
