"""Refusing a short file: one that would replace good figures with far smaller ones.

A file supplies its slices whole (:data:`ingest.load.SLICE`: measure × area × period ×
source), so a valid but short file, a download cut off at a line break or a force's month
re-exported with a filter left on, would replace a slice's figures with what little it
holds: Cumbria's June 2021 street file cut to 49 of its 3,563 records once loaded with exit
0, replaced the month's records and withdrew 13 figures (decision 43). The reject share
(:func:`ingest.pipeline_refusals.mostly_rejected`) cannot see this: every row it has is good.

Before a batch is written, each file's slices are compared with the figures loaded now. A
file is refused whole, nothing of it loaded, when for some slice that an earlier load
supplies

- a count's total (the slice's row with no breakdown, of a measure that adds up) would fall
  below ``floor`` of its current value, from at least :data:`MIN_TOTAL`; or
- more than ``1 - floor`` of the slice's current figures, at least :data:`MIN_WITHDRAWN` of
  them, would be withdrawn because the file does not carry them.

A revision that halves a count is rare enough that asking once costs little, while a cut
file usually keeps far less than half. When it is news (a publisher withdrew a force's data), the file is
loaded with ``cjsdash ingest --accept-shrink`` (``floor`` 0), which the refusal says.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from cjsdash.core.frames import arrow_table
from cjsdash.core.schema import BREAKDOWNS, OBSERVATION_KEY
from ingest.load import SLICE
from ingest.pipeline_refusals import refuse_read
from ingest.pipeline_reports import Pending

MIN_TOTAL = 20
"""A total smaller than this may halve by chance (4 → 1): never refused for falling."""
MIN_WITHDRAWN = 5
"""Fewer withdrawn figures than this never refuse a file (a category dropped or merged)."""
SHOWN = 3
"""How many shrinking slices a refusal names."""


def _headline(prefix: str = "") -> str:
    """The slice's total: its row with no breakdown."""
    return " AND ".join(f"coalesce({prefix}{c}, '') = ''" for c in BREAKDOWNS)


_SLICE = ", ".join(SLICE)
_ON_SLICE = " AND ".join(f"o.{c} = s.{c}" for c in SLICE)
_ON_KEY = " AND ".join(f"o.{c} IS NOT DISTINCT FROM k.{c}" for c in OBSERVATION_KEY)
_ANY_SQL = """
SELECT EXISTS (
    SELECT 1 FROM core.observations AS o,
        (SELECT unnest($1::VARCHAR[]) AS lo, unnest($2::VARCHAR[]) AS hi,
                unnest($3::DATE[]) AS first, unnest($4::DATE[]) AS last) AS f
    WHERE o.is_current AND o.source BETWEEN f.lo AND f.hi AND o.period_start >= f.first
      AND o.period_end <= f.last)
"""
"""Whether any current figure falls within a file's sources and periods (their least and
greatest): a first load of its slices (a year of street crime into a fresh warehouse)
replaces nothing."""
_SQL = f"""
WITH s AS (SELECT DISTINCT item, {_SLICE} FROM _shrink_frame),
now AS (
    SELECT s.item, {", ".join("s." + c for c in SLICE)}, count(*) AS rows_now,
        count(*) FILTER (WHERE NOT EXISTS (
            SELECT 1 FROM _shrink_frame AS k WHERE k.item = s.item AND {_ON_KEY})) AS rows_gone,
        max(o.value) FILTER (WHERE {_headline("o.")}) AS total_now
    FROM core.observations AS o JOIN s ON {_ON_SLICE}
    WHERE o.is_current GROUP BY ALL),
new AS (
    SELECT item, {_SLICE}, max(value) AS total_new FROM _shrink_frame
    WHERE {_headline()} GROUP BY ALL)
SELECT now.item, now.measure, coalesce(a.name || ' (' || now.area_code || ')', now.area_code),
    now.period_start, now.period_end, now.rows_now,
    now.rows_gone, now.total_now, now.total_new, now.cut
FROM (SELECT now.*, new.total_new,
          coalesce(m.aggregation = 'sum' AND now.total_now >= $min_total
                   AND new.total_new < $floor * now.total_now, FALSE) AS cut,
          now.rows_gone >= $min_withdrawn AND now.rows_gone > (1 - $floor) * now.rows_now
              AS gone
      FROM now LEFT JOIN new USING (item, {_SLICE})
      LEFT JOIN meta.measures AS m USING (measure)) AS now
LEFT JOIN core.areas AS a ON a.code = now.area_code
WHERE now.cut OR now.gone
ORDER BY now.item, now.measure, now.area_code, now.period_start, now.period_end
"""  # noqa: S608 - identifiers from the schema contracts only; every value bound


def refuse_shrinking(con: duckdb.DuckDBPyConnection, items: list[Pending], floor: float
                     ) -> list[Pending]:
    """``items`` with each file that would shrink figures loaded now refused (see the
    module's docstring); ``floor`` 0 refuses none. Read on the writer's connection before
    the batch's transaction: the figures compared are the committed ones."""
    loads = [(n, item) for n, item in enumerate(items) if item.result is not None
             and item.result.table == "observations" and item.result.frame.height]
    if floor <= 0 or not loads or not _replaces_any(con, [item for _, item in loads]):
        return items
    # Arrow, column by column on this thread: the writer does not wait for polars' pool,
    # which the reader's next batch fills (decision 40); a month's forty files 1-3 ms
    columns = (*OBSERVATION_KEY, "value")
    frame = pa.concat_tables(
        [arrow_table(item.result.frame, columns).append_column(  # type: ignore[union-attr]
            "item", _constant(n, item.result.frame.height))  # type: ignore[union-attr]
         for n, item in loads], promote_options="permissive")
    con.register("_shrink_frame", frame)
    try:
        found = con.execute(_SQL, {"floor": floor, "min_total": MIN_TOTAL,
                                   "min_withdrawn": MIN_WITHDRAWN}).fetchall()
    finally:
        con.unregister("_shrink_frame")
    by_item: dict[int, list[tuple]] = {}
    for row in found:
        by_item.setdefault(row[0], []).append(row)
    return [_refused(item, by_item[n], floor) if n in by_item else item
            for n, item in enumerate(items)]


def _replaces_any(con: duckdb.DuckDBPyConnection, loads: list[Pending]) -> bool:
    """Whether any file may replace a current figure (:data:`_ANY_SQL`), from each source's
    first and last period in each file: a few scalars a file, no frame built."""
    spans = [(frame["source"].min(), frame["source"].max(), frame["period_start"].min(),
              frame["period_end"].max())
             for frame in (item.result.frame for item in loads)]  # type: ignore[union-attr]
    return bool(con.execute(_ANY_SQL, [list(c) for c in zip(*spans, strict=True)]
                            ).fetchall()[0][0])


def _constant(value: int, length: int) -> pa.Array:
    """``length`` times ``value`` as an Arrow int64 array, from numpy's buffer: ``pa.array``
    and ``pa.scalar`` import pandas (0.32 s, the first batch's writer waiting for it)."""
    return pa.Array.from_buffers(pa.int64(), length,
                                 [None, pa.py_buffer(np.full(length, value, dtype=np.int64))])


REFUSAL = "this file would replace figures already loaded with far fewer"
"""How a refusal for shrinking begins (the run log's message): the data page's "load anyway"
asks for it (:func:`cjsdash.uploads.accept_upload`)."""


def _refused(item: Pending, slices: list[tuple], floor: float) -> Pending:
    described = "; ".join(_describe(row) for row in slices[:SHOWN])
    more = f" (and {len(slices) - SHOWN:,} more)" if len(slices) > SHOWN else ""
    item.report.shrinking = True
    return refuse_read(item, (
        f"{REFUSAL}, in {len(slices):,} "
        f"slice(s) (under {floor:.0%} of a total, or most of a slice's figures withdrawn): "
        f"{described}{more}. A cut file or an export with a filter left on looks like this; "
        "nothing was loaded, so the figures already loaded stand. If the drop is real (a "
        "publisher withdrew the data), load it anyway: `cjsdash ingest --accept-shrink`, or "
        "for an upload the data page's “Load it anyway”"))


def _describe(row: tuple) -> str:
    _, measure, area, start, end, rows_now, rows_gone, total_now, total_new, cut = row
    period = f"{start:%Y-%m}" if (end - start).days < 32 else f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
    if cut:
        return f"{measure} in {area}, {period}: {total_now:,.0f} now, {total_new:,.0f} in this file"
    return (f"{measure} in {area}, {period}: {rows_gone:,} of its {rows_now:,} figures "
            "would be withdrawn")
