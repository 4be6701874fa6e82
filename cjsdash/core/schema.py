"""Warehouse table contracts: the DDL every layer reads and writes through.

Schemas make the stages visible: ``raw`` (record-level, as loaded), ``core`` (conformed),
``meta`` (provenance and the registry's measure catalogue). Breakdown columns use the empty
string for "all", so that natural keys never contain NULL.
"""

from __future__ import annotations

import duckdb

SCHEMA_VERSION = 1

BREAKDOWNS: tuple[str, ...] = (
    "ethnicity",
    "sex",
    "age_group",
    "offence_group",
    "court_type",
    "outcome",
)
"""Breakdown columns of ``core.observations``, in key order. '' means all."""

OBSERVATION_KEY: tuple[str, ...] = (
    "measure",
    "area_code",
    "period_start",
    "period_end",
    *BREAKDOWNS,
    "source",
)
"""The natural key: one current value per key; older vintages are kept, not overwritten."""

_breakdown_ddl = ",\n    ".join(f"{b} VARCHAR NOT NULL DEFAULT ''" for b in BREAKDOWNS)

DDL: tuple[str, ...] = (
    "CREATE SCHEMA IF NOT EXISTS raw",
    "CREATE SCHEMA IF NOT EXISTS core",
    "CREATE SCHEMA IF NOT EXISTS meta",
    "CREATE SEQUENCE IF NOT EXISTS meta.run_ids START 1",
    """CREATE TABLE IF NOT EXISTS meta.schema_version (version INTEGER NOT NULL)""",
    # --- reference geography -------------------------------------------------------------
    """CREATE TABLE IF NOT EXISTS core.areas (
    code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- force | lcjb | region | country | national | other
    region_code VARCHAR,
    country_code VARCHAR,
    lcjb_code VARCHAR,                -- for forces: the LCJB (criminal justice area) it belongs to
    cjs_ff_code VARCHAR,              -- CJS data standards FF code (forces and LCJBs)
    in_england_wales BOOLEAN NOT NULL,
    sort_key INTEGER NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS core.area_aliases (
    alias_key VARCHAR NOT NULL,       -- normalised spelling (see cjsdash.core.areas.normalise_area_name)
    alias VARCHAR NOT NULL,           -- the spelling as found
    code VARCHAR NOT NULL,
    seen_in VARCHAR NOT NULL,         -- where the spelling was found
    PRIMARY KEY (alias_key, code)
)""",
    """CREATE TABLE IF NOT EXISTS core.area_footprints (
    area_code VARCHAR NOT NULL,
    force_code VARCHAR NOT NULL,      -- every England & Wales police force area the area covers
    PRIMARY KEY (area_code, force_code)
)""",
    """CREATE TABLE IF NOT EXISTS core.area_sources (
    area_code VARCHAR NOT NULL,       -- the area a figure is asked for
    strategy INTEGER NOT NULL,        -- 0 itself, 1 a twin with the same footprint, 2 its forces, 3 its LCJBs
    source_area_code VARCHAR NOT NULL,-- an area whose observations add up to it
    set_size INTEGER NOT NULL,        -- how many source areas the strategy needs, all present
    PRIMARY KEY (area_code, strategy, source_area_code)
)""",
    """CREATE TABLE IF NOT EXISTS core.area_twins (
    area_code VARCHAR NOT NULL,       -- an area
    candidate_code VARCHAR NOT NULL,  -- itself, or an area with exactly the same footprint
    preference INTEGER NOT NULL,      -- 0 itself, 1 a twin
    PRIMARY KEY (area_code, candidate_code)
)""",
    # --- facts -----------------------------------------------------------------------------
    f"""CREATE TABLE IF NOT EXISTS core.observations (
    measure VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    {_breakdown_ddl},
    value DOUBLE,                     -- NULL when the publisher withheld it (see value_note)
    value_note VARCHAR,               -- why value is NULL, e.g. "publisher suppression marker '..'"
    source VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,
    run_id BIGINT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT TRUE
)""",
    f"""CREATE TABLE IF NOT EXISTS core.area_observations (
    area_code VARCHAR NOT NULL,       -- every area, its figures summed up (cjsdash.core.rollup)
    measure VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    {_breakdown_ddl},
    source VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,
    value DOUBLE,
    value_note VARCHAR,
    strategy INTEGER NOT NULL,        -- how it was built: 0 own/twin rows, 2 forces, 3 LCJBs
    run_id BIGINT                     -- the latest load among the rows summed (recency rule, decision 0012)
)""",
    # Warehouses made before decision 0012 gain the column; prepare() then rebuilds the rollup.
    "ALTER TABLE core.area_observations ADD COLUMN IF NOT EXISTS run_id BIGINT",
    """CREATE TABLE IF NOT EXISTS core.populations (
    area_code VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    ethnicity VARCHAR NOT NULL DEFAULT '',
    sex VARCHAR NOT NULL DEFAULT '',
    age_group VARCHAR NOT NULL DEFAULT '',
    population DOUBLE NOT NULL,
    source VARCHAR NOT NULL,          -- e.g. 'Census 2011', 'Census 2021', 'ONS mid-year estimates'
    vintage VARCHAR NOT NULL,
    run_id BIGINT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT TRUE
)""",
    """CREATE TABLE IF NOT EXISTS core.targets (
    indicator VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,       -- K04000001 for a national target
    period_start DATE,                -- NULL: applies to every period (open start)
    period_end DATE,                  -- NULL: open end
    value DOUBLE NOT NULL,
    kind VARCHAR NOT NULL,            -- target | trajectory | stretch
    source VARCHAR NOT NULL,
    run_id BIGINT
)""",
    # --- provenance ----------------------------------------------------------------------
    """CREATE TABLE IF NOT EXISTS meta.sources (
    source VARCHAR PRIMARY KEY,
    title VARCHAR NOT NULL,
    publisher VARCHAR NOT NULL,
    licence VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- local | published | synthetic
    priority INTEGER NOT NULL,        -- lower wins when two sources carry the same measure
    is_synthetic BOOLEAN NOT NULL
)""",
    # True when the source's layout was built from its published schema alone (no real file
    # seen: ingest.base.SourceSpec.schema_only); the data page says so. Added to older
    # warehouses too (register_sources then sets it).
    "ALTER TABLE meta.sources ADD COLUMN IF NOT EXISTS schema_only BOOLEAN DEFAULT false",
    """CREATE TABLE IF NOT EXISTS meta.ingest_runs (
    run_id BIGINT PRIMARY KEY,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    loader VARCHAR NOT NULL,
    source VARCHAR,
    vintage VARCHAR,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    rows_in BIGINT NOT NULL DEFAULT 0,
    rows_loaded BIGINT NOT NULL DEFAULT 0,
    rows_unchanged BIGINT NOT NULL DEFAULT 0,
    rows_revised BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    status VARCHAR NOT NULL,          -- loaded | refused | failed
    message VARCHAR NOT NULL DEFAULT ''
)""",
    """CREATE TABLE IF NOT EXISTS meta.rejects (
    run_id BIGINT NOT NULL,
    file_name VARCHAR NOT NULL,
    row_number BIGINT,                -- the line in the file as a spreadsheet shows it (header = 1); NULL: whole file
    column_name VARCHAR,
    value VARCHAR,
    reason VARCHAR NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS meta.quality_flags (
    run_id BIGINT NOT NULL,           -- the load that brought the month (cjsdash.core.quality)
    area_code VARCHAR NOT NULL,
    measure VARCHAR NOT NULL,
    period_start DATE NOT NULL,       -- the month that departs from the area's own history
    breakdown VARCHAR NOT NULL,       -- '' the total; else the breakdown of the group's share
    "group" VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    value DOUBLE,                     -- the total, or the group's share (0-1)
    expected DOUBLE,                  -- the median of the months before
    history BIGINT,                   -- how many months before
    z DOUBLE,                         -- robust z-score (median and MAD)
    reason VARCHAR NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS meta.rollup_pending (
    measure VARCHAR PRIMARY KEY       -- loaded but not yet rolled up (cjsdash.core.rollup)
)""",
    """CREATE TABLE IF NOT EXISTS meta.rollup_pending_periods (
    measure VARCHAR NOT NULL,         -- the periods of a pending measure a load touched; a
    period_start DATE NOT NULL,       -- pending measure with none is refreshed whole
    period_end DATE NOT NULL,
    PRIMARY KEY (measure, period_start, period_end)
)""",
    """CREATE TABLE IF NOT EXISTS meta.measures (
    measure VARCHAR PRIMARY KEY,      -- written from the indicator registry
    title VARCHAR NOT NULL,
    aggregation VARCHAR NOT NULL,     -- sum | last
    used_by VARCHAR NOT NULL          -- indicator ids, comma-separated
)""",
    """CREATE TABLE IF NOT EXISTS meta.indicator_measures (
    indicator VARCHAR PRIMARY KEY,    -- an extract row may name an indicator instead of measures
    indicator_type VARCHAR NOT NULL,  -- count | proportion | rate | mean | amount | ratio
    numerator_measure VARCHAR NOT NULL,
    denominator_measure VARCHAR       -- NULL for counts and for population denominators
)""",
    # --- most similar groups (ingest.msg_reference replaces the whole table per file) ------
    """CREATE TABLE IF NOT EXISTS core.area_peers (
    area_code VARCHAR NOT NULL,       -- a police force area
    peer_code VARCHAR NOT NULL,       -- a member of its most similar group (asymmetric)
    source VARCHAR NOT NULL,          -- the loader that wrote it, e.g. 'msg_reference'
    vintage VARCHAR NOT NULL,         -- the file it came from
    PRIMARY KEY (area_code, peer_code)
)""",
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema, table and sequence that does not exist yet (idempotent)."""
    for statement in DDL:
        con.execute(statement)
    # A rollup made before its run_id column existed is refreshed by the next prepare().
    con.execute("INSERT INTO meta.rollup_pending SELECT DISTINCT measure "
                "FROM core.area_observations WHERE run_id IS NULL "
                "AND measure NOT IN (SELECT measure FROM meta.rollup_pending)")
    con.execute("DELETE FROM meta.rollup_pending_periods WHERE measure IN (SELECT DISTINCT "
                "measure FROM core.area_observations WHERE run_id IS NULL)")  # whole
    if con.execute("SELECT count(*) FROM meta.schema_version").fetchall()[0][0] == 0:
        con.execute("INSERT INTO meta.schema_version VALUES (?)", [SCHEMA_VERSION])
