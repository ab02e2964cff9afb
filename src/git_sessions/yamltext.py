"""YAML from the hub, loaded with a budget: safe tags only, bounded size, bounded expansion.

PyYAML's safe loader builds aliases as shared references, so a "billion laughs" document
loads in microseconds and explodes later, when anything walks it (str(), json, a loop). We walk
it once right after loading and refuse it at the first list or mapping reached twice (no plan or
config needs an alias to a collection), or past `max_nodes` values.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

# Blank lines and comments only, indented by spaces, in printable ASCII. PyYAML also breaks
# lines at \x85 and \u2028, refuses a tab outside a comment and control characters anywhere:
# all of those go to PyYAML, which answers (or refuses) them itself.
_LINE = r" *(?:#[\t\x20-\x7e]*)?"
_COMMENTS = re.compile(rf"(?:{_LINE}(?:\r\n|\r|\n))*{_LINE}")
MAX_BYTES = 256 * 1024
MAX_NODES = 10_000


class Refused(ValueError):
    """YAML we will not use: too big, too deeply aliased, or not YAML at all."""


def load(text: str, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES) -> Any:
    """The data of YAML `text`; Refused if it is invalid or over budget."""
    if len(text) > max_bytes:
        raise Refused(f"it is larger than {max_bytes} bytes")
    if _COMMENTS.fullmatch(text):
        return None  # what YAML makes of it too, without importing PyYAML (~10 ms a command)
    import yaml  # only for a document with content: most commands never parse YAML

    # libyaml's loader when present: parsing thousands of plans is most of a cold `queue`
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # a safe loader: plain data, no Python tags
    except yaml.YAMLError as exc:
        raise Refused(f"not valid YAML: {_first_line(exc)}") from None
    except (ValueError, RecursionError, OverflowError) as exc:  # e.g. int("9" * 5000)
        raise Refused(f"not valid YAML: {exc}") from None
    _count(data, max_nodes)
    return data


def load_remembered(text: str, memo: Path) -> Any:
    """`load(text)`, remembered in the JSON file `memo` (this machine's git dir) with the exact
    text it came from: a command that reads the same config.yaml as the last one does not
    import PyYAML (~10 ms). Data JSON cannot hold exactly (a date, a float, a non-string key)
    is not remembered; a memo that cannot be read or written is no error."""
    with contextlib.suppress(OSError, ValueError, RecursionError):
        entry = json.loads(memo.read_bytes())
        if isinstance(entry, dict) and entry.get("version") == 1 and entry.get("text") == text:
            return entry.get("data")
    data = load(text)
    if _plain(data):
        with contextlib.suppress(OSError):
            memo.parent.mkdir(parents=True, exist_ok=True)
            temp = memo.with_name(f".{memo.name}.{os.getpid()}.{threading.get_ident()}")
            temp.write_text(json.dumps({"version": 1, "text": text, "data": data}))
            os.replace(temp, memo)
    return data


def _plain(data: Any, max_depth: int = 32) -> bool:
    """Only strings, ints, booleans, None and lists and string-keyed mappings of them, nested
    at most `max_depth` deep (json recurses: a deeper memo could not be written or read)."""
    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if item is None or isinstance(item, str | int):  # bool is an int
            continue
        if depth >= max_depth:
            return False
        if isinstance(item, list):
            stack.extend((value, depth + 1) for value in item)
        elif isinstance(item, dict) and all(isinstance(k, str) for k in item):
            stack.extend((value, depth + 1) for value in item.values())
        else:
            return False
    return True


def _first_line(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0]


def _count(data: Any, budget: int) -> None:
    """Refuse a collection reached twice (an alias: the seed of every expansion bomb) or more
    than `budget` values: linear in what was parsed, whatever the aliases would expand to."""
    stack, seen, count = [data], set(), 0
    while stack:
        item = stack.pop()
        count += 1
        if count > budget:
            raise Refused(f"it holds more than {budget} values")
        if isinstance(item, dict | list):
            if id(item) in seen:
                raise Refused("it reuses a list or mapping through an alias (&name / *name)")
            seen.add(id(item))
            stack.extend([*item.keys(), *item.values()] if isinstance(item, dict) else item)
        elif isinstance(item, str | bytes) and len(item) > MAX_BYTES:
            raise Refused("a value is too large")
