"""An upload through the data page's own callback, with a file whose figures are new.

The demo warehouse is built from a synthetic board extract of 332,640 rows
(``generated/synthetic_board_extract.csv`` beside the warehouse). Uploading it unchanged is a
no-op ("unchanged"), so :func:`revised_extract` writes the same rows with every figure moved
by one (a numerator with a denominator one less, other numerators and values one more) under
a new vintage: a revision of every figure, which the dashboard must then show. The body is
the one the page's ``dcc.Upload`` sends (``data-upload.contents``, a base64 data URL), sent
through the same ``/_dash-update-component`` path (``layouts/pages/data.py``, ``upload``).
Used by ``benchmarks/serving.py``; never part of the test suite.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import polars as pl
from serving_process import Client
from upload_body_memory import _upload_output as upload_output

EXTRACT = Path("generated") / "synthetic_board_extract.csv"


def revised_extract(source: Path, out: Path, vintage: str) -> int:
    """Write ``source`` with every figure moved by one and a new vintage; the rows written."""
    frame = pl.read_csv(source, infer_schema_length=0)
    num = pl.col("numerator").cast(pl.Int64, strict=False)
    den = pl.col("denominator").cast(pl.Int64, strict=False)
    value = pl.col("value").cast(pl.Float64, strict=False)
    revised = frame.with_columns(
        pl.when(num.is_null()).then(None)
        .when(den.is_not_null() & (num >= 1)).then(num - 1)
        .otherwise(num + 1).cast(pl.Utf8).alias("numerator"),
        pl.when(value.is_null()).then(None).otherwise(value + 1).cast(pl.Utf8).alias("value"),
        pl.lit(vintage).alias("vintage"),
    )
    revised.write_csv(out)
    return revised.height


def upload_body(port: int, path: Path) -> str:
    """The request the data page sends when ``path`` is dropped on its upload zone."""
    output = upload_output(port)
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
               for part in output[2:-2].split("...")]
    contents = "data:text/csv;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return json.dumps({
        "output": output, "outputs": outputs,
        "inputs": [{"id": "data-upload", "property": "contents", "value": contents}],
        "changedPropIds": ["data-upload.contents"],
        "state": [{"id": "data-upload", "property": "filename", "value": path.name},
                  {"id": "data-version", "property": "data", "value": 0}]})


def send_upload(port: int, body: str) -> tuple[int, str]:
    """POST the upload; (HTTP status, the outcome line the page shows)."""
    status, payload = Client(port, timeout=900).post(body)
    text = payload.decode("utf-8", "replace")
    line = re.search(r'"id":\s*"data-upload-line"[^}]*?"children":\s*"([^"]*)"', text) or \
        re.search(r'"children":\s*"([^"]*(?:loaded|refused|unchanged|not loaded)[^"]*)"', text)
    return status, line.group(1) if line else text[:300]
