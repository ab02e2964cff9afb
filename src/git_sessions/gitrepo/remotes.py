"""The transport part of `Workspace`: fetch, ref listing and push, never under its lock.

A remote on this filesystem (a path or file://) goes through libgit2 in-process: fast, and no
user setting applies to it. A remote on a server goes through the git CLI (`network`), so the
user's ssh, credential, proxy and CA settings all apply and every call has a limit; a push
there reports the server's verdict per ref (`verdicts`).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pygit2

from git_sessions.errors import GitFailure
from git_sessions.gitrepo.network import (
    BEFORE_SENDING,
    TIMEOUT_HINT,
    Network,
    Run,
    is_local_url,
    kind_of,
)
from git_sessions.gitrepo.network import failure as network_failure
from git_sessions.gitrepo.refs import REF_RETRIES, pause, ref_contention
from git_sessions.gitrepo.transport import LOST_RACE, Callbacks, clear_stale_lock
from git_sessions.gitrepo.verdicts import NoVerdict, judge, parse

# a ref update in our own clone collided with a concurrent fetch (the objects are in by then)
_LOCAL_LOCK = re.compile(r"cannot lock ref|unable to create .*\.lock", re.IGNORECASE)

# Our protocol pushes are ours alone: the clone's pre-push hook (it may run a test suite),
# push.followTags, push.gpgSign and submodule recursion never apply to them.
_PUSH = ["push", "--porcelain", "--no-verify", "--no-follow-tags", "--no-signed"]
_PUSH += ["--no-recurse-submodules"]

Update = tuple[str, str | None, str | None]  # ref, old (None: must not exist), new (None: delete)


class Remotes:
    """Fetch, list and push; what `Workspace` needs from its repository is declared here."""

    repo: pygit2.Repository
    common_dir: Path
    timeout: float

    def _config_value(self, key: str) -> str | None:
        try:
            return str(self.repo.config[key])
        except (KeyError, pygit2.GitError):
            return None

    def _url(self, remote: str, *, push: bool = False) -> str:
        try:
            found = self.repo.remotes[remote]
        except (KeyError, ValueError):
            raise GitFailure(f"this repository has no remote {remote!r}") from None
        return str((found.push_url if push else None) or found.url)

    def on_network(self, remote: str) -> bool:
        """True if `remote` is a server (reached through the git CLI), not a local path."""
        return not is_local_url(self._url(remote))

    def network(self) -> Network:
        """How git's own transport runs for this repository (its limit, its settings)."""
        return Network(self.common_dir, self.timeout, self._config_value)

    def _git(self, args: list[str], url: str, rest: list[str]) -> Run:
        """`git args... url rest...` through the network runner."""
        return self.network().run(*args, url, *rest, url=url)

    def fetch(self, remote: str, branch: str) -> str | None:
        """Fetch `branch` into refs/remotes/<remote>/<branch>; its commit, or None if absent."""
        tracking = f"refs/remotes/{remote}/{branch}"
        clear_stale_lock(self.common_dir / f"{tracking}.lock")
        self.fetch_refspecs(remote, [f"+refs/heads/{branch}:{tracking}"])
        found = self.repo.references.get(tracking)
        return str(found.target) if found is not None else None

    def fetch_refspecs(self, remote: str, specs: list[str], *, prune: bool = False) -> None:
        """Fetch with explicit refspecs into remote-tracking refs.

        Concurrent fetches in one clone can collide on a tracking ref's lock file; the objects
        are in by then, so the loser simply fetches again (cheap: nothing left to download).
        """
        action = f"fetching from {remote}"
        network = self.on_network(remote)
        for attempt in range(REF_RETRIES):
            began = time.monotonic()
            if network:
                # a branch the hub lacks is not an error for us (it reads as None)
                args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"]
                args += ["--no-auto-maintenance", "--no-recurse-submodules"]
                args += ["--prune"] if prune else []
                run = self._git(args, self._url(remote), specs)
                if run.code == 0 or _missing_branch(run.err):
                    return
                if not _LOCAL_LOCK.search(run.err) or attempt == REF_RETRIES - 1:
                    raise network_failure(action, run, self.timeout)
            else:
                prunes = pygit2.enums.FetchPrune
                mode = prunes.PRUNE if prune else prunes.UNSPECIFIED
                try:
                    self.repo.remotes[remote].fetch(specs, callbacks=Callbacks(), prune=mode)
                    return
                except (pygit2.GitError, OSError) as exc:
                    if not ref_contention(exc) or attempt == REF_RETRIES - 1:
                        raise self._local_error(action, exc, began) from exc
            pause(attempt + 1)

    def list_heads(self, remote: str) -> dict[str, str]:
        """The hub's refs/heads/* -> commit, from one fresh connection (a cheap ref check)."""
        action = f"listing refs on {remote}"
        if self.on_network(remote):
            run = self._git(["ls-remote", "--heads"], self._url(remote), [])
            if run.code != 0:
                raise network_failure(action, run, self.timeout)
            heads = {}
            for line in run.out.split("\n"):
                oid, _, ref = line.partition("\t")
                if ref.startswith("refs/heads/") and len(oid) == 40:
                    heads[ref] = oid
            return heads
        with self._local(action):
            fresh = self.repo.remotes[remote]  # a fresh object: reused ones return stale heads
            heads_ = fresh.list_heads(callbacks=Callbacks())
            return {
                str(h.name): str(h.oid) for h in heads_ if str(h.name).startswith("refs/heads/")
            }

    def push(self, remote: str, commit: str, ref: str, *, force: bool = False) -> bool:
        """Push `commit` to `ref`; True if the hub updated it, False if it refused it as not a
        fast-forward (a lost race). Any other refusal is a GitFailure with the hub's words;
        NoVerdict if the answer never came (the push may have landed)."""
        spec = f"{'+' if force else ''}{commit}:{ref}"
        if self.on_network(remote):
            return self._push_cli(remote, [spec], [ref], f"pushing to {remote}")
        callbacks = Callbacks()
        began = time.monotonic()
        try:
            self.repo.remotes[remote].push([spec], callbacks=callbacks)
        except pygit2.GitError as exc:
            if LOST_RACE.search(str(exc)):
                return False
            raise self._local_error(f"pushing to {remote}", exc, began) from exc
        except OSError as exc:
            raise self._local_error(f"pushing to {remote}", exc, began) from exc
        return ref in callbacks.statuses and callbacks.statuses[ref] is None

    def push_refs(self, remote: str, updates: list[Update]) -> bool:
        """Move every ref from its old value (None: must not exist) to its new one (None:
        delete) in one push to a server, all or nothing (`--atomic` for several refs). The
        leases are the compare-and-swap: False if any ref had moved."""
        leases = [f"--force-with-lease={ref}:{old or ''}" for ref, old, _ in updates]
        specs = [f"{new or ''}:{ref}" for ref, _, new in updates]
        atomic = ["--atomic"] if len(updates) > 1 else []
        refs = [ref for ref, _, _ in updates]
        return self._push_cli(remote, specs, refs, f"pushing to {remote}", *atomic, *leases)

    def _push_cli(
        self, remote: str, specs: list[str], refs: list[str], action: str, *options: str
    ) -> bool:
        run = self._git([*_PUSH, *options], self._url(remote, push=True), specs)
        verdicts = parse(run.out)
        if run.code == 0 and all(ref in verdicts for ref in refs):
            return all(verdicts[ref].ok for ref in refs)
        if any(ref in verdicts for ref in refs):
            return judge(verdicts, refs, run.err, action)
        failed = network_failure(action, run, self.timeout)
        if kind_of(run.err) in BEFORE_SENDING and not run.timed_out:
            raise failed  # refused before anything was sent: nothing can have landed
        raise NoVerdict(failed.message, hint=failed.hint)

    def delete_remote_branch(self, remote: str, ref: str) -> bool:
        """Delete `ref` on the hub; True if the hub reported it deleted."""
        if self.on_network(remote):
            return self._push_cli(remote, [f":{ref}"], [ref], f"deleting {ref} on {remote}")
        callbacks = Callbacks()
        with self._local(f"deleting {ref} on {remote}"):
            self.repo.remotes[remote].push([f":{ref}"], callbacks=callbacks)
        return callbacks.statuses.get(ref, "missing") is None

    def _local_error(self, action: str, exc: Exception, began: float) -> GitFailure:
        hint = None
        text = str(exc)
        if "timed out" not in text.lower() and time.monotonic() - began >= 0.9 * self.timeout:
            # a read cut short by the timeout is not always reported as one ("could not read
            # refs"): the clock says what happened
            text = f"timed out ({text})"
        if "timed out" in text.lower():
            hint = TIMEOUT_HINT.format(seconds=self.timeout)
        return GitFailure(f"{action}: {text}", hint=hint)

    @contextlib.contextmanager
    def _local(self, action: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        except (pygit2.GitError, OSError) as exc:
            raise self._local_error(action, exc, began) from exc


def _missing_branch(err: str) -> bool:
    """git's complaint that a refspec's source does not exist on the hub."""
    return "couldn't find remote ref" in err.lower()
