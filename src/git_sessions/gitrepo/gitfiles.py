"""A repository's files read directly, without libgit2: where the git dir is, a ref's value,
the configuration files a command depends on.

Only for start-up fast paths (a cached `queue` answers before pygit2 is imported): every
function here answers None when it cannot be sure (a layout it does not know, a symlink, an
unreadable file), and the caller then takes the ordinary path through libgit2. Nothing here
writes to a repository.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

_OID = re.compile(rb"[0-9a-f]{40}([0-9a-f]{24})?")
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_FILE = 16 * 1024 * 1024  # a packed-refs or config file larger than this: take the slow path
MISSING = ""  # in a fingerprint: the file does not exist
# Environment variables that change which repository, which configuration or which timeout a
# command uses (besides every GIT_* one, all of which are kept in a fingerprint).
ENVIRONMENT = ("HOME", "XDG_CONFIG_HOME")
# ...but for these, which choose how a command runs and never what it answers: an answer
# cached by the typer path must serve the fast path too (cli/fast.py)
NOT_INPUTS = ("GIT_SESSIONS_NO_FAST",)


def read_file(path: Path, max_size: int = MAX_FILE) -> bytes | None:
    """The bytes of a regular file, not following a symlink as its last component; None if it
    is missing, a symlink, not a regular file, too large or unreadable."""
    try:
        fd = os.open(path, _READ)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_size:
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def git_dirs(start: Path, environ: Mapping[str, str]) -> tuple[Path, Path] | None:
    """(git dir, common git dir) of the repository whose working tree holds `start`, found the
    way git does for an ordinary clone or a linked worktree: the nearest `.git` folder, or a
    `.git` file saying `gitdir: PATH`. None for anything else (a bare repository, a ceiling,
    $GIT_DIR set): the caller asks libgit2 instead."""
    if any(environ.get(name) for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES")):
        return None
    for folder in (start, *start.parents):
        dot = folder / ".git"
        try:
            info = os.lstat(dot)
        except FileNotFoundError:
            continue
        except OSError:
            return None
        if stat.S_ISDIR(info.st_mode):
            git_dir = dot
        elif stat.S_ISREG(info.st_mode):
            text = read_file(dot)
            if text is None or not text.startswith(b"gitdir: "):
                return None
            target = text[8:].strip().decode("utf-8", "surrogateescape")
            git_dir = (folder / target).resolve()
        else:
            return None
        common = read_file(git_dir / "commondir")
        if common is None:
            return git_dir, git_dir
        return git_dir, (git_dir / common.strip().decode("utf-8", "surrogateescape")).resolve()
    return None


def read_ref(repo: Path, ref: str) -> str | None:
    """The object id `ref` (a full name under refs/) points at in the repository at `repo`,
    read as git stores it: the loose file, else its line in packed-refs. None if the ref does
    not exist or cannot be read with certainty (symbolic, reftable, a symlink, a malformed
    file)."""
    names = ref.split("/")
    if names[0] != "refs" or any(n in ("", ".", "..") or n.startswith(".") for n in names):
        return None
    if os.path.lexists(repo / "reftable"):
        return None
    loose = read_file(repo.joinpath(*names))
    if loose is not None:
        value = loose.strip()
        return value.decode() if _OID.fullmatch(value) else None
    if os.path.lexists(repo.joinpath(*names)):
        return None  # there but unreadable (a symlink, a folder): do not guess
    # git writes a new packed-refs before it deletes a loose ref, so a ref missing as a file
    # is in the packed-refs we read now (or was deleted: then it is in neither)
    packed = read_file(repo / "packed-refs")
    if packed is None:
        return None
    wanted = ref.encode()
    for line in packed.split(b"\n"):
        if line.startswith((b"#", b"^")) or not line:
            continue
        value, _, name = line.partition(b" ")
        if name == wanted:
            return value.decode() if _OID.fullmatch(value) else None
    return None


def config_files(git_dir: Path, common_dir: Path, environ: Mapping[str, str]) -> list[Path]:
    """Every git configuration file that can apply to this repository (system, global, XDG,
    the repository's, the worktree's), existing or not."""
    home = environ.get("HOME", "")
    xdg = environ.get("XDG_CONFIG_HOME") or (f"{home}/.config" if home else "")
    found = [
        Path(environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig"),
        common_dir / "config",
        git_dir / "config.worktree",
    ]
    if environ.get("GIT_CONFIG_GLOBAL"):
        found.append(Path(environ["GIT_CONFIG_GLOBAL"]))
    if home:
        found.append(Path(home) / ".gitconfig")
    if xdg:
        found.append(Path(xdg) / "git" / "config")
    return found


def fingerprint(paths: list[Path]) -> dict[str, str] | None:
    """Each path's content (MISSING if it does not exist); None if one cannot be read as a
    plain file or includes others (an `[include]` may name any file, so it is not cached)."""
    found: dict[str, str] = {}
    for path in paths:
        data = read_file(path)
        if data is None:
            if os.path.lexists(path):
                return None
            found[str(path)] = MISSING
            continue
        if b"include" in data.lower():
            return None
        found[str(path)] = "=" + data.decode("utf-8", "surrogateescape")
    return found


def environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment variables git or git-sessions read that can change a command's result."""
    return {
        k: v
        for k, v in environ.items()
        if (k.startswith("GIT_") or k in ENVIRONMENT) and k not in NOT_INPUTS
    }
