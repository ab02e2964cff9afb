"""The commit-msg hook: real `git commit` in worktrees and clones, with the hook installed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import Hub, add_planned, cli, git

from git_sessions import hooks


def commit(
    cwd: Path, message: str, env: dict[str, str] | None = None, name: str = "f.txt"
) -> subprocess.CompletedProcess[str]:
    with (cwd / name).open("a") as f:
        f.write(message + "\n")
    git(cwd, "add", name)
    return subprocess.run(
        ["git", "commit", "-qm", message],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def install(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return cli(repo, "hooks", "install", *args, capsys=capsys)


def session(hub: Hub, capsys: pytest.CaptureFixture[str]) -> tuple[str, Path]:
    [slug] = add_planned(hub.repo, 1)
    code, out, err = cli(hub.repo, "claim", slug, "--json", capsys=capsys)
    assert code == 0, err
    return slug, Path(json.loads(out)["worktree"])


def trailers(cwd: Path) -> str:
    return git(cwd, "log", "-1", "--format=%(trailers:key=Session)").strip()


def test_worktree_commits_need_the_prefix_and_get_the_trailer(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    slug, wt = session(hub, capsys)
    code, out, _ = install(hub.repo, capsys)
    assert code == 0 and out == f"installed {hub.repo / '.git/hooks/commit-msg'}\n"
    tip = git(wt, "rev-parse", "HEAD")
    refused = commit(wt, "fix stuff")
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f'error: session {slug} is active: the commit message must start with "[{slug}] '
        '<type>: <description>"',
        f'hint: e.g. "[{slug}] feat: add the login form"; types: {" ".join(hooks.TYPES)}',
    ]
    assert git(wt, "rev-parse", "HEAD") == tip
    for bad in (f"[{slug}] feat:", f"[{slug}] party: x", f"[{slug}]feat: x", "[other] feat: x"):
        assert commit(wt, bad).returncode == 1, bad
    done = commit(wt, f"[{slug}] feat(parser)!: new parser")
    assert done.returncode == 0, done.stderr
    assert trailers(wt) == f"Session: {slug}"
    git(wt, "commit", "-q", "--amend", "-m", f"[{slug}] feat: new parser\n\nSession: {slug}")
    assert trailers(wt) == f"Session: {slug}"  # not added twice
    assert commit(wt, f"Merge branch 'main' into session/{slug}").returncode == 0


def test_environment_and_branch_name_mark_the_session(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slug, _ = session(hub, capsys)
    assert install(hub.repo, capsys)[0] == 0
    plain = commit(hub.repo, "no session here")
    assert plain.returncode == 0 and trailers(hub.repo) == ""
    assert commit(hub.repo, "still none", {"SESSION_ID": slug}).returncode == 1
    done = commit(hub.repo, f"[{slug}] docs: from the env", {"SESSION_ID": slug})
    assert done.returncode == 0 and trailers(hub.repo) == f"Session: {slug}"
    git(hub.repo, "checkout", "-q", "-b", "session/2026-02-02-elsewhere")
    assert commit(hub.repo, "no prefix").returncode == 1
    assert commit(hub.repo, "[2026-02-02-elsewhere] fix: ok").returncode == 0


def test_hooks_path_is_respected_and_foreign_hooks_are_kept(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    slug, wt = session(hub, capsys)
    shared = tmp_path / "shared-hooks"
    git(hub.repo, "config", "core.hooksPath", str(shared))
    shared.mkdir()
    foreign = shared / "commit-msg"
    foreign.write_text(
        '#!/bin/sh\ngrep -q "forbidden" "$1" && { echo "no!" >&2; exit 1; }\nexit 0\n'
    )
    foreign.chmod(0o755)
    code, _, err = install(hub.repo, capsys)
    assert code == 3 and "is not git-sessions' hook" in err and "--force" in err
    code, out, err = install(hub.repo, capsys, "--force")
    assert code == 0 and out == f"installed {foreign}\n" and "commit-msg.local" in err
    assert hooks.is_ours(foreign) and (shared / "commit-msg.local").exists()
    assert commit(wt, f"[{slug}] feat: forbidden").stderr == "no!\n"  # the old hook still runs
    assert commit(wt, "no prefix").returncode == 1
    assert commit(wt, f"[{slug}] feat: allowed").returncode == 0
    assert install(hub.repo, capsys)[1] == f"updated {foreign}\n"
    assert cli(hub.repo, "hooks", "uninstall", capsys=capsys)[0] == 0
    assert not hooks.is_ours(foreign) and not (shared / "commit-msg.local").exists()
    git(hub.repo, "config", "core.hooksPath", ".githooks")
    assert install(hub.repo, capsys)[0] == 0
    assert hooks.is_ours(hub.repo / ".githooks/commit-msg")


def test_the_hook_is_plain_posix_sh(tmp_path: Path) -> None:
    text = hooks.script()
    assert text.startswith("#!/bin/sh\n") and "python" not in text.lower()
    script = tmp_path / "commit-msg"
    script.write_text(text)
    for shell in ("dash", "sh"):
        if subprocess.run(["sh", "-c", f"command -v {shell}"], capture_output=True).returncode:
            continue
        result = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
