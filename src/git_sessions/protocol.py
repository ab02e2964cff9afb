"""The protocol on disk, as pure values: states, legal transitions, slugs, paths, the lock file."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from git_sessions.errors import BadInput, Conflict

AGENTS = "_AGENTS"
SESSIONS = f"{AGENTS}/sessions"
LOCK_FILE = f"{SESSIONS}/sessions.lock"
TEMPLATES_DIR = f"{SESSIONS}/_templates"
BIN_DIR = f"{SESSIONS}/_bin"
KNOWLEDGE = f"{AGENTS}/knowledge"
CONFIG_FILE = f"{AGENTS}/config.yaml"

STATES = ("drafting", "planned", "active", "completed", "abandoned")

# (from, to) -> the verb that names the move in commit messages and errors.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("drafting", "planned"): "ready",
    ("planned", "drafting"): "unready",
    ("planned", "active"): "claim",
    ("active", "planned"): "release",
    ("active", "completed"): "complete",
    ("active", "abandoned"): "abandon",
}

SESSION_FILES = ("SESSION.md", "worklog.md", "active-plan.md", "subsessions.md")
# Session files only ever appended to: two sides' additions are both kept when merging.
APPEND_ONLY = ("worklog.md", "events.jsonl", "subsessions.md")
ENV_FILE = ".session-env"
# Written by the claim commit in the session's folder: "base <commit>", the commit the claim was
# built on (its parent). It lets readers find the claim without walking main's history.
CLAIM_FILE = ".claim"
# Written by an audited `[<slug>] OVERRIDE: ...` commit next to the plan it writes: "plan <blob>",
# so the default `check` accepts that plan without history (`check --deep` audits the commits).
OVERRIDE_FILE = ".override"
# Written by the commit right after the one that ends a session (endrecord.py): the ids of the
# ending and claim commits, so readers need not walk main back to them.
ENDED_FILE = ".ended"
ENDED_STATES = ("completed", "abandoned")
INIT_SUBJECT = f"[{AGENTS}] chore: initialise git-sessions"

_SLUG = re.compile(r"(kb-)?(\d{4}-\d{2}-\d{2})(-[a-z0-9]+)+")
_WORD = re.compile(r"[a-z0-9]+")
MAX_SLUG = 100
_STAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds: ASCII digits, never 5,000 of them


def check_state(state: str) -> str:
    if state not in STATES:
        raise BadInput(f"unknown state {state!r}", hint=f"use one of: {', '.join(STATES)}")
    return state


def is_slug(name: str) -> bool:
    try:
        check_slug(name)
    except BadInput:
        return False
    return True


def check_slug(slug: str) -> str:
    """Return `slug` if it is a valid session slug; raise BadInput otherwise.

    A valid slug is one path component that cannot escape `_AGENTS/`: `YYYY-MM-DD-words`
    or `kb-YYYY-MM-DD-words`, lowercase letters, digits and single dashes, a real date.
    """
    match = _SLUG.fullmatch(slug)
    if match is None or len(slug) > MAX_SLUG:
        raise BadInput(
            f"invalid session slug {slug!r}",
            hint="a slug looks like 2025-10-14-auth-system or kb-2025-10-14-merge-topic",
        )
    try:
        dt.date.fromisoformat(match.group(2))
    except ValueError:
        raise BadInput(f"invalid date in session slug {slug!r}") from None
    return slug


def make_slug(words: list[str], date: dt.date, *, kb: bool = False) -> str:
    """Build a slug from free words: lowercased, non-alphanumerics become dashes."""
    parts = [w for word in words for w in _WORD.findall(word.lower())]
    if not parts:
        raise BadInput(
            "a session needs a name made of letters or digits", hint="e.g. new auth system"
        )
    slug = f"{'kb-' if kb else ''}{date.isoformat()}-{'-'.join(parts)}"
    return check_slug(slug[:MAX_SLUG].rstrip("-"))


_COMMIT_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


@dataclass(frozen=True)
class ClaimMarker:
    """What a claim commit records in `.claim`: its parent, and the blob ids of the plan it
    froze and of the `.session-env` it wrote (so `check` compares both without history)."""

    base: str
    plan: str | None
    env: str | None = None


def claim_marker(base: str, plan: str | None, env: str | None = None) -> str:
    return f"base {base}\n" + (f"plan {plan}\n" if plan else "") + (f"env {env}\n" if env else "")


def parse_claim_marker(text: str | None) -> ClaimMarker | None:
    """The `.claim` file's fields, or None if it is absent or malformed (then readers walk)."""
    if text is None or len(text) > 300:
        return None
    fields = dict(line.partition(" ")[::2] for line in text.split("\n") if line)
    base, plan, env = fields.get("base", ""), fields.get("plan"), fields.get("env")
    if not _COMMIT_ID.fullmatch(base) or any(
        v is not None and not _COMMIT_ID.fullmatch(v) for v in (plan, env)
    ):
        return None
    return ClaimMarker(base, plan, env)


def blob_id(data: bytes) -> str:
    """The id git gives `data` as a blob (SHA-1 object format)."""
    import hashlib  # ~2 ms (OpenSSL): only claims and overrides hash, every command imports us

    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def session_dir(state: str, slug: str) -> str:
    return f"{SESSIONS}/{check_state(state)}/{check_slug(slug)}"


def append_only_paths(state: str, slug: str) -> tuple[str, ...]:
    return tuple(f"{session_dir(state, slug)}/{name}" for name in APPEND_ONLY)


def transition_verb(src: str, dst: str, slug: str) -> str:
    """Return the verb for src -> dst, or raise Conflict if the move is illegal."""
    verb = TRANSITIONS.get((src, dst))
    if verb is None:
        legal = sorted(d for (s, d) in TRANSITIONS if s == src)
        hint = f"from {src} a session can go to: {', '.join(legal)}" if legal else f"{src} is final"
        raise Conflict(f"session {slug} is {src}; it cannot move to {dst}", hint=hint)
    return verb


def commit_message(slug: str, verb: str) -> str:
    return f"[{slug}] chore: {verb} session"


@dataclass(frozen=True)
class LockEntry:
    slug: str
    since: int


def parse_lock(text: str) -> tuple[list[LockEntry], list[str]]:
    """Parse sessions.lock into entries and the malformed lines (for `check` to report)."""
    entries: list[LockEntry] = []
    bad: list[str] = []
    for line in text.split("\n"):  # \n only: splitlines() also splits on \r, \x85, \u2028
        if not line.strip():
            continue
        slug, sep, stamp = line.strip().rpartition(":")
        if sep and is_slug(slug) and _STAMP.fullmatch(stamp):
            entries.append(LockEntry(slug, int(stamp)))
        else:
            bad.append(line[:200])
    return entries, bad


def format_lock(entries: list[LockEntry]) -> str:
    return "".join(f"{e.slug}:{e.since}\n" for e in entries)


def lock_add(text: str, slug: str, now: int) -> str:
    entries, _ = parse_lock(text)
    if any(e.slug == slug for e in entries):
        raise Conflict(f"session {slug} is already in sessions.lock")
    return format_lock([*entries, LockEntry(slug, now)])


def lock_remove(text: str, slug: str) -> str:
    entries, _ = parse_lock(text)
    return format_lock([e for e in entries if e.slug != slug])
