"""Who holds a session (seed 003's agent identity): `claim.json` beside the plan, and the
listing of sessions with holder, agent type and age.

`sessions.lock` keeps the seed's `slug:timestamp` lines; what else the claim knows (name,
email, agent type and version) goes into `active/<slug>/claim.json` in the same claim commit.
It travels with the folder to completed/ or abandoned/ (a record of who did the work) and is
removed when the claim is given back to planned/. The hub is untrusted: the file is parsed
totally (bounded, typed, never raising).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from git_sessions.errors import BadInput
from git_sessions.protocol import SESSIONS, parse_lock

if TYPE_CHECKING:
    from git_sessions.catalog import Session
    from git_sessions.gitrepo import Snapshot

CLAIM_FILE = "claim.json"
TYPE_ENV = "GIT_SESSIONS_AGENT_TYPE"
VERSION_ENV = "GIT_SESSIONS_AGENT_VERSION"
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:/@-]{0,79}")
MAX_CLAIM_FILE = 4096


@dataclass(frozen=True)
class AgentKind:
    type: str | None = None
    version: str | None = None


def agent_kind(
    agent_type: str | None, agent_version: str | None, environ: Mapping[str, str]
) -> AgentKind:
    """The options, else $GIT_SESSIONS_AGENT_TYPE / $GIT_SESSIONS_AGENT_VERSION; validated."""
    kind = agent_type or environ.get(TYPE_ENV) or None
    version = agent_version or environ.get(VERSION_ENV) or None
    for label, value in (("agent type", kind), ("agent version", version)):
        if value is not None and not _WORD.fullmatch(value):
            raise BadInput(
                f"invalid {label} {value!r}",
                hint="one word of letters, digits and . _ + : / @ - (e.g. claude-sonnet-4-5)",
            )
    return AgentKind(kind, version)


@dataclass(frozen=True)
class ClaimRecord:
    name: str | None
    email: str | None
    agent_type: str | None
    agent_version: str | None
    claimed_at: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "agent_type": self.agent_type,
            "agent_version": self.agent_version,
            "claimed_at": self.claimed_at,
        }


def claim_file(name: str, email: str, kind: AgentKind, now: int) -> bytes:
    record = ClaimRecord(name, email, kind.type, kind.version, now)
    return (json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n").encode()


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value[:200] if isinstance(value, str) and value else None


def parse_claim(text: str | None) -> ClaimRecord | None:
    """A claim.json's record; None if absent or not a JSON object."""
    if text is None or len(text) > MAX_CLAIM_FILE:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    at = data.get("claimed_at")
    claimed = at if isinstance(at, int) and not isinstance(at, bool) and 0 <= at < 2**40 else None
    return ClaimRecord(
        _str(data, "name"),
        _str(data, "email"),
        _str(data, "agent_type"),
        _str(data, "agent_version"),
        claimed,
    )


def claim_records(snap: Snapshot, states: Sequence[str]) -> dict[str, ClaimRecord]:
    """slug -> claim record of every session in `states` that has a claim.json (one pass over
    each state folder, see Snapshot.folder_files)."""
    found: dict[str, ClaimRecord] = {}
    for state in states:
        for slug, blob in snap.folder_files(f"{SESSIONS}/{state}", CLAIM_FILE).items():
            record = parse_claim(snap.blob_text(blob))
            if record is not None:
                found[slug] = record
    return found


@dataclass(frozen=True)
class Row:
    session: Session
    claim: ClaimRecord | None
    since: int | None  # the claim's time for active sessions (lock line), else claim.json's

    def holder(self) -> str | None:
        return self.claim.name if self.claim and self.claim.name else None

    def to_json(self, now: int) -> dict[str, Any]:
        return {
            **self.session.to_json(),
            "holder": self.claim.to_json() if self.claim else None,
            "since": self.since,
            "age_seconds": max(0, now - self.since) if self.since is not None else None,
        }


@dataclass(frozen=True)
class Filter:
    agent: str | None = None  # a substring of the holder's name or email, any case
    agent_type: str | None = None
    limit: int | None = None


def rows(snap: Snapshot, sessions: Sequence[Session], wanted: Filter) -> list[Row]:
    """The sessions with their holders, filtered and limited (in the order given)."""
    if wanted.limit is not None and wanted.limit < 0:
        raise BadInput("--limit must be 0 or more")
    states = sorted({s.state for s in sessions})
    records = claim_records(snap, states)
    locked = {e.slug: e.since for e in parse_lock(snap.text(f"{SESSIONS}/sessions.lock") or "")[0]}
    found: list[Row] = []
    for session in sessions:
        record = records.get(session.slug)
        if wanted.agent is not None:
            who = f"{record.name or ''} <{record.email or ''}>".lower() if record else ""
            if not record or wanted.agent.lower() not in who:
                continue
        if wanted.agent_type is not None and (not record or record.agent_type != wanted.agent_type):
            continue
        since = locked.get(session.slug) if session.state == "active" else None
        if since is None and record is not None:
            since = record.claimed_at
        found.append(Row(session, record, since))
        if wanted.limit is not None and len(found) >= wanted.limit:
            break
    return found


def age(seconds: int) -> str:
    """3d, 5h, 12m, 40s: the largest unit, for a table column."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(0, seconds)}s"


def session_claim(snap: Snapshot, slug: str) -> ClaimRecord | None:
    """The claim record of `slug` in whatever state it is."""
    from git_sessions.catalog import locate

    states = locate(snap, slug)
    return parse_claim(snap.text(f"{SESSIONS}/{states[0]}/{slug}/{CLAIM_FILE}")) if states else None
