"""Property-based fuzzing of every loader: real small files, mutated by hypothesis.

Whatever the bytes, an ingest must end in a report (never a traceback or an internal
error), within a time limit (never a hang), store no NaN or infinity, and leave every table
but the run log and the rejects unchanged when it refuses the file.

Profiles (HYPOTHESIS_PROFILE): ``ci`` (the default, 25 cases a loader: ~400 in all) and
``fuzz`` (700 a loader: 10,000+; ``make fuzz``).
"""

from __future__ import annotations

import io
import os
import signal
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse
from ingest.catalogue import LOADERS
from ingest.pipeline import ingest_paths
from tests.integration.hostile_helpers import checksums, non_finite_values

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "fuzz", max_examples=700, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytestmark = pytest.mark.usefixtures("quarantine_every_bad_row")  # row-level tests


DATA = Path(__file__).resolve().parents[1] / "data"
HANG_SECONDS = 30
BOARD = (b"area,period,measure,numerator,denominator,value,ethnicity\n"
         b"Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100,,\n"
         b"Cumbria,2024-06,ineffective_trial_rate_crown,15,110,,White\n"
         b"Devon & Cornwall Police,Apr-Jun 2024,ineffective_trial_rate_crown,40,300,,\n")
MSG = b"force,peer\nCumbria,Durham\nCumbria,North Wales\nDurham,Cumbria\n"


def _head(relative: str, lines: int = 40) -> bytes:
    return b"".join((DATA / relative).read_bytes().splitlines(keepends=True)[:lines])


def _sheet() -> bytes:
    return (DATA / "malformed/files/good.xlsx").read_bytes()


SEEDS: dict[str, tuple[str, bytes]] = {
    # loader → (file name the loader recognises, bytes)
    "board_extract": ("extract.csv", BOARD),
    "board_extract_xlsx": ("extract.xlsx", b""),  # filled lazily: the committed corpus file
    "msg_reference": ("msg.csv", MSG),
    "police_uk_street": ("2021-01-city-of-london-street.csv",
                         _head("police_uk/street/2021-01/2021-01-city-of-london-street.csv")),
    "police_uk_outcomes": ("2026-02-city-of-london-outcomes.csv",
                           _head("police_uk/outcomes/2026-02-city-of-london-outcomes.csv")),
    "police_uk_stop_search": (
        "2019-06-greater-manchester-stop-and-search.csv",
        _head("police_uk/stop_and_search/2019-06-greater-manchester-stop-and-search.csv")),
    "police_uk_zip": ("2021-01.zip", b""),  # filled lazily: two forces in one ZIP
    "home_office_outcomes": (
        "prc-outcomes-open-data.csv",
        _head("home_office/crime_outcomes/prc-outcomes-open-data-published-names_FIXTURE.csv")),
    "home_office_arrests": (
        "arrests-open-data-tables.csv",
        _head("home_office/arrests_open_data/arrests-open-data-tables-current_FIXTURE.csv")),
    "home_office_stop_search": (
        "stop-search-open-data-tables.csv",
        _head("home_office/stop_search_open_data/"
              "stop-search-open-data-tables-current_FIXTURE.csv")),
    "home_office_stop_search_totals": (
        "totals.csv", _head("home_office/stop_search_totals/blackthrive-searchlight-ppap-totals.csv")),
    "moj_trials": ("trials.csv", _head("moj/trial-effectiveness-lcjb-sample.csv")),
    "moj_timeliness": ("timeliness.csv", _head("moj/timeliness-transparency-sample.csv")),
    "cjs_dashboard": ("dashboard.csv", _head("moj/cjs-delivery-dashboard-sample.csv")),
    "census2011_la": ("la-ethnic-groups.csv", _head("ons/la-ethnic-groups.csv", 30)),
    "census2021_nomis": ("nomis.csv", _head("ons/nomis-ts021-lad-sample.csv", 60)),
    "census_force": ("force-demographics.csv", _head("ons/force-demographics_DERIVED.csv")),
    "census2021_ons_wide": ("ethnic_pop_region.csv", _head("ons/ethnic_pop_region.csv", 40)),
    "census2021_nomis_bulk": ("census2021-ts021-ltla.csv",
                              _head("ons/census2021-ts021-ltla-nomis-bulk.csv", 60)),
    "census2021_custom": ("custom.csv", _head("ons/census2021-custom-ts021-sex-ltla.csv", 60)),
    "moj_trials_long": ("trial_2020Q4.csv", _head("moj/trial_2020Q4-sample.csv")),
    "moj_timeliness_tool": ("timeliness-tool.csv",
                            _head("moj/timeliness-tool-crown-court-sample.csv")),
    "cps_case_outcomes": ("principal_offence_category_april_2016.csv",
                          _head("cps/2016/principal_offence_category_april_2016.csv", 20)),
    "local_targets": ("targets.csv", b"indicator,area,period,target,kind,source\n"
                      b"ineffective_trial_rate_crown,Cumbria,2025-26,18,target,plan\n"
                      b"ineffective_trial_rate_crown,Cumbria,2025-26 Q1,24,trajectory,plan\n"),
    "known_files": ("forces.csv", _head("known/datahub-crime-uk-forces.csv", 10)),
    "police_uk_lake": ("police_uk_observations.parquet", b""),  # filled lazily: a rollup file
}


def _seed(name: str) -> tuple[str, bytes]:
    file_name, data = SEEDS[name]
    if name == "board_extract_xlsx":
        return file_name, _sheet()
    if name == "police_uk_lake":
        return file_name, _lake_rollup()
    if name == "police_uk_zip":
        street = DATA / "police_uk/street/2021-01"
        return file_name, _zip({p.name: _head(str(p.relative_to(DATA)), 30)
                                for p in sorted(street.glob("*.csv"))})
    return file_name, data


def _lake_rollup() -> bytes:
    """A two-row observations file as ``cjsdash lake rollup`` writes it (engine and lake in
    its metadata)."""
    import tempfile
    from datetime import date

    import pyarrow as pa

    from cjsdash.lake.rollup import OBSERVATIONS, write

    rows = {name: [None, None] for name in OBSERVATIONS.names}
    rows.update(measure=["recorded_crimes", "recorded_crimes"], area_code=["E23000002"] * 2,
                period_start=[date(2021, 1, 1), date(2021, 2, 1)],
                period_end=[date(2021, 1, 31), date(2021, 2, 28)], value=[120.0, 98.0],
                source=["police_uk_street"] * 2, run_id=[1, 2])
    for name in OBSERVATIONS.names:
        if OBSERVATIONS.field(name).type == pa.string() and rows[name] == [None, None]:
            rows[name] = ["", ""]
    table = pa.table(rows, schema=OBSERVATIONS)
    with tempfile.TemporaryDirectory() as folder:
        return write(table, Path(folder), "duckdb", "/lake").read_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


TOKENS = [b"nan", b"inf", b"-inf", b"1e999", b"\r", b"\r\r\n", b'"', b'""', b",", b"\n",
          b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"0000-01", b"FY9999-00", b"9999-12-31",
          b"0001-01-01/9999-12-31", b"-1", b"..", b"[c]", b"=1+1", b"\xe9", b"\t", b";",
          b"X" * 5000, b",,,,,,,,,,,,,,,,,,,,", b"2024-13", b"Q5", b"  "]

mutation = st.one_of(
    st.tuples(st.just("insert"), st.floats(0, 1), st.sampled_from(TOKENS)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 200)),
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("repeat_line"), st.floats(0, 1), st.integers(1, 50)),
    st.tuples(st.just("swap_field"), st.floats(0, 1), st.sampled_from(TOKENS)),
)


def mutate(data: bytes, ops: list[tuple[str, float, object]]) -> bytes:
    for op, where, arg in ops:
        at = int(where * len(data))
        if op == "insert":
            data = data[:at] + arg + data[at:]  # type: ignore[operator]
        elif op == "delete":
            data = data[:at] + data[at + int(arg):]  # type: ignore[call-overload]
        elif op == "flip" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ (int(arg) or 1)]) + data[at + 1:]  # type: ignore[call-overload]
        elif op == "truncate":
            data = data[:at]
        elif op == "repeat_line":
            lines = data.splitlines(keepends=True)
            if lines:
                i = min(int(where * len(lines)), len(lines) - 1)
                data = b"".join(lines[:i] + [lines[i]] * int(arg) + lines[i:])  # type: ignore[call-overload]
        elif op == "swap_field":  # a cell's value replaced (the file stays well formed)
            lines = data.splitlines(keepends=True)
            if len(lines) > 1:
                i = 1 + min(int(where * (len(lines) - 1)), len(lines) - 2)
                fields = lines[i].split(b",")
                j = int(where * 7919) % len(fields)
                fields[j] = arg  # type: ignore[call-overload]
                lines[i] = b",".join(fields)
                data = b"".join(lines)
    return data


def mutate_inside(data: bytes, ops: list[tuple[str, float, object]]) -> bytes:
    """A ZIP package (XLSX, ZIP of CSVs) with one member mutated and the package rebuilt."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    names = sorted(members)
    target = names[int(ops[0][1] * len(names)) % len(names)] if ops else names[0]
    if any(n.startswith("xl/worksheets/") for n in names):
        target = next(n for n in names if n.startswith("xl/worksheets/"))
    members[target] = mutate(members[target], ops)
    return _zip(members)


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang(f"an ingest took over {HANG_SECONDS} s")


@pytest.fixture(scope="module")
def fuzz_con() -> Iterator[duckdb.DuckDBPyConnection]:
    warehouse = Warehouse()
    with warehouse.writer() as con:
        prepare(con)
        yield con
    warehouse.close()


def test_every_loader_has_a_seed() -> None:
    recognised = set()
    from ingest.pipeline import detect_loader

    for name in SEEDS:
        file_name, data = _seed(name)
        if file_name.endswith(".zip"):
            continue
        loader = detect_loader(Path(file_name), data)
        assert loader is not None, name
        recognised.add(loader.spec.name)
    assert recognised == set(LOADERS)


@pytest.mark.parametrize("seed", sorted(SEEDS))
@given(ops=st.lists(mutation, min_size=1, max_size=4), inside=st.booleans())
def test_mutated_files_never_crash_hang_or_half_load(
        fuzz_con: duckdb.DuckDBPyConnection, tmp_path_factory: pytest.TempPathFactory,
        seed: str, ops: list, inside: bool) -> None:
    con = fuzz_con
    file_name, data = _seed(seed)
    packaged = data.startswith(b"PK\x03\x04")
    data = mutate_inside(data, ops) if packaged and inside else mutate(data, ops)
    path = tmp_path_factory.mktemp("fuzz") / file_name
    path.write_bytes(data)
    before = _SUMS.get(id(con)) or checksums(con)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        reports = ingest_paths(con, [path])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert reports
    for report in reports:
        assert "internal error" not in report.message, report.line()
        assert report.status in ("loaded", "unchanged", "refused", "skipped")
    assert non_finite_values(con) == 0
    if all(r.status in ("refused", "skipped", "unchanged") for r in reports):
        after = checksums(con)
        assert after == before, [r.line() for r in reports]
        _SUMS[id(con)] = after  # still the warehouse's sums: the next case need not recount
    else:
        _SUMS.pop(id(con), None)


_SUMS: dict[int, dict[str, tuple]] = {}
"""The shared warehouse's checksums while nothing has loaded since they were taken."""
