"""The rollup statements for each engine, and the portability gate they must pass.

Statements are written in DuckDB's dialect (:mod:`ingest.police_uk_rollup`) and emitted for
Spark and Trino by sqlglot. sqlglot passes through what it cannot translate (a function it
does not know, DuckDB-only syntax), which would fail only on the cluster: the gate refuses
any statement that uses a construct not on :data:`VERIFIED`, the constructs checked on Spark
by the parity test and emitted for Trino, and re-parses the emitted SQL with each dialect.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from ingest.police_uk_rollup import STATEMENTS, statement

DIALECTS = ("duckdb", "spark", "trino")

VERIFIED: frozenset[type[exp.Expression]] = frozenset({
    exp.Select, exp.From, exp.Join, exp.Where, exp.Group, exp.GroupingSets, exp.Tuple,
    exp.With, exp.CTE, exp.TableAlias, exp.Table, exp.Values,
    exp.Alias, exp.Column, exp.Identifier, exp.Star, exp.Literal, exp.Boolean,
    exp.Case, exp.If, exp.Coalesce, exp.Cast, exp.DataType,
    exp.EQ, exp.NEQ, exp.GT, exp.And, exp.Or, exp.Is, exp.Null,
    exp.Count, exp.Grouping, exp.LastDay, exp.SplitPart,
})
"""The constructs the rollups may use: exactly those the statements use (a test keeps it so),
each run on DuckDB and Spark by the parity test and emitted for Trino by sqlglot as a
function Trino has (LAST_DAY → LAST_DAY_OF_MONTH). Add one only with a statement using it."""


class NotPortable(ValueError):
    """A statement uses a construct that would not run the same on every engine."""


def check_portable(tree: exp.Expression, name: str = "statement") -> None:
    """Refuse anything outside :data:`VERIFIED`: unknown functions (sqlglot keeps them as
    ``Anonymous`` and passes them through), placeholders left unbound (``$1`` becomes ``:1``
    on Spark), ``GROUP BY ALL``, ``string_agg`` and the like; and a CTE read more than once
    (Spark computes it again at every reference)."""
    problems = []
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            problems.append(f"unknown function {node.name}(): sqlglot passes it through "
                            "untranslated")
        elif isinstance(node, exp.Placeholder | exp.Parameter):
            problems.append(f"unbound parameter {node.sql()}: bind it in the syntax tree")
        elif isinstance(node, exp.Group) and node.args.get("all"):
            problems.append("GROUP BY ALL: name the grouping columns")
        elif type(node) not in VERIFIED:
            problems.append(f"{type(node).__name__} ({node.sql(dialect='duckdb')[:60]}) is "
                            "not a construct verified on Spark and Trino")
    ctes = [cte.alias_or_name for cte in tree.find_all(exp.CTE)]
    tables = [t.name for t in tree.find_all(exp.Table)]
    problems += [f"CTE {c} is read {tables.count(c)} times: scan once" for c in ctes
                 if tables.count(c) > 1]
    if problems:
        raise NotPortable(f"{name}: " + "; ".join(dict.fromkeys(problems)))


def emit(tree: exp.Expression, dialect: str, pretty: bool = True) -> str:
    """``tree`` in ``dialect``'s SQL, after the gate; the SQL re-parses in that dialect."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}: expected one of {', '.join(DIALECTS)}")
    check_portable(tree)
    sql = tree.sql(dialect=dialect, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE)
    sqlglot.parse_one(sql, read=dialect)  # raises if the emitted SQL is not of the dialect
    return sql


def rollup_sql(source: str, dialect: str, pretty: bool = True) -> str:
    return emit(statement(source), dialect, pretty)


def all_rollup_sql(dialect: str) -> str:
    """Every rollup statement for ``dialect``, each headed by the table it reads."""
    parts = [f"-- {source}: reads {table}\n{rollup_sql(source, dialect)};"
             for source, (table, _) in STATEMENTS.items()]
    return "\n\n".join(parts) + "\n"
