"""Verified landing: the configured `verify:` commands run on the merged tree before it lands.

The tree is written into a fresh temporary folder (outside every repository, so a command's
own git calls cannot touch ours), the commands run there in order, and the first failure stops
the landing. Results are remembered per tree for one `complete`: when main moves only in the
sessions' bookkeeping (a claim, a heartbeat), the code that would land is the same and is not
verified twice; any other change of main gives a new tree, which is verified again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from git_sessions import approvals
from git_sessions.context import Context
from git_sessions.drift import Drift
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo.comparison import export_tree, tree_without
from git_sessions.gitrepo.objects import Objects
from git_sessions.runner import Ran, run_shell

BOOKKEEPING = ("_AGENTS/sessions", "_AGENTS/knowledge/sessions")
TAIL_LINES = 30
TIMEOUT = 3600.0
_REPO_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
)


class VerifyFailed(Conflict):
    """A verify command failed on the merged tree: nothing lands (exit 3)."""

    def __init__(self, ran: Ran, tree: str) -> None:
        super().__init__(
            f"verify command failed (exit {ran.returncode}) on the merged tree "
            f"{tree[:10]}: {ran.command}",
            hint="fix it on the session branch and complete again; nothing was published",
        )
        self.ran = ran
        self.tail = "\n".join(ran.output.rstrip("\n").split("\n")[-TAIL_LINES:])


@dataclass(frozen=True)
class Verified:
    tree: str
    code_tree: str
    commands: tuple[str, ...]
    seconds: float


@dataclass
class Verifier:
    """Runs `commands` on merged trees; one per `complete` (it remembers what passed)."""

    objects: Objects
    commands: tuple[str, ...]
    env: Mapping[str, str]
    timeout: float = TIMEOUT
    runs: list[Verified] = field(default_factory=list)
    _passed: dict[str, Verified] = field(default_factory=dict)

    def check(self, tree: str) -> Verified | None:
        """Verify `tree` (or recall that its code passed); raise VerifyFailed on failure."""
        if not self.commands:
            return None
        key = tree_without(self.objects, tree, BOOKKEEPING)
        if key in self._passed:
            return self._passed[key]
        start = time.monotonic()
        folder = Path(tempfile.mkdtemp(prefix="git-sessions-verify-"))
        try:
            work = folder / "tree"
            work.mkdir()
            export_tree(self.objects, tree, work)
            # no GIT_DIR and friends: a command's own git calls must not reach our repository
            inherited = {k: v for k, v in os.environ.items() if k not in _REPO_VARS}
            env = {**inherited, **self.env, "GIT_SESSIONS_VERIFY": "1"}
            for command in self.commands:
                ran = run_shell(command, work, env, timeout=self.timeout)
                if not ran.ok:
                    raise VerifyFailed(ran, tree)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        done = Verified(tree, key, self.commands, round(time.monotonic() - start, 3))
        self._passed[key] = done
        self.runs.append(done)
        return done


def trailers(verified: Verified | None, commands: Sequence[str]) -> str:
    """Commit-message trailers saying what verified the landed tree."""
    if verified is None or not commands:
        return ""
    return "".join(f"Verified-by: {c}\n" for c in commands) + f"Verified-tree: {verified.tree}\n"


def preconditions(report: Drift, require_criteria: str, *, allow_empty: bool) -> None:
    """Refuse to land nothing, or a plan whose criteria the config says must all be met."""
    if report.code_commits == 0 and not allow_empty:
        raise BadInput(
            f"session {report.slug} has no code commits to land",
            hint="commit your work on the session branch, or land only its journal: --allow-empty",
        )
    met = sum(c.checked for c in report.criteria)
    if require_criteria == "all" and met < len(report.criteria):
        raise BadInput(
            f"{met} of {len(report.criteria)} acceptance criteria met;"
            " _AGENTS/config.yaml requires all of them",
            hint=f"check them off in worklog.md, see: git sessions drift {report.slug}",
        )


def require_approval(ctx: Context, commands: Sequence[str], *, yes: bool) -> None:
    """The verify commands come from the hub: run them only once this machine approved that
    exact list (trust on first use, as for bootstrap steps); `yes` approves it."""
    if not commands:
        return
    common = ctx.ws.common_dir
    if yes:
        approvals.approve(common, commands, kind="verify")
        return
    config = ctx.ws.config(approvals.git_config_key("verify"))
    if not approvals.approved(
        common, commands, environ=os.environ, git_config=config, kind="verify"
    ):
        raise BadInput(
            f"the verify commands in _AGENTS/config.yaml are not approved here: "
            f"{'; '.join(commands)}",
            hint="read them, then run again with --yes to approve this exact list",
        )
