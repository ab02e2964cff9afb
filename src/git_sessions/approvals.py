"""Trust on first use for `bootstrap.run` and `verify`: the hub proposes commands, this machine
approves.

`_AGENTS/config.yaml` arrives with every pull, so its `bootstrap.run` commands are written by
whoever can push. They run only after the local user approved that exact list: its SHA-256 is
stored in the git dir (local, never pushed). A changed list is a new list and needs a new
approval. CI pre-approves with GIT_SESSIONS_APPROVE_BOOTSTRAP=1 or the local git config
`sessions.approveBootstrap true` (neither can come from the hub); for the `verify` commands of
`complete`, GIT_SESSIONS_APPROVE_VERIFY and `sessions.approveVerify`. Each kind has its own
list: approving a list as bootstrap steps does not let it run as verify commands.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

KINDS = ("bootstrap", "verify")
ENV_VAR = "GIT_SESSIONS_APPROVE_BOOTSTRAP"
GIT_CONFIG = "sessions.approveBootstrap"
_TRUE = ("1", "true", "yes", "on")


def env_var(kind: str) -> str:
    return f"GIT_SESSIONS_APPROVE_{kind.upper()}"


def git_config_key(kind: str) -> str:
    return f"sessions.approve{kind.capitalize()}"


def store(common_dir: Path, kind: str = "bootstrap") -> Path:
    assert kind in KINDS
    return common_dir / "git-sessions" / f"approved-{kind}"


def fingerprint(commands: Sequence[str]) -> str:
    import hashlib  # ~2 ms (OpenSSL): journal commands import this module and never hash

    return hashlib.sha256(json.dumps(list(commands)).encode()).hexdigest()


def approved(
    common_dir: Path,
    commands: Sequence[str],
    *,
    environ: Mapping[str, str],
    git_config: str | None,
    kind: str = "bootstrap",
) -> bool:
    """True if `commands` may run here: empty, pre-approved, or approved before."""
    if not commands:
        return True
    if environ.get(env_var(kind), "").lower() in _TRUE or (git_config or "").lower() in _TRUE:
        return True
    try:
        known = store(common_dir, kind).read_text().split()
    except OSError:
        return False
    return fingerprint(commands) in known


def approve(common_dir: Path, commands: Sequence[str], kind: str = "bootstrap") -> None:
    """Remember that this machine trusts exactly `commands`."""
    path = store(common_dir, kind)
    known = []
    with contextlib.suppress(OSError):
        known = path.read_text().split()
    if fingerprint(commands) in known:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text("".join(f"{h}\n" for h in [*known, fingerprint(commands)]))
    os.replace(temp, path)
