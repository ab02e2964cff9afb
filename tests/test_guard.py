"""`git sessions guard`: every forbidden push is refused with its reason, by plain `git push`
(the hub's pre-receive hook, over a local path and over git://) and through git-sessions (the
same rule in-process for a local hub); legal traffic passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, commit_files, git, run_process

from git_sessions import guard
from git_sessions.edits import Change, Identity, Write
from git_sessions.errors import BadInput, GitFailure
from git_sessions.gitrepo import LocalHub
from git_sessions.protocol import LOCK_FILE, SESSIONS

Capsys = pytest.CaptureFixture[str]
SCRIPT = str(Path(sys.executable).with_name("git-sessions"))
ONE = ("one", "one@x.test")
TWO = ("two", "two@x.test")


def guarded(hub: Hub) -> None:
    guard.install(hub.hub, executable=SCRIPT)


def as_agent(who: tuple[str, str]) -> dict[str, str]:
    name, email = who
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def claim(repo: Path, slug: str, who: tuple[str, str], capsys: Capsys, *extra: str) -> None:
    code, _, err = cli(
        repo, "claim", slug, "--agent", who[0], "--email", who[1], *extra, capsys=capsys
    )
    assert code == 0, err


def commit(clone: Path, files: dict[str, str | None], message: str, who: tuple[str, str]) -> None:
    """A commit made with plain git (anything git-sessions itself would never write)."""
    commit_files(clone, files, message, as_agent(who))


def push(clone: Path, *refspec: str, remote: str = "origin") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", "-q", remote, *(refspec or ("HEAD:main",))],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
    )


# --------------------------------------------------------------------------- forbidden pushes
# Each prepares, in a clone, a commit (or ref move) that breaks the protocol; the refspec to push
# and a fragment of the reason the pusher must see.

Case = Callable[[Path, str, str], tuple[tuple[str, ...], str]]


def second_claim(clone: Path, held: str, _: str) -> tuple[tuple[str, ...], str]:
    env = f"{SESSIONS}/active/{held}/.session-env"
    git(clone, "pull", "-q", "--ff-only")
    text = (clone / env).read_text().replace("one@x.test", "two@x.test").replace("=one", "=two")
    commit(clone, {env: text}, f"[{held}] chore: claim session", TWO)
    return (), f"session {held} is already claimed by one <one@x.test>"


def plan_edit(clone: Path, held: str, _: str) -> tuple[tuple[str, ...], str]:
    plan = f"{SESSIONS}/active/{held}/SESSION.md"
    git(clone, "pull", "-q", "--ff-only")
    commit(clone, {plan: (clone / plan).read_text() + "more scope\n"}, f"[{held}] docs: plan", ONE)
    return (), "changed without an audited"


def plan_edit_claimed_as_override(clone: Path, held: str, _: str) -> tuple[tuple[str, ...], str]:
    plan = f"{SESSIONS}/active/{held}/SESSION.md"
    git(clone, "pull", "-q", "--ff-only")
    text = (clone / plan).read_text() + "more scope\n"
    commit(clone, {plan: text}, f"[{held}] OVERRIDE: sneaky", ONE)  # no .override record
    return (), f"frozen-plan: SESSION.md of active session {held} changed since its claim"


def non_holder_completes(clone: Path, held: str, _: str) -> tuple[tuple[str, ...], str]:
    git(clone, "pull", "-q", "--ff-only")
    git(clone, "mv", f"{SESSIONS}/active/{held}", f"{SESSIONS}/completed/{held}")
    commit(clone, {LOCK_FILE: ""}, f"[{held}] feat: done", TWO)
    return (), f"only the holder one <one@x.test> may complete session {held}"


def forced_in_someone_elses_name(clone: Path, held: str, _: str) -> tuple[tuple[str, ...], str]:
    git(clone, "pull", "-q", "--ff-only")
    git(clone, "rm", "-q", f"{SESSIONS}/active/{held}/.session-env")
    git(clone, "mv", f"{SESSIONS}/active/{held}", f"{SESSIONS}/abandoned/{held}")
    audit = "Forced-by: three <three@x.test> (the claim was held by one <one@x.test>)"
    commit(clone, {LOCK_FILE: ""}, f"[{held}] chore: abandon session\n\n{audit}", TWO)
    return (), f"only the holder one <one@x.test> may abandon session {held}"


def non_holder_journals(clone: Path, held: str, _: str) -> tuple[tuple[str, ...], str]:
    log = f"{SESSIONS}/active/{held}/worklog.md"
    git(clone, "pull", "-q", "--ff-only")
    commit(clone, {log: (clone / log).read_text() + "mine now\n"}, f"[{held}] docs: log", TWO)
    return (), f"only the holder one <one@x.test> may change active session {held}"


def knowledge_outside_kb(clone: Path, held: str, _: str) -> tuple[tuple[str, ...], str]:
    commit(clone, {"_AGENTS/knowledge/guide.md": "x\n"}, f"[{held}] docs: kb", ONE)
    return (), "knowledge: _AGENTS/knowledge/guide.md changed outside a kb- session"


def symlink(clone: Path, _: str, free: str) -> tuple[tuple[str, ...], str]:
    git(clone, "pull", "-q", "--ff-only")
    link = clone / SESSIONS / "planned" / free / "notes.md"
    link.symlink_to("/etc/passwd")
    git(clone, "add", str(link))
    git(clone, "commit", "-qm", "notes", env=as_agent(ONE))
    return (), f"hazard: {SESSIONS}/planned/{free}/notes.md is a symlink"


def gitlink(clone: Path, _: str, free: str) -> tuple[tuple[str, ...], str]:
    git(clone, "pull", "-q", "--ff-only")
    head = git(clone, "rev-parse", "HEAD").strip()
    path = f"{SESSIONS}/planned/{free}/vendor"
    git(clone, "update-index", "--add", "--cacheinfo", f"160000,{head},{path}")
    git(clone, "commit", "-qm", "vendor", env=as_agent(ONE))
    return (), f"hazard: {path} is a gitlink"


def dot_git_entry(clone: Path, _: str, free: str) -> tuple[tuple[str, ...], str]:
    git(clone, "pull", "-q", "--ff-only")
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=clone,
        input="x\n",
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    path = f"{SESSIONS}/planned/{free}/GIT~1"
    # NTFS reads GIT~1 as .git: git refuses it unless told it never runs there
    unsafe = ("-c", "core.protectNTFS=false")
    git(clone, *unsafe, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    git(clone, *unsafe, "commit", "-qm", "dot git", env=as_agent(ONE))
    return (), "is a .git entry"


def illegal_move(clone: Path, _: str, free: str) -> tuple[tuple[str, ...], str]:
    git(clone, "pull", "-q", "--ff-only")
    git(clone, "mv", f"{SESSIONS}/planned/{free}", f"{SESSIONS}/completed/{free}")
    git(clone, "commit", "-qm", f"[{free}] feat: skip the work", env=as_agent(ONE))
    return (), f"session {free} cannot move from planned to completed"


def stray_lock_line(clone: Path, held: str, free: str) -> tuple[tuple[str, ...], str]:
    git(clone, "pull", "-q", "--ff-only")
    lock = (clone / LOCK_FILE).read_text() + f"{free}:1700000000\n"
    commit(clone, {LOCK_FILE: lock}, "lock it", ONE)
    return (), f"lock: {free} is in sessions.lock but not active"


def born_active(clone: Path, _: str, __: str) -> tuple[tuple[str, ...], str]:
    slug = "2026-02-02-forged"
    commit(clone, {f"{SESSIONS}/active/{slug}/SESSION.md": "x\n"}, "forge", ONE)
    return (), f"session {slug} appears in active/"


def deleted_session(clone: Path, _: str, free: str) -> tuple[tuple[str, ...], str]:
    commit(clone, {f"{SESSIONS}/planned/{free}": None}, "drop it", ONE)
    return (), f"session {free} was deleted from planned/"


def early_reap(clone: Path, held: str, _: str) -> tuple[tuple[str, ...], str]:
    git(clone, "pull", "-q", "--ff-only")
    git(clone, "rm", "-q", f"{SESSIONS}/active/{held}/.session-env")
    git(clone, "mv", f"{SESSIONS}/active/{held}", f"{SESSIONS}/planned/{held}")
    commit(clone, {LOCK_FILE: ""}, f"[{held}] chore: reap session", TWO)
    return (), f"session {held} showed life"


def rewind(clone: Path, _: str, __: str) -> tuple[tuple[str, ...], str]:
    git(clone, "pull", "-q", "--ff-only")
    return ("-f", "HEAD~1:main"), "refs/heads/main is the protocol branch: it only moves forward"


def delete_active_branch(clone: Path, held: str, _: str) -> tuple[tuple[str, ...], str]:
    git(clone, "pull", "-q", "--ff-only")
    assert push(clone, f"HEAD:refs/heads/session/{held}").returncode == 0  # creating it passes
    reason = f"refs/heads/session/{held} is the branch of active session {held}"
    return (f":refs/heads/session/{held}",), reason


def forged_claim(clone: Path, free: str, plan_extra: str, base: str | None) -> None:
    """A claim by plain git, consistent in every file the default `check` reads: the plan
    (with `plan_extra` added), `.session-env`, the lock line and a `.claim` naming `base`."""
    from git_sessions import sessionenv
    from git_sessions.protocol import blob_id, claim_marker

    git(clone, "pull", "-q", "--ff-only")
    parent = git(clone, "rev-parse", "HEAD").strip()
    src, dst = f"{SESSIONS}/planned/{free}", f"{SESSIONS}/active/{free}"
    git(clone, "mv", src, dst)
    plan = (clone / dst / "SESSION.md").read_text() + plan_extra
    env = sessionenv.render(sessionenv.make(free, Identity(*ONE), "/tmp/wt", 20000))
    marker = claim_marker(base or parent, blob_id(plan.encode()), blob_id(env.encode()))
    lock = (clone / LOCK_FILE).read_text() + f"{free}:1700000000\n"
    files = {f"{dst}/SESSION.md": plan, f"{dst}/.session-env": env, f"{dst}/.claim": marker}
    commit(clone, {**files, LOCK_FILE: lock}, f"[{free}] chore: claim session", ONE)


def claim_editing_its_plan(clone: Path, _: str, free: str) -> tuple[tuple[str, ...], str]:
    forged_claim(clone, free, "and much more\n", None)
    return (), f"the claim of {free} changed its plan (SESSION.md)"


def claim_with_a_false_marker(clone: Path, held: str, free: str) -> tuple[tuple[str, ...], str]:
    forged_claim(clone, free, "", "0" * 40)
    return (), f"the claim of {free} has a .claim that does not describe it"


CASES: list[Case] = [
    claim_editing_its_plan,
    claim_with_a_false_marker,
    second_claim,
    plan_edit,
    plan_edit_claimed_as_override,
    non_holder_completes,
    forced_in_someone_elses_name,
    non_holder_journals,
    knowledge_outside_kb,
    symlink,
    gitlink,
    dot_git_entry,
    illegal_move,
    stray_lock_line,
    born_active,
    deleted_session,
    early_reap,
    rewind,
    delete_active_branch,
]


def test_a_forged_claim_passes_when_it_is_honest(hub: Hub, capsys: Capsys) -> None:
    """The forged-claim cases differ from a legal plain-git claim only in what they forge."""
    _, free = setup(hub, capsys)
    clone = hub.clone("honest")
    forged_claim(clone, free, "", None)
    result = push(clone)
    assert result.returncode == 0, result.stderr
    assert run_process(hub.repo, "check").returncode == 0


def setup(hub: Hub, capsys: Capsys) -> tuple[str, str]:
    """A guarded hub with one session held by `one` and one planned."""
    held, free = add_planned(hub.repo, 2)
    guarded(hub)
    claim(hub.repo, held, ONE, capsys, "--no-worktree")
    return held, free


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_plain_push_breaking_the_protocol_is_refused(hub: Hub, capsys: Capsys, case: Case) -> None:
    held, free = setup(hub, capsys)
    before = hub.main()
    clone = hub.clone("intruder")
    refspec, reason = case(clone, held, free)
    result = push(clone, *refspec)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "git-sessions guard" in line]
    assert len(lines) == 1 and reason in lines[0], result.stderr
    assert lines[0].startswith("remote: error: git-sessions guard refused refs/heads/")
    assert "Traceback" not in result.stderr
    assert hub.main() == before
    assert git(hub.hub, "branch", "--list", f"session/{held}").strip() == (
        f"session/{held}" if case is delete_active_branch else ""
    )


@pytest.mark.parametrize("case", [second_claim, non_holder_completes, symlink, rewind])
def test_plain_push_over_git_daemon_is_refused(
    hub: Hub, capsys: Capsys, git_daemon: str, case: Case
) -> None:
    held, free = setup(hub, capsys)
    before = hub.main()
    clone = hub.repo.parent / "intruder"
    git(hub.repo.parent, "clone", "-q", git_daemon, str(clone))
    refspec, reason = case(clone, held, free)
    result = push(clone, *refspec)
    assert result.returncode != 0 and reason in result.stderr, result.stderr
    assert hub.main() == before


def test_deleting_the_protocol_branch_is_refused(hub: Hub) -> None:
    local = LocalHub(hub.hub, "main")
    assert guard.rule(local, "refs/heads/main", hub.main(), None) == (
        "refs/heads/main is the protocol branch: it may not be deleted"
    )
    guarded(hub)
    assert push(hub.repo, ":main").returncode != 0
    assert hub.main()


def test_unknown_refs_and_code_pass(hub: Hub, capsys: Capsys) -> None:
    held, _ = setup(hub, capsys)
    clone = hub.clone("coder")
    commit(clone, {"src/app.py": "print(1)\n"}, "feat: code on main", TWO)
    assert push(clone).returncode == 0
    commit(clone, {"src/app.py": "print(2)\n"}, "feat: more", TWO)
    assert push(clone, "HEAD:refs/heads/feature").returncode == 0
    assert push(clone, "-f", "HEAD~1:refs/heads/feature").returncode == 0  # not protected
    assert push(clone, ":refs/heads/feature").returncode == 0
    # several commits in one push, each judged: a legal one after a code commit passes
    commit(clone, {"src/b.py": "b\n"}, "feat: b", TWO)
    commit(clone, {"_AGENTS/messages/all.jsonl": "{}\n"}, "[_AGENTS] chore: note", TWO)
    assert push(clone).returncode == 0, "messages are not protected state"
    assert held


def test_a_bad_commit_hidden_under_a_good_one_is_refused(hub: Hub, capsys: Capsys) -> None:
    held, _ = setup(hub, capsys)
    clone = hub.clone("intruder")
    knowledge_outside_kb(clone, held, "")
    (clone / "x.txt").write_text("x\n")
    git(clone, "add", "x.txt")
    git(clone, "commit", "-qm", "feat: innocent", env=as_agent(TWO))
    result = push(clone)
    assert result.returncode != 0 and "knowledge:" in result.stderr


def test_a_merge_of_main_into_local_work_passes(hub: Hub, capsys: Capsys) -> None:
    """`git pull` (a merge) after the hub moved: the merge is judged against the hub's tip, not
    the local commit it was made on (which lacks the hub's newer protocol commits)."""
    held, free = setup(hub, capsys)
    clone = hub.clone("coder")
    (clone / "code.py").write_text("x = 1\n")
    git(clone, "add", "code.py")
    git(clone, "commit", "-qm", "feat: local work", env=as_agent(TWO))
    claim(hub.repo, free, ONE, capsys, "--no-worktree")  # the hub moves meanwhile
    git(clone, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main", env=as_agent(TWO))
    result = push(clone)
    assert result.returncode == 0, result.stderr
    assert held


def test_a_push_of_too_many_protocol_commits_is_refused(
    hub: Hub, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup(hub, capsys)
    old = hub.main()
    clone = hub.clone("many")
    for n in range(3):
        commit(clone, {f"src/{n}.py": "x\n"}, f"feat: {n}", TWO)
    git(clone, "push", "-q", "origin", "HEAD:refs/heads/incoming")
    new = git(clone, "rev-parse", "HEAD").strip()
    monkeypatch.setattr(guard, "MAX_STEPS", 2)
    local = LocalHub(hub.hub, "main")
    assert guard.rule(local, "refs/heads/main", old, new) == (
        "more than 2 commits at once on the protocol branch: push fewer"
    )
    monkeypatch.setattr(guard, "MAX_STEPS", 3)
    assert guard.rule(local, "refs/heads/main", old, new) is None
    ticks = iter([0.0, 0.0, guard.MAX_SECONDS + 1])
    assert "took over" in str(
        guard.rule(local, "refs/heads/main", old, new, clock=lambda: next(ticks))
    )


# --------------------------------------------------------------------------- through git-sessions


def test_local_hub_refuses_a_forged_commit_in_process(hub: Hub, capsys: Capsys) -> None:
    """A clone pretending to be the holder: git-sessions' own publish is held to the rule."""
    held, _ = setup(hub, capsys)
    from git_sessions.context import open_context

    ctx = open_context(hub.repo)
    base = ctx.hub.tip()
    path = f"{SESSIONS}/active/{held}/worklog.md"
    forged = Change((Write(path, b"taken over\n"),), f"[{held}] docs: mine", Identity(*TWO))
    new = ctx.hub.commit(base, forged)
    with pytest.raises(GitFailure, match=r"only the holder one <one@x\.test> may change"):
        ctx.hub.publish(base, new)
    assert hub.main() == base


def test_reaping_a_live_claim_is_refused_through_git_sessions(hub: Hub, capsys: Capsys) -> None:
    held, _ = add_planned(hub.repo, 2)
    claim(hub.repo, held, ONE, capsys, "--no-worktree")
    import time

    from conftest import age_claims

    age_claims(hub.repo, int(time.time()) - 600)  # quiet for 10 minutes; lease_ttl is 2h
    guarded(hub)
    before = hub.main()
    code, _, err = cli(hub.repo, "reap", "--older-than", "5m", capsys=capsys)
    assert code == 4, err
    assert f"session {held} showed life" in err and "lease_ttl (7200s)" in err
    assert hub.main() == before
    age_claims_unguarded = hub.hub / "hooks" / "pre-receive"
    age_claims_unguarded.unlink()
    age_claims(hub.repo)  # 2001: long dead
    guarded(hub)
    code, out, err = cli(hub.repo, "reap", "--older-than", "5m", capsys=capsys)
    assert code == 0 and held in out, err


# --------------------------------------------------------------------------- legal traffic


def lifecycle(repo: Path, hub: Hub, capsys: Capsys) -> None:
    """Every command that writes main, as the tool does it; each must pass the guard."""

    def ok(*args: str, where: Path = repo) -> str:
        code, out, err = cli(where, *args, capsys=capsys)
        assert code == 0, f"{args}: {err}"
        return out

    made = [
        json.loads(ok("new", w, "--date", "2026-03-03", "--json"))["slug"]
        for w in ("alpha", "beta", "gamma", "delta")
    ]
    a, b, c, d = made
    for slug in made:
        ok("ready", slug)
    ok("unready", d)
    ok("ready", d)
    ok("spawn", "child", "--parent", a)
    wt = Path(json.loads(ok("claim", a, "--json"))["worktree"])
    ok("log", "read the code", "-s", a)
    ok("learn", "bcrypt truncates", "-s", a)
    ok("heartbeat", a)
    ok("message", "--to", a, "remember rate limits")
    ok("inbox", a, "--all")
    plan = Path(json.loads(ok("override", a, "--unlock", "--json"))["path"])
    new_plan = repo.parent / "plan.md"
    new_plan.write_text(plan.read_text() + "\nMore context.\n")
    ok("override", a, "-r", "scope grew", "--file", str(new_plan))
    (wt / "work.txt").write_text("done\n")
    git(wt, "add", "work.txt")
    git(wt, "commit", "-qm", f"[{a}] feat: it works")
    kb = json.loads(ok("complete", a, "--json"))["kb_session"]
    assert kb and kb.startswith("kb-")
    ok("claim", b, "--no-worktree")
    ok("release", b)
    ok("claim", c, "--agent", "three", "--email", "three@x.test")
    ok("abandon", c, "--reason", "not needed", "--force")  # another agent, audited
    kb_wt = Path(json.loads(ok("claim", kb, "--json"))["worktree"])
    (kb_wt / "_AGENTS/knowledge/security.md").write_text("- bcrypt: 72 bytes\n")
    git(kb_wt, "add", "_AGENTS/knowledge/security.md")
    git(kb_wt, "commit", "-qm", f"[{kb}] docs: merge learnings")
    ok("complete", kb)
    ok("claim", d)
    ok("abandon", d, "--reason", "superseded")
    assert "ok:" in ok("check")


def test_the_whole_lifecycle_passes_a_guarded_local_hub(hub: Hub, capsys: Capsys) -> None:
    guarded(hub)
    lifecycle(hub.repo, hub, capsys)


def test_the_whole_lifecycle_passes_a_guarded_hub_over_git_daemon(
    hub: Hub, capsys: Capsys, git_daemon: str
) -> None:
    guarded(hub)
    clone = hub.repo.parent / "remote-agent"
    git(hub.repo.parent, "clone", "-q", git_daemon, str(clone))
    lifecycle(clone, hub, capsys)
    assert "git-sessions guard" in (hub.hub / "hooks" / "pre-receive").read_text()


def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Racing agents that run `claim --next` again after exit 3 "lost the race" (a busy hub,
    not an error: the guard's hook makes every push slower, so on a loaded machine an agent
    can lose for its whole retry budget). What must hold is exactly-once."""
    import test_claim_race

    loop = test_claim_race.AGENT_LOOP
    done = "        break\n    else:"
    assert done in loop
    retry = (
        '        break\n    elif r.returncode == 3 and "lost the race" in r.stderr:\n'
        "        continue\n    else:"
    )
    monkeypatch.setattr(test_claim_race, "AGENT_LOOP", loop.replace(done, retry, 1))


def test_a_race_through_a_guarded_hub_is_still_exactly_once(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_claim_race import assert_held_exactly_once, race

    patient(monkeypatch)
    slugs = add_planned(hub.repo, 16)
    guarded(hub)
    clones = [hub.clone(f"agent{i}") for i in range(8)]
    results = race(clones, ["--no-worktree"])
    assert_held_exactly_once(hub.hub, slugs, results)
    assert run_process(clones[0], "check").returncode == 0


@pytest.mark.race
def test_a_race_over_git_daemon_through_the_hook_is_still_exactly_once(
    hub: Hub, git_daemon: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_claim_race import assert_held_exactly_once, race

    patient(monkeypatch)
    slugs = add_planned(hub.repo, 8)
    guarded(hub)
    clones = []
    for i in range(8):
        path = hub.repo.parent / f"agent{i}"
        git(hub.repo.parent, "clone", "-q", git_daemon, str(path))
        clones.append(path)
    results = race(clones, ["--no-worktree"])
    assert_held_exactly_once(hub.hub, slugs, results)


# --------------------------------------------------------------------------- install


def test_install_is_idempotent_and_keeps_a_foreign_hook(hub: Hub, capsys: Capsys) -> None:
    hook = hub.hub / "hooks" / "pre-receive"
    first = guard.install(hub.hub, executable=SCRIPT)
    assert first.updated and hook.read_text() == (
        f"#!/bin/sh\n# installed by: git sessions guard install\nexec {SCRIPT} guard\n"
    )
    assert os.access(hook, os.X_OK)
    assert not guard.install(hub.hub, executable=SCRIPT).updated
    hook.write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(BadInput, match="is not the guard's"):
        guard.install(hub.hub, executable=SCRIPT)
    assert hook.read_text() == "#!/bin/sh\nexit 0\n"
    assert guard.install(hub.hub, force=True, executable=SCRIPT).updated
    with pytest.raises(BadInput, match="not a bare git repository"):
        guard.install(hub.repo)


def test_install_command_finds_this_installation(hub: Hub, capsys: Capsys) -> None:
    code, out, err = cli(
        hub.repo, "guard", "install", "--hub", str(hub.hub), "--json", capsys=capsys
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["updated"] is True and doc["schema"] == "git-sessions/guard/v1"
    text = (hub.hub / "hooks" / "pre-receive").read_text()
    assert text.startswith("#!/bin/sh\n") and "guard\n" in text
    assert f"exec {SCRIPT} guard" in text or "exec git-sessions guard" in text


def test_the_hook_reads_git_input_and_refuses_bad_lines(hub: Hub) -> None:
    env = {**os.environ, "GIT_DIR": str(hub.hub)}
    bad = subprocess.run(
        [SCRIPT, "guard"], input="nonsense\n", capture_output=True, text=True, env=env, check=False
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error: not a pre-receive line")
    main = hub.main()
    line = f"{main} {'0' * 40} refs/heads/main\n"
    refused = subprocess.run(
        [SCRIPT, "guard"], input=line, capture_output=True, text=True, env=env, check=False
    )
    assert refused.returncode == 3
    assert refused.stderr == (
        "error: git-sessions guard refused refs/heads/main:"
        " refs/heads/main is the protocol branch: it may not be deleted\n"
    )
