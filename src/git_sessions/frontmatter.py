"""A fast reader for the plain front matter git-sessions itself writes, falling back to YAML.

A cold `queue` or `list` parses every SESSION.md on main; even libyaml's loader costs about
0.1 ms a plan, which is most of a cold listing of 10,000 sessions. The front matter that `new`
writes is one `key: value` per line with a handful of value shapes, read here with string
operations. Anything outside that subset (block lists, comments, anchors, quotes with escapes,
numbers YAML 1.1 reads in surprising ways: `012`, `1_000`, `1:30`, `yes`) returns None and the
caller uses the YAML loader, so the result is always what the YAML loader would give.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A plain scalar YAML reads as this very string: starts with a letter, no `: ` or ` #`,
# nothing that starts a flow collection, an alias, a tag or a quote.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 _.,()/+-]*")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*|(kb-)?[0-9]{4}-[0-9]{2}-[0-9]{2}(-[a-z0-9]+)+")
# Words YAML 1.1 (PyYAML) reads as booleans or null, in any case.
_SPECIAL = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


def _scalar(value: str) -> tuple[bool, Any]:
    """(understood, value) for one scalar; the cheap tests come first (this runs per line of
    every plan on a cold listing)."""
    if not value or value == "~" or value == "null":
        return True, None
    first = value[0]
    if first == "'":
        inner = value[1:-1]  # no escapes in single quotes but '', refused here
        ok = len(value) >= 2 and value[-1] == "'" and "'" not in inner and inner.isprintable()
        return ok, inner
    if first == '"':
        inner = value[1:-1]
        ok = len(value) >= 2 and value[-1] == '"' and '"' not in inner and "\\" not in inner
        return ok and inner.isprintable(), inner
    if first.isdigit() or first == "-":
        if _INT.fullmatch(value):
            return True, int(value)
        if _DATE.fullmatch(value):
            try:
                return True, dt.date.fromisoformat(value)
            except ValueError:
                return False, None
        return False, None
    if value[-1] == " " or value.lower() in _SPECIAL or not _PLAIN.fullmatch(value):
        return False, None
    return True, value


def _flow_list(value: str) -> tuple[bool, Any]:
    inner = value[1:-1].strip()
    if not inner:
        return True, []
    items = [item.strip() for item in inner.split(",")]
    if all(_WORD.fullmatch(item) and item.lower() not in _SPECIAL for item in items):
        return True, items
    return False, None


# line -> (key, value) of lines understood before: across plans most lines repeat verbatim
# (`depends_on: []`, `parent: null`, a date, a priority), and a dict lookup is far cheaper
# than parsing them again on a cold listing. Bounded; values are copied out where mutable.
_LINES: dict[str, tuple[str, Any]] = {}
MAX_LINES = 4096


def _line(line: str) -> tuple[str, Any] | None:
    """(key, value) of one `key: value` line in the simple subset, else None."""
    key, sep, value = line.partition(":")
    if not sep or not key.isidentifier() or not key.isascii():
        return None
    if key.lower() in _SPECIAL:
        return None
    if value and not value.startswith(" "):
        return None
    value = value.strip(" ")
    if value.startswith("[") and value.endswith("]"):
        ok, parsed = _flow_list(value)
    else:
        ok, parsed = _scalar(value)
    return (key, parsed) if ok else None


def fast_load(text: str) -> dict[str, Any] | None:
    """The mapping in front matter `text` if it is in the simple subset, else None."""
    data: dict[str, Any] = {}
    for line in text.split("\n"):
        if not line:
            continue
        found = _LINES.get(line)
        if found is None:
            found = _line(line)
            if found is None:
                return None
            if len(_LINES) < MAX_LINES:
                _LINES[line] = found
        key, value = found
        if key in data:
            return None
        data[key] = list(value) if isinstance(value, list) else value
    return data
