"""The server's peak memory while it is sent an oversize upload (issue 13, item 11).

Starts the dashboard in a child process over a small warehouse (waitress, as ``cjsdash
serve`` runs it, or as a bare ``waitress-serve app:server`` would: waitress's own 1 GiB body
limit), streams one ``/_dash-update-component`` POST of ``--mb`` megabytes (the upload
callback with a data URL that large) from this process, and reads the child's resident
memory before (VmRSS) and its peak (VmHWM) after the answer. Measure, don't assert: never
part of the test suite.

Usage: ``python benchmarks/upload_body_memory.py [--mb 300] [--waitress-limit serve|1GiB]``
Run it from the source tree to measure (``PYTHONPATH=.``); from an export of an older
commit to measure that one.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import os, sys
from pathlib import Path
from cjsdash.bootstrap import prepare
from cjsdash.core.config import get_settings
from cjsdash.core.gateway import Warehouse
from cjsdash.server import create_app
from waitress import serve

root, port, limit = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
warehouse = Warehouse(root / "w.duckdb")
with warehouse.writer() as con:
    prepare(con)
app = create_app(warehouse)
options = {}
if limit == "serve":
    from cjsdash.guard import request_body_limit
    options["max_request_body_size"] = request_body_limit(get_settings())
serve(app.server, host="127.0.0.1", port=port, threads=8, **options)
"""


def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024  # MB
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _upload_output(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/_dash-dependencies")
    deps = json.loads(conn.getresponse().read())
    return next(d["output"] for d in deps
                if [i["property"] for i in d["inputs"]] == ["contents"]
                and d["inputs"][0]["id"] == "data-upload" and d["clientside_function"] is None)


def post_large(port: int, megabytes: int) -> tuple[int | str, float]:
    output = _upload_output(port)
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
               for part in output[2:-2].split("...")]
    head = json.dumps({"output": output, "outputs": outputs, "state": [
        {"id": "data-upload", "property": "filename", "value": "big.csv"},
        {"id": "data-version", "property": "data", "value": 0}],
        "changedPropIds": ["data-upload.contents"],
        "inputs": [{"id": "data-upload", "property": "contents", "value": "@@"}]})
    before, after = head.split('"@@"')
    prefix = (before + '"data:text/csv;base64,').encode()
    suffix = ('"' + after).encode()
    payload = megabytes * 1024 * 1024 - len(prefix) - len(suffix)
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", "/_dash-update-component")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(prefix) + payload + len(suffix)))
    conn.endheaders()
    piece = b"A" * (1024 * 1024)
    try:
        conn.send(prefix)
        sent = 0
        while sent < payload:
            n = min(len(piece), payload - sent)
            conn.send(piece[:n])
            sent += n
        conn.send(suffix)
        status: int | str = conn.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        try:
            status = conn.getresponse().status
        except Exception as exc:  # the server may have closed first
            status = f"closed ({type(exc).__name__})"
    return status, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--waitress-limit", choices=("serve", "1GiB"), default="serve")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as root:
        env = {**os.environ, "CJSDASH_DATA_DIR": root}
        child = subprocess.Popen([sys.executable, "-c", CHILD, root, str(port),
                                  args.waitress_limit], env=env)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    _upload_output(port)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            before = _status(child.pid)
            status, seconds = post_large(port, args.mb)
            time.sleep(0.5)
            after = _status(child.pid)
        finally:
            child.terminate()
            child.wait(timeout=30)
    print(f"{args.mb} MB body, waitress limit {args.waitress_limit}: answer {status} in "
          f"{seconds:.1f} s; server RSS before {before['VmRSS']} MB, peak {after['VmHWM']} MB "
          f"(+{after['VmHWM'] - before['VmRSS']} MB)")


if __name__ == "__main__":
    main()
