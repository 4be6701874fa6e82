"""Helpers shared by the data.police.uk loaders (street, outcomes, stop and search).

Reading a data.police.uk CSV (header, encoding, last line), validating its rows with named
checks, resolving forces and months and replacing raw slices (the counting into observations
is SQL: :mod:`ingest.police_uk_rollup`). No loader imports another: each imports what it
shares from here.
"""

from __future__ import annotations

import calendar
import csv
import re
from datetime import date

import duckdb
import polars as pl

from cjsdash.core.frames import arrow_table
from cjsdash.core.gateway import settings
from cjsdash.core.periods import FIRST_YEAR, LAST_YEAR
from cjsdash.core.schema import BREAKDOWNS
from ingest.base import FileRefused, ReadContext, Reject, with_run_ids
from ingest.textio import normalise_line_endings, parse_csv_text

NOT_STATED = "Not stated"
OUTSIDE_ENGLAND_WALES = {
    "BTP": "British Transport Police",
    "N23000001": "Police Service of Northern Ireland",
}
KEYS = ("area_code", "period_start", "period_end")
OBSERVATION_SCHEMA = {
    "measure": pl.String, "area_code": pl.String, "period_start": pl.Date,
    "period_end": pl.Date, **dict.fromkeys(BREAKDOWNS, pl.String), "value": pl.Float64,
    "value_note": pl.String, "source": pl.String, "vintage": pl.String,
}
_MONTH = re.compile(r"(\d{4})-(\d{2})")


# --- shared by the data.police.uk loaders ----------------------------------------------------


def header_line(data: bytes) -> str:
    """The first line without BOM or line ending ('' if it is not UTF-8)."""
    end = data.find(b"\n", 0, 65536)
    head = data[: end if end >= 0 else 65536].removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def read_police_csv(file_name: str, data: bytes, header: tuple[str, ...], what: str
                    ) -> pl.DataFrame:
    """A data.police.uk CSV as strings with a ``row`` column (the file's line number).

    Refuses (FileRefused) anything that is not UTF-8, has another header, or ends in a
    partial line. Empty cells are null.
    """
    data = normalise_line_endings(data.removeprefix(b"\xef\xbb\xbf"))
    if not data[:65536].strip():
        raise FileRefused(file_name, "the file is empty")
    try:
        if not data.isascii():  # the fast path: most files are plain ASCII
            data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            file_name,
            f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}): data.police.uk "
            "files are UTF-8; use the file as downloaded, not re-saved in another encoding",
        ) from None
    found = header_line(data)
    if found != ",".join(header):
        raise FileRefused(
            file_name,
            f"wrong header for a data.police.uk {what} file: expected '{','.join(header)}', "
            f"found '{found[:300]}'",
        )
    _check_last_line(file_name, data, len(header))
    try:
        frame = pl.read_csv(data, infer_schema=False, truncate_ragged_lines=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError):
        # a row with an extra field or a stray quote: quarantine that row, not the file
        frame = parse_csv_text(file_name, data.decode("utf-8"), empty_is_null=True)
    if frame.height == 0:
        raise FileRefused(file_name, "the file has a header but no data rows")
    return frame.with_row_index("row", offset=2)  # the header is line 1


def _check_last_line(file_name: str, data: bytes, width: int) -> None:
    """A download cut short ends in a partial line: fewer fields than the header."""
    end = len(data)
    while end and data[end - 1] in b"\r\n":
        end -= 1
    start = data.rfind(b"\n", 0, end) + 1
    if start == 0:
        return  # header only
    last = data[start:end].decode("utf-8")
    try:
        fields = next(csv.reader([last]), [])
    except csv.Error:
        fields = []
    ends_line = data.endswith(b"\n")
    if len(fields) != width or not ends_line:
        raise FileRefused(
            file_name,
            f"the file looks truncated: its last line has {len(fields)} of {width} fields"
            + ("" if ends_line else " and no line ending") + f" ('{last[:80]}')",
        )


Check = tuple[str, pl.Expr, "str | pl.Expr"]
"""(column, expression true for a bad row, reason): the first failing check names the row."""


def validate(frame: pl.DataFrame, stages: list[list[pl.Expr]], checks: list[Check]
             ) -> tuple[pl.DataFrame, list[Reject]]:
    """Derive columns (``stages`` in order) and evaluate the checks; split off the bad rows,
    one Reject each (the first check that fails names the column and the reason)."""
    frame, details = _validated(frame, stages, checks, ())
    return frame, _rejects(details)


def validate_files(frame: pl.DataFrame, stages: list[list[pl.Expr]], checks: list[Check],
                   by: str) -> tuple[pl.DataFrame, dict[int, list[Reject]]]:
    """:func:`validate` for several files in one frame (``by`` numbers each row's file):
    the rejects by file."""
    frame, details = _validated(frame, stages, checks, (by,))
    if details.height == 0:
        return frame, {}
    return frame, {key: _rejects(part) for (key,), part in
                   details.partition_by(by, as_dict=True, maintain_order=True).items()}


def _validated(frame: pl.DataFrame, stages: list[list[pl.Expr]], checks: list[Check],
               keep: tuple[str, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The good rows, and one row per bad row: ``keep`` columns, row, column, reason, value."""
    lazy = frame.lazy()
    for stage in stages:
        lazy = lazy.with_columns(stage)
    frame = lazy.collect()
    none = pl.DataFrame(schema={**{k: frame.schema[k] for k in keep}, "row": pl.Int64,
                                "column": pl.String, "reason": pl.String, "value": pl.String})
    if not checks:
        return frame, none
    flags = [mask.fill_null(False) for _, mask, _ in checks]
    if not frame.select(pl.any_horizontal(flags).any()).item():  # the fast path: a clean file
        return frame, none
    frame = frame.with_columns(pl.any_horizontal(flags).alias("_bad"))
    bad_rows = frame.filter("_bad")
    column_expr = reason_expr = value_expr = None
    for (column, _, reason), flag in zip(reversed(checks), reversed(flags), strict=True):
        why = reason if isinstance(reason, pl.Expr) else pl.lit(reason)
        column_expr = pl.when(flag).then(pl.lit(column)).otherwise(column_expr)
        reason_expr = pl.when(flag).then(why).otherwise(reason_expr)
        value_expr = pl.when(flag).then(pl.col(column).cast(pl.String)).otherwise(value_expr)
    assert column_expr is not None and reason_expr is not None and value_expr is not None
    details = bad_rows.select(*keep, "row", column_expr.alias("column"),
                              reason_expr.alias("reason"), value_expr.alias("value"))
    return frame.filter(~pl.col("_bad")).drop("_bad"), details


def _rejects(details: pl.DataFrame) -> list[Reject]:
    return [Reject(int(row), column, value, reason) for row, column, reason, value
            in details.select("row", "column", "reason", "value").iter_rows()]


def lookup_expr(column: str, values: list[str | None], mapping: dict[str, object],
                dtype: pl.DataType) -> pl.Expr:
    """``column`` (whose distinct ``values`` are given) mapped through ``mapping``, missing →
    null; a constant when the column is (one force and one month per file, as published)."""
    if len(values) == 1 and values[0] is not None:
        return pl.lit(mapping.get(values[0]), dtype=dtype)
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=dtype)


def area_code_expr(frame: pl.DataFrame, column: str, context: ReadContext) -> pl.Expr:
    """``area_code`` from a force-name column (each distinct name resolved once)."""
    names = frame[column].unique().to_list()
    codes = {n: context.resolve_area(n) for n in names if n is not None}
    return lookup_expr(column, names, codes, pl.String()).alias("area_code")


def area_check(column: str) -> Check:
    reason = (pl.when(pl.col(column).is_null()).then(pl.lit("the force is empty"))
              .otherwise(pl.lit("unknown police force: not a force name cjsdash knows")))
    return column, pl.col("area_code").is_null(), reason


def month_end(start: date) -> date:
    return date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])


def month_exprs(frame: pl.DataFrame, column: str = "Month") -> list[pl.Expr]:
    """``period_start`` and ``period_end`` from a YYYY-MM column (null if it is not one)."""
    labels = frame[column].unique().to_list()
    starts = {}
    for label in labels:
        if label is not None and (m := _MONTH.fullmatch(label)) and 1 <= int(m[2]) <= 12 and (
                FIRST_YEAR <= int(m[1]) <= LAST_YEAR):
            starts[label] = date(int(m[1]), int(m[2]), 1)
    ends = {label: month_end(start) for label, start in starts.items()}
    return [lookup_expr(column, labels, starts, pl.Date()).alias("period_start"),
            lookup_expr(column, labels, ends, pl.Date()).alias("period_end")]


def month_check(column: str = "Month") -> Check:
    return column, pl.col("period_start").is_null(), (
        f"not a month: expected YYYY-MM from {FIRST_YEAR} to {LAST_YEAR}")


def coordinate_exprs() -> list[pl.Expr]:
    return [pl.col("Longitude").cast(pl.Float64, strict=False).alias("lon"),
            pl.col("Latitude").cast(pl.Float64, strict=False).alias("lat")]


def coordinate_checks() -> list[Check]:
    """Blank coordinates are null ("No Location"); anything else that is not a number is bad."""
    return [(column, pl.col(alias).is_null() & pl.col(column).is_not_null(), "not a number")
            for column, alias in (("Longitude", "lon"), ("Latitude", "lat"))]


def area_notes(frame: pl.DataFrame) -> list[str]:
    return outside_notes(set(frame["area_code"].unique().to_list()))


def outside_notes(codes: set[str]) -> list[str]:
    return [
        f"{name} ({code}) is not an England and Wales police force area: its figures are kept "
        "but never enter England and Wales totals"
        for code, name in OUTSIDE_ENGLAND_WALES.items() if code in codes
    ]


def month_label(frame: pl.DataFrame) -> str:
    months = sorted({d.strftime("%Y-%m") for d in frame["period_start"].unique().to_list()})
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


def replace_raw_slices(con: duckdb.DuckDBPyConnection, table: str, ddl: str,
                       frame: pl.DataFrame, run_id: int) -> int:
    """Create ``table`` if needed; replace its (month, area_code) slices with ``frame``."""
    return replace_raw_slices_runs(con, table, ddl, [(frame, run_id)])


def replace_raw_slices_runs(con: duckdb.DuckDBPyConnection, table: str, ddl: str,
                            runs: list[tuple[pl.DataFrame, int]]) -> int:
    """:func:`replace_raw_slices` for several files in one DELETE and one INSERT (a ZIP's
    members). A slice in two files is the later file's, as if they were loaded in turn."""
    con.execute(ddl)
    frame = with_run_ids(runs)
    slices = pl.DataFrame(
        [one for f, run_id in runs for one in _file_slices(f, run_id)], orient="row",
        schema={"month": pl.Date, "area_code": pl.String, "run_id": pl.Int64}).group_by(
        "month", "area_code").agg(
        pl.col("run_id").min().alias("first"), pl.col("run_id").max().alias("last"))
    if (slices["first"] != slices["last"]).any():  # only then filter (a copy of every row)
        last = pl.col("run_id").max().over("month", "area_code")
        frame = frame.filter(pl.col("run_id") == last)
    con.register("_police_uk_slices", arrow_table(slices, ("month", "area_code")))
    # String views as polars holds them: no copy into Arrow's large strings, which DuckDB
    # reads alike (0.06 → 0.02 s for a month's 384,170 records, the insert 5% faster).
    con.register("_police_uk_raw", frame.to_arrow(compat_level=pl.CompatLevel.newest()))
    try:
        con.execute(f"DELETE FROM {table} AS t USING _police_uk_slices AS s "  # noqa: S608
                    "WHERE t.month = s.month AND t.area_code = s.area_code").fetchall()
        _insert_unordered(con, table, "_police_uk_raw", frame.columns)
    finally:
        con.unregister("_police_uk_raw")
        con.unregister("_police_uk_slices")
    return frame.height


def _file_slices(frame: pl.DataFrame, run_id: int) -> list[tuple[date, str, int]]:
    """A file's (month, area_code) slices: one, as published (one force and month a file),
    told by each column's least and greatest value without a query (a ZIP's forty files:
    0.02–0.05 s of small polars queries on the writer's thread before); else every one."""
    months, areas = frame["month"], frame["area_code"]
    if (frame.height and not months.null_count() and not areas.null_count()
            and months.min() == months.max() and areas.min() == areas.max()):
        return [(months.min(), areas.min(), run_id)]  # type: ignore[list-item]
    return [(month, area, run_id) for month, area in
            frame.select("month", "area_code").unique().iter_rows()]


def _insert_unordered(con: duckdb.DuckDBPyConnection, table: str, view: str,
                      columns: list[str]) -> None:
    """INSERT … SELECT on one DuckDB thread, without the ordered-insert operator.

    One thread fills whole row groups (122,880 rows) and leaves one partial group per
    statement (a month of street crime: three whole groups and 15,530 rows), which the
    COMMIT writes to the database file. On every thread (before 2026-12-05) each thread
    left a partial group of its own, written ahead of the commit, and the ingest's final
    CHECKPOINT merged them: 0.9–2.5 s of one core at the end of a year of street crime
    (decision 37, "Since"). The rows and the transaction are the same; the records keep the
    frame's order."""
    names = ", ".join(columns)
    with settings(con, preserve_insertion_order=False, threads=1):  # global: restored after
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {view}").fetchall()  # noqa: S608
