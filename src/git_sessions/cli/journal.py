"""Journal and tracing commands: log, decision, milestone, blocker, unblock, metric, crash,
recover, handoff (entries on the session branch); history, status, search."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import typer

from git_sessions.cli.app import app, emit_json, note, out, repository, session_slug
from git_sessions.cli.authoring import JSON
from git_sessions.cli.ending import SESSION, SLUG

if TYPE_CHECKING:
    from git_sessions.events import Event
    from git_sessions.journal import Recorded
    from git_sessions.standing import Overview
    from git_sessions.status import Status
    from git_sessions.tracing import Item

NO_COMMIT = typer.Option(False, "--no-commit", help="Only write the files; commit them later.")
AT = typer.Option(
    None, "--at", help="When it happened (YYYY-MM-DDTHH:MM UTC, or HH:MM): a retroactive entry."
)


def _slug(slug: str | None) -> str:
    return session_slug(slug)


def _record(
    session: str | None,
    make: Callable[[Sequence[Event]], Event],
    no_commit: bool,
    as_json: bool,
    at: str | None = None,
) -> None:
    from git_sessions.events import backdate, parse_at

    slug = _slug(session)
    now = _now()
    when = parse_at(at, now) if at is not None else None
    done = repository().record(
        slug, lambda past: backdate(make(past), when, now), commit=not no_commit
    )
    _report(done, as_json)


def _report(done: Recorded, as_json: bool) -> None:
    from git_sessions import documents
    from git_sessions.worklog import worklog_lines

    if as_json:
        emit_json(documents.journal(done))  # done.note is in it
    else:
        where = f"({done.commit[:10]})" if done.commit else "(written, not committed)"
        out(f"{worklog_lines(done.event)[0].removeprefix('- ')}  {where}")
    if done.note:
        note(f"note: {done.note}")


def _now() -> int:
    import time

    return int(time.time())


@app.command()
def log(
    message: str = typer.Argument(..., help="What was done, in one line."),
    category: str | None = typer.Option(
        None,
        "--category",
        "-k",
        help="implementation, testing, planning, bugfix, refactor or documentation.",
    ),
    session: str | None = SESSION,
    at: str | None = AT,
    no_commit: bool = NO_COMMIT,
    as_json: bool = JSON,
) -> None:
    """Add a timestamped entry to the session's worklog and events, committed on its branch."""
    from git_sessions.events import log_event

    _record(session, lambda _: log_event(message, category, _now()), no_commit, as_json, at)


@app.command()
def decision(
    message: str = typer.Argument(..., help="What was decided."),
    rationale: str | None = typer.Option(None, "--rationale", "-r", help="Why (required)."),
    session: str | None = SESSION,
    at: str | None = AT,
    no_commit: bool = NO_COMMIT,
    as_json: bool = JSON,
) -> None:
    """Record a decision and its rationale."""
    from git_sessions.events import decision_event

    _record(session, lambda _: decision_event(message, rationale, _now()), no_commit, as_json, at)


@app.command()
def milestone(
    message: str = typer.Argument(..., help="The milestone."),
    done: bool = typer.Option(False, "--done", help="It is reached (else: set as a goal)."),
    session: str | None = SESSION,
    at: str | None = AT,
    no_commit: bool = NO_COMMIT,
    as_json: bool = JSON,
) -> None:
    """Set a milestone, or mark it reached with --done (a checkbox line in the worklog)."""
    from git_sessions.events import milestone_event

    _record(
        session, lambda _: milestone_event(message, done=done, now=_now()), no_commit, as_json, at
    )


@app.command()
def blocker(
    message: str = typer.Argument(..., help="What blocks the work."),
    session: str | None = SESSION,
    at: str | None = AT,
    no_commit: bool = NO_COMMIT,
    as_json: bool = JSON,
) -> None:
    """Record a blocker; it stays open until `unblock`."""
    from git_sessions.events import blocker_event

    _record(session, lambda _: blocker_event(message, _now()), no_commit, as_json, at)


@app.command()
def unblock(
    which: str | None = typer.Argument(None, help="Text of the blocker (default: the newest)."),
    session: str | None = SESSION,
    at: str | None = AT,
    no_commit: bool = NO_COMMIT,
    as_json: bool = JSON,
) -> None:
    """Resolve an open blocker."""
    from git_sessions.events import unblock_event

    _record(session, lambda past: unblock_event(past, which, _now()), no_commit, as_json, at)


@app.command()
def metric(
    name: str = typer.Argument(..., help="Metric name, e.g. tokens_used or cost_usd."),
    value: str = typer.Argument(..., help="A number; status shows the total per name."),
    gauge: bool = typer.Option(
        False, "--set", help="A gauge: replace the value instead of adding to it."
    ),
    session: str | None = SESSION,
    at: str | None = AT,
    no_commit: bool = NO_COMMIT,
    as_json: bool = JSON,
) -> None:
    """Record a metric: a counter (values add up), or with --set a gauge (the newest value
    counts). `progress_pct` set this way is the session's progress in status."""
    from git_sessions.events import metric_event

    _record(
        session, lambda _: metric_event(name, value, _now(), gauge=gauge), no_commit, as_json, at
    )


@app.command()
def crash(
    notes: str = typer.Argument(..., help="What happened."),
    session: str | None = SESSION,
    at: str | None = AT,
    no_commit: bool = NO_COMMIT,
    as_json: bool = JSON,
) -> None:
    """Record a crash and what it left uncommitted; then run `recover`."""
    from git_sessions.events import parse_at

    when = parse_at(at, _now()) if at is not None else None
    _report(repository().crash(_slug(session), notes, commit=not no_commit, at=when), as_json)


@app.command()
def recover(
    message: str | None = typer.Option(
        None, "--message", "-m", help="Describe the leftover work (default: generic)."
    ),
    session: str | None = SESSION,
    as_json: bool = JSON,
) -> None:
    """After a crash: commit all leftover work as `[<slug>] recover: ...`, log it, show where
    the session stands."""
    repo = repository()
    slug = _slug(session)
    done = repo.recover(slug, message)
    standing = repo.status(slug)
    if as_json:
        from git_sessions import documents

        emit_json(documents.stamp("recover", {**done.to_json(), "status": standing.to_json()}))
        return
    _report(done, as_json=False)
    out()
    _print_status(standing, verbose=False)


@app.command()
def handoff(
    next_step: list[str] = typer.Option([], "--next", "-n", help="A next step (repeatable)."),
    note_text: str | None = typer.Option(None, "--note", help="Free text for the next agent."),
    session: str | None = SESSION,
    no_commit: bool = NO_COMMIT,
    as_json: bool = JSON,
) -> None:
    """Write HANDOFF.md: status, files touched, decisions, milestones, blockers, next steps."""
    done = repository().handoff(_slug(session), next_step, note_text, commit=not no_commit)
    _report(done, as_json)


# --------------------------------------------------------------------------- tracing


def _when(seconds: int) -> str:
    from git_sessions.events import iso

    return iso(seconds).replace("T", " ").removesuffix("Z")


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"


def _line(item: Item) -> str:
    from git_sessions.tracing import CommitItem
    from git_sessions.worklog import worklog_lines

    if isinstance(item, CommitItem):
        return f"{_when(item.time)}  {item.kind:<9}  {item.id[:10]}  {item.subject}"
    text = worklog_lines(item.event)[0].removeprefix("- ")
    text = text.split(" ", 1)[1] if item.event.kind != "milestone" else text
    linked = item.commit[:10] if item.commit else "uncommitted"
    return f"{_when(item.time)}  {item.event.kind:<9}  {linked:<10}  {text}"


@app.command()
def history(
    slug: str | None = SLUG,
    kind: list[str] = typer.Option(
        [], "--type", "-t", help="Only this kind: an event (log, decision...) or commit kind."
    ),
    limit: int | None = typer.Option(None, "--limit", min=0, help="Only the newest N."),
    as_json: bool = JSON,
) -> None:
    """The session's commits and journal events in time order."""
    from git_sessions.tracing import CommitItem

    found = repository().history(_slug(slug))
    items = found.items()
    if kind:
        items = [
            i for i in items if (i.kind if isinstance(i, CommitItem) else i.event.kind) in kind
        ]
    if limit is not None:
        items = items[len(items) - limit :] if limit else []
    if as_json:
        from git_sessions import documents

        emit_json(
            documents.stamp("history", {**found.to_json(), "items": [i.to_json() for i in items]})
        )
        return
    out(f"{found.slug}  [{found.state}]  read from the {found.source}")
    _print_items(items, keep_journal=bool(kind))


def _print_items(items: Sequence[Item], *, keep_journal: bool = False) -> None:
    """One line each; a journal commit shows as the event it recorded (unless asked for)."""
    from git_sessions.tracing import CommitItem

    for item in items:
        if keep_journal or not (isinstance(item, CommitItem) and item.kind == "journal"):
            out(_line(item))


def _print_status(found: Status, *, verbose: bool) -> None:
    data = found.to_json(verbose=verbose)
    t = found.trace
    out(f"{t.slug}  [{t.state}]")
    out(f"goal:        {t.title}")
    out(f"owner:       {f'{t.owner.name} <{t.owner.email}>' if t.owner else '-'}")
    if t.claimed:
        span = f"{_when(t.claimed)} - {_when(t.ended) if t.ended else 'now'}"
        out(f"claimed:     {span} ({_duration(found.duration() or 0)})")
    out(
        f"commits:     {data['commits']} ({data['commits_with_trailer']} with a Session trailer),"
        f" {data['journal_commits']} journal"
    )
    counts = ", ".join(f"{k} {v}" for k, v in data["events"].items())
    out(f"events:      {counts or 'none'}")
    metrics = ", ".join(f"{k} {v}" for k, v in data["metrics"].items())
    out(f"metrics:     {metrics or 'none'}")
    done, todo = data["milestones"]["done"], data["milestones"]["open"]
    out(f"milestones:  {len(done)} of {len(done) + len(todo)} reached")
    pct = data.get("progress_pct")
    out(f"progress:    {f'{pct:g}%' if pct is not None else '-'}")
    for text in todo:
        out(f"  [ ] {text}")
    out(f"blockers:    {len(data['blockers']) or 'none'}")
    for text in data["blockers"]:
        out(f"  - {text}")
    for step in data["next_steps"]:
        out(f"next:        {step}")
    last = found.last_activity()
    out(f"last:        {_line(last) if last else '-'}")
    if verbose:
        out("")
        _print_items(t.items())


@app.command()
def status(
    slug: str | None = SLUG,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also list every item."),
    as_json: bool = JSON,
) -> None:
    """State, owner, goal, duration, commits, events by kind, metric totals, last activity."""
    from git_sessions.standing import overview

    repo = repository()
    name = _slug(slug)
    found = repo.status(name)
    more = overview(repo.ctx, name)
    landing = None
    if repo.ctx.split and found.trace.state == "completed":
        from git_sessions.landings import waiting_on

        landing = waiting_on(repo.ctx.main(), name)
    if as_json:
        from git_sessions import documents

        data = {**found.to_json(verbose=verbose), **more.to_json(), "landing": landing}
        emit_json(documents.stamp("status", data))
    else:
        _print_status(found, verbose=False)
        if landing:
            out(f"waits to land: {landing} (then: git sessions land {name})")
        _print_overview(more)
        if verbose:
            out("")
            _print_items(found.trace.items())


@app.command()
def search(
    text: str = typer.Argument(..., help="Text to find (any case)."),
    state: list[str] = typer.Option([], "--state", help="Only sessions in this state."),
    as_json: bool = JSON,
) -> None:
    """Search every session's plan, worklog, handoff and learnings, read from the hub."""
    from git_sessions import documents

    hits = repository().search(text, state)
    if as_json:
        emit_json(documents.search(hits, text))
        return
    for hit in hits:
        out(f"{hit.slug} [{hit.state}] {hit.path.rsplit('/', 1)[-1]}:{hit.line}: {hit.text}")
    if not hits:
        note("no match")


def _print_overview(more: Overview) -> None:
    if more.holder is not None:
        h = more.holder
        kind = " ".join(k for k in (h.agent_type, h.agent_version) if k)
        out(f"agent:       {h.name or '-'}" + (f" ({kind})" if kind else ""))
    unread = more.inbox.unread()
    high = sum(m.priority == "high" for m in unread)
    out(f"inbox:       {len(unread)} unread" + (f", {high} high priority" if high else ""))
    for m in unread[-5:]:
        out(f"  {'!' if m.priority == 'high' else '-'} {m.sender}: {m.text.split(chr(10))[0]}")
