"""Claims per second over each kind of hub, against plain `git push` doing the same
compare-and-swap.

Run:  .venv/bin/python bench/transport.py [--sessions N] [--agents 1,16]
          [--transports local,daemon,http,ssh] [--keep]

For every transport (a bare hub on this filesystem, `git daemon`, `git http-backend` behind
lighttpd with basic auth and a credential helper, `sshd` with a key file and a known_hosts file:
the servers of tests/servers.py, started on loopback ports) and every agent count K, two races on
fresh hubs holding N planned sessions, each agent in its own clone made over that transport:

- ours: each agent runs `git-sessions claim --next --no-worktree --json` until nothing is
  claimable (a claim that gives up after its 30 s of lost races, exit 3 "try again", is run
  again and its attempts count);
- plain: each agent claims with plain git until no planned session is free: `git fetch`,
  `git reset --hard FETCH_HEAD`, append `slug:time` to sessions.lock for the first planned session
  not in it, `git commit`, `git push origin HEAD:main` without force; a refused push (the hub
  moved) is retried from the fetch. This is only the compare-and-swap: ours also moves the
  session to active/, writes its .session-env and its INDEX.md row in the same commit.

Printed per transport and K: claims/s of each (claims over the time from the start signal to the
last claim), ours/plain, CAS attempts per claim, errors, and whether the hub shows every session
claimed exactly once (ours: claim.verify; plain: N distinct lock lines). Any failure prints FAIL
and the exit status is 1. Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import claim
import pytest
from _support import LOCK, SESSIONS, BenchFailure, Env, Row, seal, source_revision

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import servers

TRANSPORTS = ("local", "daemon", "http", "ssh")
USER, PASSWORD = "bench", "bench-pass-4Kd"
LOST_TIMES = re.compile(r"lost the race for main (\d+) times")
LOST_RACE = ("fetch first", "non-fast-forward", "cannot lock ref", "failed to update ref")


@dataclass
class Result:
    """One race: what each agent was told it won, and how it went."""

    transport: str
    procedure: str  # "ours" or "plain"
    agents: int
    claimed: list[tuple[str, str, int, float]] = field(default_factory=list)  # agent, slug, ...
    errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.claimed) / self.wall if self.wall > 0 else 0.0

    @property
    def attempts(self) -> float:
        return sum(c[2] for c in self.claimed) / len(self.claimed) if self.claimed else 0.0


# --- servers --------------------------------------------------------------------------------


@contextmanager
def serve(env: Env, kind: str, hub: Path, work: Path) -> Iterator[str]:
    """Serve `hub` over `kind` and set up the sealed client config for it; yields its URL."""
    if kind == "local":
        yield str(hub)
    elif kind == "daemon":
        with servers.git_daemon(hub.parent) as prefix:
            yield f"{prefix}/{hub.name}"
    elif kind == "http":
        with servers.http_backend(hub.parent, work / "lighttpd", USER, PASSWORD) as server:
            helper = servers.credential_helper(work / "credential-helper", USER, PASSWORD)
            env.git(work, "config", "--global", "credential.helper", helper)
            yield f"{server.url}/{hub.name}"
    else:
        keys = servers.SshKeys.generate(work / "keys")
        with servers.sshd(work / "sshd", keys) as ssh:
            known_hosts = work / "known_hosts"
            known_hosts.write_text(ssh.known_hosts_line())
            env.git(work, "config", "--global", "core.sshCommand", ssh.ssh_command(known_hosts))
            yield ssh.url(hub)


# --- the two procedures ---------------------------------------------------------------------

Attempt = Callable[[str, Path], "tuple[str, int] | None"]


def ours(env: Env) -> Attempt:
    def attempt(name: str, repo: Path) -> tuple[str, int] | None:
        args: list[str | Path] = [env.gs, "claim", "--next", "--no-worktree", "--json"]
        args += ["--agent", name, "--email", f"{name}@example.com"]
        lost = 0
        while True:
            proc = env.run(args, repo, check=False)
            if proc.returncode == 1 and claim.NOTHING_CLAIMABLE in proc.stderr:
                return None
            gave_up = LOST_TIMES.search(proc.stderr)
            if proc.returncode == 3 and gave_up:
                # its retry budget ran out ("try again"): an agent tries again, as plain's
                # loop does; the attempts count
                lost += int(gave_up.group(1))
                continue
            if proc.returncode != 0:
                raise BenchFailure(f"exit {proc.returncode}: {proc.stderr.strip()}")
            data = json.loads(proc.stdout)
            return str(data["slug"]), lost + int(data["attempts"])

    return attempt


def plain(env: Env) -> Attempt:
    def attempt(name: str, repo: Path) -> tuple[str, int] | None:
        tries = 0
        while True:
            tries += 1
            env.git(repo, "fetch", "-q", "origin", "main")
            env.git(repo, "reset", "-q", "--hard", "FETCH_HEAD")
            lock = repo / LOCK
            held = {line.partition(":")[0] for line in lock.read_text().split()}
            planned = sorted(p.name for p in (repo / SESSIONS / "planned").iterdir() if p.is_dir())
            free = [slug for slug in planned if slug not in held]
            if not free:
                return None
            with lock.open("a") as fh:
                fh.write(f"{free[0]}:{int(time.time())}\n")
            env.git(repo, "-c", f"user.name={name}", "commit", "-qam", f"[{free[0]}] claim")
            push = env.run(["git", "push", "-q", "origin", "HEAD:main"], repo, check=False)
            if push.returncode == 0:
                return free[0], tries
            if not any(sign in push.stderr for sign in LOST_RACE):
                raise BenchFailure(f"git push: {push.stderr.strip()}")

    return attempt


def run(env: Env, result: Result, repos: list[Path], attempt: Attempt) -> None:
    """Every agent claims on its own thread (each claim a process or a few) until none is left."""
    lock = threading.Lock()
    barrier = threading.Barrier(len(repos) + 1)

    def agent(k: int) -> None:
        name = f"agent-{k:02d}"
        barrier.wait()
        while True:
            try:
                won = attempt(name, repos[k])
            except BenchFailure as exc:
                with lock:
                    result.errors.append(f"{name}: {exc}")
                return
            if won is None:
                return
            with lock:
                result.claimed.append((name, won[0], won[1], time.perf_counter()))

    threads = [threading.Thread(target=agent, args=(k,)) for k in range(len(repos))]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    result.wall = max((c[3] for c in result.claimed), default=start) - start


def verify(env: Env, hub: claim.Hub, repo: Path, result: Result) -> None:
    told = [c[1] for c in result.claimed]
    if sorted(told) != sorted(hub.slugs):
        result.failures.append(f"{len(told)} claims reported, {len(set(told))} distinct")
    if result.procedure == "ours":
        race = claim.Race("clones", result.agents, len(hub.slugs), claimed=result.claimed)
        claim.verify(env, hub, repo, race)
        result.failures += race.failures
        return
    lock = env.git(hub.path.parent, "--git-dir", str(hub.path), "show", f"main:{LOCK}")
    locked = [line.partition(":")[0] for line in lock.split()]
    if sorted(locked) != sorted(hub.slugs):
        result.failures.append(f"sessions.lock: {len(locked)} lines for {len(hub.slugs)}")


def measure(env: Env, root: Path, kind: str, procedure: str, agents: int, sessions: int) -> Result:
    result = Result(kind, procedure, agents)
    hub = claim.build_hub(env, root, sessions, 0)
    with serve(env, kind, hub.path, root) as url:
        repos = []
        for k in range(agents):
            repos.append(root / f"agent{k:02d}")
            env.git(root, "clone", "-q", url, str(repos[-1]))
        run(env, result, repos, ours(env) if procedure == "ours" else plain(env))
        verify(env, hub, repos[0], result)
    # each transport's client setup goes with its hub: the next one starts from a clean config
    for key in ("credential.helper", "core.sshCommand"):
        env.run(["git", "config", "--global", "--unset-all", key], root, check=False)
    return result


def measure_all(
    env: Env, root: Path, transports: Sequence[str], counts: Sequence[int], sessions: int
) -> list[tuple[Result, Result]]:
    pairs = []
    for kind in transports:
        for k in counts:
            print(f"  {kind}, {k} agent(s) ...", file=sys.stderr, flush=True)
            pair = []
            for procedure in ("ours", "plain"):
                try:
                    pair.append(
                        measure(env, root / f"{kind}-{k}-{procedure}", kind, procedure, k, sessions)
                    )
                except pytest.skip.Exception as exc:  # a server is not installed
                    failed = Result(kind, procedure, k)
                    failed.failures.append(str(exc))
                    pair.append(failed)
            pairs.append((pair[0], pair[1]))
    return pairs


# --- report ---------------------------------------------------------------------------------


def table(pairs: list[tuple[Result, Result]]) -> str:
    head = (
        "transport",
        "agents",
        "ours claims/s",
        "plain claims/s",
        "ours/plain",
        "attempts ours/plain",
        "errors",
        "verified",
    )
    rows = [head]
    for mine, theirs in pairs:
        bad = mine.failures + theirs.failures
        rows.append(
            (
                mine.transport,
                str(mine.agents),
                f"{mine.rate:.2f}",
                f"{theirs.rate:.2f}",
                f"{mine.rate / theirs.rate:.2f}" if theirs.rate else "-",
                f"{mine.attempts:.2f}/{theirs.attempts:.2f}",
                str(len(mine.errors) + len(theirs.errors)),
                "FAIL" if bad or mine.errors or theirs.errors else "ok",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def problems(pairs: list[tuple[Result, Result]]) -> list[str]:
    out = []
    for pair in pairs:
        for r in pair:
            for line in r.errors[:3] + r.failures:
                out.append(f"{r.transport}, {r.agents} agent(s), {r.procedure}: {line}")
    return out


def rows(pairs: list[tuple[Result, Result]]) -> list[Row]:
    """bench/run's rows: ours against plain git's rate, shown for scale (no goal yet)."""
    return [
        Row(
            f"claims/s over {m.transport}, {m.agents} agent(s), vs plain git push CAS",
            m.rate,
            p.rate,
            "-",
            "claims/s",
        )
        for m, p in pairs
        if not (m.failures or p.failures or m.errors or p.errors)
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=24)
    parser.add_argument("--agents", default="1,16")
    parser.add_argument("--transports", default=",".join(TRANSPORTS))
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--no-pyc", action="store_true")
    parser.add_argument("--gs", type=Path, default=Path(sys.executable).parent / "git-sessions")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gs-bench-transport-"))
    env = seal(root / "env", args.gs, pyc=not args.no_pyc)
    print(
        f"{env.git(root, '--version').strip()}; {os.cpu_count()} CPUs; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; sessions={args.sessions}; "
        f"code {source_revision()}; temp dir {root}",
        flush=True,
    )
    try:
        pairs = measure_all(
            env,
            root,
            args.transports.split(","),
            [int(k) for k in args.agents.split(",")],
            args.sessions,
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(table(pairs))
    print("claims/s: claims over the time from the start signal to the last claim; attempts:")
    print("compare-and-swap attempts per claim (pushes for plain)")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for line in problems(pairs):
        print(f"FAIL: {line}")
    return 1 if problems(pairs) else 0


if __name__ == "__main__":
    sys.exit(main())
