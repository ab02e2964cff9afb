"""`context`: the snapshot an agent reads before starting a session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Hub, cli, cli_error, push_files

from git_sessions.briefing import estimate_tokens, words

Capsys = pytest.CaptureFixture[str]


def ok(repo: Path, *args: str, capsys: Capsys) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def test_context_gathers_what_an_agent_needs(hub: Hub, capsys: Capsys, tmp_path: Path) -> None:
    push_files(
        hub.repo,
        {
            "_AGENTS/knowledge/security.md": "# Security\nbcrypt truncates passwords at 72 bytes\n",
            "_AGENTS/knowledge/unrelated.md": "# Cooking\nboil pasta in salted water\n",
            "src/auth.py": "def login():\n    pass\n",
        },
        "[kb-2026-01-01-seed] docs: knowledge",
    )
    auth = ok(
        hub.repo, "new", "auth", "system", "-c", "security",
        "--context", "Hash passwords with bcrypt in `src/auth.py` and `docs/missing.md`.",
        capsys=capsys,
    ).strip()  # fmt: skip
    login = ok(hub.repo, "new", "login", "page", "--depends-on", auth, capsys=capsys).strip()
    child = ok(hub.repo, "spawn", "lockout", "--parent", auth, capsys=capsys).strip()
    ok(hub.repo, "message", "--to", auth, "remember rate limits", capsys=capsys)

    data = json.loads(ok(hub.repo, "context", auth, "--json", capsys=capsys))
    assert data["slug"] == auth and "bcrypt" in data["plan"]
    paths = [k["path"] for k in data["knowledge"]]
    assert paths == ["_AGENTS/knowledge/security.md"]
    assert data["related"]["dependents"] == [
        {"slug": login, "state": "drafting", "title": "login page"}
    ]
    assert [c["slug"] for c in data["related"]["children"]] == [child]
    files = {f["path"]: f for f in data["files"]}
    assert files["src/auth.py"]["state"] == "exists" and files["src/auth.py"]["lines"] == 2
    assert files["docs/missing.md"]["state"] == "missing on main"
    assert [m["text"] for m in data["messages"]] == ["remember rate limits"]
    assert data["token_estimate"] > 50

    text = ok(hub.repo, "context", auth, capsys=capsys)
    assert text.startswith(f"# Context: {auth} [drafting]")
    assert "## Depended on by" in text and "remember rate limits" in text
    out = tmp_path / "ctx.md"
    code, stdout, err = cli(hub.repo, "context", auth, "--out", str(out), capsys=capsys)
    assert code == 0 and stdout == "" and "tokens" in err
    assert out.read_text() == text
    child_ctx = json.loads(ok(hub.repo, "context", child, "--json", capsys=capsys))
    assert child_ctx["related"]["parent"][0]["slug"] == auth


def test_context_errors(hub: Hub, capsys: Capsys, tmp_path: Path) -> None:
    cli_error(hub, "context", "2026-01-01-nothing", code=1, capsys=capsys)
    slug = ok(hub.repo, "new", "x", capsys=capsys).strip()
    cli_error(hub, "context", slug, "--out", str(tmp_path / "no" / "dir.md"), code=1,
              capsys=capsys)  # fmt: skip


def test_words_and_tokens() -> None:
    assert words("The bcrypt hashing, with passwords!") == {"bcrypt", "hashing", "passwords"}
    assert estimate_tokens("x" * 40) == 10
