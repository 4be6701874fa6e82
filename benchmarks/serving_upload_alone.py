"""The server's memory and time for one large upload, with no readers (issue 14).

Starts ``cjsdash serve`` (one worker, or ``--workers N``) over a copy of a warehouse, opens
every page once, then sends the data page's upload of ``FILE`` (e.g.
``serving_upload.revised_extract``'s output, 332,640 rows) through
``/_dash-update-component`` as a browser does, sampling the server's resident memory every
50 ms (with several workers every 0.2 s, and its proportional set size, Pss, too: each shared
page counted once across the processes); prints its memory after start, after the pages,
its peak during the upload (sampled and VmHWM), the upload's seconds and the figure
refresh's seconds (the server's log line). Measure, don't assert: never part of the test
suite.

Usage: ``PYTHONPATH=. python benchmarks/serving_upload_alone.py WAREHOUSE FILE [--workers 2]``
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from serving_process import MemorySampler, memory_mb, start_server, stop_server, visit_pages
from serving_upload import send_upload, upload_body
from upload_body_memory import _free_port as free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("file", type=Path)
    parser.add_argument("--workers", type=int, help="serve --workers N (default: one process)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "demo.duckdb"
        shutil.copy(args.warehouse, db)
        port, log = free_port(), Path(folder) / "server.log"
        child = start_server(db, port, Path(folder), args.workers, log,
                             {"CJSDASH_LOG_LEVEL": "info"})
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60):
                        break
                except OSError:
                    if time.monotonic() > deadline or child.poll() is not None:
                        sys.exit(log.read_text()[-2000:])
                    time.sleep(0.3)
            started = memory_mb(child.pid)
            visit_pages(port, args.workers or 1)  # each worker, as the connections land
            viewed = memory_mb(child.pid)
            body = upload_body(port, args.file)
            several = (args.workers or 1) > 1  # Pss: smaps_rollup walks pages, so less often
            sampler = MemorySampler(child.pid, every=0.2 if several else 0.05, pss=several)
            sent = time.monotonic()
            status, line = send_upload(port, body)
            answered = time.monotonic()
            sampler.stop()
            hwm = memory_mb(child.pid)["hwm_mb"]
        finally:
            stop_server(child)
        refreshed = re.findall(r"figures refreshed: .*? in [\d.]+ s", log.read_text())
    print(f"load average {os.getloadavg()[0]:.1f}; HTTP {status}: {line}")
    print(f"{started['processes']} processes; RSS after start {started['rss_mb']:,.0f} MB, "
          f"after the pages {viewed['rss_mb']:,.0f} MB; during the upload: peak sampled "
          f"{sampler.peak(sent, answered):,.0f} MB, VmHWM {hwm:,.0f} MB; upload "
          f"{answered - sent:.1f} s; {refreshed[-1] if refreshed else 'no refresh line'}")
    if several:
        print(f"Pss (shared pages counted once): after start {started['pss_mb']:,.0f} MB, "
              f"after the pages {viewed['pss_mb']:,.0f} MB, peak sampled during the upload "
              f"{sampler.peak(sent, answered, pss=True):,.0f} MB")


if __name__ == "__main__":
    main()
