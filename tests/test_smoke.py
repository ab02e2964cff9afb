from __future__ import annotations

import pytest
from conftest import Hub, cli


def test_init_is_idempotent(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    before = hub.main()
    code, out, _ = cli(hub.repo, "init", capsys=capsys)
    assert code == 0
    assert "already initialised" in out
    assert hub.main() == before
