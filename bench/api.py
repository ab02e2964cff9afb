"""Benchmark an in-process claim through `git_sessions.api` against the seed's plain-git claim.

Run:  .venv/bin/python bench/api.py [--repeat R] [--files N]

A long-lived agent (or the MCP server) keeps git-sessions imported and calls the API; this
measures what one claim costs it: open the repository and claim a planned session, with and
without the worktree. The seed's procedure (bench/claim.py `seed_claim`: pull, lock line,
commit, push, git mv, commit, .session-env, commit, push, worktree add; every step a real git
process) claims another session of the same shape in its own clone of the same bare hub. Kinds
alternate in rotating order, R times each, after one untimed warm-up claim (the imports). The
target is api/seed <= 0.05 on the median for the claim itself (the protocol commits, without
the worktree on either side); creating a worktree writes every file of the project on both
sides and is reported beside it. The script prints the ratios and PASS or FAIL.
This file is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _support import BenchFailure, quantile, seal, source_revision
from claim import build_hub, clone, seed_claim

# bench/queue.py would shadow the standard library's queue, which pygit2 imports: once the
# sibling benches are loaded, take this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

TARGET = 0.05


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="claims per kind (default 15)")
    parser.add_argument("--files", type=int, default=2000, help="files in the project (2000)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    return parser.parse_args(argv)


def use_sealed_env(vars: dict[str, str], home: Path) -> None:
    """This process acts as the agent: the same sealed HOME and git config as the seed's git."""
    os.environ.clear()
    os.environ.update(vars)
    import pygit2

    for level in (
        pygit2.enums.ConfigLevel.GLOBAL,
        pygit2.enums.ConfigLevel.XDG,
        pygit2.enums.ConfigLevel.SYSTEM,
    ):
        pygit2.settings.search_path[level] = str(home)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gs-bench-api-"))
    gs = Path(sys.executable).parent / "git-sessions"
    env = seal(root, gs, pyc=True)
    print(f"{env.git(root, '--version').strip()}; {os.cpu_count()} CPUs; repeat={args.repeat}")
    print(f"files={args.files}; code under test: {source_revision()}; temp dir {root}")
    kinds = ("api", "seed", "api no-worktree", "seed no-worktree")
    try:
        hub = build_hub(env, root / "hub", len(kinds) * args.repeat + 1, args.files)
        ours, seed = clone(env, hub.path, root / "ours"), clone(env, hub.path, root / "seed")
        use_sealed_env(env.vars, root / "home")
        from git_sessions.api import open_repository

        def api_claim(slug: str, *, worktree: bool) -> None:
            open_repository(ours).claim(slug, worktree=worktree)

        todo = iter(hub.slugs)
        api_claim(next(todo), worktree=True)  # warm-up: imports, first open
        steps: dict[str, Callable[[str], None]] = {
            "api": lambda slug: api_claim(slug, worktree=True),
            "api no-worktree": lambda slug: api_claim(slug, worktree=False),
            "seed": lambda slug: seed_claim(env, seed, slug),
            "seed no-worktree": lambda slug: seed_claim(env, seed, slug, worktree=False),
        }
        samples: dict[str, list[float]] = {k: [] for k in kinds}
        for i in range(args.repeat):
            shift = i % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                slug = next(todo)
                start = time.perf_counter()
                steps[kind](slug)
                samples[kind].append(time.perf_counter() - start)
        check = env.run([gs, "check"], ours, check=False)
        if check.returncode != 0:
            raise BenchFailure(f"git-sessions check after the run: {check.stdout}{check.stderr}")
    except BenchFailure as exc:
        print(f"\nFAIL: the benchmark could not run: {exc}")
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    median = {k: statistics.median(v) for k, v in samples.items()}
    print(f"\n{'kind':<18} {'median ms':>10} {'p90 ms':>8}")
    for kind in kinds:
        p90 = quantile(samples[kind], 0.9)
        print(f"{kind:<18} {median[kind] * 1000:>10.1f} {p90 * 1000:>8.1f}")
    full = median["api"] / median["seed"]
    protocol = median["api no-worktree"] / median["seed no-worktree"]
    against_full = median["api no-worktree"] / median["seed"]
    print(f"\nratio api / seed, both creating the worktree (checkout-bound): {full:.3f}")
    print(f"ratio api / seed, the claim without the worktree:              {protocol:.3f}")
    print(f"ratio api no-worktree / the seed's whole procedure:            {against_full:.3f}")
    ok = protocol <= TARGET
    print(f"\n{'PASS' if ok else 'FAIL'}: in-process claim / seed claim <= {TARGET} on the median")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
