"""Where client and server meet: the runtime directory, the key that names a server, and the
paths derived from it. Imported by the client before anything else, so only light modules."""

from __future__ import annotations

import os
import stat
import sys
import zlib

from git_sessions import __version__
from git_sessions.cmdserver.wire import encode

TYPE_CHECKING = False  # see wire.py
if TYPE_CHECKING:
    from collections.abc import Mapping

    from git_sessions.cmdserver.wire import Value

    _Environ = Mapping[str, str]

ENABLE = "GIT_SESSIONS_SERVER"
RUNTIME_DIR = "GIT_SESSIONS_RUNTIME_DIR"
IDLE = "GIT_SESSIONS_SERVER_IDLE"
PROTOCOL = 1
MAX_SOCKET_PATH = 107  # sun_path is 108 bytes with its NUL on Linux

# Environment read once when the server starts and then fixed in every child it forks: libgit2
# computes its global/XDG config search path from HOME and XDG_CONFIG_HOME when pygit2 is
# imported; Python fixes its preferred encoding (LC_ALL, LC_CTYPE, LANG) at start-up and `time`
# reads TZ once. A client whose values differ needs another server. Everything else (PATH,
# GIT_*, PYTHONPATH...) is read when used, from the environment the child takes over from its
# client; PYTHONPATH and the -X/-O flags already show in sys.path and the flags below.
KEY_ENVIRONMENT = ("HOME", "XDG_CONFIG_HOME", "LC_ALL", "LC_CTYPE", "LANG", "TZ")


def enabled(environ: _Environ) -> bool:
    return environ.get(ENABLE, "0") == "1"


def flags() -> dict[str, Value]:
    """The interpreter flags that change how imported code behaves (the server is started
    with the same ones: see `interpreter_options`)."""
    f = sys.flags
    return {
        "optimize": f.optimize,
        "dont_write_bytecode": f.dont_write_bytecode,
        "no_user_site": f.no_user_site,
        "ignore_environment": f.ignore_environment,
        "isolated": f.isolated,
        "safe_path": int(f.safe_path),
        "dev_mode": int(f.dev_mode),
        "utf8_mode": f.utf8_mode,
    }


def interpreter_options() -> list[str]:
    """Command-line options that give a new interpreter this one's `flags()` and -W options."""
    f = sys.flags
    options = ["-" + "O" * f.optimize] if f.optimize else []
    options += [opt for name, opt in _SWITCHES if getattr(f, name)]
    options += ["-X", f"utf8={f.utf8_mode}"]
    if f.dev_mode:
        options += ["-X", "dev"]
    for warning in sys.warnoptions:
        options += ["-W", warning]
    return options


_SWITCHES = (
    ("dont_write_bytecode", "-B"),
    ("no_user_site", "-s"),
    ("ignore_environment", "-E"),
    ("isolated", "-I"),
    ("safe_path", "-P"),
)


def key_inputs(environ: _Environ) -> dict[str, Value]:
    """Everything that fixes a server's import-time state, as the server compares it."""
    return {
        "protocol": PROTOCOL,
        "version": __version__,
        "executable": sys.executable,
        "path": list(sys.path),
        "flags": flags(),
        "warnings": list(sys.warnoptions),
        "environment": {name: environ.get(name) for name in KEY_ENVIRONMENT},
    }


def key(inputs: dict[str, Value]) -> str:
    """A short name for `inputs` (crc32: the server re-checks the inputs themselves)."""
    return f"{zlib.crc32(encode(inputs)):08x}"


def runtime_dir(environ: _Environ) -> str:
    explicit = environ.get(RUNTIME_DIR)
    if explicit:
        return explicit
    xdg = environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, "git-sessions")
    return f"/tmp/git-sessions-{os.getuid()}"


def private_dir(path: str, *, create: bool) -> bool:
    """Whether `path` is a directory only we can use: ours, not a symlink, no group or other
    access (created 0700 when missing and `create`). Anything else: do not use it."""
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and stat.S_IMODE(info.st_mode) & 0o077 == 0
    )


def socket_path(directory: str, name: str) -> str:
    return os.path.join(directory, f"{name}.sock")


def lock_path(directory: str, name: str) -> str:
    return os.path.join(directory, f"{name}.lock")
