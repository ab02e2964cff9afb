"""`RemoteHub`: a hub on a server (git://, http(s)://, ssh://, [user@]host:path).

Commits are built in the local repository and pushed with git's own transport (`remotes`,
`network`): the lease names the old value and receive-pack checks it under the ref's lock. The
server's verdict per ref says whether we lost a race or were refused (`verdicts`); a push that
got no verdict at all is judged by looking at the hub (`RemoteHub._landed`).
"""

from __future__ import annotations

from git_sessions.edits import Change
from git_sessions.errors import GitFailure
from git_sessions.gitrepo.failures import git_errors
from git_sessions.gitrepo.snapshots import Snapshot
from git_sessions.gitrepo.trees import write_commit
from git_sessions.gitrepo.verdicts import NoVerdict
from git_sessions.gitrepo.workspace import Workspace

# pushes in a row that got no answer and did not land: past this, stop retrying and say so
UNANSWERED_LIMIT = 3


class RemoteHub:
    """A hub on a server: fetch to read; push with a lease (the compare-and-swap) to write."""

    def __init__(self, workspace: Workspace, remote: str, branch: str) -> None:
        self.ws = workspace
        self.objects = workspace.objects
        self.remote = remote
        self.branch = branch
        self.ref = f"refs/heads/{branch}"
        self.tracking = f"refs/remotes/{remote}/{branch}"
        self.unanswered = 0

    def tip(self) -> str | None:
        """Fetch main and return its commit (None if the hub has no main yet)."""
        return self.ws.fetch(self.remote, self.branch)

    def snapshot(self, commit: str | None) -> Snapshot:
        return Snapshot(self.ws.repo, commit)

    def commit(self, base: str | None, change: Change) -> str:
        with git_errors("building a commit"):
            return write_commit(self.ws.repo, base, change)

    def publish(self, base: str | None, new: str) -> bool:
        """Move main from `base` to `new`; False if main moved first (a lost race)."""
        return self.publish_refs([(self.ref, base, new)])

    def publish_refs(self, updates: list[tuple[str, str | None, str]]) -> bool:
        """Move every `ref` from `old` (None: must not exist) to `new` in one atomic push;
        False if any ref had moved (a lost race), GitFailure for any other refusal.

        One `git push --atomic --porcelain --force-with-lease=<ref>:<old>...`: the lease is
        the compare-and-swap (receive-pack checks it under the ref's lock), `--atomic` makes
        the refs move together. A push whose answer was lost is judged by the hub's refs."""
        try:
            ok = self.ws.push_refs(self.remote, [(ref, old, new) for ref, old, new in updates])
        except NoVerdict as error:
            ok = self._after_silence(error, [(ref, new) for ref, _, new in updates], retry=True)
        if ok:
            self.unanswered = 0
            self._track([(ref, new) for ref, _, new in updates])
        return ok

    def _after_silence(
        self, error: NoVerdict, wanted: list[tuple[str, str | None]], *, retry: bool
    ) -> bool:
        """The push got no verdict (connection cut, reply lost, timeout): the hub may have
        applied it. True if it did; with `retry`, False (try again on the fresh tip) a few
        times; else the error, saying the outcome is unknown."""
        try:
            landed = self._landed(wanted)
        except GitFailure:
            landed = None
        if landed:
            return True
        self.unanswered += 1
        if landed is False and retry and self.unanswered < UNANSWERED_LIMIT:
            return False  # it did not land: the caller rebuilds on the fresh tip
        raise GitFailure(
            error.message,
            hint=error.hint
            or "the hub's answer was lost; running the command again is safe (it does nothing"
            " twice)",
        ) from error

    def _landed(self, wanted: list[tuple[str, str | None]]) -> bool:
        """True if every ref holds our commit, or a commit built on it (someone was quicker
        to build on our update than we were to look), or is gone when we deleted it."""
        heads = self.ws.list_heads(self.remote)
        for ref, new in wanted:
            value = heads.get(ref)
            if value == new:
                continue
            if new is None or value is None:
                return False
            if not self.objects.has(value) and ref.startswith("refs/heads/"):
                tracking = f"refs/remotes/{self.remote}/{ref.removeprefix('refs/heads/')}"
                self.ws.fetch_refspecs(self.remote, [f"+{ref}:{tracking}"])
            if not (self.objects.has(value) and self.objects.is_ancestor(new, value)):
                return False
        return True

    def _track(self, moved: list[tuple[str, str | None]]) -> None:
        """Mirror what we moved on the hub in our remote-tracking refs."""
        with self.ws.lock():
            for ref, new in moved:
                if not ref.startswith("refs/heads/"):
                    continue
                tracking = f"refs/remotes/{self.remote}/{ref.removeprefix('refs/heads/')}"
                if new is None:
                    self.ws.delete_ref(tracking)
                else:
                    self.ws.set_ref(tracking, new)

    def peek(self) -> str | None:
        """main's commit on the hub from one ref listing, without fetching objects."""
        return self.ws.list_heads(self.remote).get(self.ref)

    def branch_times(self, prefix: str) -> dict[str, int]:
        """Commit time of every hub branch under refs/heads/<prefix> (fetched first)."""
        tracking = f"refs/remotes/{self.remote}/"
        self.ws.fetch_refspecs(
            self.remote, [f"+refs/heads/{prefix}*:{tracking}{prefix}*"], prune=True
        )
        heads = self.ws.list_heads(self.remote)
        return {
            ref: self.objects.info(oid).time
            for ref, oid in heads.items()
            if ref.startswith(f"refs/heads/{prefix}") and self.objects.has(oid)
        }

    def heads(self) -> dict[str, str]:
        return self.ws.list_heads(self.remote)

    def push_branch(self, remote: str, ref: str, tip: str) -> bool:
        """Push `tip` to the hub's `ref` without force; False if that is not a fast-forward
        (receive-pack checks the old value under its lock)."""
        try:
            return self.ws.push(remote, tip, ref)
        except NoVerdict as error:
            return self._after_silence(error, [(ref, tip)], retry=False)

    def delete_ref(self, ref: str, expected: str | None = None) -> bool:
        """Delete `ref` on the hub (only while it points at `expected`, when given)."""
        current = self.heads().get(ref)
        if current is None or (expected is not None and current != expected):
            return False
        try:  # the lease names the value we saw: receive-pack refuses if it moved since
            return self.ws.push_refs(self.remote, [(ref, current, None)])
        except NoVerdict as error:
            return self._after_silence(error, [(ref, None)], retry=False)
