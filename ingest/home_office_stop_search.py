"""Home Office stop and search and arrests statistics: three formats, three loaders.

``TOTALS_LOADER`` (source ``home_office_stop_search_totals``)
    Published total searches per force and year ending March, one row per force:
    ``force_id,pfa_code,year_end,published_total,scope,retrieved,source`` (a compilation of
    "Stop and search, arrests and mental health detentions" headline totals, e.g. BlackThrive
    searchlight's ``ppap-totals.csv``). ``year_end`` 2025 is the financial year 2024-25. The
    force is found by ``pfa_code`` (blank for British Transport Police) or the ``force_id``
    slug; where both resolve they must agree. Emits ``stop_searches`` per force and year.

``LOADER`` (source ``home_office_stop_search``)
    The stop and search open data table, one row per force × year × legislation × reason ×
    ethnicity × sex × age × outcome with a count. Four layouts, matched on the column names
    (case and punctuation aside):

    * before 2021: ``Financial Year, Force Name, Region, Legislation, Reason for search /
      arrest, Ethnicity (self-defined), Ethnicity (officer-defined), Gender, Age group,
      Outcome, Number of searches``;
    * current: ``Financial year, Geocode, Force Name, Region, Legislation, Reason for search,
      Self-defined ethnic group, Self-defined ethnicity, Officer-defined ethnic group, Gender,
      Age group, Outcome of search, Link between object of search and outcome, Searches``;
    * 2006/07 to 2019/20 (one file): ``Financial Year, Geocode, Force Name, Region,
      Legislation, Reason for search / arrest, Ethnic Group (self-defined - new style),
      Ethnicity (self-defined), Searches, Resultant arrests`` — no sex or age breakdown;
    * snake_case (the 2020/21 onwards files, ``stop-search-open-data-tables-mar21-mar25.ods``
      sheet ``open_data``): any header containing ``financial_year, police_force_area,
      self_defined_ethnicity_group, number_of_searches``, with ``gender`` and ``age_group``
      used where present. Only these names are known (SCHEMA_EVIDENCE.md, 5 and 6), so the
      other columns are not relied on.

    **Schema only**: no real Home Office open data table was available; the 2006/07-2019/20,
    snake_case and ODS test files (``tests/data/home_office/*_FIXTURE.*``) are built from the
    published schemas, with invented figures.

    Emits ``stop_searches`` per force and financial year in total and by ethnicity, sex and
    age group (each breakdown on its own, the others ''), and
    ``stop_searches_ethnicity_recorded`` (searches whose ethnicity is not "Not stated") in
    total. Ethnicity is the person's *self-defined* ethnic group, as in the Home Office's own
    tables; the officer-defined columns are not used.

``ARRESTS_LOADER`` (source ``home_office_arrests``)
    The arrests open data table: ``Financial Year, Force Name, Geocode, Region, Ethnic Group
    (self-defined), Gender, Age Group, Reason for arrest (offence group), Arrests`` (columns in
    any order; before 2021 without ``Geocode`` and with "Ethnic group" / "Ethnicity
    (self-defined)" spellings; the ``arrests-open-data-tables-ppp-2e.csv`` layout ``Financial
    Year, Force Name, Ethnic Group (self-defined), Gender, Age group, Arrests``; and the
    snake_case ODS sheet ``OD_5+1`` with ``financial_year, police_force_area,
    self_defined_ethnicity_group, number_of_arrests`` and ``gender``/``age_group`` where
    present). Emits ``arrests`` per force and financial year in total and by ethnicity, sex
    and age group.

Every table loads from CSV or from the ODS (or XLSX) as published: the data sheet is
``open_data``, ``S&S_OD`` or ``OD_5+1``, or else any sheet whose first row is a known header.

Breakdown groups: ethnicity is one of White, Mixed, Asian, Black, Other, Not stated (any
"Not stated", "Unknown" or blank group) or "N/A - vehicle search" (a vehicle searched alone:
its own group, not counted as recorded ethnicity; so for sex and age where a table says so);
a label that fits none is a reject;
prefixes such as "2019/20 onwards - " are read through;
sex is Male, Female, Other or Not stated; age groups keep the publisher's bands with spacing
tidied ("10 - 17 years" → "10-17"), blanks and unknowns being Not stated. Searches and
arrests with no recorded group count in the all-groups total.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.home_office_files import (
    head_text,
    header_key,
    read_table,
    read_utf8_csv,
    table_key,
)
from ingest.home_office_tables import (
    NOT_STATED,
    VEHICLE_SEARCH,
    age_group,
    ethnic_group,
    observations,
    parse_counts,
    resolve_areas,
    resolve_periods,
    row_rejects,
    sex_group,
    sort_rejects,
    sum_counts,
)
from ingest.textio import normalise_header

OGL = "Open Government Licence v3.0"


# --- published totals -------------------------------------------------------------------------

TOTALS_SPEC = SourceSpec(
    name="home_office_stop_search_totals",
    title="Home Office stop and search: published total searches by force (year ending March)",
    publisher="Home Office",
    licence=OGL,
    kind="published",
    priority=31,
    required_columns=("force_id", "pfa_code", "year_end", "published_total"),
    optional_columns=("scope", "retrieved", "source"),
)
TOTALS_COLUMNS = ("force_id", "pfa_code", "year_end", "published_total", "scope", "retrieved",
                  "source")


def detect_totals(path: Path, data: bytes) -> bool:
    return header_key(head_text(data)) == frozenset(TOTALS_COLUMNS)


def read_totals(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    frame, rejects = read_utf8_csv(path.name, data)
    if set(frame.columns) - {"row"} != set(TOTALS_COLUMNS):
        raise FileRefused(path.name, _wrong_columns(TOTALS_COLUMNS, frame))
    rows_in = frame.height + len(rejects)
    frame = frame.with_columns(pl.all().exclude("row").str.strip_chars())
    frame, bad = resolve_areas(frame, "force_id", context, code_col="pfa_code")
    rejects += bad
    year = pl.col("year_end").cast(pl.Int32, strict=False)
    label = pl.format("{}-{}", (year - 1).cast(pl.String), year.cast(pl.String))
    frame, bad = resolve_periods(frame.with_columns(label.alias("_fy")), pl.col("_fy"),
                                 "year_end", "fy")
    rejects += [Reject(r.row, r.column, r.value, "not a year (year ending March, e.g. 2025)")
                for r in bad]
    frame, bad = parse_counts(frame, "published_total")
    rejects += bad
    missing = pl.col("value").is_null() & pl.col("note").is_null()
    rejects += row_rejects(frame, missing, "published_total", "missing total")
    frame = frame.filter(~missing)
    frame, bad = _first_of_duplicates(frame, ["area_code", "period_start"], "force_id")
    rejects += bad
    vintage = pl.format(
        "Stop and search, arrests and mental health detentions, March {} (published totals; "
        "scope: {}; retrieved {})", pl.col("year_end"), pl.col("scope"), pl.col("retrieved"),
    )
    out = frame.with_columns(pl.lit("stop_searches").alias("measure"),
                             pl.col("note").alias("value_note"))
    result = observations(out, TOTALS_SPEC.name, vintage)
    vintages = sorted(result["vintage"].unique().to_list())
    return ReadResult(
        table="observations", frame=result, rejects=sort_rejects(rejects), rows_in=rows_in,
        source=TOTALS_SPEC.name, vintage="; ".join(vintages) or TOTALS_SPEC.title,
    )


def _first_of_duplicates(frame: pl.DataFrame, key: list[str],
                         column: str) -> tuple[pl.DataFrame, list[Reject]]:
    """Two rows for the same force and year: the first stands, the later ones are rejects."""
    frame = frame.with_columns(pl.col("row").min().over(key).alias("_first"))
    repeat = pl.col("row") != pl.col("_first")
    reason = pl.lit("duplicate: the same force and year as line ") + pl.col("_first").cast(
        pl.String)
    return frame.filter(~repeat).drop("_first"), row_rejects(frame, repeat, column, reason)


# --- open data tables -------------------------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """One published column layout of an open data table (names as published)."""

    name: str
    columns: tuple[str, ...]
    year: str
    force: str
    geocode: str | None
    ethnicity: str
    sex: str | None
    age: str | None
    count: str
    exact: bool = True
    """Matched on exactly ``columns``; else (snake_case layouts known only from schema
    evidence) on containing ``columns``, any other column being ignored."""

    @property
    def key(self) -> frozenset[str]:
        return frozenset(normalise_header(c) for c in self.columns)

    def matches(self, key: frozenset[str]) -> bool:
        return self.key == key if self.exact else self.key <= key

    def col(self, field: str) -> str | None:
        name = getattr(self, field)
        return None if name is None else normalise_header(name)


STOP_SEARCH_LAYOUTS = (
    Layout(
        "stop and search open data table (current)",
        ("Financial year", "Geocode", "Force Name", "Region", "Legislation", "Reason for search",
         "Self-defined ethnic group", "Self-defined ethnicity", "Officer-defined ethnic group",
         "Gender", "Age group", "Outcome of search",
         "Link between object of search and outcome", "Searches"),
        year="Financial year", force="Force Name", geocode="Geocode",
        ethnicity="Self-defined ethnic group", sex="Gender", age="Age group", count="Searches",
    ),
    Layout(
        "stop and search open data table (before 2021)",
        ("Financial Year", "Force Name", "Region", "Legislation", "Reason for search / arrest",
         "Ethnicity (self-defined)", "Ethnicity (officer-defined)", "Gender", "Age group",
         "Outcome", "Number of searches"),
        year="Financial Year", force="Force Name", geocode=None,
        ethnicity="Ethnicity (self-defined)", sex="Gender", age="Age group",
        count="Number of searches",
    ),
    Layout(
        "stop and search open data table (2006/07 to 2019/20)",
        ("Financial Year", "Geocode", "Force Name", "Region", "Legislation",
         "Reason for search / arrest", "Ethnic Group (self-defined - new style)",
         "Ethnicity (self-defined)", "Searches", "Resultant arrests"),
        year="Financial Year", force="Force Name", geocode="Geocode",
        ethnicity="Ethnic Group (self-defined - new style)", sex=None, age=None,
        count="Searches",
    ),
    Layout(
        "stop and search open data table (snake_case, 2020/21 onwards)",
        ("financial_year", "police_force_area", "self_defined_ethnicity_group",
         "number_of_searches"),
        year="financial_year", force="police_force_area", geocode=None,
        ethnicity="self_defined_ethnicity_group", sex="gender", age="age_group",
        count="number_of_searches", exact=False,
    ),
)


def _arrest_layout(name: str, geocode: bool, ethnicity: str) -> Layout:
    columns = ["Financial Year", "Force Name", "Region", ethnicity, "Gender", "Age Group",
               "Reason for arrest (offence group)", "Arrests"]
    if geocode:
        columns.insert(2, "Geocode")
    return Layout(name, tuple(columns), year="Financial Year", force="Force Name",
                  geocode="Geocode" if geocode else None, ethnicity=ethnicity, sex="Gender",
                  age="Age Group", count="Arrests")


ARREST_LAYOUTS = (
    _arrest_layout("arrests open data table (current)", True, "Ethnic Group (self-defined)"),
    _arrest_layout("arrests open data table (before 2021)", False, "Ethnic group (self-defined)"),
    _arrest_layout("arrests open data table (before 2021)", False, "Ethnicity (self-defined)"),
    _arrest_layout("arrests open data table", True, "Ethnicity (self-defined)"),
    Layout("arrests open data table (ppp-2e)",
           ("Financial Year", "Force Name", "Ethnic Group (self-defined)", "Gender", "Age group",
            "Arrests"),
           year="Financial Year", force="Force Name", geocode=None,
           ethnicity="Ethnic Group (self-defined)", sex="Gender", age="Age group",
           count="Arrests"),
    Layout("arrests open data table (snake_case, OD_5+1)",
           ("financial_year", "police_force_area", "self_defined_ethnicity_group",
            "number_of_arrests"),
           year="financial_year", force="police_force_area", geocode=None,
           ethnicity="self_defined_ethnicity_group", sex="gender", age="age_group",
           count="number_of_arrests", exact=False),
)

SPEC = SourceSpec(
    name="home_office_stop_search",
    title="Home Office stop and search open data tables",
    publisher="Home Office",
    licence=OGL,
    kind="published",
    schema_only=True,
    priority=30,
    required_columns=("Financial year", "Force Name", "Self-defined ethnic group", "Gender",
                      "Age group", "Searches"),
    optional_columns=tuple(sorted({c for lay in STOP_SEARCH_LAYOUTS for c in lay.columns}
                                  - {"Financial year", "Force Name", "Self-defined ethnic group",
                                     "Gender", "Age group", "Searches"})),
    file_types=(".csv", ".ods", ".xlsx"),
)
ARRESTS_SPEC = SourceSpec(
    name="home_office_arrests",
    title="Home Office arrests open data tables",
    publisher="Home Office",
    licence=OGL,
    kind="published",
    schema_only=True,
    priority=30,
    required_columns=("Financial Year", "Force Name", "Ethnic Group (self-defined)", "Gender",
                      "Age Group", "Arrests"),
    optional_columns=("Geocode", "Region", "Reason for arrest (offence group)"),
    file_types=(".csv", ".ods", ".xlsx"),
)


def _matcher(layouts: tuple[Layout, ...]):  # -> home_office_files.Match
    return lambda key: any(lay.matches(key) for lay in layouts)


def detect(path: Path, data: bytes) -> bool:
    return table_key(path, data, _matcher(STOP_SEARCH_LAYOUTS)) is not None


def detect_arrests(path: Path, data: bytes) -> bool:
    return table_key(path, data, _matcher(ARREST_LAYOUTS)) is not None


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    return _read_table(path, data, context, SPEC, STOP_SEARCH_LAYOUTS, "stop_searches",
                       "Home Office stop and search open data tables")


def read_arrests(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    return _read_table(path, data, context, ARRESTS_SPEC, ARREST_LAYOUTS, "arrests",
                       "Home Office arrests open data tables")


def _read_table(path: Path, data: bytes, context: ReadContext, spec: SourceSpec,
                layouts: tuple[Layout, ...], measure: str, publication: str) -> ReadResult:
    frame, rejects, sheet = read_table(path, data, _matcher(layouts))
    found = frozenset(frame.columns) - {"row"}
    layout = next((lay for lay in layouts if lay.matches(found)), None)
    if layout is None:
        raise FileRefused(path.name, _wrong_columns(layouts[0].columns, frame))
    rows_in = frame.height + len(rejects)
    frame = frame.with_columns(pl.all().exclude("row").str.strip_chars())
    frame, bad = resolve_areas(frame, layout.col("force"), context, layout.col("geocode"))
    rejects += bad
    year_col = layout.col("year")
    frame, bad = resolve_periods(frame, pl.col(year_col), year_col, "fy")
    rejects += bad
    frame, bad = _groups(frame, layout)
    rejects += bad
    frame, bad = parse_counts(frame, layout.col("count"))
    rejects += bad
    missing = pl.col("value").is_null() & pl.col("note").is_null()
    rejects += row_rejects(frame, missing, layout.col("count"), "missing count")
    frame = frame.filter(~missing)

    keys = ["area_code", "period_start", "period_end"]
    breakdowns = [b for b in ("ethnicity", "sex", "age_group") if b in frame.columns]
    parts = [sum_counts(frame, [*keys, *by]).with_columns(pl.lit(measure).alias("measure"))
             for by in ((), *((b,) for b in breakdowns))]
    if measure == "stop_searches":
        recorded = frame.filter(~pl.col("ethnicity").is_in([NOT_STATED, VEHICLE_SEARCH]))
        parts.append(sum_counts(recorded, keys).with_columns(
            pl.lit("stop_searches_ethnicity_recorded").alias("measure")))
    out = pl.concat(parts, how="diagonal_relaxed").with_columns(
        pl.col(b).fill_null("") for b in breakdowns
    )
    if sheet:
        vintage_note = f"read the {layout.name} layout (sheet '{sheet}')"
    else:
        vintage_note = f"read the {layout.name} layout"
    vintage = publication
    if frame.height:
        vintage += f", data to year ending March {frame['period_end'].max().year}"
    return ReadResult(
        table="observations", frame=observations(out, spec.name, vintage),
        rejects=sort_rejects(rejects), rows_in=rows_in, source=spec.name, vintage=vintage,
        notes=[vintage_note],
    )


def _groups(frame: pl.DataFrame, layout: Layout) -> tuple[pl.DataFrame, list[Reject]]:
    """Conform ethnicity, sex and age group; a label that fits no group is a reject."""
    eth = layout.col("ethnicity")
    sex, age = (c if c in frame.columns else None for c in (layout.col("sex"), layout.col("age")))
    frame = frame.with_columns(
        ethnic_group(pl.col(eth)).alias("ethnicity"),
        *([sex_group(pl.col(sex)).alias("sex")] if sex else []),
        *([age_group(pl.col(age)).alias("age_group")] if age else []),
    )
    rejects: list[Reject] = []
    checked = [(eth, "ethnicity", "White, Mixed, Asian, Black, Other, N/A - vehicle search")]
    checked += [(sex, "sex", "Male, Female, Other")] if sex else []
    for column, conformed, groups in checked:
        bad = pl.col(conformed).is_null()
        rejects += row_rejects(frame, bad, column,
                               f"not a group cjsdash knows ({groups} or Not stated/Unknown)")
        frame = frame.filter(~bad)
    return frame, rejects


def _wrong_columns(expected: tuple[str, ...], frame: pl.DataFrame) -> str:
    found = [c for c in frame.columns if c != "row"]
    return (f"not the expected columns: expected {', '.join(expected)}; found "
            f"{', '.join(found) or 'none'}")


TOTALS_LOADER = Loader(spec=TOTALS_SPEC, detect=detect_totals, read=read_totals)
LOADER = Loader(spec=SPEC, detect=detect, read=read)
ARRESTS_LOADER = Loader(spec=ARRESTS_SPEC, detect=detect_arrests, read=read_arrests)
LOADERS = (TOTALS_LOADER, LOADER, ARRESTS_LOADER)
"""Every loader of this module, for ``ingest.catalogue.LOADERS``."""
