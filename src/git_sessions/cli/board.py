"""`board`: one line per session, like `git status -s` for the whole hub."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import typer

from git_sessions.cli.app import app, context, emit_json, out, table
from git_sessions.cli.authoring import JSON

if TYPE_CHECKING:
    from git_sessions.overview import Row

# hub text goes to a terminal: control characters (escape sequences) must not reach it
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
HEADERS = ("STATE", "SLUG", "HOLDER", "LEASE", "CRITERIA", "DRIFT", "MAIN", "MERGE", "LAST EVENT")


def clean(text: str, limit: int = 60) -> str:
    text = _CONTROL.sub("?", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def age(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def line(row: Row) -> list[str]:
    lease = "-"
    if row.lease_age is not None:
        lease = f"{age(row.lease_age)}/{age(row.ttl)}" + (" STALE" if row.stale else "")
    main = "-" if row.ahead is None else f"+{row.ahead} -{row.behind}"
    merge = "-"
    if row.state == "active" and row.ahead is not None:
        merge = "conflict" if row.conflicts else "clean"
    last = "-"
    if row.last_event is not None:
        last = f"{row.last_event.kind}: {row.last_event.text}"
    if row.blockers:
        last = f"BLOCKED: {row.blockers[-1]}"
    if row.landing:
        last = f"waits to land: {row.landing}"
    return [
        row.state,
        row.slug,
        clean(row.holder.name, 24) if row.holder else "-",
        lease,
        f"{row.criteria_done}/{row.criteria_total}" if row.criteria_total else "-",
        f"+{row.unplanned}" if row.unplanned else "-",
        main,
        merge,
        clean(last),
    ]


@app.command()
def board(
    problems: bool = typer.Option(
        False, "--problems", help="Only stale leases, blocked, conflicting, waiting to land."
    ),
    state: list[str] = typer.Option(
        [], "--state", help="Only these states (repeatable; default: all)."
    ),
    as_json: bool = JSON,
) -> None:
    """Every session at a glance: holder, lease age vs TTL, criteria, drift, merge with main."""
    from git_sessions import overview
    from git_sessions.protocol import STATES, check_state

    ctx = context()
    states = tuple(check_state(s) for s in state) or STATES
    rows = overview.rows(ctx, int(time.time()), states)
    if problems:
        rows = [r for r in rows if r.problems()]
    if as_json:
        from git_sessions import documents

        emit_json(documents.board(r.to_json() for r in rows))
        return
    if not rows:
        out("no problems" if problems else "no sessions")
        return
    if problems:
        out(table((*HEADERS, "PROBLEMS"), [[*line(r), ", ".join(r.problems())] for r in rows]))
    else:
        out(table(HEADERS, [line(r) for r in rows]))
