"""`_AGENTS/config.yaml`: where the hub is and how sessions are laid out locally."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from git_sessions.errors import BadInput
from git_sessions.protocol import CONFIG_FILE

DEFAULT_CONFIG = """\
# git-sessions settings for this repository.
remote: origin          # the hub every agent pushes to
main_branch: null       # null: the hub's HEAD branch, else "main"
worktree_root: .worktrees
lease_ttl: 2h           # a claim with no sign of life for this long may be reaped
capabilities: []        # default capabilities of agents working here
"""


@dataclass(frozen=True)
class Config:
    remote: str = "origin"
    main_branch: str | None = None
    worktree_root: str = ".worktrees"
    lease_ttl: str = "2h"
    capabilities: tuple[str, ...] = field(default_factory=tuple)


def parse_config(text: str) -> Config:
    """Parse config.yaml; unknown keys are kept out, wrong types are an error."""
    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise BadInput(f"{CONFIG_FILE} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{CONFIG_FILE} must be a mapping of settings")
    known = {f.name for f in fields(Config)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known or value is None:
            continue
        if key == "capabilities":
            if not isinstance(value, list):
                raise BadInput(f"{CONFIG_FILE}: capabilities must be a list")
            value = tuple(str(v) for v in value)
        elif not isinstance(value, str | int):
            raise BadInput(f"{CONFIG_FILE}: {key} must be a string")
        else:
            value = str(value)
        values[key] = value
    return Config(**values)


def load_config(root: Path) -> Config:
    """Read the checked-out config.yaml of the repository at `root` (defaults if absent).

    The local copy is read, not the hub's: it says where the hub is.
    """
    path = root / CONFIG_FILE
    return parse_config(path.read_text()) if path.exists() else Config()
