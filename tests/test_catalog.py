"""catalog.py: sessions read from a tree, front matter parsed into values."""

from __future__ import annotations

import pytest
import yaml

from git_sessions import catalog
from git_sessions.errors import BadInput

S = "_AGENTS/sessions"
GOOD = """\
---
title: 'Auth: "the" system'
capabilities: [python, docs]
priority: 5
depends_on: [2025-10-01-base]
parent: null
created: 2025-10-14
---
# Session: 2025-10-14-auth
"""


class Tree:
    """A tree of files as a dict path -> text: the catalog's whole view of main."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def listdir(self, path: str) -> list[str]:
        prefix = path + "/"
        return sorted({p[len(prefix) :].split("/")[0] for p in self.files if p.startswith(prefix)})

    def text(self, path: str) -> str | None:
        return self.files.get(path)

    def object_id(self, path: str) -> str | None:
        folder = any(p.startswith(path + "/") for p in self.files)
        return path if path in self.files or folder else None

    def folder_files(self, path: str, filename: str) -> dict[str, str]:
        # the path stands in for a blob id: blob_text resolves it
        return {
            name: f"{path}/{name}/{filename}"
            for name in self.listdir(path)
            if f"{path}/{name}/{filename}" in self.files
        }

    def blob_text(self, blob: str) -> str:
        return self.files[blob]


def test_split_front_matter() -> None:
    meta, body = catalog.split_front_matter("---\na: 1\nb: [x]\n---\nbody\n---\nmore\n")
    assert meta == {"a": 1, "b": ["x"]}
    assert body == "body\n---\nmore\n"


def test_split_front_matter_absent_or_empty() -> None:
    assert catalog.split_front_matter("# no front matter\n") == ({}, "# no front matter\n")
    assert catalog.split_front_matter("---\n---\nbody") == ({}, "body")


@pytest.mark.parametrize(
    "text", ["---\na: 1\nno closing fence\n", "---\n- a list\n---\n", "---\na: [\n---\n"]
)
def test_split_front_matter_malformed(text: str) -> None:
    with pytest.raises((ValueError, yaml.YAMLError)):
        catalog.split_front_matter(text)


def test_parse_session() -> None:
    session = catalog.parse_session("2025-10-14-auth", "planned", GOOD)
    assert session == catalog.Session(
        slug="2025-10-14-auth",
        state="planned",
        title='Auth: "the" system',
        capabilities=("python", "docs"),
        priority=5,
        depends_on=("2025-10-01-base",),
        parent=None,
        created="2025-10-14",
        path=f"{S}/planned/2025-10-14-auth",
    )
    data = session.to_json()
    assert data["capabilities"] == ["python", "docs"]
    assert data["depends_on"] == ["2025-10-01-base"]
    assert data["problems"] == []
    assert {"slug", "state", "title", "capabilities", "priority"} <= set(data)


def test_crlf_line_endings_keep_the_metadata() -> None:
    session = catalog.parse_session("2025-10-14-auth", "planned", GOOD.replace("\n", "\r\n"))
    assert session.problems == ()
    assert (session.title, session.priority) == ('Auth: "the" system', 5)


def test_parse_session_defaults() -> None:
    session = catalog.parse_session("2025-10-14-x", "drafting", "# just a body\n")
    assert session.title == "2025-10-14-x"
    assert session.capabilities == ()
    assert session.priority == 0
    assert session.created == ""
    assert session.problems == ()


def test_a_single_capability_string_is_a_list() -> None:
    session = catalog.parse_session("2025-10-14-x", "planned", "---\ncapabilities: go\n---\n")
    assert session.capabilities == ("go",)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "SESSION.md is missing"),
        ("---\ntitle: x\n", "front matter"),
        ("---\ntitle: [\n---\n", "front matter"),
        ("---\npriority: high\n---\n", "priority"),
        ("---\npriority: [1]\n---\n", "priority"),
        ("---\ncapabilities: {a: 1}\n---\n", "capabilities"),
    ],
)
def test_parse_session_records_problems(text: str | None, problem: str) -> None:
    session = catalog.parse_session("2025-10-14-x", "planned", text)
    assert len(session.problems) == 1
    assert problem in session.problems[0]
    assert session.priority == 0  # a default, not a crash
    assert session.slug == "2025-10-14-x"


def tree() -> Tree:
    return Tree(
        {
            f"{S}/drafting/.gitkeep": "",
            f"{S}/drafting/2025-10-14-b/SESSION.md": "---\ntitle: B\n---\n",
            f"{S}/planned/.gitkeep": "",
            f"{S}/planned/2025-10-14-a/SESSION.md": GOOD,
            f"{S}/planned/2025-10-14-c/SESSION.md": "---\npriority: 1\n---\n",
            f"{S}/planned/not-a-session/SESSION.md": "",
            f"{S}/active/2025-10-14-c/SESSION.md": "---\npriority: 1\n---\n",
        }
    )


def test_all_sessions_in_state_order_then_slug() -> None:
    found = catalog.all_sessions(tree())
    assert [(s.state, s.slug) for s in found] == [
        ("drafting", "2025-10-14-b"),
        ("planned", "2025-10-14-a"),
        ("planned", "2025-10-14-c"),
        ("active", "2025-10-14-c"),
    ]
    planned = catalog.all_sessions(tree(), ("planned",))
    assert [s.slug for s in planned] == ["2025-10-14-a", "2025-10-14-c"]


def test_session_names_skip_what_is_not_a_session() -> None:
    assert catalog.session_names(tree(), "planned") == ["2025-10-14-a", "2025-10-14-c"]
    assert catalog.session_names(tree(), "completed") == []


def test_locate() -> None:
    assert catalog.locate(tree(), "2025-10-14-a") == ["planned"]
    assert catalog.locate(tree(), "2025-10-14-c") == ["planned", "active"]
    assert catalog.locate(tree(), "2025-10-14-zzz") == []
    for name in ("2025-10-14-a/SESSION.md", "2025-10-14-a/", "..", ".", "", "2025-10-14-a\0"):
        assert catalog.locate(tree(), name) == [], name  # only an entry's own name


def test_load() -> None:
    session = catalog.load(tree(), "2025-10-14-a")
    assert session.state == "planned"
    assert session.title == 'Auth: "the" system'


def test_load_unknown_session() -> None:
    with pytest.raises(BadInput) as info:
        catalog.load(tree(), "2025-10-14-zzz")
    assert "2025-10-14-zzz" in info.value.message
    assert info.value.hint is not None and "git sessions list" in info.value.hint


@pytest.mark.parametrize("slug", ["../../etc", "2025-01-01-x/../../y", "not-a-session"])
def test_load_rejects_path_like_names(slug: str) -> None:
    with pytest.raises(BadInput):
        catalog.load(tree(), slug)
