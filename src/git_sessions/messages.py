"""Messages between sessions (seed 002), stored in the repository, no server.

Each send is one commit on main by compare-and-swap. Files under `_AGENTS/messages/` are
append-only JSON lines: `<slug>.jsonl` holds the messages sent to that session and the session's
own read marks; `all.jsonl` holds broadcasts. Read state is per recipient (a read mark in the
recipient's file names a message id), so a broadcast read by one session stays unread for the
others. The hub is untrusted: lines that are not well-formed records are skipped, text is
bounded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from git_sessions import catalog
from git_sessions.edits import Change, Identity, Write
from git_sessions.errors import BadInput
from git_sessions.protocol import AGENTS, check_slug

if TYPE_CHECKING:
    from git_sessions.context import Context
    from git_sessions.gitrepo import Snapshot
    from git_sessions.publish import Published

FOLDER = f"{AGENTS}/messages"
BROADCAST = f"{FOLDER}/all.jsonl"
PRIORITIES = ("normal", "high")
MAX_TEXT = 4000
MAX_FILE = 2_000_000


def inbox_file(slug: str) -> str:
    return f"{FOLDER}/{check_slug(slug)}.jsonl"


@dataclass(frozen=True)
class Message:
    id: str
    time: int
    sender: str
    to: str  # a slug, or "all"
    priority: str
    text: str

    def to_json(self, *, read: bool | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "time": self.time,
            "from": self.sender,
            "to": self.to,
            "priority": self.priority,
            "text": self.text,
        }
        if read is not None:
            data["read"] = read
        return data


def make_message(sender: str, to: str, text: str, priority: str, now: int) -> Message:
    body = "\n".join(line.rstrip() for line in text.strip().split("\n"))
    if not body:
        raise BadInput("a message needs some text")
    if len(body) > MAX_TEXT:
        raise BadInput(f"a message may have at most {MAX_TEXT} characters")
    if priority not in PRIORITIES:
        raise BadInput(
            f"unknown priority {priority!r}", hint=f"use one of: {', '.join(PRIORITIES)}"
        )
    import hashlib  # ~2 ms (OpenSSL): only sending hashes; status and log import this module

    digest = hashlib.sha256(f"{now}\0{sender}\0{to}\0{body}".encode()).hexdigest()[:12]
    return Message(f"{now}-{digest}", now, sender, to, priority, body)


def _records(text: str | None) -> list[dict[str, Any]]:
    found = []
    for line in (text or "")[:MAX_FILE].split("\n"):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            found.append(data)
    return found


def _message(data: dict[str, Any]) -> Message | None:
    fields = [data.get(k) for k in ("id", "from", "to", "priority", "text")]
    when = data.get("time")
    if not all(isinstance(f, str) for f in fields) or not isinstance(when, int):
        return None
    ident, sender, to, priority, text = (str(f) for f in fields)
    return Message(ident[:64], when, sender[:200], to[:120], priority[:10], text[:MAX_TEXT])


@dataclass(frozen=True)
class Inbox:
    slug: str
    messages: tuple[Message, ...]  # oldest first
    read: frozenset[str]

    def unread(self) -> list[Message]:
        return [m for m in self.messages if m.id not in self.read]

    def to_json(self, *, only_unread: bool = False) -> dict[str, Any]:
        shown = self.unread() if only_unread else list(self.messages)
        return {
            "slug": self.slug,
            "unread": len(self.unread()),
            "high_priority_unread": sum(m.priority == "high" for m in self.unread()),
            "messages": [m.to_json(read=m.id in self.read) for m in shown],
        }


def inbox(snap: Snapshot, slug: str) -> Inbox:
    """The messages to `slug` and to all, with the session's read marks."""
    own = _records(snap.text(inbox_file(slug)))
    found = [m for m in (_message(r) for r in own) if m is not None and m.to == slug]
    found += [m for m in (_message(r) for r in _records(snap.text(BROADCAST))) if m is not None]
    read = frozenset(str(r["read"]) for r in own if isinstance(r.get("read"), str))
    ordered = sorted({m.id: m for m in found}.values(), key=lambda m: m.time)  # stable
    return Inbox(slug, tuple(ordered), read)


def _append(snap: Snapshot, path: str, lines: Sequence[dict[str, Any]]) -> Write:
    text = snap.text(path) or ""
    text = text if not text or text.endswith("\n") else text + "\n"
    text += "".join(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n" for line in lines)
    return Write(path, text.encode())


def send_change(snap: Snapshot, message: Message, who: Identity) -> Change:
    if message.to != "all" and not catalog.locate(snap, message.to):
        raise BadInput(f"no session {message.to!r}", hint="see the sessions: git sessions list")
    path = BROADCAST if message.to == "all" else inbox_file(message.to)
    subject = f"[{AGENTS}] chore: message to {message.to}"
    return Change((_append(snap, path, [message.to_json()]),), subject, who)


def send(ctx: Context, message: Message, who: Identity) -> Published:
    from git_sessions.publish import update_main

    return update_main(ctx.hub, lambda snap: send_change(snap, message, who))


def mark_read_change(snap: Snapshot, slug: str, ids: Sequence[str], who: Identity) -> Change | None:
    box = inbox(snap, slug)
    known = {m.id for m in box.messages}
    fresh = [i for i in dict.fromkeys(ids) if i in known and i not in box.read]
    if not fresh:
        return None
    marks = [{"read": i} for i in fresh]
    subject = f"[{AGENTS}] chore: {slug} read {len(fresh)} message(s)"
    return Change((_append(snap, inbox_file(slug), marks),), subject, who)


def mark_read(ctx: Context, slug: str, ids: Sequence[str], who: Identity) -> Published:
    """Mark messages read for `slug` (one commit; nothing if they are read already)."""
    from git_sessions.publish import update_main

    return update_main(ctx.hub, lambda snap: mark_read_change(snap, slug, ids, who))
