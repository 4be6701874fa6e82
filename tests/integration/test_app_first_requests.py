"""Every server :func:`cjsdash.server.create_app` makes has finished Dash's set-up before it
answers anyone: parallel first requests (a browser sends several at once) are all served."""

from __future__ import annotations

from pathlib import Path

import pytest

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse
from ingest.pipeline import ingest_paths
from tests.conftest import write_csv
from tests.integration.served_app import FIRST, body_for, parallel_first_requests


def test_create_app_answers_concurrent_first_callbacks(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight page callbacks at once as a new app's first requests: none is refused."""
    from cjsdash.core.config import get_settings
    from cjsdash.server import create_app

    warehouse = Warehouse(tmp_path / "cjsdash.duckdb")
    with warehouse.writer() as con:
        prepare(con)
        ingest_paths(con, [write_csv(tmp_path / "first.csv", FIRST)])
    monkeypatch.setenv("CJSDASH_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        app = create_app(warehouse)
        # set up already: the pages' callbacks are in the app's own map, not waiting in
        # Dash's global list for a first request to move them
        output, spec = next((k, v) for k, v in app.callback_map.items()
                            if v["inputs"] and v["inputs"][0]["id"] == "data-version")
        body = body_for(output, spec, {("inputs", 0): 1, ("state", 0): "all"})
        answers = parallel_first_requests(app.server, body)
        assert [a for a in answers if a[0] != 200] == [] and len(answers) == 8
    finally:
        warehouse.close()
        get_settings.cache_clear()
