"""`_AGENTS/config.yaml`: where the hub is and how sessions are laid out locally."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from git_sessions import safefs, yamltext
from git_sessions.errors import BadInput
from git_sessions.protocol import CONFIG_FILE
from git_sessions.sessionenv import has_control

DEFAULT_CONFIG = """\
# git-sessions settings for this repository.
remote: origin          # the hub every agent pushes to
main_branch: null       # null: the hub's HEAD branch, else "main"
protocol_branch: null   # null: sessions live on main; else a coordination branch, e.g. sessions
landing: direct         # or review: complete pushes the squash to land/<slug> for review
worktree_root: .worktrees
workspace: worktree     # or clone: a shallow clone per session in .sessions/<slug>
lease_ttl: 2h           # a claim with no sign of life for this long may be reaped
timeout: 30s            # limit for each network operation and for waiting on the clone's lock
capabilities: []        # default capabilities of agents working here
bootstrap:              # run in every new worktree right after a claim
  copy: []              #   files copied from the main checkout, e.g. [.env]
  run: []               #   shell commands, e.g. ["pip install -e ."]
verify: []              # commands run on the merged tree before `complete` lands it
require_criteria: none  # "all": `complete` refuses until every acceptance criterion is met
ports:                  # SESSION_PORT: a deterministic block of ports per session
  base: 20000
  block: 10
  slots: 1000
"""


WORKSPACES = ("worktree", "clone")
LANDINGS = ("direct", "review")


@dataclass(frozen=True)
class Config:
    remote: str = "origin"
    main_branch: str | None = None
    protocol_branch: str | None = None
    landing: str = "direct"
    worktree_root: str = ".worktrees"
    workspace: str = "worktree"
    lease_ttl: str = "2h"
    timeout: str = "30s"
    capabilities: tuple[str, ...] = field(default_factory=tuple)
    bootstrap_copy: tuple[str, ...] = field(default_factory=tuple)
    bootstrap_run: tuple[str, ...] = field(default_factory=tuple)
    port_base: int = 20000
    port_block: int = 10
    port_slots: int = 1000
    verify: tuple[str, ...] = field(default_factory=tuple)
    require_criteria: str = "none"


_REMOTE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")
_DURATION = re.compile(r"(?:[0-9]{1,6}[smhd])+")
MAX_LIST = 100
MAX_COMMAND = 4096


def parse_config(text: str, memo: Path | None = None) -> Config:
    """Parse config.yaml totally: unknown keys are ignored, anything else that is not what
    the table in docs/protocol.md allows is a BadInput naming the key. With `memo` (a file in
    the git dir) the YAML is parsed once per text, not once per command."""
    try:
        loaded = yamltext.load(text) if memo is None else yamltext.load_remembered(text, memo)
        data: Any = loaded or {}
    except yamltext.Refused as exc:
        raise BadInput(f"{CONFIG_FILE}: {exc}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{CONFIG_FILE} must be a mapping of settings")
    values: dict[str, Any] = {}
    values.update(_nested(data, "bootstrap", {"copy": "bootstrap_copy", "run": "bootstrap_run"}))
    values.update(
        _nested(data, "ports", {"base": "port_base", "block": "port_block", "slots": "port_slots"})
    )
    known = {f.name for f in fields(Config)} - set(values)
    for key, value in data.items():
        if key in known and value is not None:
            values[key] = _setting(key, value)
    config = Config(**values)
    if config.port_base + config.port_block * config.port_slots - 1 > 65535:
        raise BadInput(f"{CONFIG_FILE}: ports.base + ports.block * ports.slots passes port 65535")
    return config


def is_branch_name(text: str) -> bool:
    return bool(_BRANCH.fullmatch(text)) and ".." not in text and not text.endswith((".lock", "/"))


def _setting(key: str, value: Any) -> Any:
    if key == "verify":  # commands run only after local approval (approvals.py)
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise BadInput(f"{CONFIG_FILE}: verify must be a list of commands")
        for command in value:
            if not isinstance(command, str) or not command.strip() or "\0" in command:
                raise BadInput(f"{CONFIG_FILE}: verify must be a list of commands")
            if len(command) > MAX_COMMAND:
                raise BadInput(f"{CONFIG_FILE}: verify must be a list of commands")
        return tuple(value)
    if key == "require_criteria":
        if value not in ("all", "none"):
            raise BadInput(f"{CONFIG_FILE}: require_criteria must be 'all' or 'none'")
        return value
    if key == "capabilities":
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise BadInput(f"{CONFIG_FILE}: capabilities must be a list")
        return tuple(_word(key, v) for v in value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadInput(f"{CONFIG_FILE}: {key} must be a string")
    text = str(value)
    if key == "remote" and not _REMOTE.fullmatch(text):
        raise BadInput(f"{CONFIG_FILE}: remote {text!r} is not a remote name")
    if key in ("main_branch", "protocol_branch") and not is_branch_name(text):
        raise BadInput(f"{CONFIG_FILE}: {key} {text!r} is not a branch name")
    if key == "landing" and text not in LANDINGS:
        raise BadInput(f"{CONFIG_FILE}: landing must be one of {', '.join(LANDINGS)}")
    if key == "lease_ttl" and not _DURATION.fullmatch(text):
        raise BadInput(f"{CONFIG_FILE}: lease_ttl {text!r} is not a duration like 2h or 90m")
    if key == "worktree_root":
        _inside(key, text)
    if key == "workspace" and text not in WORKSPACES:
        raise BadInput(f"{CONFIG_FILE}: workspace must be one of {', '.join(WORKSPACES)}")
    return text


def _word(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 100 or has_control(value):
        raise BadInput(f"{CONFIG_FILE}: {key} must be a list of short words")
    return value


def _inside(key: str, text: str) -> str:
    """A path relative to the repository that stays inside it (no /, no .., no .git)."""
    try:
        names = safefs.parts(text.rstrip("/"))
    except safefs.Unsafe:
        names = []
    if not names or has_control(text) or any(n.lower() == ".git" for n in names):
        raise BadInput(
            f"{CONFIG_FILE}: {key} {text!r} must be a relative path inside the repository",
            hint="no absolute path, no .., no .git",
        )
    return text


def load_config(root: Path, common_dir: Path | None = None) -> Config:
    """Read the checked-out config.yaml of the repository at `root` (defaults if absent).

    The local copy is read, not the hub's: it says where the hub is. It came from the hub all
    the same (pulled), so it is read without following symlinks and parsed totally. Given the
    repository's `common_dir`, the parsed YAML is remembered there (see yamltext).
    """
    data = safefs.read_bytes(root, CONFIG_FILE)
    if data is None:
        return Config()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{CONFIG_FILE} is not UTF-8 text") from None
    memo = None if common_dir is None else common_dir / "git-sessions" / "config-yaml.json"
    return parse_config(text, memo)


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
        where = f"{CONFIG_FILE}: {section}.{key}"
        if name.startswith("port_"):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 65535:
                raise BadInput(f"{where} must be an integer from 1 to 65535")
            values[name] = value
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadInput(f"{where} must be a list of strings")
        if len(value) > MAX_LIST or any(len(v) > MAX_COMMAND or "\0" in v for v in value):
            raise BadInput(f"{where} has too many or too long entries")
        if name == "bootstrap_copy":
            for path in value:
                _inside(f"{section}.{key}", path)
        values[name] = tuple(value)
    return values
