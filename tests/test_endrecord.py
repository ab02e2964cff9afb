"""The end record (`.ended`): written right after every ending in the same compare-and-swap,
read in O(1) by status and history, with the same result as the walk it replaces."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import Hub, add_planned, age_claims, cli, git, push_files, run_process

from git_sessions import endrecord
from git_sessions.endrecord import EndRecord, parse_record, record_text
from git_sessions.gitrepo import Snapshot
from git_sessions.protocol import LOCK_FILE, SESSIONS
from test_claim_race import killed_at
from test_guard import ONE, TWO, claim, commit, guarded, push

Capsys = pytest.CaptureFixture[str]


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def ended(
    hub: Hub, capsys: Capsys, how: str, monkeypatch: pytest.MonkeyPatch | None = None
) -> tuple[str, str, str]:
    """A session claimed, journalled, worked on and then completed or abandoned: (slug, the
    claim commit, the ending commit)."""
    [slug] = add_planned(hub.repo, 1)
    wt = Path(json.loads(ok(hub.repo, "claim", slug, "--json", capsys=capsys))["worktree"])
    claimed = hub.main()
    ok(wt, "log", "started", capsys=capsys)
    (wt / "code.py").write_text("x = 1\n")
    git(wt, "add", "code.py")
    git(wt, "commit", "-qm", f"[{slug}] feat: code")
    push_files(hub.repo, {"elsewhere.txt": "main moves on\n"}, "unrelated")
    if monkeypatch is not None:
        claim_walk_forbidden(monkeypatch)
    if how == "complete":
        out = ok(hub.repo, "complete", slug, "--json", capsys=capsys)
    else:
        out = ok(hub.repo, "abandon", slug, "--reason", "not needed", "--json", capsys=capsys)
    return slug, claimed, json.loads(out)["commit"]


def folder(how: str, slug: str) -> str:
    return f"{SESSIONS}/{'completed' if how == 'complete' else 'abandoned'}/{slug}"


def reads(hub: Hub, slug: str, capsys: Capsys) -> tuple[object, object]:
    status = json.loads(ok(hub.repo, "status", slug, "--json", "-v", capsys=capsys))
    history = json.loads(ok(hub.repo, "history", slug, "--json", capsys=capsys))
    return status, history


def walk_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("walked main back to the ending")

    monkeypatch.setattr(Snapshot, "holding_run", refuse)


def claim_walk_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ending knows its claim from the session branch: the record needs no walk to it."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("walked main back to the claim for the end record")

    monkeypatch.setattr(endrecord, "claim_commits", refuse)


@pytest.mark.parametrize("how", ["complete", "abandon"])
def test_the_record_follows_the_ending_and_reads_like_the_walk(
    hub: Hub, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    with monkeypatch.context() as patched:
        slug, claimed, ending = ended(hub, capsys, how, patched)
    # main's tip is the record, the ending commit's only child, by the same identity
    tip = hub.main()
    assert git(hub.hub, "rev-parse", f"{tip}^").strip() == ending
    subject, author = git(hub.hub, "log", "-1", "--format=%s%n%an <%ae> %cn <%ce>", tip).split(
        "\n"
    )[:2]
    assert subject == f"[{slug}] record: ended in {ending[:10]}"
    assert author == git(hub.hub, "log", "-1", "--format=%an <%ae> %cn <%ce>", ending).strip()
    assert git(hub.hub, "diff", "--name-only", ending, tip).split() == [
        f"{folder(how, slug)}/.ended"
    ]
    text = git(hub.hub, "show", f"{tip}:{folder(how, slug)}/.ended")
    assert parse_record(text) == EndRecord(ending, claimed)

    with monkeypatch.context() as patched:
        walk_forbidden(patched)
        recorded = reads(hub, slug, capsys)
    status, history = recorded
    assert isinstance(status, dict) and isinstance(history, dict)
    kinds = [i["kind"] for i in history["items"] if i["type"] == "commit"]
    assert kinds[0] == "claim" and kinds[-1] == how
    assert history["items"][0]["id"] == claimed and history["items"][-1]["id"] == ending

    # without the record (deleted later, as an old archive never had one): the walk, same
    push_files(hub.repo, {f"{folder(how, slug)}/.ended": None}, "drop the record")
    assert reads(hub, slug, capsys) == recorded
    # a damaged one, or one naming other commits, is not trusted: the walk again, same
    for bad in (
        "not json\n",
        record_text(EndRecord(claimed, claimed)),  # the claim is no ending
        record_text(EndRecord(ending, ending)),  # the ending is no claim
        record_text(EndRecord(ending, None)),  # the claim left its .claim marker: it exists
        record_text(EndRecord("0" * 40, claimed)),  # no such commit
    ):
        push_files(hub.repo, {f"{folder(how, slug)}/.ended": bad}, "damage the record")
        assert reads(hub, slug, capsys) == recorded, bad


def test_check_reports_a_bad_record_without_history(hub: Hub, capsys: Capsys) -> None:
    slug, _, _ = ended(hub, capsys, "complete")
    assert ok(hub.repo, "check", capsys=capsys).startswith("ok")
    path = f"{SESSIONS}/completed/{slug}/.ended"
    push_files(hub.repo, {path: '{"ending": "x"}\n'}, "bad")
    code, out, _ = cli(hub.repo, "check", "--json", capsys=capsys)
    assert code != 0
    found = [v["message"] for v in json.loads(out)["violations"] if v["rule"] == "ended"]
    assert found == [f"{path}: not an end record"]
    # a well-formed one outside completed/ and abandoned/ is misplaced
    misplaced = f"{SESSIONS}/planned/2026-01-01-task-999/.ended"
    push_files(
        hub.repo,
        {
            misplaced: record_text(EndRecord("a" * 40, None)),
            misplaced.replace(".ended", "SESSION.md"): "---\ntitle: x\n---\n# x\n",
        },
        "misplaced",
    )
    code, out, _ = cli(hub.repo, "check", "--json", capsys=capsys)
    found = [v["message"] for v in json.loads(out)["violations"] if v["rule"] == "ended"]
    assert sorted(found) == sorted(
        [f"{path}: not an end record", f"{misplaced}: only an ended session has one"]
    )


def test_a_reap_to_abandoned_is_recorded_too(hub: Hub, capsys: Capsys) -> None:
    [slug] = add_planned(hub.repo, 1)
    ok(hub.repo, "claim", slug, "--no-worktree", capsys=capsys)
    claimed = hub.main()
    age_claims(hub.repo)
    ok(hub.repo, "reap", "--older-than", "1h", "--to", "abandoned", capsys=capsys)
    text = git(hub.hub, "show", f"main:{SESSIONS}/abandoned/{slug}/.ended")
    assert parse_record(text) == EndRecord(git(hub.hub, "rev-parse", "main^").strip(), claimed)


def test_records_parse_only_as_written() -> None:
    record = EndRecord("a" * 40, "b" * 40)
    assert record_text(record) == f'{{"claim":"{"b" * 40}","ending":"{"a" * 40}"}}\n'
    assert parse_record(record_text(record)) == record
    assert parse_record(record_text(EndRecord("c" * 64, None))) == EndRecord("c" * 64, None)
    for text in (
        None,
        "",
        record_text(record).rstrip("\n"),
        json.dumps({"ending": "a" * 40, "claim": "b" * 40}) + "\n",  # spaced, unsorted
        f'{{"claim":null,"ending":"{"a" * 40}"}}\n',
        f'{{"ending":"{"A" * 40}"}}\n',
        f'{{"ending":"{"a" * 39}"}}\n',
        f'{{"ending":"{"a" * 40}","x":1}}\n',
        f'{{"ending":["{"a" * 40}"]}}\n',
        "[]\n",
        "{" * 100_000,
    ):
        assert parse_record(text) is None, text


# --------------------------------------------------------------------------- crashes


def no_ending_without_record(hub: Hub) -> None:
    """Every commit on main that ends a session is followed by its record, and every record
    names the commit before it."""
    log = git(hub.hub, "log", "--first-parent", "--format=%H %P%x09%s", "main").splitlines()
    children: dict[str, str] = {}
    for line in log:
        ids, subject = line.split("\t", 1)
        commit, *parents = ids.split()
        if parents:
            children[parents[0]] = subject
        if " record: ended in " in subject:
            assert subject.endswith(parents[0][:10])
    for line in log:
        commit, *parents = line.split("\t")[0].split()
        if not parents:
            continue
        moved = git(hub.hub, "diff-tree", "--no-commit-id", "-r", "--name-only", commit)
        new = {p.split("/")[3] for p in moved.split() if p.startswith(f"{SESSIONS}/completed/")}
        new |= {p.split("/")[3] for p in moved.split() if p.startswith(f"{SESSIONS}/abandoned/")}
        gone = git(hub.hub, "ls-tree", "-d", "--name-only", f"{commit}^", f"{SESSIONS}/active/")
        if new & {p.rsplit("/", 1)[-1] for p in gone.split()}:
            assert " record: ended in " in children.get(commit, ""), commit


@pytest.mark.parametrize(
    "how,phase",
    [
        ("complete", "complete:before-publish"),
        ("complete", "complete:after-publish"),
        ("abandon", "abandon:before-publish"),
        ("abandon", "abandon:after-publish"),
    ],
)
def test_a_kill_at_a_fault_point_leaves_no_ending_without_its_record(
    hub: Hub, capsys: Capsys, how: str, phase: str
) -> None:
    [slug] = add_planned(hub.repo, 1)
    wt = Path(json.loads(ok(hub.repo, "claim", slug, "--json", capsys=capsys))["worktree"])
    ok(wt, "log", "started", capsys=capsys)
    before = hub.main()
    extra = ("--allow-empty",) if how == "complete" else ("--reason", "stop")
    killed_at(hub.repo, phase, how, slug, *extra)
    published = hub.main() != before
    assert published == phase.endswith("after-publish")
    no_ending_without_record(hub)
    result = run_process(hub.repo, how, slug, *extra)
    assert result.returncode == 0, result.stderr
    no_ending_without_record(hub)
    state = "completed" if how == "complete" else "abandoned"
    assert parse_record(git(hub.hub, "show", f"main:{SESSIONS}/{state}/{slug}/.ended"))
    assert run_process(hub.repo, "check").returncode == 0


# --------------------------------------------------------------------------- the guard


def plain_move(hub: Hub, capsys: Capsys) -> tuple[Path, str, str]:
    """A guarded hub where `one` claimed a session, and a clone where it is moved to
    completed/ with plain git, not yet committed: the clone, the slug, the claim commit."""
    [slug] = add_planned(hub.repo, 1)
    guarded(hub)
    claim(hub.repo, slug, ONE, capsys, "--no-worktree")
    claimed = hub.main()
    clone = hub.clone("plain")
    git(clone, "rm", "-q", f"{SESSIONS}/active/{slug}/.session-env")
    git(clone, "mv", f"{SESSIONS}/active/{slug}", f"{SESSIONS}/completed/{slug}")
    return clone, slug, claimed


def plain_ending(hub: Hub, capsys: Capsys) -> tuple[Path, str, str, str]:
    """A guarded hub where `one` completed its session with plain git (no record yet): the
    clone, the slug, the claim commit and the ending commit."""
    clone, slug, claimed = plain_move(hub, capsys)
    commit(clone, {LOCK_FILE: ""}, f"[{slug}] feat: done by hand", ONE)
    result = push(clone)
    assert result.returncode == 0, result.stderr
    return clone, slug, claimed, hub.main()


def record_commit(
    clone: Path, slug: str, text: str, who: tuple[str, str], ending: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    files: dict[str, str | None] = {f"{SESSIONS}/completed/{slug}/.ended": text, **extra}
    commit(clone, files, f"[{slug}] record: ended in {ending[:10]}", who)
    return push(clone)


def test_the_guard_accepts_an_honest_record_written_by_hand(hub: Hub, capsys: Capsys) -> None:
    clone, slug, claimed, ending = plain_ending(hub, capsys)
    result = record_commit(clone, slug, record_text(EndRecord(ending, claimed)), ONE, ending)
    assert result.returncode == 0, result.stderr
    assert run_process(hub.repo, "check").returncode == 0


@pytest.mark.parametrize(
    "forgery", ["wrong claim", "wrong ending", "other identity", "more changes", "later"]
)
def test_the_guard_refuses_a_forged_record(hub: Hub, capsys: Capsys, forgery: str) -> None:
    clone, slug, claimed, ending = plain_ending(hub, capsys)
    honest = record_text(EndRecord(ending, claimed))
    reason = "does not name the commits that claimed and ended it"
    if forgery == "wrong claim":
        result = record_commit(clone, slug, record_text(EndRecord(ending, ending)), ONE, ending)
    elif forgery == "wrong ending":
        result = record_commit(clone, slug, record_text(EndRecord(claimed, claimed)), ONE, ending)
    elif forgery == "other identity":
        result = record_commit(clone, slug, honest, TWO, ending)
        reason = "must be committed by whoever ended it"
    elif forgery == "more changes":
        result = record_commit(clone, slug, honest, ONE, ending, **{"code.txt": "x\n"})
        reason = "may change nothing else"
    else:
        commit(clone, {"code.txt": "x\n"}, "feat: code", TWO)
        assert push(clone).returncode == 0
        result = record_commit(clone, slug, honest, ONE, ending)
        reason = "may only be written right after"
    before = git(clone, "rev-parse", "HEAD^").strip()
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "git-sessions guard" in line]
    assert len(lines) == 1 and reason in lines[0], result.stderr
    assert hub.main() == before


def test_the_guard_refuses_a_record_inside_the_ending(hub: Hub, capsys: Capsys) -> None:
    """The ending commit cannot name itself: a `.ended` that arrives with it is forged."""
    clone, slug, claimed = plain_move(hub, capsys)
    files = {
        LOCK_FILE: "",
        f"{SESSIONS}/completed/{slug}/.ended": record_text(EndRecord(claimed, claimed)),
    }
    commit(clone, files, f"[{slug}] feat: done by hand", ONE)
    result = push(clone)
    assert result.returncode != 0 and "may only be written right after" in result.stderr
    assert hub.main() == claimed


# --------------------------------------------------------------------------- coordination layout


@pytest.mark.parametrize("how", ["complete", "abandon"])
def test_the_coordination_branch_records_its_endings(
    hub: Hub, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    from test_coordination import BRANCH, plan, split, work
    from test_coordination import claim as claim_split

    split(hub, capsys)
    slug = plan(hub.repo, capsys, "split", "ending")
    wt = claim_split(hub.repo, capsys, slug)
    claimed = git(hub.hub, "rev-parse", BRANCH).strip()
    work(wt, slug, "code.txt", "x\n")
    extra = ("--reason", "stop") if how == "abandon" else ()
    with monkeypatch.context() as patched:
        claim_walk_forbidden(patched)
        ok(hub.repo, how, slug, *extra, capsys=capsys)
    tip = git(hub.hub, "rev-parse", BRANCH).strip()
    archive = git(hub.hub, "rev-parse", f"{tip}^").strip()
    text = git(hub.hub, "show", f"{tip}:{folder(how, slug)}/.ended")
    assert parse_record(text) == EndRecord(archive, claimed)
    with monkeypatch.context() as patched:
        walk_forbidden(patched)
        recorded = reads(hub, slug, capsys)
    # without it (plain git on the coordination branch): the walk, with the same result
    other = hub.clone("other")
    git(other, "checkout", "-q", "-B", "coord", f"origin/{BRANCH}")
    git(other, "rm", "-q", f"{folder(how, slug)}/.ended")
    git(other, "commit", "-qm", "drop the record")
    git(other, "push", "-q", "origin", f"HEAD:{BRANCH}")
    assert reads(hub, slug, capsys) == recorded
    assert run_process(hub.repo, "check").returncode == 0
