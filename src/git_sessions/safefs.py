"""Files under a trusted folder, reached without ever following a symlink.

What lies below a worktree or the main checkout came from the hub, and anyone who can push can
commit a symlink (`worklog.md -> ~/.ssh/id_rsa`, `_AGENTS/knowledge -> /etc`). Every path here is
opened one component at a time relative to its parent's file descriptor with `O_NOFOLLOW`, so a
symlink anywhere on the way is refused (not followed), and swapping one in mid-way cannot
redirect us either. `base` itself is ours (the repository root or a worktree we checked is not a
symlink) and may be reached through symlinks.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from git_sessions.errors import BadInput

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO must not block us
MAX_READ = 64 * 1024 * 1024  # a session file bigger than this is an attack, not a worklog


class Unsafe(BadInput):
    """A path from the repository that we refuse to use: a symlink, a special file, `..`."""


def parts(rel: str) -> list[str]:
    """The components of a relative path, refusing absolute paths, `.`/`..` and NUL."""
    pieces = rel.split("/")
    if not rel or rel.startswith("/") or "\0" in rel or any(p in ("", ".", "..") for p in pieces):
        raise Unsafe(f"refusing the path {rel!r}: not a plain relative path")
    return pieces


def _refuse(base: Path, rel: str, why: str) -> Unsafe:
    return Unsafe(
        f"refusing to use {rel} in {base}: {why}",
        hint="a symlink or special file came from the repository; remove it with plain git",
    )


@contextlib.contextmanager
def _parent(base: Path, rel: str, *, create: bool) -> Iterator[tuple[int, str] | None]:
    """(fd of the folder holding `rel`, its last name); None if a folder is missing."""
    names = parts(rel)
    fds = [os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)]
    try:
        for name in names[:-1]:
            try:
                fds.append(os.open(name, _DIR, dir_fd=fds[-1]))
            except FileNotFoundError:
                if not create:
                    yield None
                    return
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=fds[-1])
                fds.append(_open_dir(base, rel, name, fds[-1]))
            except OSError as exc:
                raise _refuse(base, rel, f"{name} is a symlink or not a folder") from exc
        yield fds[-1], names[-1]
    finally:
        for fd in fds:
            os.close(fd)


def _open_dir(base: Path, rel: str, name: str, parent: int) -> int:
    try:
        return os.open(name, _DIR, dir_fd=parent)
    except OSError as exc:
        raise _refuse(base, rel, f"{name} is a symlink or not a folder") from exc


def read_bytes(base: Path, rel: str) -> bytes | None:
    """The content of regular file `rel` under `base`; None if it does not exist."""
    with _parent(base, rel, create=False) as where:
        if where is None:
            return None
        folder, name = where
        try:
            fd = os.open(name, _FILE, dir_fd=folder)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):
                raise _refuse(base, rel, "it is a symlink") from exc
            raise
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise _refuse(base, rel, "it is not a regular file")
            data = handle.read(MAX_READ + 1)
        if len(data) > MAX_READ:
            raise _refuse(base, rel, f"it is larger than {MAX_READ} bytes")
        return data


def read_text(base: Path, rel: str) -> str | None:
    data = read_bytes(base, rel)
    return None if data is None else data.decode("utf-8", errors="replace")


def is_file(base: Path, rel: str) -> bool:
    """True if `rel` is a regular file reached without symlinks (a symlink is refused)."""
    with _parent(base, rel, create=False) as where:
        if where is None:
            return False
        try:
            mode = os.stat(where[1], dir_fd=where[0], follow_symlinks=False).st_mode
        except FileNotFoundError:
            return False
        if stat.S_ISLNK(mode):
            raise _refuse(base, rel, "it is a symlink")
        return stat.S_ISREG(mode)


def write_bytes(base: Path, rel: str, data: bytes, mode: int = 0o644) -> None:
    """Replace `rel` under `base` atomically (temp file, then rename), creating folders."""
    with _parent(base, rel, create=True) as where:
        assert where is not None
        folder, name = where
        temp = f".{name}.tmp-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=folder)
        fd = os.open(
            temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=folder
        )
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            # rename replaces the directory entry itself: a symlink there is replaced, not followed
            os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
        except OSError as exc:
            os.unlink(temp, dir_fd=folder)
            raise _refuse(base, rel, "a folder is in the way") from exc


def write_text(base: Path, rel: str, text: str) -> None:
    write_bytes(base, rel, text.encode())


def chmod(base: Path, rel: str, mode: int) -> bool:
    """Set the mode of regular file `rel` (never a symlink's target); False if it is absent."""
    with _parent(base, rel, create=False) as where:
        if where is None:
            return False
        folder, name = where
        try:
            fd = os.open(name, _FILE, dir_fd=folder)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _refuse(base, rel, "it is a symlink or unreadable") from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise _refuse(base, rel, "it is not a regular file")
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return True


def no_symlink_on_the_way(base: Path, rel: str) -> None:
    """Refuse if an existing component of `rel` under `base` is a symlink or not a folder."""
    current = base
    for name in parts(rel):
        current = current / name
        try:
            mode = current.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(mode):
            raise _refuse(base, rel, f"{current} is a symlink or not a folder")


def remove_tree(path: Path) -> None:
    """Delete folder `path` and everything in it, following no symlink (a symlinked `path`
    itself is refused)."""
    import shutil  # with bz2 and lzma ~1.5 ms: a cached queue reads through this module

    mode = path.lstat().st_mode
    if not stat.S_ISDIR(mode):
        raise Unsafe(f"refusing to remove {path}: it is a symlink or not a folder")
    # rmtree is fd-based on Linux (avoids_symlink_attacks): it unlinks symlinks, never follows
    # them. Unlinking needs write access to the folder, not the file, so the frozen SESSION.md
    # goes as it is; only a folder made read-only gets a chmod, when removing in it fails (not
    # one chmod per file of the tree).
    shutil.rmtree(path, onerror=_writable_and_retry)


def _writable_and_retry(function: Any, failed: str, _info: Any) -> None:
    for folder in (os.path.dirname(failed), failed):
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(os.lstat(folder).st_mode):
                os.chmod(folder, 0o755)
    function(failed)
