"""Running the user's own commands (bootstrap steps, `watch --exec`), never git.

Git is reached only through git_sessions.gitrepo; this module exists so that the one other kind
of subprocess, the commands a repository asks us to run, has a single home too.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ran:
    command: str
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_shell(command: str, cwd: Path, env: Mapping[str, str], timeout: float | None = None) -> Ran:
    """Run `command` with /bin/sh in `cwd`; its combined output, never raising on failure."""
    try:
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        return Ran(command, 124, out + f"\n(timed out after {timeout}s)")
    except OSError as exc:
        return Ran(command, 127, str(exc))
    return Ran(command, done.returncode, done.stdout)


def run_editor(editor: str, path: Path) -> int:
    """Run the user's $EDITOR on `path` on the user's terminal, like git does (through sh, so
    `EDITOR="code --wait"` works); its exit code."""
    try:
        return subprocess.run(
            ["/bin/sh", "-c", f'{editor} "$@"', editor, str(path)], check=False
        ).returncode
    except OSError:
        return 127
