"""`check`: each invariant of DESIGN.md section 1, broken on a real main and detected.

Bad mains are made the way a careless agent would make them: with the git CLI in a clone,
pushed to the hub (`push_files`), or as in-memory commits published on the hub by gitrepo.
Claims are hand-crafted the way `claim` makes them: one commit that moves planned/<slug> to
active/<slug> and adds the lock line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Hub, cli, cli_error, git, push_files, run_process

from git_sessions import sessionenv
from git_sessions.check import Violation, check, session_slug_of
from git_sessions.edits import Change, Identity, Move, Write
from git_sessions.gitrepo import LocalHub
from git_sessions.protocol import KNOWLEDGE, LOCK_FILE, SESSIONS

Capsys = pytest.CaptureFixture[str]
PLAN = "---\ntitle: t\n---\n# plan\n"
WHO = Identity("Check Agent", "check@example.com")


def violations(hub: Hub, *, deep: bool = False) -> list[Violation]:
    local = LocalHub(hub.hub, "main")
    return check(local.snapshot(local.tip()), deep=deep)


def rules(hub: Hub, *, deep: bool = False) -> list[str]:
    return [v.rule for v in violations(hub, deep=deep)]


def planned(hub: Hub, words: str, capsys: Capsys) -> str:
    """A planned session made by the CLI; its slug."""
    code, out, err = cli(hub.repo, "new", words, "--date", "2025-10-14", capsys=capsys)
    assert code == 0, err
    slug = out.strip()
    assert cli(hub.repo, "ready", slug, capsys=capsys)[0] == 0
    return slug


def claim_by_hand(hub: Hub, slug: str, *, lock_line: bool = True) -> str:
    """Claim `slug` in one commit with the git CLI; the claim commit."""
    git(hub.repo, "pull", "-q", "--ff-only")
    git(hub.repo, "mv", f"{SESSIONS}/planned/{slug}", f"{SESSIONS}/active/{slug}")
    if lock_line:
        with (hub.repo / LOCK_FILE).open("a") as lock:
            lock.write(f"{slug}:1760400000\n")
        git(hub.repo, "add", LOCK_FILE)
    env = f"{SESSIONS}/active/{slug}/.session-env"
    who = Identity("Test Agent", "agent@example.com")  # the sealed git identity: the claimer
    (hub.repo / env).write_text(sessionenv.render(sessionenv.make(slug, who, "/w/x", 20000)))
    git(hub.repo, "add", env)
    git(hub.repo, "commit", "-qm", f"[{slug}] chore: claim session")
    git(hub.repo, "push", "-q", "origin", "HEAD:main")
    return git(hub.repo, "rev-parse", "HEAD").strip()


def test_a_fresh_main_passes(hub: Hub, capsys: Capsys) -> None:
    code, out, err = cli(hub.repo, "check", capsys=capsys)
    assert (code, err) == (0, "")
    assert out == f"ok: main {hub.main()[:10]} satisfies every invariant\n"
    code, out, _ = cli(hub.repo, "check", "--json", capsys=capsys)
    assert code == 0
    assert json.loads(out) == {
        "schema": "git-sessions/check/v1",
        "ok": True,
        "main": hub.main(),
        "violations": [],
    }


def test_a_busy_but_correct_main_passes(hub: Hub, capsys: Capsys) -> None:
    first = planned(hub, "first", capsys)
    second = planned(hub, "second", capsys)
    planned(hub, "third", capsys)
    claim_by_hand(hub, first)
    claim_by_hand(hub, second)
    push_files(
        hub.repo,
        {
            f"{KNOWLEDGE}/sessions/{first}/learnings.md": "learned\n",
            f"{SESSIONS}/active/{first}/worklog.md": "progress\n",
        },
        f"[{first}] docs: learnings",
    )
    push_files(hub.repo, {f"{KNOWLEDGE}/guide.md": "guide\n"}, "[kb-2025-10-14-merge-x] docs: kb")
    assert violations(hub) == []
    assert cli(hub.repo, "check", capsys=capsys)[0] == 0


def test_a_claim_made_by_the_cli_passes(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, "claimed", capsys)
    code, _, err = cli(hub.repo, "claim", slug, "--no-worktree", capsys=capsys)
    assert code == 0, err
    assert violations(hub) == []
    assert cli(hub.repo, "check", capsys=capsys)[0] == 0


def test_slug_in_two_states(hub: Hub, capsys: Capsys) -> None:
    slug = "2025-10-14-twice"
    push_files(
        hub.repo,
        {
            f"{SESSIONS}/drafting/{slug}/SESSION.md": PLAN,
            f"{SESSIONS}/planned/{slug}/SESSION.md": PLAN,
        },
        "copy instead of move",
    )
    assert violations(hub) == [
        Violation("one-state", f"{slug} is in several states: drafting, planned")
    ]
    code, out, _ = cli(hub.repo, "check", capsys=capsys)
    assert code == 3
    assert out == f"one-state: {slug} is in several states: drafting, planned\n"
    err = cli_error(hub, "check", code=3, capsys=capsys)
    assert err == "error: 1 invariant violation(s) on main\n"


def test_slug_in_two_states_made_in_memory(hub: Hub) -> None:
    local = LocalHub(hub.hub, "main")
    base = local.tip()
    slug = "2025-10-14-dup"
    edits = (
        Write(f"{SESSIONS}/planned/{slug}/SESSION.md", PLAN.encode()),
        Write(f"{SESSIONS}/completed/{slug}/SESSION.md", PLAN.encode()),
    )
    assert local.publish(base, local.commit(base, Change(edits, "in memory", WHO)))
    assert rules(hub) == ["one-state"]


def test_lock_line_without_an_active_session(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, "ghost", capsys)
    push_files(hub.repo, {LOCK_FILE: f"{slug}:1760400000\n"}, "lock without the move")
    assert violations(hub) == [Violation("lock", f"{slug} is in sessions.lock but not active")]
    cli_error(hub, "check", code=3, capsys=capsys)


def test_active_session_missing_from_the_lock(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, "unlocked", capsys)
    claim_by_hand(hub, slug, lock_line=False)
    assert violations(hub) == [
        Violation("lock", f"active session {slug} is missing from sessions.lock")
    ]
    cli_error(hub, "check", code=3, capsys=capsys)


@pytest.mark.parametrize(
    "line", ["garbage", "2025-10-14-x", "2025-10-14-x:soon", "../../etc:1", "2025-10-14-x 1"]
)
def test_malformed_lock_line(hub: Hub, capsys: Capsys, line: str) -> None:
    push_files(hub.repo, {LOCK_FILE: f"{line}\n"}, "bad lock")
    assert violations(hub) == [Violation("lock", f"malformed line in sessions.lock: {line!r}")]
    cli_error(hub, "check", code=3, capsys=capsys)


def test_lock_line_listed_twice(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, "double", capsys)
    claim_by_hand(hub, slug)
    push_files(hub.repo, {LOCK_FILE: f"{slug}:1\n{slug}:2\n"}, "double lock")
    assert violations(hub) == [Violation("lock", f"{slug} is listed 2 times in sessions.lock")]


def test_plan_changed_after_its_claim(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, "frozen", capsys)
    claim = claim_by_hand(hub, slug)
    assert violations(hub) == []
    plan = f"{SESSIONS}/active/{slug}/SESSION.md"
    push_files(hub.repo, {plan: PLAN + "- [ ] moved the goalposts\n"}, f"[{slug}] docs: edit")
    message = f"SESSION.md of active session {slug} changed since its claim"
    assert violations(hub) == [Violation("frozen-plan", message, claim)]
    code, out, _ = cli(hub.repo, "check", "--json", capsys=capsys)
    assert code == 3
    data = json.loads(out)
    assert data["ok"] is False
    assert data["violations"] == [
        {
            "rule": "frozen-plan",
            "message": message,
            "commit": claim,
        }
    ]


def test_plan_restored_to_its_claimed_bytes_passes(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, "restored", capsys)
    claim_by_hand(hub, slug)
    plan = f"{SESSIONS}/active/{slug}/SESSION.md"
    original = (hub.repo / plan).read_text()
    push_files(hub.repo, {plan: "changed\n"}, "edit")
    push_files(hub.repo, {plan: original}, "revert")
    assert violations(hub) == []


def test_a_plan_edited_between_two_claims_is_frozen_from_the_second(
    hub: Hub, capsys: Capsys
) -> None:
    slug = planned(hub, "reclaimed", capsys)
    claim_by_hand(hub, slug)
    local = LocalHub(hub.hub, "main")
    base = local.tip()
    release = Change(
        (
            Move(f"{SESSIONS}/active/{slug}", f"{SESSIONS}/planned/{slug}"),
            Write(LOCK_FILE, b""),
            Write(f"{SESSIONS}/planned/{slug}/SESSION.md", b"---\ntitle: reworked\n---\n"),
        ),
        f"[{slug}] chore: release session",
        WHO,
    )
    assert local.publish(base, local.commit(base, release))
    claim_by_hand(hub, slug)
    assert violations(hub) == []


def test_knowledge_changed_outside_a_kb_session(hub: Hub, capsys: Capsys) -> None:
    bad = push_files(
        hub.repo, {f"{KNOWLEDGE}/guide.md": "my opinion\n"}, "[2025-10-14-x] docs: kb edit"
    )
    assert violations(hub) == [
        Violation(
            "knowledge",
            f"{KNOWLEDGE}/guide.md changed outside a kb- session ([2025-10-14-x] docs: kb edit)",
            bad,
        )
    ]
    err = cli_error(hub, "check", code=3, capsys=capsys)
    assert err == "error: 1 invariant violation(s) on main\n"
    # The violation stays in history: a later fix by a kb- session does not erase it, and
    # `check --deep` finds it there; the default check judges only the latest commit.
    push_files(hub.repo, {f"{KNOWLEDGE}/guide.md": None}, "[kb-2025-10-14-undo] docs: undo")
    assert rules(hub, deep=True) == ["knowledge"]
    assert rules(hub) == []
    assert cli(hub.repo, "check", capsys=capsys)[0] == 0
    err = cli_error(hub, "check", "--deep", code=3, capsys=capsys)
    assert err == "error: 1 invariant violation(s) on main\n"


@pytest.mark.parametrize(
    "message", ["no brackets at all", "[kb-] docs: not a slug", "[2025-10-14-kb-x] docs: x"]
)
def test_only_a_kb_slug_may_change_knowledge(hub: Hub, message: str) -> None:
    push_files(hub.repo, {f"{KNOWLEDGE}/topic.md": "x\n"}, message)
    assert rules(hub) == ["knowledge"]


def test_knowledge_readme_is_protected_after_init(hub: Hub) -> None:
    push_files(hub.repo, {f"{KNOWLEDGE}/README.md": "rewritten\n"}, "[2025-10-14-x] docs: readme")
    assert rules(hub) == ["knowledge"]


def test_session_learnings_are_free(hub: Hub) -> None:
    push_files(
        hub.repo,
        {f"{KNOWLEDGE}/sessions/2025-10-14-x/learnings.md": "learned\n"},
        "[2025-10-14-x] docs: learnings",
    )
    assert violations(hub) == []


def test_invalid_folder_names_and_missing_plans(hub: Hub) -> None:
    push_files(
        hub.repo,
        {
            f"{SESSIONS}/planned/Not-A-Slug/SESSION.md": PLAN,
            f"{SESSIONS}/completed/2025-10-14-empty/notes.md": "no plan\n",
        },
        "mess",
    )
    assert violations(hub) == [
        Violation("slug", "planned/Not-A-Slug is not a valid session slug"),
        Violation("layout", "completed/2025-10-14-empty has no SESSION.md"),
    ]


def test_a_main_without_the_scaffold_fails(plain: Hub, capsys: Capsys) -> None:
    assert violations(plain) == [
        Violation("layout", f"{LOCK_FILE} is missing (run: git sessions init)")
    ]
    cli_error(plain, "check", code=3, capsys=capsys)


def test_every_violation_is_reported_at_once(hub: Hub, capsys: Capsys) -> None:
    push_files(
        hub.repo,
        {
            LOCK_FILE: "garbage\n2025-10-14-ghost:1\n",
            f"{SESSIONS}/drafting/2025-10-14-d/SESSION.md": PLAN,
            f"{SESSIONS}/planned/2025-10-14-d/SESSION.md": PLAN,
            f"{KNOWLEDGE}/x.md": "x\n",
        },
        "everything wrong",
    )
    assert sorted(rules(hub)) == ["knowledge", "lock", "lock", "one-state"]
    code, out, err = cli(hub.repo, "check", capsys=capsys)
    assert code == 3
    assert len(out.splitlines()) == 4
    assert err == "error: 4 invariant violation(s) on main\n"


@pytest.mark.parametrize(
    ("message", "slug"),
    [
        ("[2025-10-14-x] chore: claim session", "2025-10-14-x"),
        ("[kb-2025-10-14-y] docs: merge\n\nbody", "kb-2025-10-14-y"),
        ("no slug here", None),
        ("", None),
    ],
)
def test_session_slug_of(message: str, slug: str | None) -> None:
    assert session_slug_of(message) == slug


def test_a_claim_commit_that_edits_the_plan_is_caught(hub: Hub, capsys: Capsys) -> None:
    slug = planned(hub, "sneaky", capsys)
    git(hub.repo, "pull", "-q", "--ff-only")
    git(hub.repo, "mv", f"{SESSIONS}/planned/{slug}", f"{SESSIONS}/active/{slug}")
    (hub.repo / f"{SESSIONS}/active/{slug}/SESSION.md").write_text(PLAN)
    with (hub.repo / LOCK_FILE).open("a") as lock:
        lock.write(f"{slug}:1760400000\n")
    git(hub.repo, "add", "-A")
    git(hub.repo, "commit", "-qm", f"[{slug}] chore: claim session")
    git(hub.repo, "push", "-q", "origin", "HEAD:main")
    found = [v for v in violations(hub) if v.rule != "session-env"]  # no env: made by hand
    assert [v.rule for v in found] == ["frozen-plan"]
    assert "edited by the commit that claimed it" in found[0].message


def test_knowledge_history_before_init_is_not_judged(tmp_path: Path) -> None:
    hub_path, repo = tmp_path / "hub.git", tmp_path / "repo"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(hub_path))
    git(tmp_path, "clone", "-q", str(hub_path), str(repo))
    (repo / KNOWLEDGE).mkdir(parents=True)
    (repo / KNOWLEDGE / "old.md").write_text("written before git-sessions\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "seed-era knowledge")
    git(repo, "push", "-q", "origin", "main")
    assert run_process(repo, "init").returncode == 0
    result = run_process(repo, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_rev_verifies_a_local_commit(hub: Hub, capsys: Capsys) -> None:
    """What a repository's own CI runs: the commit under test, no hub involved."""
    code, out, _ = cli(hub.repo, "check", "--rev", "HEAD", capsys=capsys)
    assert code == 0 and out.startswith("ok: HEAD ")
    git(hub.repo, "rm", "-q", LOCK_FILE)
    git(hub.repo, "commit", "-qm", "break it locally")
    assert cli(hub.repo, "check", "--rev", "HEAD", capsys=capsys)[0] == 3
    assert cli(hub.repo, "check", capsys=capsys)[0] == 0  # the hub is untouched
    err = cli_error(hub, "check", "--rev", "no-such-rev", code=1, capsys=capsys)
    assert "no commit" in err


def test_default_check_reads_no_history_yet_catches_a_plan_edit(
    hub: Hub, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = planned(hub, "marked", capsys)
    plan_id = git(hub.hub, "rev-parse", f"main:{SESSIONS}/planned/{slug}/SESSION.md").strip()
    assert cli(hub.repo, "claim", slug, "--no-worktree", capsys=capsys)[0] == 0
    marker = git(hub.hub, "show", f"main:{SESSIONS}/active/{slug}/.claim")
    env_id = git(hub.hub, "rev-parse", f"main:{SESSIONS}/active/{slug}/.session-env").strip()
    base = git(hub.hub, "rev-parse", "main~1").strip()
    assert marker == f"base {base}\nplan {plan_id}\nenv {env_id}\n"
    for n in range(3):  # history after the claim that a walk would have to cross
        push_files(hub.repo, {f"notes/{n}.md": "x\n"}, f"note {n}")
    plan = f"{SESSIONS}/active/{slug}/SESSION.md"
    push_files(hub.repo, {plan: PLAN + "- [ ] moved the goalposts\n"}, f"[{slug}] docs: edit")
    from git_sessions.gitrepo import objects

    steps: list[str | None] = []
    parent = objects.Snapshot.parent

    def counted(self: objects.Snapshot) -> objects.Snapshot | None:
        steps.append(self.commit)
        return parent(self)

    with monkeypatch.context() as patch:
        patch.setattr(objects.Snapshot, "parent", counted)
        found = violations(hub)
    assert len(steps) <= 1, "the default check walked main's history"  # the tip's own diff
    message = f"SESSION.md of active session {slug} changed since its claim"
    assert found == [Violation("frozen-plan", message)]
    assert [v.message for v in violations(hub, deep=True)] == [message]


def test_a_marked_claim_that_edits_the_plan_is_caught_without_history(
    hub: Hub, capsys: Capsys
) -> None:
    slug = planned(hub, "sneaky", capsys)
    local = LocalHub(hub.hub, "main")
    base = local.tip()
    claim = Change(
        (
            Move(f"{SESSIONS}/planned/{slug}", f"{SESSIONS}/active/{slug}"),
            Write(LOCK_FILE, f"{slug}:1760400000\n".encode()),
            Write(f"{SESSIONS}/active/{slug}/.claim", f"base {base}\n".encode()),
            Write(f"{SESSIONS}/active/{slug}/SESSION.md", b"---\ntitle: easier\n---\n"),
        ),
        f"[{slug}] chore: claim session",
        WHO,
    )
    assert local.publish(base, local.commit(base, claim))
    # (hand-made, the claim also lacks the .session-env a claim writes)
    assert rules(hub) == ["frozen-plan", "session-env"]
    assert "edited by the commit that claimed it" in violations(hub, deep=True)[0].message
    # a marker naming a commit the hub does not have is reported, not a crash
    bogus = Change(
        (Write(f"{SESSIONS}/active/{slug}/.claim", b"base " + b"1" * 40 + b"\n"),), "x", WHO
    )
    tip = local.tip()
    assert local.publish(tip, local.commit(tip, bogus))
    assert "unknown commit" in violations(hub)[0].message
