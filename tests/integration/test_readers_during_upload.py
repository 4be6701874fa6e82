"""20 readers during uploads to the served dashboard see no error and no torn figure (issue
13): the data page's summary must always agree with its tables, at one of the states the
uploads pass through (:mod:`tests.integration.served_app`)."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from typing import Any

from tests.integration.served_app import (
    AREAS,
    Served,
    body_for,
    data_url,
    extract,
    served,
    upload_body,
)

__all__ = ["served"]  # the fixture, imported for pytest

class _Tables(HTMLParser):
    """The rows of an HTML table, as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag in ("td", "th") and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _rows(component: dict[str, Any]) -> list[list[str]]:
    parser = _Tables()
    parser.feed(component["props"]["children"]["props"]["children"])
    return parser.rows


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def read_data_tables(served: Served, output: str) -> tuple[int, int, int]:
    """(files, figures) of one data-page refresh, checked for a torn view: the summary's
    files and figures must be the tables' (every load here adds distinct figures)."""
    spec = served.app.callback_map[output]
    status, text = served.post(body_for(output, spec, {("inputs", 0): 1,
                                                       ("state", 0): "all"}))
    assert status == 200, text[:300]
    response = json.loads(text)["response"]
    summary = response["data-head"]["children"]["props"]["children"][1]["props"]["children"]
    files, figures = map(_number, re.match(
        r"([\d,]+) files? loaded \(0 refused\); ([\d,]+) current figures?", summary).groups())
    sources = _rows(response["data-sources"]["children"])
    runs = _rows(response["data-files"]["children"])
    per_source = sum(_number(r[2]) for r in sources)
    per_run = sum(_number(r[6]) for r in runs)
    assert (figures, files) == (per_source, len(runs)) == (per_run, len(runs)), summary
    return files, figures, len(runs)


def test_twenty_readers_during_uploads_see_no_error_and_no_torn_figure(served: Served) -> None:
    refresh = served.output_of(["data"], "data-version")
    overview = next(k for k, s in served.app.callback_map.items()
                    if "callback" in s and k.startswith("..overview-content."))
    files_before, figures_before, _ = read_data_tables(served, refresh)
    uploads = [extract(n) for n in range(1, 5)]
    per_upload = 2 * len(AREAS) * 4  # numerator and denominator per row
    expected = {(files_before + i, figures_before + i * per_upload)
                for i in range(len(uploads) + 1)}
    done = threading.Event()
    seen: list[tuple[int, int]] = []
    errors: list[str] = []

    def reader(n: int) -> int:
        reads = 0
        while not done.is_set() or reads < 2:
            try:
                if n % 4 == 0:
                    spec = served.app.callback_map[overview]
                    status, text = served.post(body_for(overview, spec, {}))
                    if status != 200:
                        errors.append(f"overview {status}: {text[:200]!r}")
                else:
                    files, figures, _ = read_data_tables(served, refresh)
                    seen.append((files, figures))
            except Exception as exc:  # every failure is reported
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
            reads += 1
        return reads

    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(reader, n) for n in range(20)]
        try:
            for i, content in enumerate(uploads):
                status, text = served.post(upload_body(served, f"extract-{i}.csv",
                                                       data_url(content)))
                assert status == 200 and "loaded as run" in text.decode(), text[:300]
        finally:
            done.set()
        reads = sum(f.result(timeout=60) for f in futures)
    elapsed = time.monotonic() - started
    assert errors == []
    assert set(seen) <= expected, set(seen) - expected
    assert max(seen) == (files_before + len(uploads), figures_before + len(uploads) * per_upload)
    assert reads >= 40 and elapsed < 60
