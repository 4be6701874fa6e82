"""A real dashboard served by waitress on a free localhost port, as ``cjsdash serve``
serves it, over a small file warehouse, and the helpers that post Dash callback requests
to it (for tests/integration/test_server_security.py and test_readers_during_upload.py)."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cjsdash.bootstrap import prepare
from cjsdash.core.config import get_settings
from cjsdash.core.gateway import Warehouse
from cjsdash.guard import request_body_limit
from ingest.pipeline import ingest_paths
from tests.conftest import write_csv

UPLOAD_MAX = 256 * 1024
ALLOWED = "dash.example.org"
FIRST = """area,period,measure,numerator,denominator
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100
Cumbria,2024-25 Q2,ineffective_trial_rate_crown,15,110
Devon & Cornwall Police,2024-25 Q1,ineffective_trial_rate_crown,40,300
"""
AREAS = ("Cumbria", "Devon & Cornwall Police", "Dyfed-Powys", "Kent", "Essex", "Lancashire")


def extract(n: int) -> bytes:
    """A board extract no other one overlaps: its own financial year, so every load adds."""
    year = 2000 + n
    lines = ["area,period,measure,numerator,denominator"]
    for area in AREAS:
        for q in range(1, 5):
            lines.append(f"{area},{year}-{(year + 1) % 100:02d} Q{q},"
                         f"ineffective_trial_rate_crown,{10 + n + q},{200 + q}")
    return ("\n".join(lines) + "\n").encode()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    app: Any
    port: int
    data_dir: Path

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 60
                ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def post(self, body: Any) -> tuple[int, bytes]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, _, text = self.request("POST", "/_dash-update-component", raw,
                                       {"Content-Type": "application/json"})
        return status, text

    def output_of(self, input_props: list[str], first_input: str) -> str:
        """The output key of the server callback with these input properties."""
        for key, spec in self.app.callback_map.items():
            if "callback" in spec and [i["property"] for i in spec["inputs"]] == input_props \
                    and spec["inputs"][0]["id"] == first_input:
                return key
        raise LookupError(first_input)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from waitress import create_server

    from cjsdash.server import create_app
    from metrics.registry import default_registry

    root = tmp_path_factory.mktemp("served")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CJSDASH_DATA_DIR", str(root / "data"))
        mp.setenv("CJSDASH_UPLOAD_MAX_BYTES", str(UPLOAD_MAX))
        mp.setenv("CJSDASH_ALLOWED_HOSTS", ALLOWED)
        get_settings.cache_clear()
        warehouse = Warehouse(root / "cjsdash.duckdb")
        with warehouse.writer() as con:
            prepare(con)
            ingest_paths(con, [write_csv(root / "first.csv", FIRST)])
        app = create_app(warehouse, default_registry())
        port = _free_port()
        server = create_server(app.server, host="127.0.0.1", port=port, threads=8,
                               max_request_body_size=request_body_limit(get_settings()))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        served = Served(app, port, root / "data")
        deadline = time.monotonic() + 30
        while served.request("GET", "/")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield served
        server.close()
        thread.join(timeout=10)
        warehouse.close()
    get_settings.cache_clear()


def outputs_of(output: str) -> Any:
    """The ``outputs`` Dash's renderer sends for an output key."""
    def one(part: str) -> dict[str, str]:
        ident, prop = part.rsplit(".", 1)
        return {"id": ident, "property": prop}
    if output.startswith(".."):
        return [one(p) for p in output[2:-2].split("...")]
    return one(output)


def body_for(output: str, spec: dict[str, Any], values: dict[tuple[str, int], Any]
             ) -> dict[str, Any]:
    def items(key: str) -> list[dict[str, Any]]:
        return [{"id": i["id"], "property": i["property"],
                 "value": values.get((key, n), 1 if i["property"] == "n_clicks" else None)}
                for n, i in enumerate(spec.get(key, []))]
    inputs = items("inputs")
    return {"output": output, "outputs": outputs_of(output), "inputs": inputs,
            "state": items("state"),
            "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]}


def upload_body(served: Served, name: str, content: Any) -> dict[str, Any]:
    output = served.output_of(["contents"], "data-upload")
    spec = served.app.callback_map[output]
    return body_for(output, spec, {("inputs", 0): content, ("state", 0): name,
                                   ("state", 1): 0})


def data_url(content: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(content).decode()


def parallel_first_requests(flask_app: Any, body: dict[str, Any], n: int = 8
                            ) -> list[tuple[int, str]]:
    """``n`` test clients post the same callback at once (a barrier): (status, text) each."""
    import threading

    start = threading.Barrier(n)
    answers: list[tuple[int, str]] = []

    def first_request() -> None:
        client = flask_app.test_client()
        start.wait()
        answer = client.post("/_dash-update-component", json=body)
        answers.append((answer.status_code, answer.get_data(as_text=True)[:200]))

    threads = [threading.Thread(target=first_request) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return answers
