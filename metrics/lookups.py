"""The small results kept per data version that every page reads whatever its view: read
once before a server's first request (:func:`cjsdash.server.prime`, decision 0041).

Each is a lookup of :mod:`metrics.cache`, computed by whichever request first asks and
reused until a load makes a new data version, so a page's first view in a process paid for
them and its later views did not. On the demo warehouse's figure mart, as a process's first
call after the landing page: the baseline's layout 1.5× its warm view at p50 (the area
table, whether the analyses answer), the disproportionality update 2.0× (every area's
populations, whether the stage tables answer), the indicator's comparison 1.3–1.6×. Together
they take about 13 ms and 2 MB to read, and are the same for every area, grain and
indicator.
"""

from __future__ import annotations

import duckdb

from metrics import mart, mart_analysis_reads, mart_stage_reads, views
from metrics.analysis import areas, spc_readings
from metrics.registry import Registry


def prime(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Read every lookup the pages share into :mod:`metrics.cache` (nothing returned)."""
    views.list_areas(con)  # every page's area choices
    views.areas_by_code(con)  # an area named in a link (the baseline page's)
    areas.area_names(con)  # the comparisons' and baselines' area table
    spc_readings.every_target(con)  # the targets the indicator page's SPC section reads
    mart.ready(con)  # whether the figure mart answers, under the default options
    mart_analysis_reads.ready(con, registry)  # … the baselines, comparisons, data tables
    if mart_stage_reads.ready(con):  # … the stage counts; then every area's populations
        mart_stage_reads.read_populations(con, [views.NATIONAL])
