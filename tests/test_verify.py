"""Verified landing: no empty sessions, required criteria, verify commands on the merged tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Hub, cli, cli_error, git, push_files

from git_sessions import approvals
from test_complete import claimed, commit, planned

COMPLETE = (sys.executable, "-m", "git_sessions")


def configure(hub: Hub, text: str) -> None:
    """Append settings to _AGENTS/config.yaml on main and in the clone that completes."""
    config = hub.repo / "_AGENTS/config.yaml"
    push_files(hub.repo, {"_AGENTS/config.yaml": config.read_text() + text}, "configure")


def test_a_session_without_code_commits_is_refused_unless_allowed(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = planned(hub, capsys, "only", "notes")
    claimed(hub, capsys, slug)
    assert cli(hub.repo, "log", "thinking", "-s", slug, capsys=capsys)[0] == 0
    err = cli_error(hub, "complete", slug, code=1, capsys=capsys)
    assert "no code commits" in err and "--allow-empty" in err
    code, out, err = cli(hub.repo, "complete", slug, "--allow-empty", "--json", capsys=capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["allow_empty"] is True and result["code_commits"] == 0
    assert "Allow-empty: yes" in git(hub.hub, "log", "-1", "--format=%B", "main^")
    report = json.loads(cli(hub.repo, "drift", slug, "--json", capsys=capsys)[1])
    assert report["allow_empty"] is True
    text = cli(hub.repo, "drift", slug, capsys=capsys)[1]
    assert "Landed with --allow-empty" in text and f"# Drift: {slug}" in text


def test_require_criteria_all_waits_for_every_checkbox(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(hub, "require_criteria: all\n")
    slug = planned(hub, capsys, "strict", criteria="it works")
    wt = claimed(hub, capsys, slug)
    commit(wt, f"[{slug}] feat: work", {"w.txt": b"w\n"})
    err = cli_error(hub, "complete", slug, code=1, capsys=capsys)
    assert "0 of 1 acceptance criteria met" in err
    worklog = wt / f"_AGENTS/sessions/active/{slug}/worklog.md"
    worklog.write_text(worklog.read_text() + "- [x] it works\n")
    git(wt, "commit", "-qam", f"[{slug}] docs: done")
    code, _, err = cli(hub.repo, "complete", slug, capsys=capsys)
    assert code == 0, err


def verify_script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "verify.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def test_verify_needs_approval_and_a_failure_changes_nothing(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    configure(
        hub, 'verify: ["test -f ok.txt || { echo missing ok.txt; echo tail line; exit 7; }"]\n'
    )
    slug = planned(hub, capsys, "checked")
    wt = claimed(hub, capsys, slug)
    commit(wt, f"[{slug}] feat: no ok file", {"a.txt": b"a\n"})
    err = cli_error(hub, "complete", slug, code=1, capsys=capsys)
    assert "not approved" in err and "test -f ok.txt" in err and "--yes" in err
    before = hub.main()
    code, _, err = cli(hub.repo, "complete", slug, "--yes", capsys=capsys)
    assert code == 3
    assert "| missing ok.txt\n| tail line\n" in err
    assert "error: verify command failed (exit 7)" in err
    assert hub.main() == before and wt.is_dir()
    listed = ["test -f ok.txt || { echo missing ok.txt; echo tail line; exit 7; }"]
    git_dir = hub.repo / ".git"
    assert approvals.approved(git_dir, listed, environ={}, git_config=None, kind="verify")
    commit(wt, f"[{slug}] fix: add ok file", {"ok.txt": b"ok\n"})
    code, out, err = cli(hub.repo, "complete", slug, "--json", capsys=capsys)  # approved now
    assert code == 0, err
    result = json.loads(out)
    [run] = result["verified"]
    landed = result["commit"]  # main's tip is its end record
    assert "Verified-by: test -f ok.txt" in git(hub.hub, "log", "-1", "--format=%B", landed)
    assert f"Verified-tree: {run['tree']}" in git(hub.hub, "log", "-1", "--format=%B", landed)
    # the verified tree is the landed one apart from the protocol's own bookkeeping
    diff = git(hub.hub, "diff", "--name-only", run["tree"], landed)
    assert diff and all(p.startswith("_AGENTS/sessions/") for p in diff.split())


def test_a_main_that_moves_during_verification_is_merged_and_verified_again(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = hub.clone("other")
    log = tmp_path / "verified.log"
    # the first run pushes a code change to main (as another agent landing meanwhile) and passes
    script = verify_script(
        tmp_path,
        f'cat other.txt >> "{log}" 2>/dev/null || echo none >> "{log}"\n'
        f'if [ ! -f "{tmp_path}/moved" ]; then touch "{tmp_path}/moved";'
        f' cd "{other}" && git pull -q && echo other > other.txt && git add other.txt'
        ' && git commit -qm "main moves" && git push -q origin HEAD:main; fi\n',
    )
    configure(hub, f'verify: ["{script}"]\n')
    slug = planned(hub, capsys, "moving")
    wt = claimed(hub, capsys, slug)
    commit(wt, f"[{slug}] feat: mine", {"mine.txt": b"mine\n"})
    code, out, err = cli(hub.repo, "complete", slug, "--yes", "--json", capsys=capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["attempts"] == 2 and len(result["verified"]) == 2
    assert log.read_text() == "none\nother\n"  # the second run saw main's new file
    landed = result["commit"]
    assert git(hub.hub, "show", f"{landed}:other.txt") == "other\n"
    assert f"Verified-tree: {result['verified'][1]['tree']}" in git(
        hub.hub, "log", "-1", "--format=%B", landed
    )


def test_four_agents_complete_through_verification_at_once(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # each verification checks that the tree holds exactly the parts landed before it plus its
    # own: a tree verified against a stale main would not be the tree that lands
    script = verify_script(tmp_path, "ls part*.txt | wc -l > /dev/null; test -f README.md\n")
    configure(hub, f'verify: ["{script}"]\n')
    slugs = [planned(hub, capsys, "verified", str(n)) for n in range(4)]
    for n, slug in enumerate(slugs):
        wt = claimed(hub, capsys, slug)
        commit(wt, f"[{slug}] feat: part {n}", {f"part{n}.txt": f"{n}\n".encode()})
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "git_sessions",
                "-C",
                str(hub.repo),
                "complete",
                slug,
                "--yes",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for slug in slugs
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    for result in results:
        landed = result["commit"]
        verified = result["verified"][-1]["tree"]
        # what landed is the last tree verified, apart from the sessions' bookkeeping
        diff = git(hub.hub, "diff", "--name-only", verified, landed).split()
        assert all(p.startswith("_AGENTS/sessions/") for p in diff), diff
        parent = git(hub.hub, "rev-parse", f"{landed}^").strip()
        code_diff = git(
            hub.hub, "diff", "--name-only", parent, verified, "--", ".", ":(exclude)_AGENTS"
        )
        assert len(code_diff.split()) == 1  # exactly its own part on top of its parent
    files = git(hub.hub, "ls-tree", "-r", "--name-only", "main").split()
    assert {f"part{n}.txt" for n in range(4)} <= set(files)


def test_the_code_patch_shows_a_conflict_resolution_and_reproduces_what_landed(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    slug = planned(hub, capsys, "resolved")
    wt = claimed(hub, capsys, slug)
    commit(wt, f"[{slug}] feat: mine", {"shared.txt": b"session\n", "own.txt": b"own\n"})
    other = hub.clone("other")
    commit(other, "main moves on", {"shared.txt": b"main\n"})
    git(other, "push", "-q", "origin", "main")
    assert cli(hub.repo, "complete", slug, capsys=capsys)[0] == 3
    git(wt, "fetch", "-q", "origin")
    git(wt, "merge", "-q", "origin/main", check=False)
    (wt / "shared.txt").write_text("resolved by hand\n")
    git(wt, "add", "shared.txt")
    git(wt, "commit", "-qm", f"[{slug}] fix: merge main")
    code, out, err = cli(hub.repo, "complete", slug, "--json", capsys=capsys)
    assert code == 0, err
    landed = json.loads(out)["commit"]
    parent = git(hub.hub, "rev-parse", f"{landed}^").strip()
    patch_text = git(hub.hub, "show", f"{landed}:{json.loads(out)['patch']}")
    assert "+resolved by hand" in patch_text and "-main" in patch_text
    assert f"base-commit: {parent}" in patch_text
    check = tmp_path / "am"
    git(tmp_path, "clone", "-q", str(hub.hub), str(check))
    git(check, "checkout", "-q", parent)
    (tmp_path / "code.patch").write_text(patch_text)
    git(check, "am", "-q", str(tmp_path / "code.patch"))
    assert git(check, "diff", "HEAD", landed, "--", ".", ":(exclude)_AGENTS") == ""
    assert (check / "shared.txt").read_text() == "resolved by hand\n"
