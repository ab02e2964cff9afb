"""The only package that talks to git (pygit2). What it returns is ours: str oids, bytes, values.

Split by noun: `snapshots` (reading trees), `trees` (writing them), `objects` (history, merges),
`failures` (pygit2 errors to ours), `transport` (remote callbacks, stale locks), `workspace` (the
user's repository; its fetch and push in `remotes`), `hubs` (where the shared main lives; a hub
on a server in `serverhub`), `network` and `verdicts` (git's own transport for hubs on a server,
and what the server said),
`gitfiles` (a repository's files read without libgit2, for the start-up fast paths).

The names below are imported on first use (PEP 562): importing pygit2 costs a command 40-90 ms,
and a fast path (a cached `queue`) needs only `gitfiles`, which must not pull it in.
"""

from __future__ import annotations

from importlib import import_module

# typing.TYPE_CHECKING without importing typing, which a cached queue (gitfiles) never needs
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from git_sessions.gitrepo.clones import clone_shallow, clone_url, unshallow
    from git_sessions.gitrepo.failures import git_errors
    from git_sessions.gitrepo.hubs import (
        Guard,
        Hub,
        LocalHub,
        RemoteHub,
        guard_hook_installed,
        hub_head_branch,
        init_bare,
        local_path,
        open_hub,
    )
    from git_sessions.gitrepo.network import is_local_url, redact
    from git_sessions.gitrepo.snapshots import Snapshot
    from git_sessions.gitrepo.workspace import Workspace
    from git_sessions.gitrepo.worktrees import WorktreeInfo

_MODULES = {
    "clones": ("clone_shallow", "clone_url", "unshallow"),
    "failures": ("git_errors",),
    "hubs": (
        "Guard",
        "Hub",
        "LocalHub",
        "RemoteHub",
        "guard_hook_installed",
        "hub_head_branch",
        "init_bare",
        "local_path",
        "open_hub",
    ),
    "network": ("is_local_url", "redact"),
    "snapshots": ("Snapshot",),
    "workspace": ("Workspace",),
    "worktrees": ("WorktreeInfo",),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "Guard",
    "Hub",
    "LocalHub",
    "RemoteHub",
    "Snapshot",
    "Workspace",
    "WorktreeInfo",
    "clone_shallow",
    "clone_url",
    "git_errors",
    "guard_hook_installed",
    "hub_head_branch",
    "init_bare",
    "is_local_url",
    "local_path",
    "open_hub",
    "redact",
    "unshallow",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value
