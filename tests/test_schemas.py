"""Versioned JSON: every command with --json prints a document that validates against its
schema in docs/schema/, and every schema is exercised."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
from conftest import Hub, cli, git

from git_sessions import schemas
from git_sessions.cli.app import app

Capsys = pytest.CaptureFixture[str]
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "docs" / "schema"


class Recorder:
    """Runs commands with --json, validating each document; remembers what it covered."""

    def __init__(self, capsys: Capsys) -> None:
        self.capsys = capsys
        self.commands: set[str] = set()
        self.schemas: set[str] = set()
        self.watched: set[str] = set()

    def validate(self, doc: dict[str, Any]) -> dict[str, Any]:
        prefix, name, version = doc["schema"].split("/")
        assert (prefix, version) == ("git-sessions", "v1")
        schema = schemas.load(name)
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
        self.schemas.add(name)
        return doc

    def run(self, repo: Path, *args: str, code: int = 0) -> dict[str, Any]:
        result, out, err = cli(repo, *args, "--json", capsys=self.capsys)
        assert result == code, err
        words = [a for a in args if not a.startswith("-")]
        self.commands.add(
            " ".join(words[:2]) if words[0] in ("hooks", "guard", "server") else words[0]
        )
        lines = out.splitlines() if args[0] == "watch" else [out]
        docs = [self.validate(json.loads(line)) for line in lines]
        if args[0] == "watch":
            self.watched = {d["event"] for d in docs}
        return docs[0]


def json_commands() -> set[str]:
    """Every command that has a --json option, by its name (groups: 'hooks install')."""
    found: set[str] = set()
    root: Any = typer.main.get_command(app)
    for name, command in root.commands.items():
        subs = command.commands.items() if hasattr(command, "commands") else [(None, command)]
        for sub, leaf in subs:
            if any("--json" in p.opts for p in leaf.params):
                found.add(f"{name} {sub}" if sub else name)
    return found


def test_schema_files_are_valid_and_listed() -> None:
    names = sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))
    assert names == schemas.names() and len(names) >= 20
    for name in names:
        schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["properties"]["schema"] == {"const": f"git-sessions/{name}/v1"}
        assert "schema" in schema["required"]


def test_every_json_output_matches_its_schema(hub: Hub, capsys: Capsys, tmp_path: Path) -> None:
    rec = Recorder(capsys)
    repo = hub.repo
    made = [
        rec.run(repo, "new", w, "--date", "2026-03-03", "--criteria", "it works")["slug"]
        for w in ("alpha", "beta", "gamma", "delta")
    ]
    a, b, c, d = made
    for slug in made:
        rec.run(repo, "ready", slug)
    rec.run(repo, "unready", d)
    rec.run(repo, "spawn", "child", "--parent", a)
    rec.run(repo, "list")
    rec.run(repo, "show", a)
    rec.run(repo, "queue", "--all")
    rec.run(repo, "check")
    rec.run(repo, "schema")
    rec.run(repo, "watch", "--once", "--interval", "0.05")
    assert {"started", "found"} <= rec.watched

    claim = rec.run(repo, "claim", a)
    assert claim["environment"]["SESSION_ID"] == a and isinstance(claim["port"], int)
    wt = Path(claim["worktree"])
    rec.run(repo, "env", a)
    assert rec.run(repo, "bootstrap", a)["ok"] is True
    for args in (
        ("log", "read the code", "-k", "planning"),
        ("decision", "use bcrypt", "-r", "packaged"),
        ("milestone", "it works"),
        ("blocker", "db down"),
        ("unblock",),
        ("metric", "tokens", "12"),
        ("learn", "bcrypt truncates"),
        ("handoff", "-n", "next step"),
    ):
        rec.run(repo, *args, "-s", a)
    rec.run(repo, "heartbeat", a)
    rec.run(repo, "list", "--state", "active")  # with its holder and age
    rec.run(repo, "context", a)
    rec.run(repo, "message", "--to", a, "remember rate limits")
    rec.run(repo, "inbox", a, "--all")
    plan = Path(rec.run(repo, "override", a, "--unlock")["path"])
    (tmp_path / "plan.md").write_text(plan.read_text() + "\nMore context.\n")
    rec.run(repo, "override", a, "-r", "scope grew", "--file", str(tmp_path / "plan.md"))
    rec.run(repo, "journal")
    rec.run(repo, "status", a, "-v")
    rec.run(repo, "history", a)
    rec.run(repo, "search", "bcrypt")
    (wt / "work.txt").write_text("half done\n")
    rec.run(repo, "crash", "killed", "-s", a)
    rec.run(repo, "recover", "-s", a)
    git(wt, "commit", "-qm", f"[{a}] feat: it works", "--allow-empty")
    assert rec.run(repo, "drift", a)["live"] is True
    rec.run(repo, "hooks", "install")
    rec.run(repo, "board")
    rec.run(repo, "complete", a)
    assert rec.run(repo, "drift", a)["live"] is False
    assert rec.run(repo, "review", "-o", str(tmp_path / "site"))["sessions"]
    assert rec.run(repo, "gc", "--dry-run")["dry_run"] is True

    rec.run(repo, "claim", b, "--no-worktree")
    rec.run(repo, "release", b)
    rec.run(repo, "claim", c)
    rec.run(repo, "reap", "--older-than", "1d", "--dry-run")
    rec.run(repo, "abandon", c, "--reason", "not needed")

    from conftest import push_files

    bad = push_files(repo, {"_AGENTS/knowledge/guide.md": "x\n"}, "docs: kb edit")
    rec.run(repo, "acknowledge", bad, "--reason", "reviewed by Ana")

    # errors are documents too, on stdout, besides the exit code
    error = rec.run(repo, "show", "2026-01-01-nothing", code=1)["error"]
    assert error["code"] == "bad_input" and error["exit"] == 1
    assert rec.run(repo, "list", "--bogus", code=2)["error"]["code"] == "usage"

    plain = tmp_path / "fresh"
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "fresh-hub.git"))
    git(tmp_path, "clone", "-q", str(tmp_path / "fresh-hub.git"), str(plain))
    (plain / "README.md").write_text("x\n")
    git(plain, "add", "README.md")
    git(plain, "commit", "-qm", "first")
    git(plain, "push", "-q", "origin", "HEAD:main")
    rec.run(plain, "init")
    # the coordination layout: review landing, land, and migrating back
    rec.run(plain, "migrate", "--protocol-branch", "sessions")
    git(plain, "pull", "-q", "origin", "main")
    e = rec.run(plain, "new", "epsilon", "--date", "2026-03-03")["slug"]
    rec.run(plain, "ready", e)
    wt_e = Path(rec.run(plain, "claim", e)["worktree"])
    git(wt_e, "commit", "-qm", f"[{e}] feat: it works", "--allow-empty")
    assert rec.run(plain, "complete", e, "--land", "review", "--allow-empty")["landing"]
    assert rec.run(plain, "land")["sessions"][0]["slug"] == e
    assert rec.run(plain, "migrate", "--protocol-branch", "main")["layout"] == "main"
    rec.run(plain, "guard", "install", "--hub", str(tmp_path / "fresh-hub.git"))
    server = rec.run(repo, "server", "status")  # tests/test_server.py: one that runs
    assert server["running"] is False and server["pid"] is None

    assert json_commands() - rec.commands == set(), "a --json command without a schema test"
    assert set(schemas.names()) - rec.schemas == set(), "a schema no command produced"


def test_check_failure_with_json_is_one_document(hub: Hub, capsys: Capsys) -> None:
    from conftest import push_files

    push_files(hub.repo, {"_AGENTS/sessions/planned/Bad Name/SESSION.md": "x\n"}, "bad")
    code, out, err = cli(hub.repo, "check", "--json", capsys=capsys)
    assert code == 3 and err.startswith("error: ")
    doc = json.loads(out)  # exactly one document: the report
    assert doc["schema"] == "git-sessions/check/v1" and doc["ok"] is False
    jsonschema.validate(doc, schemas.load("check"))


def test_schema_command_prints_one_schema(hub: Hub, capsys: Capsys) -> None:
    code, out, _ = cli(hub.repo, "schema", "claim", capsys=capsys)
    assert code == 0 and json.loads(out) == schemas.load("claim")
    code, out, _ = cli(hub.repo, "schema", capsys=capsys)
    assert code == 0 and "claim" in out and "git-sessions/error/v1" in out
    code, _, err = cli(hub.repo, "schema", "nope", capsys=capsys)
    assert code == 1 and err.startswith("error: no schema 'nope'")


def test_a_stored_drift_report_from_the_hub_cannot_forge_the_document(
    hub: Hub, capsys: Capsys
) -> None:
    from conftest import push_files

    slug = "2026-01-01-forged"
    folder = f"_AGENTS/sessions/completed/{slug}"
    plan = "---\ntitle: forged\n---\n# forged\n"
    from git_sessions.drift import Criterion, Drift, render

    met = (Criterion("a", True), Criterion("b", True))
    report = Drift(slug, False, "", met, (), (), (), (), {}, 0, 1, 1, 0)
    drift_md = render(report).replace("---\n", "---\nschema: git-sessions/claim/v1\nevil: 1\n", 1)
    push_files(hub.repo, {f"{folder}/SESSION.md": plan, f"{folder}/drift.md": drift_md}, "forge")
    code, out, err = cli(hub.repo, "drift", slug, "--json", capsys=capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "git-sessions/drift/v1" and doc["live"] is False
    assert "evil" not in doc and doc["criteria_met"] == 2
    jsonschema.validate(doc, schemas.load("drift"))


def test_the_wheel_ships_schemas_types_and_the_man_page() -> None:
    import tomllib

    config = tomllib.loads((SCHEMA_DIR.parents[1] / "pyproject.toml").read_text())
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["force-include"]["docs/schema"] == "git_sessions/schema"
    assert wheel["shared-data"]["man/man1/git-sessions.1"] == "share/man/man1/git-sessions.1"
    assert (SCHEMA_DIR.parents[1] / "src/git_sessions/py.typed").is_file()
    extras = config["project"]["optional-dependencies"]
    assert any(d.startswith("mcp") for d in extras["mcp"])
    assert set(extras["mcp"]) <= set(extras["dev"]), "CI (the dev extra) tests the MCP server"
