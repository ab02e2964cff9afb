"""The command server (GIT_SESSIONS_SERVER=1) against plain git, with a server running.

Each row runs ours with the server on and the baseline in the same sealed environment, in
alternating order. Wall time is what an agent waits; the cpu rows add the client's CPU and that
of the server's forked child (the server reaps it, so it shows in the server's cutime/cstime):
a client-only number would hide the work. The server's own start-up (preloading, ~0.4 s once
per idle period) is not in any row.

    .venv/bin/python bench/server.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import claim
import journal
import queue_list
from _support import Env, Row, children_cpu, seal

TICK = os.sysconf("SC_CLK_TCK")


class Server:
    """A server started for `env` (and its runtime dir), stopped by `stop`."""

    def __init__(self, env: Env, root: Path) -> None:
        self.runtime = Path(tempfile.mkdtemp(prefix="gs-", dir="/tmp"))  # AF_UNIX: short path
        self.env = Env(
            {
                **env.vars,
                "GIT_SESSIONS_SERVER": "1",
                "GIT_SESSIONS_RUNTIME_DIR": str(self.runtime / "run"),
                "GIT_SESSIONS_SERVER_IDLE": "3600",
            },
            env.gs,
        )
        said = self.env.run([env.gs, "server", "start"], root).stdout.split()
        self.pid = int(said[-1])

    def cpu(self) -> float:
        """CPU of the server and every child it has reaped."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / TICK

    def served(self) -> int:
        import json

        status = self.env.run([self.env.gs, "server", "status", "--json"], Path("/"))
        return int(json.loads(status.stdout)["served"])

    def stop(self) -> None:
        self.env.run([self.env.gs, "server", "stop"], Path("/"), check=False)
        shutil.rmtree(self.runtime, ignore_errors=True)


def paired(
    server: Server, steps: dict[str, Callable[[int], None]], repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and cpu (client + server children) of each step, alternating the order."""
    wall: dict[str, list[float]] = {k: [] for k in steps}
    cpu: dict[str, list[float]] = {k: [] for k in steps}
    names = list(steps)
    for r in range(repeat + 1):  # round 0 warms caches and is not counted
        for name in names[r % len(names) :] + names[: r % len(names)]:
            c0, s0, t0 = children_cpu(), server.cpu(), time.perf_counter()
            steps[name](r)
            t1, c1, s1 = time.perf_counter(), children_cpu(), server.cpu()
            if r:
                wall[name].append(t1 - t0)
                cpu[name].append(c1 - c0 + s1 - s0)
    return (
        {k: statistics.median(v) for k, v in wall.items()},
        {k: statistics.median(v) for k, v in cpu.items()},
    )


def journal_rows(root: Path, gs: Path, repeat: int) -> list[Row]:
    env = seal(root / "env", gs, pyc=True)
    server = Server(env, root)
    try:
        (root / "journal").mkdir()
        session = journal.build(server.env, root / "journal", 0)
        count = iter(range(1, 10_000))

        def log(_: int) -> None:
            if problems := journal.run_log(server.env, session, next(count)):
                raise RuntimeError("; ".join(problems))

        def commit_push(_: int) -> None:
            if problems := journal.run_commit(env, session, next(count), push=True):
                raise RuntimeError("; ".join(problems))

        def env_command(_: int) -> None:
            # --json: plain `env` in a worktree is answered by the fast path before the server
            server.env.run([gs, "env", "--json"], session.worktree, **session.agent)

        python = gs.parent / "python"
        steps = {
            "log": log,
            "commit+push": commit_push,
            "env": env_command,
            "pass": lambda _: env.run([python, "-c", "pass"], session.worktree),
        }
        before = server.served()
        wall, cpu = paired(server, steps, repeat)
        if server.served() - before != 2 * (repeat + 1):
            raise RuntimeError("not every log and env went through the server")
    finally:
        server.stop()
    return [
        Row("server: log vs git commit + git push", wall["log"], wall["commit+push"], "<= 2"),
        Row("  the same, cpu (client + forked child)", cpu["log"], cpu["commit+push"], "<= 2"),
        Row("server: env --json in a worktree vs python -c pass", wall["env"], wall["pass"], "-"),
    ]


def quiet(env: Env, args: list[str | Path], cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, env=env.vars, stdout=subprocess.DEVNULL, check=True)


def queue_rows(root: Path, gs: Path, count: int, repeat: int) -> list[Row]:
    env = seal(root / "env", gs, pyc=True)
    (root / "queue").mkdir()
    repo = queue_list.setup(root / "queue", count, env.vars)
    # packed, as in bench/queue_list.py (whose environment lets auto-gc run): ls-tree over
    # 20,000 loose objects costs 8x more, an unfairly slow floor
    env.git(repo, "gc", "-q")
    server = Server(env, root)
    try:
        # output to /dev/null on both sides (as bench/queue_list.py): reading 10,000 lines
        # of ls-tree through a pipe into Python costs the bench, not git
        steps = {
            "queue": lambda _: quiet(server.env, [gs, "queue", "--json", "-c", "python"], repo),
            "ls-tree": lambda _: quiet(env, ["git", "ls-tree", "-r", "main"], repo),
        }
        wall, cpu = paired(server, steps, repeat)
    finally:
        server.stop()
    return [
        Row(
            f"server on: queue --json, {count} planned, warm (fast path) vs git ls-tree -r",
            wall["queue"],
            wall["ls-tree"],
            "<= 2",
        ),
        Row("  the same, cpu", cpu["queue"], cpu["ls-tree"], "<= 2"),
    ]


def claim_rows(root: Path, gs: Path, repeat: int) -> list[Row]:
    env = seal(root / "env", gs, pyc=True)
    server = Server(env, root)
    try:
        latency = claim.measure_latency(server.env, root / "claim", repeat, 3000)
    finally:
        server.stop()
    if latency.anomalies:
        raise RuntimeError("; ".join(latency.anomalies))
    med = {k: statistics.median(v) for k, v in latency.samples.items()}
    return [
        Row(
            "server: claim --no-worktree vs seed's procedure",
            med["ours --no-worktree"],
            med["seed"],
            "<= 0.5",
        ),
        Row(
            "server: claim with worktree, 3000 files, vs seed's", med["ours"], med["seed"], "<= 0.5"
        ),
    ]


def measure(root: Path, gs: Path, repeat: int, planned: int = 10_000) -> list[Row]:
    rows: list[Row] = []
    for name, part in (
        ("journal", lambda d: journal_rows(d, gs, repeat)),
        ("queue", lambda d: queue_rows(d, gs, planned, repeat)),
        ("claim", lambda d: claim_rows(d, gs, repeat)),
    ):
        folder = root / name
        folder.mkdir()
        rows += part(folder)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--planned", type=int, default=10_000)
    args = parser.parse_args()
    gs = Path(sys.executable).parent / "git-sessions"
    root = Path(tempfile.mkdtemp(prefix="gs-bench-server-"))
    try:
        rows = measure(root, gs, args.repeat, args.planned)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for row in rows:
        print(f"{row.measure:<64} {row.show(row.ours):>10} {row.show(row.baseline):>10} "
              f"{row.ratio:6.2f}  goal {row.goal}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
