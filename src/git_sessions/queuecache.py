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

An entry is a header of length-prefixed fields, then the answer. The inputs are encoded the
same way when looking up and compared as bytes: no parser (json, with re, would be ~3 ms of a
cached queue's ~20 ms, cli/fast.py), and every input is still compared byte for byte.
"""

from __future__ import annotations

import os
import zlib

from git_sessions import __version__, plancache
from git_sessions.gitrepo import gitfiles

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from git_sessions.context import Context

SCHEMA = 2  # bump when queue's output or what it depends on changes; 2: length-prefixed header
KEEP = 8  # entries kept per repository (one per set of options in use)
MAX_ENTRY = 256 * 1024 * 1024
CONFIG_FILE = ("_AGENTS", "config.yaml")
HEADER = 7  # fields before the answer: key, hub, branch, tip, length, crc32, inputs


def _encode(values: list[str]) -> bytes:
    """`values` as `<length>:<bytes>\\n` each: unambiguous whatever they hold (surrogatepass:
    a path or variable that is not UTF-8 is still encoded, and differently from any other)."""
    out = []
    for value in values:
        data = value.encode("utf-8", "surrogatepass")
        out.append(b"%d:%s\n" % (len(data), data))
    return b"".join(out)


def _decode(data: bytes, count: int) -> tuple[list[bytes], int] | None:
    """The first `count` fields _encode wrote at the start of `data` and where they end;
    None if `data` does not start that way (a damaged or foreign entry)."""
    fields = []
    at = 0
    for _ in range(count):
        colon = data.find(b":", at, at + 20)
        if colon < 0 or not data[at:colon].isdigit():
            return None
        end = colon + 1 + int(data[at:colon])
        if data[end : end + 1] != b"\n":
            return None
        fields.append(data[colon + 1 : end])
        at = end + 1
    return fields, at


# Plain classes, not NamedTuples or dataclasses: importing typing or dataclasses costs a
# cached queue several ms of its ~20 ms in total (cli/fast.py)
class Question:
    """One call of `queue`: where it started (an absolute path, symlinks resolved) and its
    options."""

    __slots__ = ("as_json", "capabilities", "show_all", "start")

    def __init__(
        self,
        start: str | os.PathLike[str],
        capabilities: tuple[str, ...],
        show_all: bool,
        as_json: bool,
    ) -> None:
        self.start = os.fspath(start)
        self.capabilities = capabilities
        self.show_all = show_all
        self.as_json = as_json

    def key(self) -> str:
        versions = [SCHEMA, __version__, plancache.VERSION, len(self.capabilities)]
        flags = [self.start, *self.capabilities, self.show_all, self.as_json]
        fields = _encode([str(value) for value in (*versions, *flags)])
        return fields.decode("utf-8", "surrogatepass")


class Before:
    """The local inputs as they were before the ordinary path ran."""

    __slots__ = ("common_dir", "environment", "files", "git_dir", "question")

    def __init__(
        self,
        question: Question,
        git_dir: str,
        common_dir: str,
        files: dict[str, str],
        environment: dict[str, str],
    ) -> None:
        self.question = question
        self.git_dir = git_dir
        self.common_dir = common_dir
        self.files = files
        self.environment = environment


def _entry_path(common_dir: str, key: str) -> str:
    name = f"{zlib.crc32(key.encode('utf-8', 'surrogatepass')):08x}.txt"
    return os.path.join(common_dir, "git-sessions", "queue", name)


def _local_files(
    git_dir: str, common_dir: str, environ: Mapping[str, str]
) -> dict[str, str] | None:
    files = gitfiles.fingerprint(gitfiles.config_files(git_dir, common_dir, environ))
    if files is None:
        return None
    # the way load_config reads it (safefs): a symlink on the way is refused there, so here too
    top = os.path.dirname(common_dir)
    config = gitfiles.read_below(top, CONFIG_FILE)
    if config is None:
        return None
    name = os.path.join(top, *CONFIG_FILE)
    files[name] = gitfiles.MISSING if isinstance(config, str) else "=" + config.hex()
    return files


def _inputs(
    question: Question, environ: Mapping[str, str]
) -> tuple[str, str, dict[str, str]] | None:
    dirs = gitfiles.git_dirs(question.start, environ)
    if dirs is None:
        return None
    files = _local_files(*dirs, environ)
    return None if files is None else (*dirs, files)


def _inputs_field(git_dir: str, files: dict[str, str], environment: dict[str, str]) -> str:
    """Every local input as one string, the same for the same inputs in the same order (the
    variables sorted: the order of the environment is not an input)."""
    values = [git_dir, str(len(files))]
    for name, content in (*files.items(), *sorted(environment.items())):
        values += [name, content]
    return _encode(values).decode("utf-8", "surrogatepass")


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
    header = _decode(data, HEADER)
    if header is None:
        return None
    (stored_key, hub_b, branch_b, tip_b, length, crc, inputs), start = header
    if stored_key != key.encode("utf-8", "surrogatepass"):
        return None
    try:
        hub, branch, tip = (v.decode("utf-8", "surrogatepass") for v in (hub_b, branch_b, tip_b))
    except UnicodeDecodeError:
        return None
    files[os.path.join(hub, "HEAD")] = _content(os.path.join(hub, "HEAD"))
    environment = gitfiles.environment(environ)
    output = data[start:]
    same = (
        length == b"%d" % len(output)
        and crc == b"%d" % zlib.crc32(output)
        and inputs == _inputs_field(git_dir, files, environment).encode("utf-8", "surrogatepass")
    )
    if not same or gitfiles.read_ref(hub, f"refs/heads/{branch}") != tip:
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
    if (str(ctx.ws.git_dir), str(ctx.ws.common_dir)) != (was.git_dir, was.common_dir):
        return  # libgit2 found another repository than gitfiles: never answer from here
    now = _inputs(was.question, environ)
    if now is None or now[2] != was.files or gitfiles.environment(environ) != was.environment:
        return
    hub_path = str(hub.path)
    head = _content(os.path.join(hub_path, "HEAD"))
    # the protocol's branch is named by config.yaml, else it is main, named by config.yaml
    # or else by the hub's HEAD: then that HEAD must still name it
    named = ctx.config.protocol_branch or ctx.config.main_branch
    if named is None and head != f"=ref: refs/heads/{hub.branch}\n":
        return  # main's name came from a HEAD that has moved since
    if gitfiles.read_ref(hub_path, f"refs/heads/{hub.branch}") != tip:
        return  # main moved meanwhile, or its ref is stored in a way gitfiles does not read
    key = was.question.key()
    encoded = output.encode("utf-8")
    files = {**was.files, os.path.join(hub_path, "HEAD"): head}
    header = _encode(
        [
            key,
            hub_path,
            hub.branch,
            tip,
            str(len(encoded)),
            str(zlib.crc32(encoded)),  # a damaged entry is not printed
            _inputs_field(was.git_dir, files, was.environment),
        ]
    )
    path = _entry_path(was.common_dir, key)
    try:  # a cache that cannot be written is no error
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}")
        with open(temp, "wb") as handle:
            handle.write(header + encoded)
        os.replace(temp, path)
        _prune(os.path.dirname(path))
    except OSError:
        pass


def _content(path: str) -> str:
    data = gitfiles.read_file(path)
    return gitfiles.MISSING if data is None else "=" + data.decode("utf-8", "surrogateescape")


def _prune(folder: str) -> None:
    """Keep the KEEP most recently written entries."""
    entries: list[tuple[float, str]] = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        try:
            entries.append((os.stat(path).st_mtime, path))
        except OSError:
            continue
    for _, path in sorted(entries, reverse=True)[KEEP:]:
        try:
            os.unlink(path)
        except OSError:
            continue
