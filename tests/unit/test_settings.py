"""``cjsdash.core.gateway.settings``: DuckDB's global settings for a block, back after it,
also when the block's statement fails inside a transaction; names outside its list refused."""

from __future__ import annotations

import duckdb
import pytest

from cjsdash.core.gateway import settings


def _now(con: duckdb.DuckDBPyConnection) -> tuple[object, object]:
    return con.execute("SELECT current_setting('preserve_insertion_order'), "
                       "current_setting('threads')").fetchall()[0]


def test_set_in_the_block_and_back_after() -> None:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    with settings(con, preserve_insertion_order=False, threads=1):
        assert _now(con) == (False, 1)
    assert _now(con) == (True, 2)


def test_back_after_a_failed_statement_aborts_the_transaction() -> None:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET preserve_insertion_order = false")
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.Error), settings(con, preserve_insertion_order=True, threads=1):
        con.execute("SELECT * FROM no_such_table")
    con.execute("ROLLBACK")
    assert _now(con) == (False, 2)


def test_a_setting_outside_the_list_is_refused() -> None:
    con = duckdb.connect()
    with pytest.raises(ValueError, match="memory_limit"), settings(con, memory_limit=1):
        pass
    assert _now(con)[0] is True
