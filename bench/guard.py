"""What the guard costs: a claim on a guarded local hub (the rule runs in-process) against an
unguarded one, and a plain `git push` through the pre-receive hook against the same push with
no hook.

Run:  .venv/bin/python bench/guard.py [--repeat R] [--files F]

1. `git-sessions claim SLUG --no-worktree`, a fresh process each time, alternating between a
   hub with `hooks/pre-receive` = `git sessions guard` and one without; median and p90 of the
   whole-process wall time, ratio guarded/unguarded.
2. `git push` of one protocol commit (an `unready`: planned/<slug> -> drafting/<slug>, made with
   plain git) to a hub with the hook and to one without: what the hook adds to every push.

This file is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _support import SESSIONS, Env, quantile, seal, source_revision
from claim import build_hub, clone


def install_guard(env: Env, hub: Path) -> None:
    env.run([env.gs, "guard", "install", "--hub", hub], hub)


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def row(name: str, plain: list[float], guarded: list[float]) -> str:
    med_p, med_g = statistics.median(plain), statistics.median(guarded)
    return (
        f"{name:<34} {med_p * 1000:8.1f} {quantile(plain, 0.9) * 1000:8.1f}"
        f" {med_g * 1000:9.1f} {quantile(guarded, 0.9) * 1000:8.1f} {med_g / med_p:7.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    gs = Path(sys.executable).with_name("git-sessions")
    root = Path(tempfile.mkdtemp(prefix="bench-guard-"))
    try:
        env = seal(root, gs, pyc=True)
        hubs = {k: build_hub(env, root / k, args.repeat * 2, args.files) for k in ("plain", "g")}
        install_guard(env, hubs["g"].path)
        repos = {k: clone(env, hub.path, root / f"{k}-repo") for k, hub in hubs.items()}
        claims: dict[str, list[float]] = {"plain": [], "g": []}
        pushes: dict[str, list[float]] = {"plain": [], "g": []}
        for i in range(args.repeat):
            for kind in ("plain", "g") if i % 2 == 0 else ("g", "plain"):
                repo, slug = repos[kind], hubs[kind].slugs[i]
                claims[kind].append(
                    timed(lambda r=repo, s=slug: env.run([gs, "claim", s, "--no-worktree"], r))
                )
                other = hubs[kind].slugs[args.repeat + i]
                env.git(repo, "pull", "-q", "origin", "main")
                env.git(repo, "mv", f"{SESSIONS}/planned/{other}", f"{SESSIONS}/drafting/{other}")
                env.git(repo, "commit", "-q", "-m", f"[{other}] chore: unready session")
                pushes[kind].append(
                    timed(lambda r=repo: env.git(r, "push", "-q", "origin", "HEAD:main"))
                )
        print(f"guard benchmark at {source_revision()}, {args.repeat} repeats, {args.files} files")
        print(
            f"{'measure (ms)':<34} {'plain':>8} {'p90':>8} {'guarded':>9} {'p90':>8} {'ratio':>7}"
        )
        print(row("claim --no-worktree (local hub)", claims["plain"], claims["g"]))
        print(row("git push of one protocol commit", pushes["plain"], pushes["g"]))
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
