"""What every command opens first: the user's repository, its config, the hub and main's name."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from git_sessions import plancache
from git_sessions.config import Config, load_config
from git_sessions.edits import Identity
from git_sessions.errors import BadInput
from git_sessions.gitrepo import Hub, LocalHub, Snapshot, Workspace, hub_head_branch, open_hub
from git_sessions.sessionenv import check_identity


@dataclass
class Context:
    ws: Workspace
    config: Config
    _plans: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _plans_known: int = field(default=0, init=False, repr=False)

    def plans(self) -> dict[str, Any]:
        """Parsed plans by SESSION.md blob id (machine-local cache; see plancache)."""
        if self._plans is None:
            self._plans = plancache.load(plancache.cache_path(self.ws.common_dir))
            self._plans_known = len(self._plans)
        return self._plans

    def save_plans(self, live: set[str] | None = None) -> None:
        """Save new cache entries; `live`: every plan blob on main (prunes the others)."""
        if self._plans is not None:
            path = plancache.cache_path(self.ws.common_dir)
            with contextlib.suppress(OSError):  # a cache that cannot be written is no error
                plancache.save(path, self._plans, known=self._plans_known, live=live)

    @cached_property
    def branch(self) -> str:
        """main's name: config, else the hub's HEAD, else the local branch, else 'main'."""
        return self.config.main_branch or hub_head_branch(self.ws, self.config.remote) or "main"

    @cached_property
    def protocol_branch(self) -> str:
        """Where `_AGENTS/` lives on the hub: main (the default layout) or the coordination
        branch that config.yaml's `protocol_branch` names (docs/protocol.md, "Layouts")."""
        return self.config.protocol_branch or self.branch

    @property
    def split(self) -> bool:
        """True in the coordination layout: code on main, the protocol on its own branch."""
        return self.protocol_branch != self.branch

    @cached_property
    def hub(self) -> Hub:
        """The hub, opened on the protocol's branch: every protocol commit goes through it
        (for a local hub, the repository on this filesystem, held to the guard's rule when it
        has the guard hook installed)."""
        return open_hub(self.ws, self.config.remote, self.protocol_branch, guard=_guard_rule)

    @cached_property
    def code_hub(self) -> Hub:
        """The hub opened on main, where code lands (the protocol hub in the default layout)."""
        if not self.split:
            return self.hub
        return open_hub(self.ws, self.config.remote, self.branch, guard=_guard_rule)

    def main(self) -> Snapshot:
        """A fresh snapshot of the protocol's branch on the hub: main in the default layout,
        the coordination branch otherwise (fetched first for a remote hub)."""
        from git_sessions.layouts import refuse_moved

        snap = self.hub.snapshot(self.hub.tip())
        refuse_moved(snap, self.protocol_branch)  # a clone that has not pulled since a migration
        return snap

    def identity(self, name: str | None = None, email: str | None = None) -> Identity:
        """The acting agent: explicit name/email, else git config user.name/user.email."""
        configured = self.ws.identity()
        name = name or (configured.name if configured else None)
        email = email or (configured.email if configured else None)
        if not name or not email:
            raise BadInput(
                "no agent identity",
                hint="pass --agent NAME --email E, or set git config user.name and user.email",
            )
        return check_identity(name, email)  # it goes into commits and a sourced .session-env

    @property
    def worktree_root(self) -> Path:
        return self.ws.root / self.config.worktree_root


def _guard_rule(hub: LocalHub, ref: str, old: str | None, new: str | None) -> str | None:
    from git_sessions.guard import rule  # only a guarded local hub needs it: import lazily

    return rule(hub, ref, old, new)


_SECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*([sm]?)")
TIMEOUT_ENV = "GIT_SESSIONS_TIMEOUT"


def timeout_seconds(config: Config, environ: Mapping[str, str]) -> float:
    """The network and lock-wait limit: $GIT_SESSIONS_TIMEOUT, else config.yaml's `timeout`
    (seconds, or with an s or m suffix), between 0.1 s and an hour."""
    text, source = environ.get(TIMEOUT_ENV) or config.timeout, TIMEOUT_ENV
    if not environ.get(TIMEOUT_ENV):
        source = "timeout in _AGENTS/config.yaml"
    found = _SECONDS.fullmatch(text.strip())
    seconds = float(found[1]) * (60 if found[2] == "m" else 1) if found else -1.0
    if not 0.1 <= seconds <= 3600:
        raise BadInput(
            f"invalid {source}: {text!r}", hint="use seconds between 0.1 and 3600, e.g. 30s or 2m"
        )
    return seconds


def open_context(start: Path) -> Context:
    ws = Workspace(start)
    config = load_config(ws.root, ws.common_dir)
    ws.set_timeout(timeout_seconds(config, os.environ))
    return Context(ws, config)
