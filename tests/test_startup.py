"""Start-up stays light: each command imports only what it needs (structure, not timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli

HEAVY = ("pydantic", "pygit2", "jinja2", "yaml", "typer")

# Runs one command in a fresh interpreter and prints, as JSON, which heavy packages it loaded.
PROBE = """
import json, sys
from git_sessions.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
loaded = sorted(n for n in {heavy!r} if n in sys.modules)
sys.stderr.write("LOADED " + json.dumps([code, loaded]) + "\\n")
"""


def loaded(
    cwd: Path, *args: str, env: dict[str, str] | None = None, heavy: tuple[str, ...] = HEAVY
) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=heavy), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=120,
        check=False,
    )
    line = [x for x in proc.stderr.splitlines() if x.startswith("LOADED ")]
    assert line, proc.stderr
    code, names = json.loads(line[-1][len("LOADED ") :])
    return code, set(names)


def test_version_does_not_import_typer(tmp_path: Path) -> None:
    assert loaded(tmp_path, "--version") == (0, set())


def test_env_in_a_worktree_opens_no_repository(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    (slug,) = add_planned(hub.repo, 1)
    code, out, err = cli(hub.repo, "claim", slug, "--json", capsys=capsys)
    assert code == 0, err
    worktree = Path(json.loads(out)["worktree"])
    env = dict(os.environ, SESSION_ID=slug)
    code, names = loaded(worktree / "src" if (worktree / "src").is_dir() else worktree, "env")
    assert code == 0
    assert names == set(), names  # nor typer: cli/fast.py answers it
    code, names = loaded(hub.repo, "env", slug, env=env)  # outside the worktree: read the hub
    assert code == 0
    assert "pydantic" not in names and "jinja2" not in names


def test_hot_commands_do_not_parse_yaml_or_hash_for_nothing(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    """The session's journal and reads: config.yaml's YAML is remembered in the git dir once
    parsed (PyYAML ~10 ms), and our modules import hashlib (OpenSSL, ~2 ms) only to hash."""
    from git_sessions.config import DEFAULT_CONFIG

    assert (hub.repo / "_AGENTS/config.yaml").read_text() == DEFAULT_CONFIG  # as init wrote it
    memo = hub.repo / ".git/git-sessions/config-yaml.json"
    memo.unlink(missing_ok=True)
    first, second, third = add_planned(hub.repo, 3)
    code, out, err = cli(hub.repo, "claim", first, "--json", capsys=capsys)
    assert code == 0, err
    worktree = Path(json.loads(out)["worktree"])
    assert memo.is_file()
    watched = ("yaml", "hashlib", "jinja2", "pydantic")
    # commands that take the workspace lock get hashlib from filelock (secrets -> hmac)
    cases = [(worktree, ["status"], set()), (worktree, ["queue", "--json"], set())]
    cases += [(worktree, ["log", "an entry"], {"hashlib"}), (worktree, ["heartbeat"], set())]
    cases += [(hub.repo, ["claim", second, "--no-worktree"], {"hashlib"})]
    cases += [(hub.repo, ["claim", third], {"hashlib"})]
    for cwd, args, expected in cases:
        code, names = loaded(cwd, *args, heavy=watched)
        assert code == 0, args
        assert names == expected, (args, names)


def test_reads_and_claims_never_build_pydantic_adapters(hub: Hub) -> None:
    add_planned(hub.repo, 2)
    for args in (["list", "--json"], ["queue"], ["check"], ["claim", "--next", "--no-worktree"]):
        code, names = loaded(hub.repo, *args)
        assert code == 0, args
        assert "pydantic" not in names, args
    code, names = loaded(hub.repo, "list", "--state", "nonsense")
    assert code == 2 and "pydantic" not in names


def test_bad_option_values_are_usage_errors(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(hub.repo, "watch", "--interval", "soon", capsys=capsys)
    assert code == 2 and "not a valid number" in err
    code, _, err = cli(hub.repo, "watch", "--interval", "0", capsys=capsys)
    assert code == 2 and "range" in err


def test_every_command_is_in_the_dispatch_table() -> None:
    import typer

    from git_sessions import cli as cli_module
    from git_sessions.cli.app import app

    for name in cli_module.MODULES:
        cli_module.load_commands([name])  # not a command: imports every module
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    for name in group.commands:
        module = cli_module.COMMANDS.get(name)
        assert module, f"add {name!r} to COMMANDS in git_sessions/cli/__init__.py"
        callback = group.commands[name].callback
        if callback is not None and name != "hooks":
            assert callback.__module__ == f"git_sessions.cli.{module}", name
    assert set(cli_module.COMMANDS) == set(group.commands)


def test_command_name_skips_the_root_directory_option() -> None:
    from git_sessions.cli import command_name

    assert command_name(["-C", "x", "list", "--json"]) == "list"
    assert command_name(["-Cx", "claim"]) == "claim"
    assert command_name(["--help"]) is None
    assert command_name([]) is None


def test_building_only_the_command_run_changes_nothing_it_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command's help and usage errors are the same from the one-command app main()
    builds as from the whole app."""
    import git_sessions.cli as cli_module

    def run(*args: str) -> tuple[int, str, str]:
        code = cli_module.main(["-C", str(tmp_path), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    cli_module.load_all()
    cases = [(name, "--help") for name in cli_module.COMMANDS]
    cases += [("queue", "--no-such-option"), ("log",), ("claim", "--next", "extra", "args")]
    alone = {case: run(*case) for case in cases}
    monkeypatch.setattr(cli_module, "_only", lambda app, name: app)
    for case in cases:
        assert run(*case) == alone[case], case
