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
workspace: worktree     # or clone: a shallow clone per session in .sessions/<slug>
lease_ttl: 2h           # a claim with no sign of life for this long may be reaped
capabilities: []        # default capabilities of agents working here
bootstrap:              # run in every new worktree right after a claim
  copy: []              #   files copied from the main checkout, e.g. [.env]
  run: []               #   shell commands, e.g. ["pip install -e ."]
ports:                  # SESSION_PORT: a deterministic block of ports per session
  base: 20000
  block: 10
  slots: 1000
"""


WORKSPACES = ("worktree", "clone")


@dataclass(frozen=True)
class Config:
    remote: str = "origin"
    main_branch: str | None = None
    worktree_root: str = ".worktrees"
    workspace: str = "worktree"
    lease_ttl: str = "2h"
    capabilities: tuple[str, ...] = field(default_factory=tuple)
    bootstrap_copy: tuple[str, ...] = field(default_factory=tuple)
    bootstrap_run: tuple[str, ...] = field(default_factory=tuple)
    port_base: int = 20000
    port_block: int = 10
    port_slots: int = 1000


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
    values.update(_nested(data, "bootstrap", {"copy": "bootstrap_copy", "run": "bootstrap_run"}))
    values.update(
        _nested(data, "ports", {"base": "port_base", "block": "port_block", "slots": "port_slots"})
    )
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
    if values.get("workspace", "worktree") not in WORKSPACES:
        raise BadInput(f"{CONFIG_FILE}: workspace must be one of {', '.join(WORKSPACES)}")
    return Config(**values)


def load_config(root: Path) -> Config:
    """Read the checked-out config.yaml of the repository at `root` (defaults if absent).

    The local copy is read, not the hub's: it says where the hub is.
    """
    path = root / CONFIG_FILE
    return parse_config(path.read_text()) if path.exists() else Config()


def _nested(data: dict[str, Any], section: str, names: dict[str, str]) -> dict[str, Any]:
    """Flatten `section:` mapping keys into Config fields, checking their types."""
    block = data.get(section) or {}
    if not isinstance(block, dict):
        raise BadInput(f"{CONFIG_FILE}: {section} must be a mapping")
    values: dict[str, Any] = {}
    for key, value in block.items():
        name = names.get(key)
        if name is None or value is None:
            continue
        if name.startswith("port_"):
            if not isinstance(value, int) or value <= 0:
                raise BadInput(f"{CONFIG_FILE}: {section}.{key} must be a positive integer")
            values[name] = value
        else:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadInput(f"{CONFIG_FILE}: {section}.{key} must be a list of strings")
            values[name] = tuple(value)
    return values
