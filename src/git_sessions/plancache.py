"""A machine-local cache of parsed plans, keyed by SESSION.md blob id, in the git dir."""

from __future__ import annotations

import os

# a cached queue reads VERSION (queuecache): json, pathlib and typing, which it does not
# otherwise need, are imported where used
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

VERSION = 2  # 2: plans parsed with the total parser (priority range, control characters)


def cache_path(common_dir: Path) -> Path:
    return common_dir / "git-sessions" / "plans.json"


def load(path: Path) -> dict[str, Any]:
    """The cache, or an empty one if it is missing, unreadable or of another version."""
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):  # RecursionError: nested too deep for json
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return {}
    entries = data.get("entries")
    return dict(entries) if isinstance(entries, dict) else {}


def save(path: Path, entries: dict[str, Any], *, known: int, live: set[str] | None = None) -> None:
    """Write the cache atomically if it changed since it was loaded with `known` entries.

    A command that read only some states (queue reads planned/) adds its entries to what is
    on disk now, so it never drops the others' (nor what another process wrote meanwhile).
    A command that read every session on main passes their blob ids as `live`: entries of
    plans no longer on main are pruned, so the cache stays the size of main."""
    import json

    if len(entries) == known and live is None:
        return
    on_disk = load(path)
    merged = {**on_disk, **entries}
    if live is not None:
        merged = {blob: fields for blob, fields in merged.items() if blob in live}
    if merged.keys() == on_disk.keys():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(json.dumps({"version": VERSION, "entries": merged}, separators=(",", ":")))
    os.replace(temp, path)
