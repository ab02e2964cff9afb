"""YAML from the hub, loaded with a budget: safe tags only, bounded size, bounded expansion.

PyYAML's safe loader builds aliases as shared references, so a "billion laughs" document
loads in microseconds and explodes later, when anything walks it (str(), json, a loop). We walk
it once right after loading and refuse it at the first list or mapping reached twice (no plan or
config needs an alias to a collection), or past `max_nodes` values.
"""

from __future__ import annotations

from typing import Any

import yaml

# libyaml's loader when present: parsing thousands of plans is most of a cold `queue`.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = 256 * 1024
MAX_NODES = 10_000


class Refused(ValueError):
    """YAML we will not use: too big, too deeply aliased, or not YAML at all."""


def load(text: str, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES) -> Any:
    """The data of YAML `text`; Refused if it is invalid or over budget."""
    if len(text) > max_bytes:
        raise Refused(f"it is larger than {max_bytes} bytes")
    try:
        data = yaml.load(text, Loader=_LOADER)  # a safe loader: plain data, no Python tags
    except yaml.YAMLError as exc:
        raise Refused(f"not valid YAML: {_first_line(exc)}") from None
    except (ValueError, RecursionError, OverflowError) as exc:  # e.g. int("9" * 5000)
        raise Refused(f"not valid YAML: {exc}") from None
    _count(data, max_nodes)
    return data


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
