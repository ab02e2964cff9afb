"""The last answer of `queue`, kept until main moves (a machine-local cache in the git dir).

Agents poll `queue` many times a session, mostly while main stands still. A queue is a pure
function of the protocol branch's tree (main, or the coordination branch), the options and this
machine's configuration, so its output is stored with what it was computed from: that branch's
commit on the hub, the options, the start directory, and the content of every local file and
environment variable that chose the hub, the branch or the default capabilities (git's config
files, `_AGENTS/config.yaml`, the hub's HEAD). A later call
with the same options whose inputs are byte for byte the same and whose hub main still points at
that commit prints the stored text without opening the repository through libgit2: a ref read,
a few small files and one cache file.

Only for a hub on this filesystem (a remote hub's main is known only by asking the network).
Any doubt (a missing, corrupt or foreign entry, a changed input, a ref stored some way
`gitfiles` does not read) falls back to the ordinary path, which then writes a fresh entry.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from git_sessions import __version__, plancache, safefs
from git_sessions.errors import BadInput
from git_sessions.gitrepo import gitfiles

if TYPE_CHECKING:
    from git_sessions.context import Context

SCHEMA = 1  # bump when queue's output or what it depends on changes
KEEP = 8  # entries kept per repository (one per set of options in use)
MAX_ENTRY = 256 * 1024 * 1024
CONFIG_FILE = "_AGENTS/config.yaml"


# NamedTuples, not dataclasses: importing dataclasses (inspect, ast, dis) costs ~5 ms of a
# cached queue's ~30 ms in total (cli/fast.py)
class Question(NamedTuple):
    """One call of `queue`: where it started and its options."""

    start: Path
    capabilities: tuple[str, ...]
    show_all: bool
    as_json: bool

    def key(self) -> str:
        versions = [SCHEMA, __version__, plancache.VERSION]
        return json.dumps(
            [*versions, str(self.start), list(self.capabilities), self.show_all, self.as_json]
        )


class Before(NamedTuple):
    """The local inputs as they were before the ordinary path ran."""

    question: Question
    git_dir: Path
    common_dir: Path
    files: dict[str, str]
    environment: dict[str, str]


def _entry_path(common_dir: Path, key: str) -> Path:
    return common_dir / "git-sessions" / "queue" / f"{zlib.crc32(key.encode()):08x}.txt"


def _local_files(
    git_dir: Path, common_dir: Path, environ: Mapping[str, str]
) -> dict[str, str] | None:
    files = gitfiles.fingerprint(gitfiles.config_files(git_dir, common_dir, environ))
    if files is None:
        return None
    try:  # the way load_config reads it: a symlink on the way is refused there, so here too
        config = safefs.read_bytes(common_dir.parent, CONFIG_FILE)
    except (BadInput, OSError):
        return None
    name = str(common_dir.parent / CONFIG_FILE)
    files[name] = gitfiles.MISSING if config is None else "=" + config.hex()
    return files


def _inputs(
    question: Question, environ: Mapping[str, str]
) -> tuple[Path, Path, dict[str, str]] | None:
    dirs = gitfiles.git_dirs(question.start, environ)
    if dirs is None:
        return None
    files = _local_files(*dirs, environ)
    return None if files is None else (*dirs, files)


def lookup(question: Question, environ: Mapping[str, str]) -> str | None:
    """The stored answer to `question` if nothing it depends on changed since; else None."""
    found = _inputs(question, environ)
    if found is None:
        return None
    git_dir, common_dir, files = found
    key = question.key()
    data = gitfiles.read_file(_entry_path(common_dir, key), MAX_ENTRY)
    if data is None:
        return None
    head, _, output = data.partition(b"\n")
    try:
        header = json.loads(head)
    except (ValueError, RecursionError):  # a damaged (or deeply nested) header: no answer
        return None
    if not isinstance(header, dict) or header.get("key") != key:
        return None
    hub, branch, tip = header.get("hub"), header.get("branch"), header.get("tip")
    if not (isinstance(hub, str) and isinstance(branch, str) and isinstance(tip, str)):
        return None
    files[str(Path(hub) / "HEAD")] = _content(Path(hub) / "HEAD")
    same = (
        header.get("git_dir") == str(git_dir)
        and header.get("length") == len(output)
        and header.get("crc32") == zlib.crc32(output)
        and header.get("files") == files
        and header.get("environment") == gitfiles.environment(environ)
    )
    if not same or gitfiles.read_ref(Path(hub), f"refs/heads/{branch}") != tip:
        return None
    try:
        return output.decode("utf-8")
    except UnicodeDecodeError:
        return None


def before(question: Question, environ: Mapping[str, str]) -> Before | None:
    """The local inputs now, to be compared after the ordinary path ran (None: not cacheable)."""
    found = _inputs(question, environ)
    if found is None:
        return None
    git_dir, common_dir, files = found
    return Before(question, git_dir, common_dir, files, gitfiles.environment(environ))


def store(
    was: Before, ctx: Context, tip: str | None, output: str, environ: Mapping[str, str]
) -> None:
    """Keep `output`, the answer computed on `ctx` at main commit `tip`, if every input is
    still what it was before (so the answer is the one those inputs give) and the hub is local."""
    from git_sessions.gitrepo import LocalHub

    hub = ctx.hub
    if tip is None or not isinstance(hub, LocalHub):
        return
    if (ctx.ws.git_dir, ctx.ws.common_dir) != (was.git_dir, was.common_dir):
        return  # libgit2 found another repository than gitfiles: never answer from here
    now = _inputs(was.question, environ)
    if now is None or now[2] != was.files or gitfiles.environment(environ) != was.environment:
        return
    head = _content(hub.path / "HEAD")
    # the protocol's branch is named by config.yaml, else it is main, named by config.yaml
    # or else by the hub's HEAD: then that HEAD must still name it
    named = ctx.config.protocol_branch or ctx.config.main_branch
    if named is None and head != f"=ref: refs/heads/{hub.branch}\n":
        return  # main's name came from a HEAD that has moved since
    if gitfiles.read_ref(hub.path, f"refs/heads/{hub.branch}") != tip:
        return  # main moved meanwhile, or its ref is stored in a way gitfiles does not read
    key = was.question.key()
    encoded = output.encode("utf-8")
    header = {
        "key": key,
        "git_dir": str(was.git_dir),
        "files": {**was.files, str(hub.path / "HEAD"): head},
        "environment": was.environment,
        "hub": str(hub.path),
        "branch": hub.branch,
        "tip": tip,
        "length": len(encoded),
        "crc32": zlib.crc32(encoded),  # a damaged entry is not printed
    }
    path = _entry_path(was.common_dir, key)
    with contextlib.suppress(OSError):  # a cache that cannot be written is no error
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}")
        temp.write_bytes(json.dumps(header).encode() + b"\n" + encoded)
        os.replace(temp, path)
        _prune(path.parent)


def _content(path: Path) -> str:
    data = gitfiles.read_file(path)
    return gitfiles.MISSING if data is None else "=" + data.decode("utf-8", "surrogateescape")


def _prune(folder: Path) -> None:
    """Keep the KEEP most recently written entries."""
    entries: list[tuple[float, Path]] = []
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            entries.append((path.stat().st_mtime, path))
    for _, path in sorted(entries, reverse=True)[KEEP:]:
        with contextlib.suppress(OSError):
            path.unlink()
