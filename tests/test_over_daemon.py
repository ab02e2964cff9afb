"""Whole test files written against a hub on the local filesystem, run again with every clone's
origin served by `git daemon` (GIT_SESSIONS_TEST_HUB=daemon, see conftest.hub): the same
commands through git's own transport must give the same results.

About a minute, so it runs with the long races (marker `race`: in CI, or `bin/test -m race`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Assertions about where objects live, true only of a local hub: there `complete` pushes the
# session branch into the hub to build the merge inside it, and the test reads its tip from a
# plain clone of the hub; over a network the merge is built in the clone.
LOCAL_ONLY = ["tests/test_complete.py::test_complete_end_to_end"]


@pytest.mark.race
def test_claim_and_complete_suites_pass_over_git_daemon() -> None:
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-x"]
    args += ["tests/test_claim.py", "tests/test_complete.py"]
    args += [f"--deselect={test}" for test in LOCAL_ONLY]
    result = subprocess.run(
        args,
        cwd=ROOT,
        env={**os.environ, "GIT_SESSIONS_TEST_HUB": "daemon"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
