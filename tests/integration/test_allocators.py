"""The allocators give freed memory back (decision 38): each case runs in a fresh process,
since the settings are made once and resident memory is the process's."""

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
                   if k != "MALLOC_MMAP_THRESHOLD_"}
    environment |= {"PYTHONPATH": str(REPO), **(env or {})}
    out = subprocess.run([sys.executable, "-c", RSS + textwrap.dedent(code)], env=environment,
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_cjsdash_sets_glibc_thresholds() -> None:
    seen = _run("""
        import cjsdash
        from cjsdash.core import allocators
        print(json.dumps({"applied": allocators.apply()}))
    """)
    assert seen["applied"] == {"glibc": True}


def test_a_threshold_already_in_the_environment_is_left_alone() -> None:
    seen = _run("""
        import cjsdash
        from cjsdash.core import allocators
        print(json.dumps({"applied": allocators.apply()}))
    """, {"MALLOC_MMAP_THRESHOLD_": "131072"})
    assert seen["applied"] == {"glibc": False}


FREED_LARGE_BLOCKS = """
    {imports}
    import numpy as np
    before = rss()
    kept = []
    for i in range(40):  # large blocks freed while a small one after each stays in use
        block = np.ones(8_000_000 // 8 + i * 1000)
        kept.append(np.ones(64))
        del block
    big = []
    for _ in range(60):  # 240 MB in 4 MB blocks, each with a small block after it kept
        big.append(np.ones(4_000_000 // 8))
        kept.append(np.ones(64))
    del big  # freed: between blocks in use, the heap cannot shrink over them
    print(json.dumps({{"after": rss() - before}}))
"""


def test_large_blocks_freed_go_back_to_the_system() -> None:
    """glibc's own dynamic threshold moves 4 MB blocks onto the heap once an 8 MB one is
    freed, and keeps them when freed; fixed, they are unmapped."""
    tuned = _run(FREED_LARGE_BLOCKS.format(imports="import cjsdash"))
    default = _run(FREED_LARGE_BLOCKS.format(imports=""))
    assert default["after"] > 150, default  # the case is real
    assert tuned["after"] < 50, tuned


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


def test_release_without_polars_purges_duckdb_and_never_looks_polars_up() -> None:
    """settle() gives back what DuckDB freed while priming (decision 41) without finding
    polars' mallctl, which reads its library's symbol table (21 ms, once a process)."""
    code = FREED_BY_DUCKDB.replace("{{", "{").replace("}}", "}").replace(
        "allocators.release()", "allocators.release(polars=False)").replace(
        '"released": released}', '"released": released, "polars_looked_up": '
        'allocators.polars_jemalloc.mallctl.cache_info().currsize}')
    seen = _run(code)
    assert seen["released"] is True
    assert seen["after"] < seen["held"] / 2, seen
    assert seen["polars_looked_up"] == 0, seen


FREED_BY_POLARS = """
import polars as pl
from cjsdash.core import allocators, polars_jemalloc
frame = pl.DataFrame({"a": [str(i) for i in range(3_000_000)], "b": range(3_000_000)})
frame = frame.with_columns(pl.col("a") + "x").sort("a")
before = rss()
del frame
held = rss()
released = allocators.release(duckdb=False)
print(json.dumps({"before": before, "held": held, "released": released, "after": rss(),
                  "found": polars_jemalloc.mallctl() is not None}))
"""


def test_polars_freed_pages_are_given_back_by_release() -> None:
    """polars keeps what a frame freed until it allocates again (decision 39): release()
    finds its jemalloc's mallctl in the library's symbol table and purges it."""
    seen = _run(FREED_BY_POLARS)
    assert seen["found"] and seen["released"], seen
    assert seen["held"] > seen["before"] - 50, seen  # freed, yet still resident
    assert seen["after"] < seen["held"] - 150, seen


def test_the_mallctl_symbol_is_read_from_the_elf_symbol_table(tmp_path: Path) -> None:
    import polars  # noqa: F401 - loads polars._plr

    from cjsdash.core import polars_jemalloc

    library = polars_jemalloc._polars_library()
    assert library is not None
    value = polars_jemalloc.symbol_value(library, polars_jemalloc.SYMBOL)
    assert value is not None and value > 0
    assert polars_jemalloc.symbol_value(library, b"_rjem_no_such_function") is None
    not_elf = tmp_path / "not.so"
    not_elf.write_bytes(b"#!/bin/sh\n" * 10)
    with pytest.raises(ValueError, match="not a 64-bit little-endian ELF file"):
        polars_jemalloc.symbol_value(not_elf, polars_jemalloc.SYMBOL)


MMAPPED = """
    import ctypes
    import cjsdash
    from cjsdash.core import allocators
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    def mapped(size):  # glibc's chunk header: bit 2 of the size word says "mmapped"
        pointer = libc.malloc(size)
        flag = bool(ctypes.c_size_t.from_address(pointer - 8).value & 2)
        libc.free(pointer)
        return flag
    seen = {"before": mapped(1 << 20)}
    with allocators.bulk_load() as changed:
        seen |= {"changed": changed, "during": mapped(1 << 20), "huge": mapped(40 << 20)}
    seen["after"] = mapped(1 << 20)
    print(json.dumps(seen))
"""


def test_bulk_load_keeps_large_blocks_on_the_heap_then_restores_the_threshold() -> None:
    """``cjsdash ingest`` loads with glibc's 32 MiB ceiling (decision 40): a 1 MiB block
    comes from the heap, reused, not mapped afresh; the server's 64 KiB threshold is back
    after."""
    seen = _run(MMAPPED)
    assert seen == {"before": True, "changed": True, "during": False, "huge": True,
                    "after": True}, seen


def test_bulk_load_leaves_a_threshold_from_the_environment_alone() -> None:
    seen = _run(MMAPPED, {"MALLOC_MMAP_THRESHOLD_": "131072"})
    assert seen == {"before": True, "changed": False, "during": True, "huge": True,
                    "after": True}, seen


EAGER = """
import duckdb
import polars as pl
from cjsdash.core import allocators, polars_jemalloc
duckdb.connect().execute("SELECT 1")  # DuckDB's library loaded
calls = {"polars": polars_jemalloc.mallctl(), "duckdb": allocators._duckdb_mallctl()}
before = {name: allocators._decays(call) for name, call in calls.items()}
with allocators.eager_return() as applied:
    inside = {name: allocators._decays(call) for name, call in calls.items()}
    start = rss()
    frame = pl.DataFrame({"a": [str(i) for i in range(3_000_000)], "b": range(3_000_000)})
    frame = frame.with_columns(pl.col("a") + "x").sort("a")
    held = rss()
    del frame
    freed = rss()
after = {name: allocators._decays(call) for name, call in calls.items()}
print(json.dumps({"applied": applied, "before": before, "inside": inside, "after": after,
                  "start": start, "held": held, "freed": freed}))
"""


def test_while_an_upload_loads_freed_pages_go_back_as_they_are_freed() -> None:
    """eager_return() sets both jemallocs' decays to 0 (decision 54): a frame freed inside
    leaves resident memory at once, with no release(); the decays come back after."""
    seen = _run(EAGER)
    assert seen["applied"] is True, seen
    assert seen["inside"] == {"polars": [0, 0], "duckdb": [0, 0]}, seen
    assert seen["after"] == seen["before"], seen
    assert all(decays != [0, 0] for decays in seen["before"].values()), seen
    frame = seen["held"] - seen["start"]
    assert frame > 50, seen
    assert seen["freed"] - seen["start"] < frame / 4, seen  # not kept (test above: kept)


OVERLAPPING = """
import threading
import polars as pl
from cjsdash.core import allocators, polars_jemalloc
pl.DataFrame({"a": [1]})
call = polars_jemalloc.mallctl()
before = allocators._decays(call)
inside, second_in, left = [], threading.Event(), threading.Event()

def second():
    with allocators.eager_return():
        second_in.set()
        left.wait()  # the first load ends while this one still loads
        inside.append(allocators._decays(call))

with allocators.eager_return():
    thread = threading.Thread(target=second)
    thread.start()
    second_in.wait()
left.set()
thread.join()
print(json.dumps({"before": before, "inside": inside, "after": allocators._decays(call)}))
"""


def test_two_loads_at_once_put_the_decays_back_only_when_both_end() -> None:
    seen = _run(OVERLAPPING)
    assert seen["inside"] == [[0, 0]], seen  # the first to end left the second's setting
    assert seen["after"] == seen["before"] != [0, 0], seen
