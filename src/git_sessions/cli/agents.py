"""Commands for background agents: queue, watch, heartbeat, reap, spawn."""

from __future__ import annotations

import datetime as dt
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

import typer

from git_sessions.cli.app import (
    app,
    complete_slug,
    context,
    emit_json,
    json_text,
    note,
    out,
    printable,
    repository,
    session_slug,
    start_directory,
    table,
)
from git_sessions.cli.authoring import AGENT, EMAIL, JSON
from git_sessions.cli.claiming import YES, approve_bootstrap, report_bootstrap

if TYPE_CHECKING:
    from git_sessions.api.results import Queue
    from git_sessions.watch import Event as EventType

CAPABILITY = typer.Option([], "--capability", "-c", help="A capability this agent has.")


@app.command("queue")
def queue_(
    capability: list[str] = CAPABILITY,
    show_all: bool = typer.Option(False, "--all", help="Also list what is not claimable, and why."),
    as_json: bool = JSON,
) -> None:
    """Claimable planned sessions in the order `claim --next` takes them."""
    import os
    import sys

    from git_sessions import queuecache

    # agents poll this: while main stands still, the last answer is printed as it was
    question = queuecache.Question(
        start_directory().resolve(), tuple(capability), show_all, as_json
    )
    text = queuecache.lookup(question, os.environ)
    if text is None:
        was = queuecache.before(question, os.environ)
        repo = repository()
        result = repo.queue(capability)
        text = _queue_text(result, show_all=show_all, as_json=as_json)
        if was is not None:
            queuecache.store(was, repo.ctx, result.main, text, os.environ)
    sys.stdout.write(text)
    sys.stdout.flush()


def _queue_text(result: Queue, *, show_all: bool, as_json: bool) -> str:
    from git_sessions import documents

    if as_json:
        return json_text(documents.queue(result, include_blocked=show_all))
    found = [c for c in result.entries if show_all or c.reason is None]
    rows = [
        [
            c.session.slug,
            str(c.session.priority),
            ",".join(c.session.capabilities) or "-",
            c.reason or "claimable",
            c.session.title,
        ]
        for c in found
    ]
    shown = table(["SLUG", "PRI", "CAPABILITIES", "STATUS", "TITLE"], rows) or "nothing claimable"
    return printable(shown) + "\n"


@app.command()
def watch(
    capability: list[str] = CAPABILITY,
    interval: float = typer.Option(10.0, "--interval", min=0.05, help="Seconds between polls."),
    do_claim: bool = typer.Option(False, "--claim", help="Claim the next matching session."),
    command: str | None = typer.Option(
        None, "--exec", help="With --claim: run this in the new worktree, with its environment."
    ),
    once: bool = typer.Option(False, "--once", help="Exit after the first claim (or find)."),
    agent_type: str | None = typer.Option(
        None, "--agent-type", help="Recorded in each claim; $GIT_SESSIONS_AGENT_TYPE."
    ),
    agent_version: str | None = typer.Option(
        None, "--agent-version", help="Recorded in each claim; $GIT_SESSIONS_AGENT_VERSION."
    ),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    yes: bool = YES,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per event."),
) -> None:
    """Poll planned/ for matching work; optionally claim it and run a command. Stops on
    SIGINT/SIGTERM."""
    import os

    from git_sessions.holders import agent_kind
    from git_sessions.watch import Event
    from git_sessions.watch import watch as run_watch

    if command and not do_claim:
        raise typer.BadParameter("--exec needs --claim")
    ctx = context()
    caps = capability or list(ctx.config.capabilities)
    who = ctx.identity(agent, email)
    kind = agent_kind(agent_type, agent_version, os.environ)
    if yes:
        approve_bootstrap(ctx)
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    def emit(event: EventType) -> None:
        from git_sessions.documents import stamp

        if as_json:
            data: dict[str, object] = {
                "event": event.kind,
                "slug": event.slug,
                "detail": event.detail,
            }
            if event.claim:
                data["claim"] = event.claim.to_json()
            if event.ran:
                data["returncode"], data["output"] = event.ran.returncode, event.ran.output
            emit_json(stamp("watch", data), line=True)
        elif event.kind == "claimed" and event.claim:
            out(f"claimed {event.slug} in {event.claim.worktree}")
            if event.claim.bootstrap and not event.claim.bootstrap.ok:
                report_bootstrap(event.claim.slug, event.claim.bootstrap)
        elif event.kind == "found":
            out(f"claimable: {event.slug} ({event.detail})")
        elif event.kind == "ran" and event.ran:
            out(f"ran in {event.slug}: exit {event.ran.returncode}")
            if event.ran.output:
                out(event.ran.output.rstrip())
        elif event.kind in ("lost", "stopped"):
            note(f"{event.kind}: {event.detail}".rstrip(": "))
        elif event.kind == "started":
            note(f"watching {event.detail}")

    # announced only now that the handlers are in place: a supervisor (or a test) may signal
    # as soon as it reads this line
    wanted = ", ".join(caps) if caps else "no capabilities"
    emit(Event("started", None, f"{ctx.config.remote}/{ctx.branch} ({wanted}); SIGTERM stops"))
    run_watch(
        ctx,
        caps,
        who,
        interval=interval,
        do_claim=do_claim,
        command=command,
        once=once,
        emit=emit,
        stop=stopped.is_set,
        sleep=stopped.wait,
        kind=kind,
    )


@app.command()
def heartbeat(
    slug: str | None = typer.Argument(
        None, help="Session (default: $SESSION_ID).", autocompletion=complete_slug
    ),
    as_json: bool = JSON,
) -> None:
    """Show life: push the session branch to the hub and renew the lease on main."""
    from git_sessions import documents

    result = repository().heartbeat(session_slug(slug))
    if as_json:
        emit_json(documents.heartbeat(result))
    else:
        out(f"{result.slug}: alive" + (" (lease renewed on main)" if result.renewed else ""))


@app.command()
def reap(
    older_than: str = typer.Option(..., "--older-than", help="e.g. 30m, 2h, 1d."),
    to: str = typer.Option("planned", "--to", help="planned (default) or abandoned."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be reaped."),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Return claims with no sign of life for --older-than to planned (or abandon them)."""
    from git_sessions.documents import stamp

    if to not in ("planned", "abandoned"):
        raise typer.BadParameter("--to must be planned or abandoned")
    results = repository(agent, email).reap(older_than, to=to, dry_run=dry_run)
    if as_json:
        reaped = [
            {
                "slug": r.slug,
                "outcome": r.outcome,
                "commit": r.commit,
                "last_life": r.last_life,
                "holder": f"{r.holder.name} <{r.holder.email}>" if r.holder else None,
            }
            for r in results
        ]
        emit_json(stamp("reap", {"dry_run": dry_run, "to": to, "reaped": reaped}))
        return
    if not results:
        out("no stale claims")
    for r in results:
        since = dt.datetime.fromtimestamp(r.last_life, dt.UTC).isoformat(timespec="seconds")
        out(f"{r.outcome}: {r.slug} (last sign of life {since})")


@app.command()
def spawn(
    words: list[str] = typer.Argument(..., help="Words that name the subsession."),
    parent: str = typer.Option(
        ..., "--parent", help="The session this one comes from.", autocompletion=complete_slug
    ),
    planned: bool = typer.Option(False, "--planned", help="Create it ready to claim."),
    title: str | None = typer.Option(None, "--title"),
    capability: list[str] = CAPABILITY,
    priority: int = typer.Option(0, "--priority", "-p"),
    date: str | None = typer.Option(None, "--date", help="Date in the slug (default: today)."),
    criteria: list[str] = typer.Option([], "--criteria", help="An acceptance criterion."),
    agent: str | None = AGENT,
    email: str | None = EMAIL,
    as_json: bool = JSON,
) -> None:
    """Create a subsession of --parent and record it in the parent's subsessions.md."""
    from git_sessions import documents
    from git_sessions.cli.authoring import parse_date

    result = repository(agent, email).spawn(
        words,
        parent,
        planned=planned,
        title=title,
        capabilities=capability,
        priority=priority,
        date=parse_date(date),
        criteria=criteria,
    )
    if as_json:
        emit_json(documents.transition(result))
    else:
        out(result.slug)
