"""Build the Home Office schema fixtures that have no real file (run once; output committed).

    python scripts/build_home_office_fixtures.py

Column layouts from ``shared/data/real/SCHEMA_EVIDENCE.md`` (5-8); every figure is made up
with a seeded generator. The ODS files are written by hand (a zip of ``mimetype``,
``META-INF/manifest.xml`` and ``content.xml``) as LibreOffice and the Home Office publish
them: a contents sheet first, then the data sheet (``open_data``, ``S&S_OD``, ``OD_5+1``).
"""

from __future__ import annotations

import csv
import random
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parents[1] / "tests" / "data" / "home_office"
SEED = 20251203
FORCES = (("E23000002", "Cumbria", "North West"), ("W15000004", "Dyfed-Powys", "Wales"),
          ("E23000034", "London, City of", "London"))

_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""
_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>
</office:document-content>
"""


def _cell(value: object) -> str:
    if isinstance(value, int):
        return (f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>")
    return (f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
            "</text:p></table:table-cell>")


def write_ods(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    tables = "".join(
        f'<table:table table:name="{escape(name)}">'
        + "".join("<table:table-row>" + "".join(_cell(v) for v in row) + "</table:table-row>"
                  for row in rows)
        + "</table:table>"
        for name, rows in sheets.items())
    stamp = (2025, 12, 3, 0, 0, 0)  # fixed, so that the bytes are the same every run
    with zipfile.ZipFile(path, "w") as ods:
        for name, text, method in (
                ("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED),
                ("META-INF/manifest.xml", _MANIFEST, zipfile.ZIP_DEFLATED),
                ("content.xml", _CONTENT.format(tables=tables), zipfile.ZIP_DEFLATED)):
            ods.writestr(zipfile.ZipInfo(name, date_time=stamp), text, compress_type=method)


def stop_search_snake(rng: random.Random) -> list[list[object]]:
    header = ["financial_year", "geocode", "police_force_area", "region", "legislation",
              "reason_for_search", "self_defined_ethnicity_group", "self_defined_ethnicity",
              "gender", "age_group", "outcome_of_search", "number_of_searches"]
    groups = (("White", "White - English/Welsh/Scottish/Northern Irish/British"),
              ("Black or Black British", "Black or Black British - African"),
              ("Asian or Asian British", "Asian or Asian British - Pakistani"),
              ("Mixed", "Mixed - White and Black Caribbean"),
              ("Other Ethnic Group", "Other Ethnic Group - Any other ethnic group"),
              ("Not Stated", "Not Stated"), ("N/A - vehicle search", "N/A - vehicle search"))
    rows: list[list[object]] = [header]
    for year in ("2023/24", "2024/25"):
        for code, force, region in FORCES[:2]:
            for group, detail in groups:
                for gender, age in (("Male", "10-17"), ("Female", "18-24"), ("Male", "over 34")):
                    if group.startswith("N/A"):
                        gender, age = "N/A - vehicle search", "N/A - vehicle search"
                    rows.append([year, code, force, region, "Section 1 (PACE)", "Drugs", group,
                                 detail, gender, age, "No further action", rng.randint(1, 60)])
    return rows


def arrests_snake(rng: random.Random) -> list[list[object]]:
    header = ["financial_year", "police_force_area", "region", "self_defined_ethnicity_group",
              "gender", "age_group", "reason_for_arrest", "number_of_arrests"]
    groups = ("White", "2019/20 onwards - Asian or Asian British",
              "2019/20 onwards - Black or Black British", "2019/20 onwards - Mixed",
              "2019/20 onwards - Other Ethnic Group", "Chinese/other", "Not stated")
    rows: list[list[object]] = [header]
    for year in ("2023/24", "2024/25"):
        for _, force, region in FORCES[:2]:
            for group in groups:
                for gender, age in (("Male", "10 - 17 years"), ("Female", "21 and over")):
                    rows.append([year, force, region, group, gender, age,
                                 "2015/16 onwards - Drug offences", rng.randint(0, 90)])
    return rows


def stop_search_2006_2020(rng: random.Random) -> list[list[object]]:
    header = ["Financial Year", "Geocode", "Force Name", "Region", "Legislation",
              "Reason for search / arrest", "Ethnic Group (self-defined - new style)",
              "Ethnicity (self-defined)", "Searches", "Resultant arrests"]
    groups = (("White", "White - British"), ("Black (or Black British)", "Black - African"),
              ("Asian (or Asian British)", "Asian - Indian"), ("Mixed", "Mixed - Other"),
              ("Chinese or Other", "Chinese"), ("Not Stated", "Not Stated"))
    rows: list[list[object]] = [header]
    for year in ("2017/18", "2018/19", "2019/20"):
        for code, force, region in FORCES:
            for group, detail in groups:
                searches = rng.randint(0, 300)
                rows.append([year, code, force, region, "Section 1 (PACE)", "Stolen property",
                             group, detail, searches, rng.randint(0, searches // 5)])
    return rows


def outcomes_with_subcodes() -> list[list[str]]:
    """The published-names outcomes fixture with the subcode columns, each theft offence split
    into two subcodes (the counts of the two parts add up to the original row's; the real
    subcode table splits drugs offences, which that fixture does not have)."""
    source = HERE / "crime_outcomes" / "prc-outcomes-open-data-published-names_FIXTURE.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    out = [[*rows[0], "Subcode Description", "Offence Subcode"]]
    for row in rows[1:]:
        recorded, assigned = row[-2], row[-1]
        if row[4] == "Theft offences" and recorded.isdigit() and assigned.isdigit():
            r1, a1 = int(recorded) // 2, int(assigned) // 3
            out.append([*row[:-2], str(r1), str(a1), "Subcode one", f"{row[6]}/1"])
            out.append([*row[:-2], str(int(recorded) - r1), str(int(assigned) - a1),
                        "Subcode two", f"{row[6]}/2"])
        else:
            out.append([*row, "", ""])
    return out


def write_csv(path: Path, rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)


def main() -> None:
    rng = random.Random(SEED)
    contents = [["Stop and search open data tables (FIXTURE: made-up figures)"],
                ["Sheet", "Contents"], ["open_data", "one row per group, with a count"]]
    write_ods(HERE / "stop_search_open_data" / "stop-search-open-data-tables-mar24-mar25_FIXTURE.ods",
              {"Contents": contents, "open_data": stop_search_snake(rng)})
    write_ods(HERE / "arrests_open_data" / "arrests-open-data-tables-mar25_FIXTURE.ods",
              {"Notes": [["Arrests open data (FIXTURE)"]], "OD_5+1": arrests_snake(rng)})
    old = stop_search_2006_2020(rng)
    write_csv(HERE / "stop_search_open_data" / "stop-search-open-data-tables-mar07-mar20_FIXTURE.csv", old)
    write_ods(HERE / "stop_search_open_data" / "stop-search-open-data-tables-mar07-mar20_FIXTURE.ods",
              {"Cover": [["Stop and search (FIXTURE)"]], "S&S_OD": old})
    write_csv(HERE / "crime_outcomes" / "prc-outcomes-subcodes_FIXTURE.csv",
              outcomes_with_subcodes())


if __name__ == "__main__":
    main()
