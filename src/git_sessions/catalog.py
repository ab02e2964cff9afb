"""Sessions as read from a snapshot of main: front matter parsed into values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from git_sessions.errors import BadInput
from git_sessions.frontmatter import fast_load
from git_sessions.protocol import SESSIONS, STATES, check_slug, is_slug
from git_sessions.sessionenv import has_control

MAX_FRONT_MATTER = 64 * 1024
MAX_TEXT = 1000  # characters of a title or a list item
MAX_LIST = 100
MAX_PRIORITY = 1_000_000


class Tree(Protocol):
    """What the catalog needs from a snapshot (gitrepo.Snapshot provides it)."""

    def listdir(self, path: str) -> list[str]: ...
    def text(self, path: str) -> str | None: ...
    def object_id(self, path: str) -> str | None: ...
    def folder_files(self, path: str, filename: str) -> dict[str, str]: ...
    def blob_text(self, blob: str) -> str: ...


@dataclass(frozen=True)
class Session:
    slug: str
    state: str
    title: str
    capabilities: tuple[str, ...]
    priority: int
    depends_on: tuple[str, ...]
    parent: str | None
    created: str
    path: str
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        # by hand, not dataclasses.asdict: its deep copies dominate a 10,000-session listing
        return {
            "slug": self.slug,
            "state": self.state,
            "title": self.title,
            "capabilities": list(self.capabilities),
            "priority": self.priority,
            "depends_on": list(self.depends_on),
            "parent": self.parent,
            "created": self.created,
            "path": self.path,
            "problems": list(self.problems),
        }


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split `---`-fenced YAML front matter from the body. Raises ValueError if malformed."""
    text = text.replace("\r\n", "\n")  # a plan saved with CRLF keeps its metadata
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 3)
    if end < 0:
        raise ValueError("front matter is not closed by a '---' line")
    body = text[4:end]
    if len(body) > MAX_FRONT_MATTER:
        raise ValueError(f"front matter is larger than {MAX_FRONT_MATTER} bytes")
    data = fast_load(body)
    if data is None:  # not the simple shape `new` writes: the YAML loader decides, on a budget
        from git_sessions import yamltext  # imports yaml: off the common path

        data = yamltext.load(body, max_bytes=MAX_FRONT_MATTER) or {}
    if not isinstance(data, dict):
        raise ValueError("front matter is not a mapping")
    return data, text[end + 5 :]


def _str_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (_text(value),)
    if isinstance(value, list) and len(value) <= MAX_LIST:
        return tuple(_text(v) for v in value)
    raise ValueError(f"expected a list of at most {MAX_LIST} words")


def _text(value: Any) -> str:
    """A scalar as text, with control characters but \\t and \\n (terminal escapes, \\r) made
    visible as U+FFFD."""
    if isinstance(value, dict | list):
        raise ValueError("expected text, got a nested value")
    text = str(value)[:MAX_TEXT]
    if text.isprintable():  # no Cc/Cf/Zl/Zp in it (all are non-printable): the common case
        return text
    return "".join("\ufffd" if has_control(c) and c not in "\t\n" else c for c in text)


def _priority(value: Any) -> int:
    """An integer in +-MAX_PRIORITY: not a bool, a float (.inf, .nan) or a 5,000-digit number."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {type(value).__name__}")
    if abs(value) > MAX_PRIORITY:
        raise ValueError(f"must be between -{MAX_PRIORITY} and {MAX_PRIORITY}")
    return value


def parse_fields(text: str | None) -> dict[str, Any]:
    """The machine fields of a SESSION.md, JSON-ready (the same for any slug or state)."""
    problems: list[str] = []
    meta: dict[str, Any] = {}
    if text is None:
        problems.append("SESSION.md is missing")
    else:
        try:
            meta, _ = split_front_matter(text)
        except ValueError as exc:
            problems.append(f"SESSION.md front matter: {exc}")

    def field(name: str, convert: Any, default: Any) -> Any:
        try:
            return convert(meta[name]) if meta.get(name) is not None else default
        except (ValueError, TypeError) as exc:
            problems.append(f"front matter {name}: {exc}")
            return default

    created = meta.get("created")
    return {
        "title": field("title", _text, None),
        "capabilities": list(field("capabilities", _str_list, ())),
        "priority": field("priority", _priority, 0),
        "depends_on": list(field("depends_on", _str_list, ())),
        "parent": field("parent", _text, None),
        "created": created.isoformat() if isinstance(created, dt.date) else _created(created),
        "problems": problems,
    }


def _created(value: Any) -> str:
    try:
        return _text(value or "")
    except ValueError:
        return ""


def make_session(slug: str, state: str, fields: dict[str, Any]) -> Session:
    return Session(
        slug=slug,
        state=state,
        title=fields["title"] or slug,
        capabilities=tuple(fields["capabilities"]),
        priority=fields["priority"],
        depends_on=tuple(fields["depends_on"]),
        parent=fields["parent"],
        created=fields["created"],
        path=f"{SESSIONS}/{state}/{slug}",
        problems=tuple(fields["problems"]),
    )


def parse_session(slug: str, state: str, text: str | None) -> Session:
    """Build a Session from SESSION.md; problems are recorded, not raised."""
    return make_session(slug, state, parse_fields(text))


def session_names(tree: Tree, state: str) -> list[str]:
    """The session folders in state `state` (other entries, like .gitkeep, are not sessions)."""
    return sorted(name for name in tree.listdir(f"{SESSIONS}/{state}") if is_slug(name))


def locate(tree: Tree, slug: str) -> list[str]:
    """The states whose folder holds an entry named `slug` (normally exactly one).

    One lookup per state rather than a listing: listing `completed/` made a Python string of
    every archived session's name, four times per claim (2 ms each at 5,000 sessions). A
    name that is not one entry's (a `depends_on` from the hub could say anything) is in none."""
    if slug in ("", ".", "..") or "/" in slug or "\0" in slug:
        return []
    return [s for s in STATES if tree.object_id(f"{SESSIONS}/{s}/{slug}") is not None]


def load(tree: Tree, slug: str) -> Session:
    """The session `slug`; BadInput if there is none."""
    check_slug(slug)
    states = locate(tree, slug)
    if not states:
        raise BadInput(f"no session {slug!r}", hint="see the sessions with: git sessions list")
    return parse_session(slug, states[0], tree.text(f"{SESSIONS}/{states[0]}/{slug}/SESSION.md"))


def all_sessions(
    tree: Tree,
    states: tuple[str, ...] = STATES,
    cache: dict[str, Any] | None = None,
    seen: set[str] | None = None,
) -> list[Session]:
    """Every session in the given states, in state order then by slug.

    `cache` maps a SESSION.md blob id to its parsed fields: git names content by its hash,
    so an entry never goes stale, and a warm scan reads no plan at all. The blob ids read
    are added to `seen`.
    """
    found: list[Session] = []
    for state in states:
        plans = tree.folder_files(f"{SESSIONS}/{state}", "SESSION.md")
        for slug in session_names(tree, state):
            blob = plans.get(slug)
            if seen is not None and blob:
                seen.add(blob)
            fields = cache.get(blob) if cache is not None and blob else None
            if fields is None:
                fields = parse_fields(tree.blob_text(blob) if blob else None)
                if cache is not None and blob:
                    cache[blob] = fields
            found.append(make_session(slug, state, fields))
    return found
