"""`review`: a static HTML site of the sessions, for reviewers (no server, no scripts)."""

from __future__ import annotations

from pathlib import Path

import typer

from git_sessions.cli.app import app, context, emit_json, note, out, start_directory
from git_sessions.cli.authoring import JSON


@app.command()
def review(
    slugs: list[str] = typer.Argument(None, help="Sessions to include (default: all)."),
    out_dir: Path | None = typer.Option(
        None, "--out", "-o", help="Folder to write (default: .git/git-sessions/review)."
    ),
    open_it: bool = typer.Option(False, "--open", help="Open the index in a web browser."),
    as_json: bool = JSON,
) -> None:
    """Write an index and one page per session: criteria, drift, code diff, timeline, handoff."""
    from git_sessions import review as review_mod
    from git_sessions import site
    from git_sessions.protocol import check_slug

    ctx = context()
    wanted = tuple(check_slug(s) for s in slugs or ())
    commit, now, pages = review_mod.pages(ctx, wanted)
    folder = out_dir if out_dir is not None else ctx.ws.common_dir / "git-sessions" / "review"
    if not folder.is_absolute():
        folder = start_directory().resolve() / folder
    written = site.write_site(folder, pages, commit, now)
    index = folder / "index.html"
    if as_json:
        from git_sessions import documents

        emit_json(documents.review(str(index), [p.slug for p in pages], [str(p) for p in written]))
    else:
        out(str(index))
        note(f"{len(pages)} session page(s) in {folder}")
    if open_it:
        import webbrowser

        webbrowser.open(index.as_uri())
