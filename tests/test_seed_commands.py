"""The seed's own commands and files: wrappers from any directory, the activation line from
anywhere, SESSIONS-REFERENCE.md and the ignores from the first init."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, git

from git_sessions.protocol import SESSIONS

Capsys = pytest.CaptureFixture[str]


def env() -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def test_first_init_installs_the_reference_and_ignores(plain: Hub, capsys: Capsys) -> None:
    assert cli(plain.repo, "init", capsys=capsys)[0] == 0
    reference = git(plain.hub, "show", f"main:{SESSIONS}/SESSIONS-REFERENCE.md")
    assert "## Troubleshooting" in reference and "git push origin HEAD:main" in reference
    ignores = git(plain.hub, "show", "main:.gitignore").splitlines()
    assert ".worktrees/" in ignores and ".sessions/" in ignores
    assert "merge=union" in git(plain.hub, "show", "main:.gitattributes")


def test_wrappers_work_from_any_directory_and_the_line_activates(hub: Hub) -> None:
    [slug] = add_planned(hub.repo, 1)
    git(hub.repo, "pull", "-q")
    deep = hub.repo / "src" / "deep"
    deep.mkdir(parents=True)
    wrapper = hub.repo / SESSIONS / "_bin" / "claim-session"
    done = subprocess.run(
        [str(wrapper), slug], cwd=deep, env=env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("cd ") and "source" in line
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash for `source` (install package: bash)")
    probe = subprocess.run(
        [bash, "-c", f'{line} && echo "$SESSION_ID $GIT_AUTHOR_NAME" && pwd'],
        cwd="/",
        env=env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines()[0] == f"{slug} Test Agent"
    wt = Path(probe.stdout.splitlines()[1])
    (wt / "x.txt").write_text("x\n")
    git(wt, "add", "x.txt")
    git(wt, "commit", "-qm", f"[{slug}] feat: x")
    complete = hub.repo / SESSIONS / "_bin" / "complete-session"
    done = subprocess.run(
        [str(complete), slug], cwd=deep, env=env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert slug in git(hub.hub, "ls-tree", "--name-only", f"main:{SESSIONS}/completed/")
