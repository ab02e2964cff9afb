"""review: static pages that escape every bit of hub content, deterministic, checked in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Hub, cli, git

from git_sessions.review import file_change, patch_files
from test_complete import claimed, commit

HOSTILE = "<script>document.title='pwned'</script>"


def ok(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = cli(repo, *args, capsys=capsys)
    assert code == 0, err
    return out


def hostile_hub(hub: Hub, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """A completed and an active session whose plan, journal and code all carry a <script>."""
    slugs = []
    for words in (["hostile", "plan"], ["still", "going"]):
        slug = ok(
            hub.repo,
            "new",
            *words,
            "--title",
            f"Title {HOSTILE}",
            "--criteria",
            f"escape {HOSTILE}",
            "--criteria",
            "second one",
            "--context",
            "Change `src/app.py`.",
            "--date",
            "2026-03-03",
            capsys=capsys,
        ).strip()
        ok(hub.repo, "ready", slug, capsys=capsys)
        slugs.append(slug)
    done, active = slugs
    wt = claimed(hub, capsys, done, "--agent", 'Eve & "co"', "--email", "eve@x.test")
    commit(
        wt,
        f"[{done}] feat: app",
        {"src/app.py": f"print('{HOSTILE}')\nold = 1\n".encode(), "extra.txt": b"x\n"},
    )
    commit(wt, f"[{done}] fix: app", {"src/app.py": f"print('{HOSTILE}')\nnew = 2\n".encode()})
    ok(wt, "decision", f"use {HOSTILE}", "--rationale", f"because {HOSTILE}", capsys=capsys)
    ok(wt, "milestone", "half way", "--done", capsys=capsys)
    ok(wt, "metric", "tokens_used", "1200", capsys=capsys)
    ok(hub.repo, "learn", f"learned {HOSTILE}", "-s", done, capsys=capsys)
    worklog = wt / f"_AGENTS/sessions/active/{done}/worklog.md"
    worklog.write_text(worklog.read_text() + f"- [x] second one\n{HOSTILE}\n")
    git(wt, "commit", "-qam", f"[{done}] docs: worklog")
    ok(hub.repo, "complete", done, capsys=capsys)
    wt = claimed(hub, capsys, active)
    commit(wt, f"[{active}] feat: more", {"src/app.py": b"active\n", "other.txt": b"o\n"})
    ok(wt, "blocker", f"blocked by {HOSTILE}", capsys=capsys)
    git(hub.repo, "push", "-q", "origin", f"session/{active}")
    return done, active


def site(hub: Hub, out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    result = json.loads(ok(hub.repo, "review", "--out", str(out), "--json", capsys=capsys))
    assert Path(result["index"]) == out / "index.html"
    return {Path(f).name: Path(f).read_text() for f in result["files"]}


def test_every_page_escapes_hub_content_and_is_deterministic(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    done, active = hostile_hub(hub, capsys)
    pages = site(hub, tmp_path / "one", capsys)
    assert set(pages) >= {"index.html", f"{done}.html", f"{active}.html"}
    for name, html in pages.items():
        assert "<script" not in html.lower(), name
        assert "Content-Security-Policy" in html and "http://" not in html, name
        # self-contained: links only between the pages themselves, nothing loaded
        assert " src=" not in html and "<link" not in html and "url(" not in html, name
        assert all(h == "index.html" or h in pages for h in re.findall(r'href="([^"]*)"', html))
    page = pages[f"{done}.html"]
    escaped = "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"
    assert f"Title {escaped}" in page  # the plan's title
    assert f"escape {escaped}" in page  # a criterion
    assert f"use {escaped}" in page and f"because {escaped}" in page  # the timeline
    assert f"learned {escaped}" in page  # the learnings
    assert '<dd id="holder">Eve &amp; &#34;co&#34; &lt;eve@x.test&gt;</dd>' in page
    assert f"+print(&#39;{escaped}&#39;)" in page  # the diff
    assert '<div class="line add">+new = 2</div>' in page
    assert '<li class="met">second one</li>' in page
    assert '<tr class="unplanned" data-path="extra.txt">' in page
    assert f"blocked by {escaped}" in pages["index.html"]
    # same hub, same bytes
    again = site(hub, tmp_path / "two", capsys)
    assert again == pages
    # only the sessions asked for
    only = ok(hub.repo, "review", done, "-o", str(tmp_path / "3"), "--json", capsys=capsys)
    assert json.loads(only)["sessions"] == [done]
    assert cli(hub.repo, "review", "2026-01-01-nothing", capsys=capsys)[0] == 1


def test_a_stored_patch_splits_into_files_with_counts() -> None:
    text = (
        "From abc Mon Sep 17 00:00:00 2001\nSubject: [PATCH] x\n\nbody\n---\n"
        "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1,2 @@\n-old\n+new\n+-- \n"
        "diff --git a/b.txt b/b.txt\nnew file mode 100644\n--- /dev/null\n+++ b/b.txt\n"
        "@@ -0,0 +1 @@\n+<b>\n\nbase-commit: abc\n-- \ngit-sessions 0.1.0\n\n"
    )
    files = patch_files(text)
    assert [(f.path, f.added, f.deleted) for f in files] == [("a.txt", 2, 1), ("b.txt", 1, 0)]
    assert file_change("x", "@@ -1 +1 @@\n-a\n+b\n").lines[0].kind == "hunk"


# --------------------------------------------------------------------------- in a browser


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (Debian package: chromium); bin/test installs it")
    return found


def browse(binary: str, url: str, profile: Path, *extra: str) -> tuple[str, str]:
    """Load `url` headless; (the DOM after load, the browser's log with console messages)."""
    result = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0 and not result.stdout:
        pytest.skip(f"chromium cannot start here: {result.stderr.strip()[-300:]}")
    return result.stdout, result.stderr


CONSOLE = re.compile(r":CONSOLE[:(]\d+|Uncaught|Refused to|Content Security Policy", re.I)


def test_pages_load_in_chromium_without_console_errors(
    hub: Hub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    binary = chromium()
    # control: a page that does log to the console, so a silent log below means something
    control = tmp_path / "control.html"
    control.write_text("<html><body><script>console.error('control-error')</script></body></html>")
    _, log = browse(binary, control.as_uri(), tmp_path / "p0", "--dump-dom")
    assert "control-error" in log and CONSOLE.search(log)

    done, active = hostile_hub(hub, capsys)
    out = tmp_path / "site"
    site(hub, out, capsys)
    for n, name in enumerate(("index.html", f"{done}.html", f"{active}.html")):
        dom, log = browse(binary, (out / name).as_uri(), tmp_path / f"p{n + 1}", "--dump-dom")
        assert not CONSOLE.search(log), log
        assert "<script" not in dom.lower() and "pwned" not in dom.split("<title>")[1][:40]
    dom, _ = browse(binary, (out / f"{done}.html").as_uri(), tmp_path / "p9", "--dump-dom")
    criteria = re.search(r'<ul class="criteria" id="criteria">(.*?)</ul>', dom, re.S)
    assert criteria is not None
    items = re.findall(r'<li class="(met|open)">(.*?)</li>', criteria.group(1))
    assert items == [
        ("open", "escape &lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        ("met", "second one"),
    ]
    assert re.search(r'<p id="progress">.*1 of 2 met</p>', dom)
    drift = re.search(r'<table id="drift">(.*?)</table>', dom, re.S)
    assert drift is not None
    rows = re.findall(r'<tr class="(planned|unplanned)" data-path="([^"]+)">', drift.group(1))
    assert rows == [("unplanned", "extra.txt"), ("planned", "src/app.py")]
    assert re.search(r'<section class="file" data-path="src/app.py">', dom)
    assert '<div class="line add">+new = 2</div>' in dom
    assert re.search(r'<p id="diffstat">2 file\(s\), <span class="added">\+3</span>', dom)
    shot = tmp_path / "review.png"
    browse(
        binary,
        (out / f"{done}.html").as_uri(),
        tmp_path / "p10",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        "--hide-scrollbars",
    )
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"
