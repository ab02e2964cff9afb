"""A hostile hub: content a buggy or prompt-injected peer pushes with plain git.

Each case pushes crafted objects (symlinks, gitlinks, `.git` entries, template code, YAML
bombs, forged `.session-env`, garbage lock lines, broken config...) with git's own plumbing, then
runs every read and write command against it and asserts what docs/security.md promises: no
traceback, bounded time, the documented exit code, nothing written, chmod-ed or created outside
the repository, no secret from outside the repository on the hub, and `check` naming the
violation.
"""

from __future__ import annotations

import json
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import Hub, cli, git

from git_sessions.protocol import CONFIG_FILE, LOCK_FILE, SESSIONS, TEMPLATES_DIR

Capsys = pytest.CaptureFixture[str]
SECRET = "TOP-SECRET-7f3a9c0e"
Entry = tuple[str, str, str]  # (mode, type, sha) as git ls-tree prints them
COMMAND_SECONDS = 20.0  # a generous bound on two busy cores; a hang is minutes


# --------------------------------------------------------------------------- plain git


def _git(repo: Path, *args: str, data: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().strip()


def blob(repo: Path, data: str | bytes) -> Entry:
    raw = data.encode() if isinstance(data, str) else data
    return ("100644", "blob", _git(repo, "hash-object", "-w", "--stdin", data=raw))


def link(repo: Path, target: str | Path) -> Entry:
    return ("120000", "blob", blob(repo, str(target))[2])


def gitlink(commit: str) -> Entry:
    return ("160000", "commit", commit)


def _entries(repo: Path, tree: str | None) -> dict[str, Entry]:
    if tree is None:
        return {}
    found = {}
    for line in _git(repo, "ls-tree", "-z", tree).split("\0"):
        if line:
            meta, name = line.split("\t", 1)
            mode, kind, sha = meta.split()
            found[name] = (mode, kind, sha)
    return found


def _edit(repo: Path, tree: str | None, parts: list[str], entry: Entry | None) -> str | None:
    entries = _entries(repo, tree)
    head, rest = parts[0], parts[1:]
    if rest:
        sub = entries.get(head)
        new = _edit(repo, sub[2] if sub and sub[1] == "tree" else None, rest, entry)
        entry_here = ("040000", "tree", new) if new else None
    else:
        entry_here = entry
    if entry_here is None:
        entries.pop(head, None)
    else:
        entries[head] = entry_here
    if not entries:
        return None
    listing = "".join(f"{m} {k} {s}\t{n}\0" for n, (m, k, s) in sorted(entries.items()))
    return _git(repo, "mktree", "-z", data=listing.encode())


def put(repo: Path, changes: dict[str, Entry | None], ref: str = "main") -> str:
    """Commit `changes` (path -> entry, None removes) on the hub's `ref` with git plumbing
    (no index, no checks) and push it; then pull, as a user would."""
    _git(repo, "fetch", "-q", "origin")
    base = _git(repo, "rev-parse", f"origin/{ref}")
    tree: str | None = _git(repo, "rev-parse", f"{base}^{{tree}}")
    for path, entry in changes.items():
        tree = _edit(repo, tree, path.split("/"), entry)
    assert tree is not None
    commit = _git(repo, "commit-tree", tree, "-p", base, "-m", "hostile peer")
    _git(repo, "push", "-q", "origin", f"{commit}:refs/heads/{ref}")
    subprocess.run(["git", "pull", "-q", "--ff-only"], cwd=repo, capture_output=True, check=False)
    return commit


# --------------------------------------------------------------------------- the scene


@dataclass
class Scene:
    hub: Hub
    outside: Path  # a folder next to the repository that nothing may touch
    secret: Path  # a file there whose content must never reach the hub
    target: Path  # a file there whose mode and mtime must not change
    canary: Path  # must never be created
    victim: str  # a planned session, claimable
    mine: str  # a session this clone holds, with its worktree
    draft: str = "2026-03-03-fresh-idea"
    extra: list[tuple[str, list[str]]] = field(default_factory=list)  # commands a case adds

    @property
    def repo(self) -> Path:
        return self.hub.repo

    def session(self, state: str, slug: str) -> str:
        return f"{SESSIONS}/{state}/{slug}"

    @property
    def worktree(self) -> Path:
        return self.repo / ".worktrees" / self.mine


def _state(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.lstat().st_mtime_ns, p.lstat().st_mode) for p in [folder, *folder.iterdir()]}


def _made(hub: Hub, capsys: Capsys, words: str) -> str:
    code, out, err = cli(hub.repo, "new", *words.split(), "--date", "2026-02-02", capsys=capsys)
    assert code == 0, err
    slug = out.strip()
    assert cli(hub.repo, "ready", slug, capsys=capsys)[0] == 0
    return slug


@pytest.fixture
def scene(
    hub: Hub, tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Scene]:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret, target = outside / "secret.txt", outside / "target.txt"
    secret.write_text(f"{SECRET}\n")
    target.write_text("leave me alone\n")
    secret.chmod(0o600)
    target.chmod(0o640)
    victim = _made(hub, capsys, "victim task")
    mine = _made(hub, capsys, "my task")
    code, _, err = cli(hub.repo, "claim", mine, capsys=capsys)
    assert code == 0, err
    monkeypatch.setenv("SESSION_ID", mine)
    yield Scene(hub, outside, secret, target, outside / "canary", victim, mine)


def battery(s: Scene) -> list[tuple[str, list[str]]]:
    """Every read and write command (label, arguments), in an order where each can work."""
    return [
        ("list", ["list"]),
        ("list-json", ["list", "--json"]),
        ("show", ["show", s.victim]),
        ("show-mine", ["show", s.mine, "--json"]),
        ("queue", ["queue", "--all"]),
        ("check-json", ["check", "--json"]),
        ("search", ["search", "task"]),
        ("new", ["new", "fresh", "idea", "--date", "2026-03-03"]),
        ("ready", ["ready", s.draft]),
        ("env", ["env", s.mine]),
        ("log", ["log", "did a thing"]),
        ("learn", ["learn", "something true"]),
        ("milestone", ["milestone", "half way"]),
        ("status", ["status"]),
        ("history", ["history"]),
        ("drift", ["drift", s.mine]),
        ("handoff", ["handoff", "--next", "finish"]),
        ("decision", ["decision", "use x", "-r", "because"]),
        ("metric", ["metric", "tokens", "5"]),
        ("crash", ["crash", "oops"]),
        ("recover", ["recover"]),
        ("heartbeat", ["heartbeat"]),
        ("reap", ["reap", "--older-than", "1s", "--dry-run"]),
        ("spawn", ["spawn", "sub", "task", "--parent", s.mine]),
        ("bootstrap", ["bootstrap", s.mine]),
        *s.extra,
        ("claim", ["claim", s.victim, "--json"]),
        ("claim-next", ["claim", "--next"]),
        ("release", ["release", s.victim]),
        ("complete", ["complete", s.mine]),
        ("check", ["check"]),
    ]


def _hub_objects(hub: Path) -> bytes:
    return subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=hub,
        capture_output=True,
        check=True,
    ).stdout


@dataclass(frozen=True)
class Outcome:
    codes: dict[str, int]
    outputs: dict[str, tuple[str, str]]
    slowest: float


def run_all(s: Scene, capsys: Capsys) -> Outcome:
    """Run the battery; assert the promises that hold for every command and every case."""
    tmp = s.repo.parent
    around, outside = set(tmp.iterdir()), _state(s.outside)
    codes, outputs, slowest = {}, {}, 0.0
    for name, args in battery(s):
        start = time.monotonic()
        code, out, err = cli(s.repo, *args, capsys=capsys)
        took = time.monotonic() - start
        codes[name], outputs[name] = code, (out, err)
        slowest = max(slowest, took)
        assert code in (0, 1, 3), f"{args}: exit {code}\n{err}"
        assert "Traceback" not in err, f"{args}:\n{err}"
        assert took < COMMAND_SECONDS, f"{args} took {took:.1f}s"
        assert "\x1b" not in out + err and "\u202e" not in out, f"{args}: a terminal escape"
        if code and name not in ("check", "check-json"):
            assert "\nerror: " in f"\n{err}", f"{args}: no clear error line\n{err}"
    assert set(tmp.iterdir()) == around, "something was created next to the repository"
    assert _state(s.outside) == outside, "something outside the repository was touched"
    assert not s.canary.exists(), "hub content ran a command"
    assert SECRET.encode() not in _hub_objects(s.hub.hub), "a secret reached the hub"
    assert stat.S_IMODE(s.target.stat().st_mode) == 0o640
    return Outcome(codes, outputs, slowest)


def violations(s: Scene, capsys: Capsys) -> list[dict[str, str]]:
    code, out, _ = cli(s.repo, "check", "--json", capsys=capsys)
    data = json.loads(out) if out.strip() else {"violations": []}
    assert code == (3 if data["violations"] else 0)
    return list(data["violations"])


def assert_violation(s: Scene, capsys: Capsys, rule: str, text: str) -> None:
    found = violations(s, capsys)
    assert any(v["rule"] == rule and text in v["message"] for v in found), found


# --------------------------------------------------------------------------- the cases

Case = Callable[[Scene], None]


def _plan(priority: str = "1", title: str = "hostile") -> str:
    return f"---\ntitle: {title}\npriority: {priority}\ncapabilities: []\n---\n# plan\n"


LAUGHS = "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9) if p else 'lol, lol, lol, lol, lol, lol, lol, lol'}]\n"
    for p, n in zip(["", "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi", strict=True)
)


def template_code(s: Scene) -> None:
    evil = "{{ cycler.__init__.__globals__.os.popen('touch CANARY').read() }}"
    evil = evil.replace("CANARY", str(s.canary))
    put(s.repo, {f"{TEMPLATES_DIR}/{n}": blob(s.repo, evil) for n in TEMPLATE_NAMES})


def template_include(s: Scene) -> None:
    text = f"{{% include '{s.secret}' %}}{{% include '../../../outside/secret.txt' %}}"
    put(s.repo, {f"{TEMPLATES_DIR}/SESSION.md.j2": blob(s.repo, text)})


def template_symlink(s: Scene) -> None:
    put(s.repo, {f"{TEMPLATES_DIR}/SESSION.md.j2": link(s.repo, s.secret)})


def template_bomb(s: Scene) -> None:
    loop = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
    put(s.repo, {f"{TEMPLATES_DIR}/SESSION.md.j2": blob(s.repo, loop)})


def worklog_symlink(s: Scene) -> None:
    folder = s.session("planned", s.victim)
    put(
        s.repo,
        {
            f"{folder}/worklog.md": link(s.repo, s.secret),
            f"{folder}/events.jsonl": link(s.repo, "../../../../../outside/secret.txt"),
        },
    )


def plan_symlink(s: Scene) -> None:
    put(s.repo, {f"{s.session('planned', s.victim)}/SESSION.md": link(s.repo, s.target)})


def dot_git_entry(s: Scene) -> None:
    hooks = "[core]\n\thooksPath = /tmp\n"
    put(s.repo, {f"{s.session('planned', s.victim)}/.git": blob(s.repo, hooks)})


def submodule_entry(s: Scene) -> None:
    put(s.repo, {f"{s.session('planned', s.victim)}/vendor": gitlink(s.hub.main())})


def worktree_symlink(s: Scene) -> None:
    put(s.repo, {f".worktrees/{s.victim}": link(s.repo, s.outside)})


def knowledge_symlink(s: Scene) -> None:
    put(s.repo, {f"_AGENTS/knowledge/sessions/{s.victim}": link(s.repo, s.outside)})


def branch_worklog_symlink(s: Scene) -> None:
    """The session branch itself carries a symlink (as one adopted from the hub would)."""
    folder = s.worktree / s.session("active", s.mine)
    (folder / "worklog.md").unlink()
    (folder / "worklog.md").symlink_to(s.secret)
    git(s.worktree, "add", "-A")
    git(s.worktree, "commit", "-qm", f"[{s.mine}] chore: hostile")


def branch_learnings_symlink(s: Scene) -> None:
    knowledge = s.worktree / "_AGENTS/knowledge/sessions"
    knowledge.mkdir(parents=True, exist_ok=True)
    (knowledge / s.mine).symlink_to(s.outside)
    git(s.worktree, "add", "-A")
    git(s.worktree, "commit", "-qm", f"[{s.mine}] chore: hostile")


def env_tampered(s: Scene) -> None:
    forged = (
        f"export GIT_AUTHOR_NAME='Mallory'\rexport X=$(touch {s.canary})\n"
        f"export SESSION_ID={s.mine}\n`touch {s.canary}`\n"
    )
    put(s.repo, {f"{s.session('active', s.mine)}/.session-env": blob(s.repo, forged)})


def priority_inf(s: Scene) -> None:
    put(s.repo, {f"{s.session('planned', s.victim)}/SESSION.md": blob(s.repo, _plan(".inf"))})


def priority_digits(s: Scene) -> None:
    plan = _plan("9" * 5000)
    put(s.repo, {f"{s.session('planned', s.victim)}/SESSION.md": blob(s.repo, plan)})


def priority_bool(s: Scene) -> None:
    put(s.repo, {f"{s.session('planned', s.victim)}/SESSION.md": blob(s.repo, _plan("true"))})


def plan_laughs(s: Scene) -> None:
    plan = f"---\n{LAUGHS}title: *i\n---\n# boom\n"
    put(s.repo, {f"{s.session('planned', s.victim)}/SESSION.md": blob(s.repo, plan)})


def title_escapes(s: Scene) -> None:
    plan = _plan(title='"\\e]0;owned\\a\\e[2J\\r\\u2028ok"') + "\x1b]0;owned\x07\u202egnp.exe\n"
    put(s.repo, {f"{s.session('planned', s.victim)}/SESSION.md": blob(s.repo, plan)})


def lock_garbage(s: Scene) -> None:
    lock = git(s.repo, "show", f"origin/main:{LOCK_FILE}")
    lock += "2020-01-01-ghost:1\n:::\n\x85garbage\u2028\n" + f"{s.victim}:{'9' * 5000}\n"
    put(s.repo, {LOCK_FILE: blob(s.repo, lock)})


def lock_folder(s: Scene) -> None:
    put(s.repo, {LOCK_FILE: None, f"{LOCK_FILE}/x": blob(s.repo, "x")})


def planned_file(s: Scene) -> None:
    put(s.repo, {f"{SESSIONS}/planned": None})
    put(s.repo, {f"{SESSIONS}/planned": blob(s.repo, "not a folder\n")})


def config_not_utf8(s: Scene) -> None:
    put(s.repo, {CONFIG_FILE: blob(s.repo, b"remote: origin\nworktree_root: \xff\xfe\n")})


def config_escape(s: Scene) -> None:
    put(s.repo, {CONFIG_FILE: blob(s.repo, "worktree_root: ../outside\n")})


def config_ports(s: Scene) -> None:
    put(s.repo, {CONFIG_FILE: blob(s.repo, "ports: {base: 65000, block: 10, slots: 1000}\n")})


def config_laughs(s: Scene) -> None:
    put(s.repo, {CONFIG_FILE: blob(s.repo, LAUGHS + "capabilities: *i\n")})


def config_bootstrap(s: Scene) -> None:
    config = f'bootstrap:\n  copy: [.env]\n  run: ["touch {s.canary}"]\n'
    put(s.repo, {CONFIG_FILE: blob(s.repo, config), ".env": link(s.repo, s.secret)})


def journal_garbage(s: Scene) -> None:
    lines = [
        "not json",
        "[" * 50000,
        '{"time": "2026-01-01T00:00:00Z", "kind": "metric", "text": "x", "metadata": '
        '{"value": ' + "9" * 5000 + "}}",
        '{"time": "99999-01-01", "kind": "log", "text": "x"}',
        '{"time": "2026-01-01T00:00:00Z", "kind": "handoff", "text": "x", '
        '"metadata": {"next_steps": 5}}',
        '{"time": "2026-01-01T00:00:00Z", "kind": "crash", "text": "x", '
        '"metadata": {"uncommitted": {"a": 1}}}',
    ]
    text = "\n".join(lines) + "\n"
    events = s.worktree / s.session("active", s.mine) / "events.jsonl"
    events.write_text(text)
    git(s.worktree, "add", "-A")
    git(s.worktree, "commit", "-qm", f"[{s.mine}] chore: garbage")
    put(s.repo, {f"{s.session('planned', s.victim)}/events.jsonl": blob(s.repo, text)})


def ended_garbage(s: Scene) -> None:
    old = "2026-01-05-old-work"
    folder = s.session("completed", old)
    patch = f"From {'a' * 40} Mon Sep 17 00:00:00 2001\nFrom: x\nDate: never\nSubject: y\n\n---\n"
    put(
        s.repo,
        {
            f"{folder}/SESSION.md": blob(s.repo, _plan()),
            f"{folder}/drift.md": blob(s.repo, "---\ncreated: 2026-01-01\nslug: [1, 2]\n---\n"),
            f"{folder}/{old}.patch": blob(s.repo, patch),
        },
    )
    s.extra += [("drift-old", ["drift", old]), ("history-old", ["history", old])]


TEMPLATE_NAMES = (
    "SESSION.md.j2",
    "kb-merge-SESSION.md.j2",
    "worklog.md.j2",
    "active-plan.md.j2",
    "subsessions.md.j2",
)

# case -> (expected exit codes of some commands, the check rule and text it must report)
CASES: dict[str, tuple[Case, dict[str, int], tuple[str, str] | None]] = {
    "template-code": (template_code, {"new": 1, "complete": 1}, None),
    "template-include": (template_include, {"new": 1}, None),
    "template-symlink": (template_symlink, {"new": 0}, ("hazard", "is a symlink")),
    "template-bomb": (template_bomb, {"new": 1}, None),
    "worklog-symlink": (worklog_symlink, {"claim": 1}, ("hazard", "worklog.md is a sym")),
    "plan-symlink": (plan_symlink, {"claim": 1}, ("hazard", "SESSION.md is a symlink")),
    "dot-git-entry": (dot_git_entry, {"claim": 1}, ("hazard", "is a .git entry")),
    "submodule": (submodule_entry, {"claim": 1}, ("hazard", "vendor is a gitlink")),
    "worktree-symlink": (worktree_symlink, {"claim": 1}, None),
    "knowledge-symlink": (knowledge_symlink, {"claim": 1}, ("hazard", "is a symlink")),
    "branch-worklog-symlink": (
        branch_worklog_symlink,
        {"log": 1, "handoff": 1, "complete": 1},
        None,
    ),
    "branch-learnings-symlink": (branch_learnings_symlink, {"learn": 1, "complete": 1}, None),
    "env-tampered": (env_tampered, {"env": 0}, ("session-env", "not what a claim writes")),
    "priority-inf": (priority_inf, {"list": 0, "queue": 0, "claim": 1}, ("plan", "priority")),
    "priority-digits": (priority_digits, {"list": 0, "claim": 1}, ("plan", "SESSION.md")),
    "priority-bool": (priority_bool, {"list": 0, "claim": 1}, ("plan", "priority")),
    "plan-laughs": (plan_laughs, {"list": 0, "claim": 1}, ("plan", "alias")),
    "title-escapes": (title_escapes, {"list": 0, "claim": 0}, None),
    "lock-garbage": (lock_garbage, {"claim": 0}, ("lock", "ghost")),
    "lock-folder": (lock_folder, {"check-json": 3}, ("hazard", "sessions.lock is a folder")),
    "planned-file": (planned_file, {"ready": 1, "claim": 1}, ("hazard", "planned is a file")),
    "config-not-utf8": (config_not_utf8, {"list": 1, "claim": 1, "check": 1}, None),
    "config-escape": (config_escape, {"list": 1, "claim": 1}, None),
    "config-ports": (config_ports, {"list": 1, "claim": 1}, None),
    "config-laughs": (config_laughs, {"list": 1, "claim": 1}, None),
    "config-bootstrap": (config_bootstrap, {"claim": 0}, None),
    "journal-garbage": (journal_garbage, {"status": 0, "history": 0, "log": 0}, ("journal", "")),
    "ended-garbage": (ended_garbage, {"drift-old": 1, "history-old": 0}, ("drift", "drift.md")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_hub(name: str, scene: Scene, capsys: Capsys) -> None:
    case, expected, rule = CASES[name]
    case(scene)
    if rule is not None:
        assert_violation(scene, capsys, *rule)
    outcome = run_all(scene, capsys)
    for command, code in expected.items():
        out, err = outcome.outputs[command]
        assert outcome.codes[command] == code, (
            f"{command}: exit {outcome.codes[command]}\n{out}{err}"
        )


# --------------------------------------------------------------------------- one class at a time


def test_env_renders_values_and_never_echoes_a_tampered_file(scene: Scene, capsys: Capsys) -> None:
    env_tampered(scene)
    other = scene.hub.clone("other")  # no worktree here: env must read main's copy
    code, out, err = cli(other, "env", scene.mine, capsys=capsys)
    assert code == 1 and "not one git-sessions writes" in err and out == ""
    code, out, _ = cli(scene.repo, "env", scene.mine, capsys=capsys)  # the worktree's copy
    assert code == 0 and out.count("\n") == 10
    assert all(line.startswith("export ") for line in out.splitlines())
    subprocess.run(["sh", "-c", out], check=True)
    assert not scene.canary.exists()


def test_check_names_a_well_formed_but_forged_holder(scene: Scene, capsys: Capsys) -> None:
    """A peer rewrites .session-env perfectly, naming itself: the claim commit says otherwise."""
    from git_sessions import sessionenv
    from git_sessions.edits import Identity

    forged = sessionenv.make(
        scene.mine, Identity("Mallory", "m@evil.test"), str(scene.worktree), 20000
    )
    path = f"{scene.session('active', scene.mine)}/.session-env"
    put(scene.repo, {path: blob(scene.repo, sessionenv.render(forged))})
    assert_violation(scene, capsys, "session-env", "changed since its claim")


def test_check_names_a_claim_commit_whose_env_names_someone_else(
    scene: Scene, capsys: Capsys
) -> None:
    from git_sessions import sessionenv
    from git_sessions.edits import Identity

    _git(scene.repo, "fetch", "-q", "origin")
    folder = _git(scene.repo, "rev-parse", f"origin/main:{scene.session('planned', scene.victim)}")
    lock = git(scene.repo, "show", f"origin/main:{LOCK_FILE}") + f"{scene.victim}:1760400000\n"
    env = sessionenv.make(scene.victim, Identity("Mallory", "m@evil.test"), "/w/x", 20000)
    active = scene.session("active", scene.victim)
    put(
        scene.repo,
        {
            scene.session("planned", scene.victim): None,
            active: ("040000", "tree", folder),
            f"{active}/.session-env": blob(scene.repo, sessionenv.render(env)),
            LOCK_FILE: blob(scene.repo, lock),
        },
    )
    assert_violation(scene, capsys, "session-env", "not the claimer Test Agent")


@pytest.mark.parametrize("name", ["a\rexport X=$(id)", "a\x85b", "a\u2028b", "a\x1b[2Jb", "a\x00b"])
def test_identities_with_control_characters_are_refused_at_claim(
    scene: Scene, capsys: Capsys, name: str
) -> None:
    before = scene.hub.main()
    code, _, err = cli(scene.repo, "claim", scene.victim, "--agent", name, capsys=capsys)
    assert code == 1 and err.startswith("error: an agent name"), err
    assert scene.hub.main() == before


def test_a_dot_git_entry_anywhere_stops_claims_before_they_land(
    scene: Scene, capsys: Capsys
) -> None:
    put(scene.repo, {"src/.git": blob(scene.repo, "[core]\n\tfsmonitor = touch /tmp/x\n")})
    before = scene.hub.main()
    code, _, err = cli(scene.repo, "claim", scene.victim, capsys=capsys)
    assert code == 1 and "src/.git" in err, err
    assert scene.hub.main() == before
    assert_violation(scene, capsys, "hazard", "'src/.git' is a .git entry")


def test_claim_next_passes_over_a_hostile_session(scene: Scene, capsys: Capsys) -> None:
    worklog_symlink(scene)
    other = _made(scene.hub, capsys, "clean task")
    code, out, err = cli(scene.repo, "claim", "--next", "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["slug"] == other
    code, _, err = cli(scene.repo, "claim", "--next", capsys=capsys)
    assert code == 1 and "no claimable session" in err


def test_a_name_too_long_to_check_out_stops_claims_before_they_land(
    scene: Scene, capsys: Capsys
) -> None:
    put(scene.repo, {f"docs/{'x' * 300}.md": blob(scene.repo, "long\n")})
    before = scene.hub.main()
    code, _, err = cli(scene.repo, "claim", scene.victim, capsys=capsys)
    assert code == 1 and "too long" in err, err
    assert scene.hub.main() == before


def test_a_frozen_plan_swapped_for_a_symlink_is_never_chmod_ed(
    scene: Scene, capsys: Capsys
) -> None:
    plan = scene.worktree / scene.session("active", scene.mine) / "SESSION.md"
    plan.unlink()
    plan.symlink_to(scene.target)
    code, _, err = cli(scene.repo, "claim", scene.mine, capsys=capsys)  # repairs, refreezes
    assert code == 1 and "symlink" in err, err
    assert stat.S_IMODE(scene.target.stat().st_mode) == 0o640


def test_only_registered_worktrees_are_removed(scene: Scene, capsys: Capsys) -> None:
    """A plain folder where a worktree would be is left alone by release and complete."""
    code, _, err = cli(scene.repo, "claim", scene.victim, "--no-worktree", capsys=capsys)
    assert code == 0, err
    plain = scene.repo / ".worktrees" / scene.victim
    plain.mkdir(parents=True)
    (plain / "precious.txt").write_text("mine\n")
    code, _, err = cli(scene.repo, "release", scene.victim, capsys=capsys)
    assert code == 0, err
    assert (plain / "precious.txt").read_text() == "mine\n"
    assert scene.worktree.is_dir()
    code, _, err = cli(scene.repo, "complete", scene.mine, "--allow-empty", capsys=capsys)
    assert code == 0, err
    assert not scene.worktree.exists()  # git knew that one: it goes


def test_bootstrap_copy_never_writes_through_a_committed_symlink(
    scene: Scene, capsys: Capsys
) -> None:
    (scene.repo / "local.env").write_text("MINE=1\n")  # the user's own, untracked
    config = "bootstrap:\n  copy: [local.env]\n"
    put(scene.repo, {CONFIG_FILE: blob(scene.repo, config)})
    put(scene.repo, {"local.env": link(scene.repo, scene.target)})  # the pull keeps ours
    code, out, err = cli(scene.repo, "claim", scene.victim, "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["bootstrap"]["copied"] == ["local.env"]
    copied = Path(json.loads(out)["worktree"]) / "local.env"
    assert not copied.is_symlink() and copied.read_text() == "MINE=1\n"
    assert scene.target.read_text() == "leave me alone\n"


def test_bootstrap_commands_run_only_once_approved(
    scene: Scene, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = scene.repo / ".worktrees" / "ran.txt"
    put(scene.repo, {CONFIG_FILE: blob(scene.repo, f'bootstrap:\n  run: ["echo 1 >> {ran}"]\n')})
    code, _, err = cli(scene.repo, "claim", scene.victim, capsys=capsys)
    assert code == 0 and "not approved" in err and f"echo 1 >> {ran}" in err, err
    assert f"git sessions bootstrap {scene.victim} --yes" in err
    assert not ran.exists()
    code, _, err = cli(scene.repo, "bootstrap", scene.victim, capsys=capsys)
    assert code == 1 and not ran.exists()
    code, _, err = cli(scene.repo, "bootstrap", scene.victim, "--yes", capsys=capsys)
    assert code == 0, err
    assert ran.read_text() == "1\n"
    code, _, err = cli(scene.repo, "claim", scene.victim, capsys=capsys)  # done: not again
    assert code == 0 and ran.read_text() == "1\n", err
    code, _, err = cli(scene.repo, "bootstrap", scene.victim, capsys=capsys)  # remembered
    assert code == 0 and ran.read_text() == "1\n1\n"
    changed = f'bootstrap:\n  run: ["echo 2 >> {ran}"]\n'
    put(scene.repo, {CONFIG_FILE: blob(scene.repo, changed)})
    code, _, err = cli(scene.repo, "bootstrap", scene.victim, capsys=capsys)  # a new list
    assert code == 1 and ran.read_text() == "1\n1\n"
    monkeypatch.setenv("GIT_SESSIONS_APPROVE_BOOTSTRAP", "1")  # CI
    code, _, err = cli(scene.repo, "bootstrap", scene.victim, capsys=capsys)
    assert code == 0 and ran.read_text() == "1\n1\n2\n"
