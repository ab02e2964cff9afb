"""Messages between sessions: `message` sends, `inbox` reads and marks read."""

from __future__ import annotations

import time

import typer

from git_sessions.cli.app import app, context, emit_json, note, out, session_slug
from git_sessions.cli.authoring import AGENT, EMAIL, JSON


@app.command()
def message(
    text: str = typer.Argument(..., help="The message."),
    to: str | None = typer.Option(None, "--to", help="The recipient session's slug."),
    everyone: bool = typer.Option(False, "--all", help="Send to every session."),
    priority: str = typer.Option("normal", "--priority", help="normal or high."),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Send a message to a session's inbox (or to all): one commit on the hub's main."""
    from git_sessions import messages
    from git_sessions.errors import BadInput

    if (to is None) == (not everyone):
        raise typer.BadParameter("pass --to SLUG or --all (one of them)")
    ctx = context()
    who = ctx.identity(agent, email)
    try:
        sender = session_slug(None)  # from inside a session, the session speaks
    except BadInput:
        sender = who.name
    made = messages.make_message(sender, to or "all", text, priority, int(time.time()))
    published = messages.send(ctx, made, who)
    if as_json:
        from git_sessions.documents import stamp

        emit_json(stamp("message", {**made.to_json(), "commit": published.commit}))
    else:
        out(f"sent {made.id} to {made.to} ({published.commit[:10]})")


@app.command()
def inbox(
    slug: str | None = typer.Argument(None, help="The session (default: $SESSION_ID or worktree)."),
    show_all: bool = typer.Option(False, "--all", help="Also messages already read."),
    mark_read: bool = typer.Option(False, "--mark-read", help="Mark the shown messages read."),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """A session's messages, unread first; --mark-read records that it read them."""
    from git_sessions import messages

    ctx = context()
    name = session_slug(slug)
    box = messages.inbox(ctx.main(), name)
    shown = box.messages if show_all else tuple(box.unread())
    if mark_read and shown:
        messages.mark_read(ctx, name, [m.id for m in shown], ctx.identity(agent, email))
    if as_json:
        from git_sessions import documents

        emit_json(documents.stamp("inbox", box.to_json(only_unread=not show_all)))
        return
    for m in shown:
        flag = "!" if m.priority == "high" else " "
        read = " (read)" if m.id in box.read else ""
        stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(m.time))
        out(f"{flag} {stamp}  {m.sender} -> {m.to}{read}: {m.text}")
    if not shown:
        note("no unread messages" if not show_all else "no messages")
    elif mark_read:
        note(f"marked {len(shown)} message(s) read")
