"""Help that works: -h/--help everywhere, --version, one-line usage errors, consistent short
options, the man page behind `git sessions --help` (run through git itself), completion."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from conftest import ROOT, Hub, cli

from git_sessions import __version__
from git_sessions.cli import load_all
from git_sessions.cli.app import app

Capsys = pytest.CaptureFixture[str]
EXE = Path(sys.executable).parent / "git-sessions"


def commands() -> list[list[str]]:
    """Every command path: ['claim'], ['hooks', 'install'], ..."""
    load_all()  # the CLI imports only the module of the command it runs
    root: Any = typer.main.get_command(app)
    found: list[list[str]] = []
    for name, command in root.commands.items():
        if hasattr(command, "commands"):
            found += [[name, sub] for sub in command.commands]
            found.append([name])
        else:
            found.append([name])
    return found


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_on_every_command(hub: Hub, capsys: Capsys, flag: str) -> None:
    paths = commands()
    assert len(paths) >= 30
    for path in [[], *paths]:
        code, out, err = cli(hub.repo, *path, flag, capsys=capsys)
        assert code == 0, (path, err)
        assert out.startswith("Usage: git-sessions"), (path, out)
        assert "-h, --help" in out, path


@pytest.mark.parametrize("args", [[], ["hooks"]])
def test_no_command_prints_the_help(capsys: Capsys, args: list[str]) -> None:
    from git_sessions.cli import main

    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out.startswith("Usage: git-sessions") and "Commands:" in out


def test_version(capsys: Capsys, hub: Hub) -> None:
    code, out, _ = cli(hub.repo, "--version", capsys=capsys)
    assert code == 0 and out == f"git-sessions {__version__}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--bogus"], "error: No such option: --bogus"),
        (["frobnicate"], "error: No such command 'frobnicate'."),
        (["show"], "error: Missing argument 'slug'."),
        (["list", "--state", "nope"], "error: Invalid value for '--state'"),
        (["claim"], "error: Invalid value: name a session or pass --next (not both)"),
    ],
)
def test_usage_errors_are_one_line(hub: Hub, capsys: Capsys, args: list[str], message: str) -> None:
    code, out, err = cli(hub.repo, *args, capsys=capsys)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith(message), err
    assert lines[1].startswith("hint: see: git-sessions") and lines[1].endswith(" --help")
    assert "Error:" not in err and "Usage:" not in err


def test_short_options_mean_one_thing_everywhere() -> None:
    """-s is always --session, -c always --capability, ... (README, man page)."""
    meaning: dict[str, set[str]] = {}
    root: Any = typer.main.get_command(app)
    stack = [root]
    while stack:
        command = stack.pop()
        stack += list(getattr(command, "commands", {}).values())
        for param in command.params:
            shorts = [o for o in param.opts if len(o) == 2]
            longs = [o for o in param.opts if o.startswith("--")]
            for short in shorts:
                meaning.setdefault(short, set()).update(longs)
    assert meaning["-s"] == {"--session"}
    assert meaning["-c"] == {"--capability"}
    # -r: --reason (abandon) and --rationale (decision) are both "why"
    assert meaning["-r"] == {"--reason", "--rationale"}
    assert all(len(longs) <= 1 for short, longs in meaning.items() if short != "-r"), meaning


def test_man_page_is_generated_from_the_cli() -> None:
    from git_sessions.cli.manpage import render

    committed = (ROOT / "man/man1/git-sessions.1").read_text()
    assert committed == render(), "regenerate: python -m git_sessions.cli.manpage > man/man1/..."
    for path in commands():
        if len(path) == 1 and path[0] not in ("hooks", "server"):  # groups only
            assert f"\\fBgit sessions {path[0].replace('-', chr(92) + '-')}\\fR" in committed


def test_git_sessions_help_through_git_shows_the_man_page(tmp_path: Path) -> None:
    """git turns `git sessions --help` into `man git-sessions`; man finds the installed page
    from PATH (<prefix>/bin -> <prefix>/share/man), with no MANPATH set."""
    if shutil.which("man") is None:
        pytest.skip("needs man (Debian package man-db); bin/test installs it when root")
    page = Path(sys.prefix) / "share/man/man1/git-sessions.1"
    assert page.is_file(), "the wheel installs the man page into <prefix>/share/man/man1"
    env = {k: v for k, v in os.environ.items() if k not in ("MANPATH", "MANOPT")}
    env.update(
        PATH=f"{EXE.parent}{os.pathsep}{env.get('PATH', '')}",
        MANPAGER="cat",
        PAGER="cat",
        MANWIDTH="80",
        LANG="C.UTF-8",
    )
    result = subprocess.run(
        ["git", "sessions", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "GIT-SESSIONS(1)" in result.stdout
    assert "git sessions claim" in result.stdout and "EXIT STATUS" in result.stdout


def _complete(env_extra: dict[str, str]) -> str:
    env = {**os.environ, **env_extra}
    result = subprocess.run([str(EXE)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_completion_offers_session_slugs_from_the_hub(hub: Hub, capsys: Capsys) -> None:
    code, out, _ = cli(hub.repo, "new", "alpha", "one", "--date", "2026-04-04", capsys=capsys)
    assert code == 0
    slug = out.strip()
    repo = str(hub.repo)
    bash = _complete(
        {
            "_GIT_SESSIONS_COMPLETE": "complete_bash",
            "COMP_WORDS": f"git-sessions -C {repo} show 2026-04",
            "COMP_CWORD": "4",
        }
    )
    assert bash.split() == [slug]
    zsh = _complete(
        {
            "_GIT_SESSIONS_COMPLETE": "complete_zsh",
            "_TYPER_COMPLETE_ARGS": f"git-sessions -C {repo} ready ",
        }
    )
    assert slug in zsh
    fish = _complete(
        {
            "_GIT_SESSIONS_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_ARGS": f"git-sessions -C {repo} claim ",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
        }
    )
    assert fish.split() == [slug]
    # outside any repository, completion offers nothing and prints no error
    none = _complete(
        {
            "_GIT_SESSIONS_COMPLETE": "complete_bash",
            "COMP_WORDS": f"git-sessions -C {hub.repo.parent} show ",
            "COMP_CWORD": "4",
        }
    )
    assert none.strip() == ""


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_a_script(shell: str) -> None:
    result = subprocess.run(
        [str(EXE), "--show-completion", shell],
        env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "_GIT_SESSIONS_COMPLETE" in result.stdout


GIT_BASH_COMPLETION = Path("/usr/share/bash-completion/completions/git")


def test_git_sessions_tab_completes_slugs_through_gits_own_bash_completion(
    hub: Hub, capsys: Capsys
) -> None:
    """`git sessions show <TAB>`: git's completion calls _git_sessions, which the bash script
    of `git-sessions completion bash` defines."""
    if shutil.which("bash") is None or not GIT_BASH_COMPLETION.is_file():
        pytest.skip(f"needs bash and git's bash completion ({GIT_BASH_COMPLETION}, package git)")
    code, out, _ = cli(hub.repo, "new", "beta", "two", "--date", "2026-04-05", capsys=capsys)
    assert code == 0
    slug = out.strip()
    script = f"""
source {GIT_BASH_COMPLETION}
eval "$(git-sessions completion bash)"
complete_line() {{
    COMP_LINE="$1"; COMP_POINT=${{#COMP_LINE}}
    read -ra COMP_WORDS <<< "$1"; COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
    COMPREPLY=(); __git_wrap__git_main; printf '%s\\n' "${{COMPREPLY[@]}}"
}}
complete_line "git sessions show 2026-04"
echo ---
complete_line "git sessions cla"
"""
    env = {**os.environ, "PATH": f"{EXE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        ["bash", "-c", script], cwd=hub.repo, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    slugs, commands = result.stdout.split("---\n")
    assert slugs.split() == [slug]
    assert commands.split() == ["claim"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_command_prints_each_shells_script(hub: Hub, capsys: Capsys, shell: str) -> None:
    code, out, _ = cli(hub.repo, "completion", shell, capsys=capsys)
    assert code == 0 and "_GIT_SESSIONS_COMPLETE" in out
    assert ("_git_sessions()" in out) == (shell == "bash")
    assert cli(hub.repo, "completion", "tcsh", capsys=capsys)[0] == 2
