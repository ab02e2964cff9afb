"""A repository's files read directly, without libgit2: where the git dir is, a ref's value,
the configuration files a command depends on.

Only for start-up fast paths (a cached `queue` answers before pygit2 is imported): every
function here answers None when it cannot be sure (a layout it does not know, a symlink, an
unreadable file), and the caller then takes the ordinary path through libgit2. Nothing here
writes to a repository.

Paths are plain strings joined with os.path, and nothing beyond os is imported: on a cached
`queue` (~20 ms in all) pathlib, re and typing would cost ~6 ms of imports (tests/test_fast.py
pins that they stay out).
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Mapping

_HEX = b"0123456789abcdef"
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_FILE = 16 * 1024 * 1024  # a packed-refs or config file larger than this: take the slow path
MISSING = ""  # in a fingerprint: the file does not exist
# Environment variables that change which repository, which configuration or which timeout a
# command uses (besides every GIT_* one, all of which are kept in a fingerprint).
ENVIRONMENT = ("HOME", "XDG_CONFIG_HOME")
# ...but for these, which choose how a command runs and never what it answers: an answer
# cached by the typer path must serve the fast path too (cli/fast.py), and one cached by a
# command run in-process must serve one run by the command server (docs/server.md)
NOT_INPUTS = (
    "GIT_SESSIONS_NO_FAST",
    "GIT_SESSIONS_SERVER",
    "GIT_SESSIONS_RUNTIME_DIR",
    "GIT_SESSIONS_SERVER_IDLE",
)


def _read_fd(fd: int, max_size: int) -> bytes | None:
    """The bytes of the regular file open as `fd` (closed here); None if it is not one or is
    larger than `max_size`."""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_size:
            return None
        chunks = []
        while chunk := os.read(fd, max(info.st_size + 1, 1 << 16)):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_file(path: str, max_size: int = MAX_FILE) -> bytes | None:
    """The bytes of a regular file, not following a symlink as its last component; None if it
    is missing, a symlink, not a regular file, too large or unreadable."""
    try:
        fd = os.open(path, _READ)
    except OSError:
        return None
    return _read_fd(fd, max_size)


def read_below(base: str, names: tuple[str, ...]) -> bytes | str | None:
    """The bytes of the regular file `base/names...`, opened one name at a time without
    following a symlink anywhere below `base` (as safefs reads a file from the hub);
    MISSING if a name on the way does not exist; None if it cannot be read with certainty."""
    try:
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    for index, name in enumerate(names):
        last = index == len(names) - 1
        try:
            child = os.open(name, _READ if last else _DIR, dir_fd=fd)
        except FileNotFoundError:
            return MISSING
        except OSError:
            return None  # a symlink, a file where a folder should be, unreadable
        finally:
            os.close(fd)
        fd = child
    return _read_fd(fd, MAX_FILE)


def git_dirs(start: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(git dir, common git dir) of the repository whose working tree holds `start` (an
    absolute path without symlinks), found the way git does for an ordinary clone or a linked
    worktree: the nearest `.git` folder, or a `.git` file saying `gitdir: PATH`. None for
    anything else (a bare repository, a ceiling, $GIT_DIR set): the caller asks libgit2."""
    if any(environ.get(name) for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES")):
        return None
    folder = start
    while True:
        dot = os.path.join(folder, ".git")
        try:
            info = os.lstat(dot)
        except FileNotFoundError:
            parent = os.path.dirname(folder)
            if parent == folder:
                return None
            folder = parent
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
            git_dir = os.path.realpath(os.path.join(folder, target))
        else:
            return None
        common = read_file(os.path.join(git_dir, "commondir"))
        if common is None:
            return git_dir, git_dir
        named = common.strip().decode("utf-8", "surrogateescape")
        return git_dir, os.path.realpath(os.path.join(git_dir, named))


def _is_oid(value: bytes) -> bool:
    """A full SHA-1 or SHA-256 object id in lowercase hex."""
    return len(value) in (40, 64) and not value.translate(None, _HEX)


def read_ref(repo: str, ref: str) -> str | None:
    """The object id `ref` (a full name under refs/) points at in the repository at `repo`,
    read as git stores it: the loose file, else its line in packed-refs. None if the ref does
    not exist or cannot be read with certainty (symbolic, reftable, a symlink, a malformed
    file)."""
    names = ref.split("/")
    if names[0] != "refs" or any(n in ("", ".", "..") or n.startswith(".") for n in names):
        return None
    if os.path.lexists(os.path.join(repo, "reftable")):
        return None
    path = os.path.join(repo, *names)
    loose = read_file(path)
    if loose is not None:
        value = loose.strip()
        return value.decode() if _is_oid(value) else None
    if os.path.lexists(path):
        return None  # there but unreadable (a symlink, a folder): do not guess
    # git writes a new packed-refs before it deletes a loose ref, so a ref missing as a file
    # is in the packed-refs we read now (or was deleted: then it is in neither)
    packed = read_file(os.path.join(repo, "packed-refs"))
    if packed is None:
        return None
    wanted = ref.encode()
    for line in packed.split(b"\n"):
        if line.startswith((b"#", b"^")) or not line:
            continue
        value, _, name = line.partition(b" ")
        if name == wanted:
            return value.decode() if _is_oid(value) else None
    return None


def config_files(git_dir: str, common_dir: str, environ: Mapping[str, str]) -> list[str]:
    """Every git configuration file that can apply to this repository (system, global, XDG,
    the repository's, the worktree's), existing or not."""
    home = environ.get("HOME", "")
    xdg = environ.get("XDG_CONFIG_HOME") or (f"{home}/.config" if home else "")
    found = [
        environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig",
        os.path.join(common_dir, "config"),
        os.path.join(git_dir, "config.worktree"),
    ]
    if environ.get("GIT_CONFIG_GLOBAL"):
        found.append(environ["GIT_CONFIG_GLOBAL"])
    if home:
        found.append(os.path.join(home, ".gitconfig"))
    if xdg:
        found.append(os.path.join(xdg, "git", "config"))
    return found


def fingerprint(paths: list[str]) -> dict[str, str] | None:
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
