"""The central mechanism: one commit built on the fresh tip of main, moved by compare-and-swap.

`update_main` fetches main, asks `build` for the change against that snapshot (so legality is
re-checked on every attempt), writes the commit and publishes it. A lost race retries with
jittered exponential backoff until `deadline` seconds have passed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from git_sessions.edits import Change, Move, Write
from git_sessions.errors import Conflict
from git_sessions.index import with_index
from git_sessions.layouts import refuse_moved
from git_sessions.protocol import ENDED_STATES, SESSIONS

# where an ending writes: only a change writing there can need an end record
_ENDED_FOLDERS = tuple(f"{SESSIONS}/{state}/" for state in ENDED_STATES)

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot


class Hub(Protocol):
    branch: str

    def tip(self) -> str | None: ...
    def snapshot(self, commit: str | None) -> Snapshot: ...
    def commit(self, base: str | None, change: Change) -> str: ...
    def publish(self, base: str | None, new: str) -> bool: ...


@dataclass(frozen=True)
class Published:
    commit: str  # the commit made (or the unchanged tip when there was nothing to do)
    base: str | None
    attempts: int
    changed: bool
    tip: str = ""  # main's new tip: `commit`, or the end record right after it (endrecord)


@dataclass(frozen=True)
class Timing:
    deadline: float = 30.0
    first_backoff: float = 0.005
    max_backoff: float = 0.25
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random


def backoff(attempt: int, timing: Timing) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(max, first * 2**attempt)]."""
    ceiling = min(timing.max_backoff, timing.first_backoff * (2**attempt))
    return float(ceiling * timing.jitter())


def _may_end(change: Change) -> bool:
    return any(
        (e.dst if isinstance(e, Move) else e.path).startswith(_ENDED_FOLDERS)
        for e in change.edits
        if isinstance(e, Move | Write)
    )


def update_main(
    hub: Hub,
    build: Callable[[Snapshot], Change | None],
    timing: Timing = Timing(),
    *,
    before_publish: Callable[[str], None] | None = None,
    claims: Mapping[str, str] | None = None,
) -> Published:
    """Publish the change `build` returns for the current main; retry lost races.

    `build` returning None means nothing to do (an idempotent repeat); its errors propagate.
    `before_publish` sees each commit about to be published (to record it durably first).
    A change that ends sessions is followed by their end record (endrecord.py), published
    with it by the same compare-and-swap; `claims` names their claim commits if known.
    """
    start = timing.clock()
    attempt = 0
    while True:
        attempt += 1
        base = hub.tip()
        snapshot = hub.snapshot(base)
        refuse_moved(snapshot, hub.branch)  # a clone that has not pulled since a migration
        change = build(snapshot)
        if change is None:
            return Published(base or "", base, attempt, changed=False)
        change = with_index(snapshot, change)  # INDEX.md follows every transition
        new = hub.commit(base, change)
        record = None
        if _may_end(change):
            from git_sessions import endrecord  # only for endings: claims never import it

            record = endrecord.following(change, snapshot, hub.snapshot(new), claims)
        tip = new if record is None else hub.commit(new, record)
        if before_publish is not None:
            before_publish(new)
        if hub.publish(base, tip):
            return Published(new, base, attempt, changed=True, tip=tip)
        if timing.clock() - start > timing.deadline:
            raise Conflict(
                f"lost the race for main {attempt} times in {timing.deadline:.0f}s",
                hint="the hub is very busy; try again",
            )
        timing.sleep(backoff(attempt - 1, timing))  # the first retry waits up to first_backoff
