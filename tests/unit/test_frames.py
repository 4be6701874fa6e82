"""``arrow_table``: the same Arrow table as polars' own ``to_arrow``, joined on this thread."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pyarrow as pa

from cjsdash.core.frames import arrow_table


def _chunked() -> pl.DataFrame:
    parts = [pl.DataFrame({"n": [i, None], "s": ["a", None], "d": [date(2021, 6, 1), None],
                           "t": [datetime(2021, 6, 1, 12), None], "x": [0.5, float("inf")],
                           "b": [True, None]}) for i in range(3)]
    return pl.concat(parts, rechunk=False)


def test_the_same_table_as_to_arrow_for_a_frame_of_several_chunks() -> None:
    frame = _chunked()
    assert frame.n_chunks() == 3
    assert arrow_table(frame).equals(frame.to_arrow())


def test_columns_chosen_in_their_order() -> None:
    frame = _chunked()
    table = arrow_table(frame, ("s", "n"))
    assert table.column_names == ["s", "n"]
    assert table.equals(frame.select("s", "n").to_arrow())


def test_an_empty_frame_keeps_its_types() -> None:
    frame = pl.DataFrame(schema={"n": pl.Int64, "s": pl.String})
    table = arrow_table(frame)
    assert table.num_rows == 0
    assert table.schema == pa.schema([("n", pa.int64()), ("s", pa.large_string())])
