"""`git push --atomic` for moving several refs of a network hub in one all-or-nothing update.

libgit2 never asks receive-pack for the `atomic` capability, so several refs pushed with
pygit2 move one by one; git's own client asks for it, and `--force-with-lease=<ref>:<old>`
makes each ref's expected old value the compare-and-swap (DESIGN.md section 5).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from git_sessions.errors import GitFailure

# a lost compare-and-swap, as git's porcelain output and messages name it
_LOST = ("(stale info)", "(fetch first)", "(non-fast-forward)", "cannot lock ref")


def push_atomic(
    cwd: Path, remote: str, updates: list[tuple[str, str | None, str]], timeout: float
) -> bool:
    """Move every `ref` from `old` (None: must not exist) to `new` in one atomic push; False
    if any lease failed (nothing moved), GitFailure with the hub's message otherwise."""
    args = ["git", "push", "--atomic", "--porcelain", "--no-verify", remote]
    for ref, old, _new in updates:
        args.insert(-1, f"--force-with-lease={ref}:{old or ''}")
    args += [f"{new}:{ref}" for ref, _old, new in updates]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_DIR")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        done = subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise GitFailure(f"pushing to {remote}: no answer within {timeout:.0f}s") from None
    except OSError as exc:
        raise GitFailure(f"pushing to {remote}: {exc}") from None
    if done.returncode == 0:
        return True
    text = f"{done.stdout}\n{done.stderr}"
    if any(word in text for word in _LOST):
        return False  # someone moved a ref first: the whole push was refused
    said = [ln.removeprefix("remote:").strip() for ln in text.split("\n")]
    told = [ln for ln, raw in zip(said, text.split("\n"), strict=True) if raw.startswith("remote:")]
    reason = next((ln for ln in told if ln), None)
    if reason is None:
        lines = [ln for ln in text.split("\n") if ln.strip() and not ln.startswith(("To ", "Done"))]
        reason = lines[-1].strip() if lines else f"git exited {done.returncode}"
    raise GitFailure(f"the hub refused the push: {reason}")
