"""The portability gate (no JVM): the rollup SQL uses only constructs verified on Spark and
emitted for Trino, nothing sqlglot passes through untranslated; golden files of the SQL.

Regenerate the golden files after an intended change with
``CJSDASH_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_lake_portability.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from cjsdash.lake.dialects import (
    DIALECTS,
    VERIFIED,
    NotPortable,
    all_rollup_sql,
    check_portable,
    emit,
)
from ingest import police_uk_stop_search
from ingest.police_uk_records import NOT_STATED
from ingest.police_uk_rollup import (
    MEASURES,
    OUTPUT_COLUMNS,
    PARAMETERS,
    SELF_DEFINED_NOT_STATED,
    STATEMENTS,
    bind,
    statement,
)

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "lake" / "golden"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("source", list(STATEMENTS))
def test_emitted_sql_matches_its_golden_file(source: str, dialect: str) -> None:
    sql = emit(statement(source), dialect) + "\n"
    golden = GOLDEN / f"{source}.{dialect}.sql"
    if os.environ.get("CJSDASH_UPDATE_GOLDEN"):
        golden.write_text(sql)
    assert golden.read_text() == sql, f"{golden.name} differs: regenerate if intended"


@pytest.mark.parametrize("dialect", ["spark", "trino"])
@pytest.mark.parametrize("source", list(STATEMENTS))
def test_emitted_sql_parses_back_with_no_pass_through(source: str, dialect: str) -> None:
    tree = sqlglot.parse_one(emit(statement(source), dialect), read=dialect)
    assert not list(tree.find_all(exp.Anonymous)), "a function the dialect does not know"
    assert not list(tree.find_all(exp.Placeholder, exp.Parameter))
    if dialect == "trino":  # Spark's parser reads CAST back as TRY_CAST (non-ANSI mode)
        check_portable(tree, f"{source} ({dialect}, parsed back)")
    projections = [e.alias_or_name for e in tree.selects]
    assert tuple(projections) == OUTPUT_COLUMNS


def test_trino_gets_its_own_month_end_function() -> None:
    sql = emit(statement("police_uk_street"), "trino")
    assert "LAST_DAY_OF_MONTH(" in sql and "LAST_DAY(" not in sql


@pytest.mark.parametrize("source", list(STATEMENTS))
def test_each_statement_scans_its_table_once_and_each_cte_once(source: str) -> None:
    table, _ = STATEMENTS[source]
    tree = statement(source)
    scans = [t.name for t in tree.find_all(exp.Table)]
    assert scans.count(table) == 1
    assert tree.find(exp.GroupingSets) is not None


@pytest.mark.parametrize("sql, problem", [
    ("SELECT list_has_any(a, b) FROM t", "not a construct verified"),
    ("SELECT regexp_full_match(a, 'x') FROM t", "not a construct verified"),
    ("SELECT a, count(*) FROM t GROUP BY ALL", "GROUP BY ALL"),
    ("SELECT string_agg(a, ',') FROM t", "not a construct verified"),
    ("SELECT a FROM t WHERE a = $1", "unbound parameter"),
    ("SELECT a FROM t WHERE a = :name", "unbound parameter"),
    ("SELECT frobnicate(a) FROM t", "unknown function frobnicate"),
    ("WITH c AS (SELECT a FROM t) SELECT * FROM c JOIN c AS d ON c.a = d.a", "read 2 times"),
    ("SELECT a FROM t UNION ALL SELECT a FROM u", "not a construct verified"),
])
def test_the_gate_refuses_what_would_not_run_the_same_everywhere(sql: str, problem: str
                                                                  ) -> None:
    with pytest.raises(NotPortable, match=problem):
        emit(sqlglot.parse_one(sql, read="duckdb"), "spark")


def test_parameters_are_literal_nodes_never_text() -> None:
    hostile = "x' OR '1'='1"
    tree = bind(sqlglot.parse_one("SELECT a FROM t WHERE b = :v", read="duckdb"), {"v": hostile})
    [literal] = [node for node in tree.find_all(exp.Literal)]
    assert literal.is_string and literal.this == hostile
    for dialect in DIALECTS:
        back = sqlglot.parse_one(tree.sql(dialect=dialect), read=dialect)
        assert [n.this for n in back.find_all(exp.Literal)] == [hostile]
    with pytest.raises(KeyError, match=":w"):
        bind(sqlglot.parse_one("SELECT a FROM t WHERE a = :w", read="duckdb"), {})


def test_every_placeholder_of_every_statement_is_bound() -> None:
    for source, (_, sql) in STATEMENTS.items():
        names = set(re.findall(r":([a-z_]+)", sql))
        assert names <= set(PARAMETERS), source
        assert not list(statement(source).find_all(exp.Placeholder))
    assert PARAMETERS["not_stated"] == NOT_STATED


def test_the_sql_vocabulary_is_the_stop_search_loaders() -> None:
    """The self-defined ethnicity groups in the SQL are the loader's, entry for entry."""
    _, sql = STATEMENTS["police_uk_stop_search"]
    pairs = dict(re.findall(r"WHEN '([^']+)' THEN '([^']+)'", sql))
    assert pairs == police_uk_stop_search.SELF_DEFINED_PREFIX
    assert SELF_DEFINED_NOT_STATED == police_uk_stop_search.SELF_DEFINED_NOT_STATED


def test_the_measures_each_statement_emits_are_declared() -> None:
    for source in STATEMENTS:
        tree = statement(source)
        values = tree.find(exp.Values)
        emitted = ({row.expressions[0].this for row in values.expressions} if values
                   else {tree.selects[0].this.this})
        assert emitted == set(MEASURES[source]), source


def test_the_printed_sql_names_each_table() -> None:
    for dialect in DIALECTS:
        text = all_rollup_sql(dialect)
        assert all(f"reads {table}" in text for table, _ in STATEMENTS.values())


def test_the_allow_list_is_what_the_statements_use_and_spark_runs() -> None:
    """Every construct on the list is in a statement, so the Spark parity test runs it."""
    used = {type(node) for source in STATEMENTS for node in statement(source).walk()}
    assert used == VERIFIED
