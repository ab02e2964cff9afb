"""Making a fresh worktree runnable: copied files, setup commands, a port block per session.

Both lists come from `_AGENTS/config.yaml`, which anyone who can push may change: files are
copied without following symlinks and only from inside the main checkout, and commands run
only once this machine approved the exact list (see approvals).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from git_sessions import safefs
from git_sessions.config import Config
from git_sessions.runner import Ran, run_shell


def session_port(slug: str, config: Config) -> int:
    """First port of the session's block: the same for a slug on every machine and every claim.

    Blocks are spread by a hash of the slug over `slots` slots; two active sessions share a block
    with probability about n*n/(2*slots).
    """
    slot = zlib.crc32(slug.encode()) % config.port_slots
    return config.port_base + slot * config.port_block


@dataclass(frozen=True)
class Bootstrap:
    copied: tuple[str, ...]
    missing: tuple[str, ...]
    ran: tuple[Ran, ...]
    unapproved: tuple[str, ...] = ()  # commands not run: this machine has not approved them

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unapproved and all(r.ok for r in self.ran)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "copied": list(self.copied),
            "missing": list(self.missing),
            "unapproved": list(self.unapproved),
            "ran": [
                {"command": r.command, "returncode": r.returncode, "output": r.output}
                for r in self.ran
            ],
        }


def bootstrap(
    config: Config, root: Path, worktree: Path, env: Mapping[str, str], *, approved: bool
) -> Bootstrap:
    """Copy the configured files from the main checkout, then, if `approved`, run the setup
    commands in order (stopping at the first failure) with the session's environment."""
    copied, missing = [], []
    for name in config.bootstrap_copy:
        try:
            data = safefs.read_bytes(root, name)
        except safefs.Unsafe:
            data = None  # a symlink or special file is never copied: reported as missing
        if data is None:
            missing.append(name)
            continue
        safefs.write_bytes(worktree, name, data)
        copied.append(name)
    if not approved:
        return Bootstrap(tuple(copied), tuple(missing), (), config.bootstrap_run)
    ran: list[Ran] = []
    full_env = {**os.environ, **env}
    for command in config.bootstrap_run:
        result = run_shell(command, worktree, full_env)
        ran.append(result)
        if not result.ok:
            break
    return Bootstrap(tuple(copied), tuple(missing), tuple(ran))
