"""A journal event as worklog lines and as a commit message (pure). The worklog is only ever
appended to, grouped under one `## YYYY-MM-DD` heading per day (UTC), so two writers'
additions merge as a union."""

from __future__ import annotations

import datetime as dt
import re

from git_sessions.events import Event

_DAY_HEADING = re.compile(r"^## (\S.*?)\s*$", re.M)
SUBJECT_LIMIT = 72


def _hhmm(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%H:%M")


def _day(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d")


def _item(first: str, text: str, *more: str) -> list[str]:
    """One list item: `first` then the text's first line; further lines indented under it."""
    lines = [line for part in (text, *more) for line in part.splitlines() or [""]]
    return [f"- {first}{lines[0]}", *(f"  {line}" for line in lines[1:])]


def worklog_lines(event: Event) -> list[str]:
    """How `event` reads in worklog.md (a markdown list item, maybe with indented lines)."""
    at, meta = _hhmm(event.time), event.metadata
    if meta.get("retroactive"):
        at += " (retroactive)"
    if event.kind == "log":
        category = f"[{meta['category']}] " if meta.get("category") else ""
        return _item(f"{at} {category}", event.text)
    if event.kind == "decision":
        return _item(f"{at} Decision: ", event.text, f"Rationale: {meta.get('rationale', '')}")
    if event.kind == "milestone":
        # A checkbox line of its own, so `drift` can match it against acceptance criteria.
        done = bool(meta.get("done"))
        state = f"Milestone reached at {at}" if done else f"Milestone set at {at}"
        return _item(f"[{'x' if done else ' '}] ", event.text, state)
    if event.kind == "handoff":
        steps = [f"Next: {s}" for s in meta.get("next_steps", [])]
        return _item(f"{at} Handoff: ", event.text, *steps)
    if event.kind == "crash" and meta.get("uncommitted"):
        return _item(f"{at} Crash: ", event.text, f"Uncommitted: {', '.join(meta['uncommitted'])}")
    if event.kind == "recover":
        files = meta.get("files") or []
        shown = f"Committed: {', '.join(files)}" if files else "Nothing was left uncommitted"
        return _item(f"{at} Recovered: ", event.text, shown)
    label = {
        "blocker": "Blocked",
        "unblock": "Unblocked",
        "metric": "Metric",
        "crash": "Crash",
        "learning": "Learned",
        "override": "OVERRIDE of SESSION.md",
    }.get(event.kind, event.kind.capitalize())
    return _item(f"{at} {label}: ", event.text)


def append_worklog(current: str, event: Event) -> str:
    """`current` worklog text with `event` appended, under a heading for its day if needed."""
    text = current if not current or current.endswith("\n") else current + "\n"
    headings = _DAY_HEADING.findall(text)
    day = _day(event.time)
    if not headings or headings[-1] != day:
        text += ("" if not text or text.endswith("\n\n") else "\n") + f"## {day}\n\n"
    return text + "\n".join(worklog_lines(event)) + "\n"


def commit_message(slug: str, event: Event) -> str:
    """`[<slug>] docs: <kind> <text>` with the Session and Session-Event trailers."""
    if event.kind == "learning":
        subject = f"[{slug}] docs: capture learning"
    elif event.kind == "override":
        # the seed's audited subject: `check` and the commit-msg hook look for exactly this
        subject = f"[{slug}] OVERRIDE: {' '.join(event.text.split())}"
    else:
        words = " ".join(event.text.split())
        subject = f"[{slug}] docs: {event.kind} {words}"
        if len(subject) > SUBJECT_LIMIT:
            subject = subject[: SUBJECT_LIMIT - 3].rstrip() + "..."
    return f"{subject}\n\nSession: {slug}\nSession-Event: {event.kind}\n"
