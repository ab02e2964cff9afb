"""Real git servers on loopback for the transport tests: smart HTTP and ssh.

Each server is a real process started on a free port with its own config file in a temp dir,
waited for by the log line it prints once it listens (never by sleeping), and stopped with its
whole process group at the end, so no CGI or ssh session child outlives the test. `git daemon`
is `serve_git_daemon` in conftest.py.

- `http_backend`: `git http-backend` as a CGI behind lighttpd, basic auth from a plain user file
  over the whole /git/ tree; http-backend enables receive-pack because the request carries
  REMOTE_USER. Every request is written to an access log (for debugging a failure).
- `sshd`: OpenSSH's server with key authentication only (no PAM, no password), a host key and
  authorized_keys in the temp dir; clients get a key file and a known_hosts file (`SshKeys`).

Where the server binary is missing the test skips and names the Debian package (bin/test
installs them when it runs as root, as CI does).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

LIGHTTPD = "/usr/sbin/lighttpd"
SSHD = "/usr/sbin/sshd"
START_TIMEOUT = 30.0  # seconds for a server to say it listens (a loaded CI machine)


def require(binary: str, package: str) -> str:
    """The path of `binary` (in PATH or where Debian puts it); skip the test if it is missing."""
    found = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.skip(f"needs {binary} (Debian package {package}; bin/test installs it as root)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def user_name() -> str:
    """The account the tests run as: the ssh user (sshd run by a user admits only that user)."""
    return pwd.getpwuid(os.getuid()).pw_name


class Server:
    """A server process in its own process group, its stderr read line by line on a thread
    (a full pipe would stall it) and kept for error messages."""

    def __init__(self, argv: Sequence[str], ready: re.Pattern[str]) -> None:
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._drain, args=(ready,), daemon=True).start()

    def _drain(self, ready: re.Pattern[str]) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if ready.search(line):
                self._ready.set()
        self._ready.set()  # it exited: stop waiting

    def wait_ready(self) -> bool:
        """True once the ready line was printed; False if the process exited (port taken...)."""
        if not self._ready.wait(START_TIMEOUT):
            self.stop()
            raise AssertionError(f"{self.proc.args[0]} not ready after {START_TIMEOUT}s")
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # children that ignored SIGTERM (a CGI or an ssh session stuck on a dead client)
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


@contextmanager
def serving(make_argv: Callable[[int], list[str]], ready: str) -> Iterator[int]:
    """Start a server on a free port, retrying if another process took the port between our
    probe and its bind; yields the port while it runs."""
    pattern = re.compile(ready)
    log: list[str] = []
    for _ in range(5):
        port = free_port()
        server = Server(make_argv(port), pattern)
        if server.wait_ready():
            try:
                yield port
            finally:
                server.stop()
            return
        server.stop()
        log = server.lines
    raise AssertionError("could not start the server:\n" + "".join(log))


# --------------------------------------------------------------------------- smart HTTP


@dataclass(frozen=True)
class HttpServer:
    """Where the repositories under `root` are served (`{url}/hub.git`) and who may use them."""

    url: str
    user: str
    password: str
    access_log: Path  # for reading after a failure (lighttpd writes it in batches)


LIGHTTPD_CONF = """\
server.document-root = "{work}"
server.bind = "127.0.0.1"
server.port = {port}
server.modules = ("mod_auth", "mod_authn_file", "mod_alias", "mod_setenv", "mod_cgi",
                  "mod_accesslog")
accesslog.filename = "{work}/access.log"
alias.url = ("/git/" => "{backend}/")
$HTTP["url"] =~ "^/git/" {{
  cgi.assign = ("" => "")
  setenv.set-environment = ("GIT_PROJECT_ROOT" => "{root}", "GIT_HTTP_EXPORT_ALL" => "1")
  auth.backend = "plain"
  auth.backend.plain.userfile = "{work}/users"
  auth.require = ("" => ("method" => "basic", "realm" => "git hubs", "require" => "valid-user"))
}}
"""


@contextmanager
def http_backend(root: Path, work: Path, user: str, password: str) -> Iterator[HttpServer]:
    """`git http-backend` behind lighttpd serving the repositories under `root` at
    http://127.0.0.1:PORT/git/; every request needs `user`:`password` (basic auth)."""
    lighttpd = require("lighttpd", "lighttpd")
    exec_path = subprocess.run(
        ["git", "--exec-path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    backend = Path(exec_path) / "git-http-backend"
    work.mkdir(parents=True, exist_ok=True)
    (work / "users").write_text(f"{user}:{password}\n")

    def argv(port: int) -> list[str]:
        conf = work / "lighttpd.conf"
        conf.write_text(LIGHTTPD_CONF.format(work=work, port=port, root=root, backend=backend))
        return [lighttpd, "-D", "-f", str(conf)]

    with serving(argv, r"server started") as port:
        yield HttpServer(f"http://127.0.0.1:{port}/git", user, password, work / "access.log")


def credential_helper(path: Path, user: str, password: str) -> str:
    """A credential helper script answering `get` with these credentials (git's helper protocol);
    its path, for `credential.helper`. The secret stays in this file, never in a remote URL.
    Each call's action (get, store, erase) is appended to `{path}.log`, so tests can count how
    often git asked."""
    path.write_text(
        "#!/bin/sh\n"
        f'echo "$1" >> "{path}.log"\n'
        '[ "$1" = get ] || exit 0\n'
        "cat >/dev/null\n"
        f"echo username={user}\n"
        f"echo password={password}\n"
    )
    path.chmod(0o700)
    return str(path)


# --------------------------------------------------------------------------- ssh


@dataclass(frozen=True)
class SshKeys:
    """Key pairs: the server's host key, the client's key, and a host key no server has."""

    folder: Path

    @property
    def host(self) -> Path:
        return self.folder / "host_ed25519"

    @property
    def client(self) -> Path:
        return self.folder / "client_ed25519"

    @property
    def other_host(self) -> Path:
        return self.folder / "other_host_ed25519"

    @classmethod
    def generate(cls, folder: Path) -> SshKeys:
        keygen = require("ssh-keygen", "openssh-client")
        keys = cls(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for key in (keys.host, keys.client, keys.other_host):
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-C", key.name, "-f", str(key)],
                check=True,
                capture_output=True,
            )
        return keys


@dataclass(frozen=True)
class SshServer:
    port: int
    user: str
    keys: SshKeys

    def url(self, path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"

    def known_hosts_line(self, *, wrong: bool = False) -> str:
        """A known_hosts entry for this server: its real host key, or with `wrong` another key
        (what a man in the middle, or a reinstalled server, would present)."""
        key = self.keys.other_host if wrong else self.keys.host
        public = key.with_suffix(".pub").read_text().split()
        return f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n"

    def ssh_command(self, known_hosts: Path) -> str:
        """An ssh command line for `core.sshCommand`: this key file only (no agent), this
        known_hosts only, never ask."""
        return (
            f"ssh -i {self.keys.client} -o IdentitiesOnly=yes -o IdentityAgent=none"
            f" -o UserKnownHostsFile={known_hosts} -o GlobalKnownHostsFile=/dev/null"
            " -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR"
        )

    def ssh_config(self, alias: str, known_hosts: Path) -> str:
        """An ssh config block naming the server `alias`, for scp-style `alias:/path` URLs."""
        return (
            f"Host {alias}\n"
            f"  HostName 127.0.0.1\n  Port {self.port}\n  User {self.user}\n"
            f"  IdentityFile {self.keys.client}\n  IdentitiesOnly yes\n  IdentityAgent none\n"
            f"  UserKnownHostsFile {known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n"
        )


SSHD_CONFIG = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {host_key}
AuthorizedKeysFile {work}/authorized_keys
PidFile {work}/sshd.pid
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers {user}
# many agents connect at once: the default (10:30:100) drops connections during key exchange
MaxStartups 256
"""


@contextmanager
def sshd(work: Path, keys: SshKeys) -> Iterator[SshServer]:
    """An sshd admitting the current user with `keys.client` only, on a free loopback port."""
    binary = require("sshd", "openssh-server")
    require("ssh", "openssh-client")
    if os.getuid() == 0:
        # sshd started as root wants its privilege separation directory, which only the
        # package's service unit creates (absent in a container where it never ran)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (work / "authorized_keys").write_text(keys.client.with_suffix(".pub").read_text())
    user = user_name()

    def argv(port: int) -> list[str]:
        conf = work / "sshd_config"
        conf.write_text(SSHD_CONFIG.format(port=port, host_key=keys.host, work=work, user=user))
        return [binary, "-D", "-e", "-f", str(conf)]

    with serving(argv, r"Server listening on") as port:
        yield SshServer(port, user, keys)


# --------------------------------------------------------------------------- git daemon


@contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """`git daemon` serving (and accepting pushes to) the repositories under `base`; yields its
    git:// URL prefix. (conftest.py's `serve_git_daemon` is the same for the pytest fixtures.)"""

    def argv(port: int) -> list[str]:
        return [
            "git",
            "daemon",
            "--verbose",
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={base}",
            str(base),
        ]

    with serving(argv, r"Ready to rumble") as port:
        yield f"git://127.0.0.1:{port}"
