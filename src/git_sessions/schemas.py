"""The JSON Schemas of the versioned documents (docs/schema/<name>.json, shipped in the wheel)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from git_sessions.errors import BadInput


@cache
def folder() -> Path:
    """Where the schemas are: inside the wheel, or `docs/schema/` of a source checkout."""
    shipped = Path(str(resources.files("git_sessions"))) / "schema"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / "docs" / "schema"


def names() -> list[str]:
    return sorted(p.stem for p in folder().glob("*.json"))


def text(name: str) -> str:
    if name not in names():
        raise BadInput(f"no schema {name!r}", hint="list them with: git sessions schema")
    return (folder() / f"{name}.json").read_text()


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text(name))
    return data
