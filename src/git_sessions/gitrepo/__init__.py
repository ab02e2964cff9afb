"""The only package that talks to git (pygit2). What it returns is ours: str oids, bytes, values.

Split by noun: `snapshots` (reading trees), `trees` (writing them), `objects` (history, merges),
`failures` (pygit2 errors to ours), `transport` (remote callbacks, stale locks), `workspace` (the
user's repository; its fetch and push in `remotes`), `hubs` (where the shared main lives),
`network` and `verdicts` (git's own transport for hubs on a server, and what the server said).
"""

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
