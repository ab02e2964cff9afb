"""publish.update_main: build on the fresh tip, publish by compare-and-swap, retry lost races.

The loop is pure over a hub object, so most tests drive it with a scripted fake hub and an
injected clock, sleep and jitter; the last ones race against a real bare hub.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from git_sessions import gitrepo, transitions
from git_sessions.edits import Change, Identity, Write
from git_sessions.errors import Conflict, GitFailure
from git_sessions.gitrepo import LocalHub
from git_sessions.publish import Published, Timing, backoff, update_main

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot

WHO = Identity("Publish Agent", "publish@example.com")


@dataclass
class FakeSnapshot:
    commit: str | None

    def listdir(self, path: str) -> list[str]:
        return []

    def is_dir(self, path: str) -> bool:
        return True  # _AGENTS/sessions is there: the protocol has not moved away

    def text(self, path: str) -> str | None:
        return None

    def read(self, path: str) -> bytes | None:
        return None


@dataclass
class FakeHub:
    """A hub whose main a rival moves just before each of our first `rivals` publishes."""

    main: str | None = "c0"
    rivals: int = 0
    branch: str = "main"
    commits: dict[str, tuple[str | None, Change]] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)

    def tip(self) -> str | None:
        return self.main

    def snapshot(self, commit: str | None) -> FakeSnapshot:
        return FakeSnapshot(commit)

    def commit(self, base: str | None, change: Change) -> str:
        new = f"ours{len(self.commits) + 1}"
        self.commits[new] = (base, change)
        return new

    def publish(self, base: str | None, new: str) -> bool:
        if self.rivals:
            self.rivals -= 1
            self.main = f"rival{self.rivals}"
        if self.main != base:
            return False
        self.main = new
        self.published.append(new)
        return True


@dataclass
class Clock:
    """Time that passes only when someone sleeps."""

    now: float = 100.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def timing(self, *, deadline: float = 30.0, jitter: float = 0.5) -> Timing:
        return Timing(deadline=deadline, sleep=self.sleep, clock=self.clock, jitter=lambda: jitter)


def a_change(snap: Snapshot) -> Change:
    return Change((Write("f", str(snap.commit).encode()),), "[x] chore: test", WHO)


class Builds:
    """A build function that records the snapshot of every attempt."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []

    def __call__(self, snap: Snapshot) -> Change | None:
        self.seen.append(snap.commit)
        return a_change(snap)


def test_publishes_at_once_without_a_race() -> None:
    hub, clock, build = FakeHub(), Clock(), Builds()
    result = update_main(hub, build, clock.timing())
    assert result == Published("ours1", "c0", attempts=1, changed=True, tip="ours1")
    assert hub.main == "ours1"
    assert build.seen == ["c0"]
    assert clock.sleeps == []


def test_retries_after_lost_races_with_backoff() -> None:
    hub, clock, build = FakeHub(rivals=3), Clock(), Builds()
    result = update_main(hub, build, clock.timing(jitter=0.5))
    assert result.attempts == 4 and result.changed
    # Every attempt builds on the tip it just read, never on a stale one.
    assert build.seen == ["c0", "rival2", "rival1", "rival0"]
    assert [base for base, _ in hub.commits.values()] == build.seen
    assert hub.main == result.commit == "ours4" and result.base == "rival0"
    assert hub.published == ["ours4"]
    # Full jitter over 5 ms * 2**(retry - 1): half of 5, 10 and 20 ms.
    assert clock.sleeps == pytest.approx([0.0025, 0.005, 0.01])


def test_build_runs_again_so_legality_is_rechecked() -> None:
    hub, clock = FakeHub(rivals=1), Clock()

    def build(snap: Snapshot) -> Change:
        if snap.commit != "c0":  # the rival's commit made our move illegal
            raise Conflict("session x is planned; it cannot move to planned")
        return a_change(snap)

    with pytest.raises(Conflict, match="cannot move"):
        update_main(hub, build, clock.timing())
    assert hub.main == "rival0"
    assert hub.published == []
    assert len(clock.sleeps) == 1


def test_nothing_to_do_after_a_lost_race() -> None:
    hub, clock = FakeHub(rivals=1), Clock()
    calls: list[str | None] = []

    def build(snap: Snapshot) -> Change | None:
        calls.append(snap.commit)
        return a_change(snap) if snap.commit == "c0" else None  # the rival did our work

    result = update_main(hub, build, clock.timing())
    assert result == Published("rival0", "rival0", attempts=2, changed=False)
    assert calls == ["c0", "rival0"]
    assert hub.main == "rival0"


def test_nothing_to_do_makes_no_commit() -> None:
    hub = FakeHub()
    result = update_main(hub, lambda snap: None, Clock().timing())
    assert result == Published("c0", "c0", attempts=1, changed=False)
    assert hub.commits == {}


def test_first_commit_on_an_empty_hub() -> None:
    hub, build = FakeHub(main=None), Builds()
    result = update_main(hub, build, Clock().timing())
    assert build.seen == [None]
    assert result.base is None and hub.main == result.commit


def test_gives_up_with_conflict_after_the_deadline() -> None:
    hub, clock, build = FakeHub(rivals=10**6), Clock(), Builds()
    with pytest.raises(Conflict) as info:
        update_main(hub, build, clock.timing(deadline=1.0, jitter=1.0))
    assert info.value.exit_code == 3
    assert info.value.hint
    # Sleeps double from 5 ms up to the 250 ms cap; the loop stops at the first lost race
    # found more than a second after it started.
    assert clock.sleeps == pytest.approx([0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.25, 0.25, 0.25])
    assert sum(clock.sleeps[:-1]) <= 1.0 < sum(clock.sleeps)
    assert len(build.seen) == 10
    assert "10 times" in info.value.message
    assert hub.published == []


def test_zero_deadline_still_tries_once() -> None:
    hub, clock = FakeHub(rivals=1), Clock()
    with pytest.raises(Conflict):
        update_main(hub, Builds(), Timing(deadline=-1, sleep=clock.sleep, clock=clock.clock))
    assert clock.sleeps == []


def test_git_failures_are_not_retried() -> None:
    class Broken(FakeHub):
        def publish(self, base: str | None, new: str) -> bool:
            raise GitFailure("updating the hub's main: disk full")

    clock, build = Clock(), Builds()
    with pytest.raises(GitFailure):
        update_main(Broken(), build, clock.timing())
    assert build.seen == ["c0"] and clock.sleeps == []


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [(1, 1.0, 0.01), (2, 1.0, 0.02), (5, 1.0, 0.16), (6, 1.0, 0.25), (50, 1.0, 0.25), (3, 0, 0)],
)
def test_backoff(attempt: int, jitter: float, expected: float) -> None:
    assert backoff(attempt, Timing(jitter=lambda: jitter)) == pytest.approx(expected)


def test_default_jitter_stays_within_the_ceiling() -> None:
    values = [backoff(3, Timing()) for _ in range(200)]
    assert all(0 <= v <= 0.04 for v in values)
    assert len(set(values)) > 1


# --------------------------------------------------------------------------- a real hub

S = "_AGENTS/sessions"


@pytest.fixture
def real(tmp_path: Path) -> LocalHub:
    gitrepo.init_bare(tmp_path / "hub.git", "main")
    hub = LocalHub(tmp_path / "hub.git", "main")
    root = hub.commit(
        None,
        Change((Write(f"{S}/drafting/2025-10-14-x/SESSION.md", b"---\n---\n"),), "seed", WHO),
    )
    assert hub.publish(None, root)
    return hub


def test_a_real_lost_race_is_retried_on_the_new_tip(real: LocalHub) -> None:
    rival = LocalHub(real.path, "main")  # another agent, with its own handle on the hub
    clock = Clock()
    seen: list[list[str]] = []

    def build(snap: Snapshot) -> Change:
        seen.append(snap.listdir(""))
        if len(seen) == 1:  # a rival publishes between our read and our publish
            base = rival.tip()
            assert rival.publish(
                base, rival.commit(base, Change((Write("rival", b"r"),), "r", WHO))
            )
        return Change((Write("ours", b"o"),), "ours", WHO)

    result = update_main(real, build, clock.timing())
    assert result.attempts == 2 and len(clock.sleeps) == 1
    assert seen == [["_AGENTS"], ["_AGENTS", "rival"]]
    assert real.snapshot(real.tip()).listdir("") == ["_AGENTS", "ours", "rival"]


def test_a_real_race_for_the_same_move_is_a_conflict(real: LocalHub) -> None:
    rival = LocalHub(real.path, "main")
    slug = "2025-10-14-x"
    attempts = 0

    def build(snap: Snapshot) -> Change:
        nonlocal attempts
        attempts += 1
        if attempts == 1:  # the rival readies the same session first
            base = rival.tip()
            change = transitions.move(rival.snapshot(base), slug, "planned", WHO)
            assert rival.publish(base, rival.commit(base, change))
        return transitions.move(snap, slug, "planned", WHO)

    before = real.tip()
    with pytest.raises(Conflict, match="is planned"):
        update_main(real, build, Clock().timing())
    assert attempts == 2
    after = real.snapshot(real.tip())
    assert after.parent() is not None and after.parent().commit == before  # type: ignore[union-attr]
    assert after.listdir(f"{S}/planned") == [slug]
