"""The allocators give freed memory back (decision 38): each case runs in a fresh process,
since the settings are made once, before polars loads, and resident memory is the process's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RSS = textwrap.dedent("""
    import json, os, sys, time
    PAGE = os.sysconf("SC_PAGE_SIZE")
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE // 1048576
""")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc, /proc")


def _run(code: str, env: dict[str, str] | None = None) -> dict:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("_RJEM_MALLOC_CONF", "MALLOC_MMAP_THRESHOLD_")}
    environment |= {"PYTHONPATH": str(REPO), **(env or {})}
    out = subprocess.run([sys.executable, "-c", RSS + textwrap.dedent(code)], env=environment,
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_cjsdash_sets_polars_allocator_before_polars_loads() -> None:
    seen = _run("""
        import cjsdash, polars
        from cjsdash.core import allocators
        print(json.dumps({"conf": os.environ["_RJEM_MALLOC_CONF"], "applied": allocators.apply()}))
    """)
    assert seen["conf"].endswith(",dirty_decay_ms:250,muzzy_decay_ms:0,background_thread:true")
    assert seen["applied"] == {"polars": True, "glibc": True}


def test_a_setting_already_made_is_left_alone() -> None:
    seen = _run("""
        import polars, cjsdash
        from cjsdash.core import allocators
        print(json.dumps({"conf": os.environ["_RJEM_MALLOC_CONF"], "applied": allocators.apply()}))
    """, {"MALLOC_MMAP_THRESHOLD_": "131072"})
    assert "background_thread" not in seen["conf"]  # polars was loaded first
    assert seen["applied"] == {"polars": False, "glibc": False}


FREED_BY_POLARS = """
    {imports}
    import io
    import polars as pl
    rows = pl.select(i=pl.int_range(400_000)).select(*[
        pl.format("area {{}} {{}} period", pl.col("i") % (97 * (c + 1)), pl.lit(c)).alias(f"c{{c}}")
        for c in range(8)])
    buffer = io.BytesIO()
    rows.write_csv(buffer)
    data = buffer.getvalue()  # 53 MB of CSV
    del rows, buffer
    time.sleep(1.5)
    before = rss()
    for _ in range(3):  # a load's step: read, tidy, group; then nothing more of polars
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
        frame = frame.with_columns(pl.col(pl.String).str.strip_chars()).with_columns(
            pl.col("c0").min().over("c1", "c2").alias("m"))
        del frame
    grew, started = rss() - before, time.perf_counter()
    while rss() - before > grew / 4 and time.perf_counter() - started < 5:
        time.sleep(0.02)
    print(json.dumps({{"grew": grew, "seconds": time.perf_counter() - started}}))
"""


def test_polars_freed_pages_are_given_back_sooner() -> None:
    """The step's freed pages go back by themselves within a fraction of a second (polars'
    own settings: about a second, longer under memory pressure)."""
    tuned = _run(FREED_BY_POLARS.format(imports="import cjsdash"))
    default = _run(FREED_BY_POLARS.format(imports=""))
    assert tuned["grew"] > 100 and default["grew"] > 100, (tuned, default)  # a real case
    assert tuned["seconds"] < 0.45, tuned
    assert default["seconds"] > tuned["seconds"] + 0.2, (tuned, default)


FREED_BY_DUCKDB = """
    import cjsdash, duckdb
    from cjsdash.core import allocators
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    # DuckDB purges by itself after freeing 512 MB at once: not what a load's steps do
    con.execute("SET allocator_bulk_deallocation_flush_threshold = '64GB'")
    before = rss()
    con.execute("CREATE TABLE t AS SELECT i % 100003 AS k, repeat('x', 40) || i AS s "
                "FROM range(3000000) r(i)")
    con.execute("SELECT k, string_agg(s, ',') FROM t GROUP BY k").fetchall()
    con.execute("DROP TABLE t")
    held = rss()
    released = allocators.release()
    print(json.dumps({{"held": held - before, "after": rss() - before, "released": released}}))
"""


def test_duckdb_freed_pages_are_given_back_by_release() -> None:
    seen = _run(FREED_BY_DUCKDB.replace("{{", "{").replace("}}", "}"))
    assert seen["released"] is True
    assert seen["held"] > 100, seen  # DuckDB kept what its query freed
    assert seen["after"] < seen["held"] / 2, seen
