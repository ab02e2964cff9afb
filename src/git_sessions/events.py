"""Journal events as plain values: one record each and its events.jsonl line (its worklog lines
are in `worklog`, what they add up to in `summaries`).

Pure over values: the clock is a parameter (`now`, Unix seconds) and nothing touches git. The
worklog is only ever appended to (grouped under one `## YYYY-MM-DD` heading per day, UTC), so
two writers' additions merge as a union; the same holds for events.jsonl.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from git_sessions.errors import BadInput

CATEGORIES = ("implementation", "testing", "planning", "bugfix", "refactor", "documentation")
KINDS = (
    "log",
    "decision",
    "milestone",
    "blocker",
    "unblock",
    "metric",
    "crash",
    "recover",
    "handoff",
    "learning",
    "override",
)
_METRIC_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Event:
    time: int  # Unix seconds
    kind: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "time": iso(self.time),
            "kind": self.kind,
            "text": self.text,
            "metadata": dict(self.metadata),
        }


def iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _text(text: str, what: str) -> str:
    cleaned = "\n".join(line.rstrip() for line in text.strip().splitlines())
    if not cleaned:
        raise BadInput(f"{what} needs some text")
    return cleaned


# --------------------------------------------------------------------------- making events


def log_event(text: str, category: str | None, now: int) -> Event:
    if category is not None and category not in CATEGORIES:
        raise BadInput(
            f"unknown category {category!r}", hint=f"use one of: {', '.join(CATEGORIES)}"
        )
    meta = {"category": category} if category else {}
    return Event(now, "log", _text(text, "a log entry"), meta)


def decision_event(text: str, rationale: str | None, now: int) -> Event:
    decided = _text(text, "a decision")
    if rationale is None or not rationale.strip():
        raise BadInput("a decision needs a rationale", hint='say why: --rationale "because ..."')
    return Event(now, "decision", decided, {"rationale": _text(rationale, "a rationale")})


def milestone_event(text: str, *, done: bool, now: int) -> Event:
    return Event(now, "milestone", _text(text, "a milestone"), {"done": done})


def blocker_event(text: str, now: int) -> Event:
    return Event(now, "blocker", _text(text, "a blocker"))


def unblock_event(past: Sequence[Event], which: str | None, now: int) -> Event:
    """Resolve the newest open blocker (the newest one containing `which`, if given)."""
    candidates = [
        b for b in reversed(open_blockers(past)) if not which or which.lower() in b.lower()
    ]
    if not candidates:
        wanted = f" matching {which!r}" if which else ""
        raise BadInput(f"no open blocker{wanted}", hint="see them with: git sessions status")
    return Event(now, "unblock", candidates[0])


def metric_event(name: str, value: str, now: int, *, gauge: bool = False) -> Event:
    """A counter increment (summed per name), or with `gauge` a value that replaces it."""
    if not _METRIC_NAME.fullmatch(name):
        raise BadInput(
            f"invalid metric name {name!r}", hint="lowercase words joined by _, e.g. tokens_used"
        )
    number: int | float
    try:
        number = int(value)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            raise BadInput(f"metric {name} needs a number, not {value!r}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise BadInput(f"metric {name} needs a finite number, not {value!r}")
    meta: dict[str, Any] = {"name": name, "value": number}
    if gauge:
        meta["set"] = True
    return Event(now, "metric", f"{name}={number}", meta)


MAX_AGE = 10 * 366 * 86400  # a retroactive entry may go back ten years, not to 1970


def parse_at(text: str, now: int) -> int:
    """`--at`: an ISO time (`2025-10-14T13:45`, `2025-10-14 13:45:10Z`, with an offset) or
    `HH:MM` today; times without a zone are UTC, like the worklog. Never in the future."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", value):
            hours, minutes = (int(p) for p in value.split(":"))
            day = dt.datetime.fromtimestamp(now, dt.UTC).date()
            when = dt.datetime.combine(day, dt.time(hours, minutes), dt.UTC)
        else:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
        seconds = int(when.timestamp())
    except (ValueError, OverflowError):
        raise BadInput(
            f"invalid --at {text!r}",
            hint="use YYYY-MM-DDTHH:MM (UTC unless a zone is given) or HH:MM",
        ) from None
    if seconds > now + 60:
        raise BadInput(
            f"--at {text!r} is in the future", hint="retroactive entries are in the past"
        )
    if seconds < now - MAX_AGE:
        raise BadInput(f"--at {text!r} is more than ten years ago")
    return seconds


def backdate(event: Event, at: int | None, now: int) -> Event:
    """The event as it happened at `at`, marked retroactive with when it was recorded."""
    if at is None:
        return event
    meta = {**event.metadata, "retroactive": True, "recorded_at": iso(now)}
    return Event(at, event.kind, event.text, meta)


def crash_event(notes: str, uncommitted: Sequence[str], now: int) -> Event:
    meta = {"uncommitted": list(uncommitted)} if uncommitted else {}
    return Event(now, "crash", _text(notes, "a crash report"), meta)


def recover_event(files: Sequence[str], past: Sequence[Event], message: str, now: int) -> Event:
    crashes = [e for e in past if e.kind == "crash"]
    meta: dict[str, Any] = {"files": list(files)}
    if crashes:
        meta["crash"] = crashes[-1].text
    return Event(now, "recover", _text(message, "a recovery"), meta)


def handoff_event(next_steps: Sequence[str], note: str | None, now: int) -> Event:
    meta: dict[str, Any] = {"next_steps": [_text(s, "a next step") for s in next_steps]}
    if note and note.strip():
        meta["note"] = note.strip()
    return Event(now, "handoff", "HANDOFF.md written", meta)


def learning_event(text: str, now: int) -> Event:
    return Event(now, "learning", _text(text, "a learning"))


# --------------------------------------------------------------------------- files


def jsonl_line(event: Event) -> str:
    return json.dumps(event.to_json(), sort_keys=True, ensure_ascii=False) + "\n"


MAX_LINE = 64 * 1024
MAX_TIME = 2**33  # year 2242: later (or earlier than 1970) is not a real event
# metadata keys whose values we iterate or add up, with the type each must have
_LISTS = ("next_steps", "uncommitted", "files")


def parse_event(line: str) -> Event | None:
    """One events.jsonl line as an Event; None if it is not a well-formed event record."""
    if not line.strip() or len(line) > MAX_LINE:
        return None
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # also 5,000-digit numbers and [[[[...]]]]
        return None
    if not isinstance(data, dict):
        return None
    time, kind, text = data.get("time"), data.get("kind"), data.get("text")
    meta = data.get("metadata") or {}
    if not (isinstance(time, str) and isinstance(kind, str) and isinstance(text, str)):
        return None
    if not isinstance(meta, dict) or not _sane_metadata(meta):
        return None
    try:
        seconds = parse_time(time)
    except (ValueError, OverflowError, OSError):
        return None
    if not 0 <= seconds < MAX_TIME:
        return None
    return Event(seconds, kind, text, meta)


def _sane_metadata(meta: dict[str, Any]) -> bool:
    for key, value in meta.items():
        if key in _LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return False
        elif key == "value":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            if isinstance(value, float) and not math.isfinite(value):
                return False
            if isinstance(value, int) and value.bit_length() > 64:
                return False
        elif not isinstance(value, str | int | float | bool | None):
            return False
    return True


def parse_jsonl(text: str) -> list[Event]:
    """The events of an events.jsonl; lines that are not event records are skipped (`check`
    reports them). Lines are split on \n only: a JSON string may hold a raw \u2028."""
    return [e for e in map(parse_event, text.split("\n")) if e is not None]


def bad_lines(text: str) -> list[int]:
    """Numbers (from 1) of the non-blank lines of an events.jsonl that are not events."""
    lines = text.split("\n")
    return [n for n, line in enumerate(lines, 1) if line.strip() and parse_event(line) is None]


def open_blockers(past: Iterable[Event]) -> list[str]:
    """Blockers not resolved yet, oldest first."""
    blockers: list[str] = []
    for event in past:
        if event.kind == "blocker":
            blockers.append(event.text)
        elif event.kind == "unblock" and event.text in blockers:
            blockers.reverse()
            blockers.remove(event.text)  # the newest one with that text
            blockers.reverse()
    return blockers
