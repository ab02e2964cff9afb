"""The context snapshot (seed 003): what an agent needs to start a session, in one document.

Read from one snapshot of main: the plan; the canonical knowledge entries and session learnings
that share the most words with it; the sessions it depends on, that depend on it, its parent
and children; the files the plan names, with their state on main; recent messages; and a token
estimate (about four characters per token). Pure over the snapshot: nothing is executed, paths
the plan names are only looked up in git's tree, never on disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from git_sessions import catalog, drift, messages
from git_sessions.kbrule import SESSION_KNOWLEDGE
from git_sessions.protocol import KNOWLEDGE, STATES

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot

_WORD = re.compile(r"[a-z][a-z0-9_]{3,}")
_COMMON = frozenset(
    (
        "this",
        "that",
        "with",
        "from",
        "have",
        "will",
        "what",
        "when",
        "where",
        "which",
        "there",
        "their",
        "been",
        "into",
        "only",
        "must",
        "none",
        "session",
        "sessions",
        "plan",
        "line",
        "each",
        "more",
        "than",
        "about",
        "after",
        "before",
    )
)
_README = f"{KNOWLEDGE}/README.md"  # what the knowledge base is, not knowledge
MAX_ENTRIES = 8
MAX_ENTRY_CHARS = 3000
MAX_KB_FILES = 2000
MAX_NAMED_FILES = 50


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _COMMON}


@dataclass(frozen=True)
class Entry:
    path: str
    score: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "score": self.score, "text": self.text}


@dataclass(frozen=True)
class Briefing:
    slug: str
    state: str
    title: str
    plan: str
    knowledge: tuple[Entry, ...]
    related: dict[str, list[dict[str, str]]]
    files: tuple[dict[str, Any], ...]
    messages: tuple[messages.Message, ...]
    main: str | None
    tokens: int = field(default=0)

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "state": self.state,
            "title": self.title,
            "main": self.main,
            "plan": self.plan,
            "knowledge": [e.to_json() for e in self.knowledge],
            "related": self.related,
            "files": list(self.files),
            "messages": [m.to_json() for m in self.messages],
            "token_estimate": self.tokens,
        }


def _ranked(snap: Snapshot, wanted: set[str], skip: str) -> list[Entry]:
    """Knowledge files sharing words with the plan, best first (the session's own excluded)."""
    found: list[Entry] = []
    for count, (path, data) in enumerate(snap.files(KNOWLEDGE)):
        if count >= MAX_KB_FILES:
            break
        if not path.endswith((".md", ".txt")) or path.startswith(skip) or path == _README:
            continue
        text = data[: MAX_ENTRY_CHARS * 4].decode("utf-8", errors="replace")
        score = len(wanted & words(text))
        if score:
            found.append(Entry(path, score, text[:MAX_ENTRY_CHARS]))
    canonical_first = sorted(found, key=lambda e: (-e.score, e.path.startswith(SESSION_KNOWLEDGE)))
    return canonical_first[:MAX_ENTRIES]


def _related(snap: Snapshot, session: catalog.Session) -> dict[str, list[dict[str, str]]]:
    everyone = catalog.all_sessions(snap, STATES)
    by_slug = {s.slug: s for s in everyone}

    def item(slug: str) -> dict[str, str]:
        other = by_slug.get(slug)
        return {
            "slug": slug,
            "state": other.state if other else "missing",
            "title": other.title if other else "",
        }

    return {
        "depends_on": [item(s) for s in session.depends_on],
        "dependents": [item(s.slug) for s in everyone if session.slug in s.depends_on],
        "parent": [item(session.parent)] if session.parent else [],
        "children": [item(s.slug) for s in everyone if s.parent == session.slug],
    }


def _file_state(snap: Snapshot, path: str) -> dict[str, Any]:
    if ".." in path.split("/") or path.startswith("/"):
        return {"path": path, "state": "invalid path"}
    if snap.is_dir(path):
        return {"path": path, "state": "folder", "entries": len(snap.listdir(path))}
    data = snap.read(path)
    if data is None:
        return {"path": path, "state": "missing on main"}
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return {"path": path, "state": "exists", "bytes": len(data), "lines": lines}


def brief(snap: Snapshot, slug: str, *, recent: int = 10) -> Briefing:
    """The context snapshot of `slug` from main's snapshot `snap`."""
    session = catalog.load(snap, slug)
    plan = snap.text(f"{session.path}/SESSION.md") or ""
    wanted = words(f"{session.title} {' '.join(session.capabilities)} {_own_words(plan)}")
    entries = _ranked(snap, wanted, f"{SESSION_KNOWLEDGE}{slug}/")
    named = drift.planned_files(plan)[:MAX_NAMED_FILES]
    inbox = messages.inbox(snap, slug).messages[-recent:] if recent else ()
    result = Briefing(
        slug=slug,
        state=session.state,
        title=session.title,
        plan=plan,
        knowledge=tuple(entries),
        related=_related(snap, session),
        files=tuple(_file_state(snap, p) for p in named),
        messages=tuple(inbox),
        main=snap.commit,
    )
    return Briefing(**{**result.__dict__, "tokens": estimate_tokens(render(result))})


def _own_words(plan: str) -> str:
    """The plan without what every plan has: front matter, headings, italic template hints."""
    body = plan
    if plan.startswith("---\n"):
        end = plan.find("\n---", 4)
        body = plan[end + 4 :] if end > 0 else plan
    kept = [
        line
        for line in body.split("\n")
        if not line.startswith("#") and not re.fullmatch(r"\s*_.*_\s*", line)
    ]
    return "\n".join(kept)


def estimate_tokens(text: str) -> int:
    """About four characters per token for English text and code."""
    return (len(text) + 3) // 4


def _lines(items: Iterable[dict[str, str]]) -> list[str]:
    return [f"- {i['slug']} [{i['state']}] {i['title']}" for i in items] or ["- none"]


def render(b: Briefing) -> str:
    """The snapshot as one markdown document, ready to hand to an agent."""
    out = [f"# Context: {b.slug} [{b.state}]", "", f"Main: {b.main or '-'}", ""]
    out += ["## Plan", "", b.plan.rstrip(), ""]
    for key, label in (
        ("depends_on", "Depends on"),
        ("dependents", "Depended on by"),
        ("parent", "Parent"),
        ("children", "Subsessions"),
    ):
        out += [f"## {label}", *_lines(b.related[key]), ""]
    out += ["## Files the plan names", *(_file_line(f) for f in b.files)]
    out += ([] if b.files else ["- none"]) + ["", "## Knowledge"]
    for entry in b.knowledge:
        out += ["", f"### {entry.path} (shared words: {entry.score})", "", entry.text.rstrip()]
    out += ([] if b.knowledge else ["- nothing relevant found"]) + ["", "## Recent messages"]
    out += [f"- {m.sender} ({m.priority}): {m.text}" for m in b.messages] or ["- none"]
    if b.tokens:
        out += ["", f"_About {b.tokens} tokens._"]
    return "\n".join(out) + "\n"


def _file_line(f: dict[str, Any]) -> str:
    details = {"exists": f"{f.get('lines')} lines", "folder": f"{f.get('entries')} entries"}
    more = details.get(str(f["state"]), "")
    return f"- `{f['path']}`: {f['state']}" + (f", {more}" if more else "")
