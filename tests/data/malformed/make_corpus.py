"""Write the malformed-input corpus (tests/data/malformed/files/) and its manifest.

Run from the repository root: ``python tests/data/malformed/make_corpus.py``. Each file is
made from a small good file (a board extract written here, or a real sample already in
tests/data/) by one hostile change. ``expected.csv`` says what must happen to each:

- ``refused``: the file is refused and logged; ``reason`` is a substring of the message;
- ``loaded``: good rows load; ``rejects`` rows are rejected, one with ``reason`` in it;
- ``skipped``: (ZIP members only) listed as not recognised.

The files are committed too, so the test reads exactly these bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
OUT = HERE / "files"

GOOD = (
    "area,period,measure,numerator,denominator\n"
    "Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100\n"
    "Cumbria,2024-25 Q2,ineffective_trial_rate_crown,15,110\n"
    "Devon & Cornwall Police,2024-25 Q1,ineffective_trial_rate_crown,40,300\n"
)
HEADER, *ROWS = GOOD.splitlines()
STREET = DATA / "police_uk/street/2021-01/2021-01-city-of-london-street.csv"
OUTCOMES = DATA / "police_uk/outcomes/2026-02-city-of-london-outcomes.csv"
SEARCHES = DATA / "police_uk/stop_and_search/2019-06-greater-manchester-stop-and-search.csv"
MOJ_TRIALS = DATA / "moj/trial-effectiveness-lcjb-sample.csv"
NOMIS = DATA / "ons/nomis-ts021-lad-sample.csv"
ARRESTS = DATA / "home_office/arrests_open_data/arrests-open-data-tables-current_FIXTURE.csv"


def extract(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def head(path: Path, lines: int = 12) -> bytes:
    """The first lines of a real sample (CRLF kept as found)."""
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


def xlsx(cells: list[tuple[str, str]], *, sheet: str = "Data") -> bytes:
    """A minimal XLSX (inline strings) with exactly these cells."""
    rows: dict[int, list[tuple[str, str]]] = {}
    for ref, value in cells:
        rows.setdefault(int("".join(ch for ch in ref if ch.isdigit())), []).append((ref, value))
    body = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>'
                                   for ref, v in cs) + "</row>"
        for r, cs in sorted(rows.items()))
    ns = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{ns}/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxml'
        'formats-package.relationships+xml"/><Default Extension="xml" ContentType="'
        'application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{ns}/spreadsheetml/2006/'
        f'main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="{sheet}"'
        ' sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/'
        f'package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="{ns}/'
        f'spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>',
    }
    return zipped(parts)


def sheet_cells(text: str) -> list[tuple[str, str]]:
    cells = []
    for r, line in enumerate(text.splitlines(), start=1):
        for c, value in enumerate(next(csv.reader([line]))):
            cells.append((f"{chr(65 + c)}{r}", value.replace("&", "&amp;")))
    return cells


def ods(body: str) -> bytes:
    office = "urn:oasis:names:tc:opendocument:xmlns"
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office='
               f'"{office}:office:1.0" xmlns:table="{office}:table:1.0" xmlns:text="{office}:'
               f'text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table '
               f'table:name="Data">{body}</table:table></office:spreadsheet></office:body>'
               "</office:document-content>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"),
                         "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr(_member("content.xml"), content, zipfile.ZIP_DEFLATED)
        archive.writestr(_member("META-INF/manifest.xml"), MANIFEST, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:'
    'tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:'
    'full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def ods_cell(value: str) -> str:
    return (f'<table:table-cell office:value-type="string"><text:p>{value}</text:p>'
            "</table:table-cell>")


def zipped(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(_member(name), content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _member(name: str) -> zipfile.ZipInfo:
    """A member with a fixed date: the corpus is the same bytes at every run."""
    return zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))


def bad_crc(data: bytes, member: str) -> bytes:
    """Flip a byte of ``member``'s compressed data (the CRC no longer matches)."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    at = start + info.compress_size // 2
    return data[:at] + bytes([data[at] ^ 0x55]) + data[at + 1:]


def stored_bad_crc(content: bytes, member: str) -> bytes:
    """A stored (uncompressed) member with one byte changed: only the CRC can tell."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(_member(member), content)
    data = buffer.getvalue()
    at = data.index(content[:20]) + 10
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def cases() -> list[tuple[str, bytes, str, str, int]]:
    """(file name, bytes, outcome, reason substring, rejected rows)."""
    rng = random.Random(13)
    good_xlsx = xlsx(sheet_cells(GOOD))
    many_bad = extract(*[f"Atlantis {i},2024-06,ineffective_trial_rate_crown,1,2"
                         for i in range(3_000)], ROWS[0])
    street = head(STREET)
    street_lines = street.splitlines(keepends=True)
    outcomes = head(OUTCOMES)
    searches = head(SEARCHES)
    s_lines = searches.splitlines(keepends=True)
    return [
        # --- nothing to read -------------------------------------------------------------
        ("empty.csv", b"", "refused", "the file is empty", 0),
        ("whitespace.csv", b"  \n\t \r\n   \n", "refused", "blank space", 0),
        ("binary.csv", bytes(rng.randrange(256) for _ in range(3000)) + b"\x00" * 50,
         "refused", "", 0),
        ("nul_bytes.csv", b"area,period\x00,measure\n" + b"\x00" * 100, "refused", "", 0),
        ("png_named.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(200), "refused", "PNG image", 0),
        ("png_named.csv", b"\x89PNG\r\n\x1a\n" + bytes(200), "refused", "PNG image", 0),
        ("pdf_named.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "refused", "PDF", 0),
        ("html_page.csv", b"<html><body>hello</body></html>\n", "refused", "web page", 0),
        ("one_word.csv", b"hello\n", "refused", "not a format cjsdash recognises", 0),
        ("header_only.csv", extract(), "refused", "header but no data rows", 0),
        ("long_line_no_newline.csv", b"a" * 300_000, "refused", "not a format", 0),
        # --- near misses ------------------------------------------------------------------
        ("semicolons.csv", GOOD.replace(",", ";").encode(), "refused", "semicolons", 0),
        ("tabs.csv", GOOD.replace(",", "\t").encode(), "refused", "tabs", 0),
        ("no_measure.csv", extract("Cumbria,2024-25 Q1,12,100",
                                   header="area,period,numerator,denominator"),
         "refused", "without column(s) measure", 0),
        ("no_numerator_or_value.csv", extract("Cumbria,2024-25 Q1,ineffective_trial_rate_crown",
                                              header="area,period,measure"),
         "refused", "missing column(s) numerator or value", 0),
        ("utf16_bom.csv", b"\xff\xfe" + GOOD.encode("utf-16-le"), "loaded", "", 0),
        ("utf16_be_bom.csv", b"\xfe\xff" + GOOD.encode("utf-16-be"), "loaded", "", 0),
        ("utf8_bom.csv", b"\xef\xbb\xbf" + GOOD.encode(), "loaded", "", 0),
        ("windows_1252.csv", extract("Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100,"
                                     "caf\xe9", header=HEADER + ",offence_group").replace(
            b"caf\xc3\xa9", b"caf\xe9"), "loaded", "", 0),
        ("duplicate_columns.csv", extract("Cumbria,2024-25 Q1,x,ineffective_trial_rate_crown,"
                                          "12,100", header="area,period,measure,measure,"
                                          "numerator,denominator"),
         "refused", "appear more than once", 0),
        ("wide_5000_columns.csv", (",".join(f"c{i}" for i in range(5000)) + ",area,period,"
                                   "measure,numerator\n").encode() * 2,
         "refused", "columns", 0),
        # --- one bad row is quarantined, not the file --------------------------------------
        ("extra_field.csv", extract(ROWS[0], ROWS[1] + ",surprise", ROWS[2]),
         "loaded", "6 fields where the header has 5", 1),
        ("missing_field.csv", extract(ROWS[0], "Cumbria,2024-25 Q2,12", ROWS[2]),
         "loaded", "unknown measure", 1),
        ("unescaped_quote.csv", extract(ROWS[0], 'Cumbria,2024-25 "Q2,ineffective_trial_rate_'
                                        'crown,15,110', ROWS[2]), "loaded", "unreadable period", 1),
        ("unclosed_quote.csv", extract(ROWS[0], '"Cumbria,2024-25 Q2,ineffective_trial_rate_'
                                       'crown,15,110', ROWS[2]), "loaded", "quarantined", 1),
        ("quote_inside_field.csv", extract(ROWS[0], 'Cumbria,"2024-25" Q2,ineffective_trial_'
                                           'rate_crown,15,110,x', ROWS[2]),
         "loaded", "quarantined", 1),
        ("cr_cr_lf.csv", GOOD.replace("\n", "\r\r\n").encode(), "loaded", "", 0),
        ("cr_only.csv", GOOD.replace("\n", "\r").encode(), "loaded", "", 0),
        ("cr_in_last_line.csv", GOOD.encode()[:-1] + b"\rx\n", "loaded", "not a number", 1),
        ("cr_ending_file.csv", GOOD.encode()[:-1] + b"\r", "loaded", "", 0),
        # --- values -------------------------------------------------------------------------
        ("nan_value.csv", extract(ROWS[0], "Cumbria,2024-25 Q2,ineffective_trial_rate_crown,"
                                  "nan,110"), "loaded", "not a finite number", 1),
        ("inf_value.csv", extract(ROWS[0], "Cumbria,2024-25 Q2,ineffective_trial_rate_crown,"
                                  "inf,110"), "loaded", "not a finite number", 1),
        ("minus_inf_value.csv", extract(ROWS[0], "Cumbria,2024-25 Q2,ineffective_trial_rate_"
                                        "crown,-inf,110"), "loaded", "not a finite number", 1),
        ("nan_denominator.csv", extract(ROWS[0], "Cumbria,2024-25 Q2,ineffective_trial_rate_"
                                        "crown,5,NaN"), "loaded", "not a finite number", 1),
        ("overflow_value.csv", extract(ROWS[0], "Cumbria,2024-25 Q2,ineffective_trial_rate_"
                                       "crown,1e999,2e999"), "loaded", "not a finite", 1),
        ("negative.csv", extract(ROWS[0], "Cumbria,2024-25 Q2,ineffective_trial_rate_crown,"
                                 "-5,110"), "loaded", "negative", 1),
        ("not_a_number.csv", extract(ROWS[0], "Cumbria,2024-25 Q2,ineffective_trial_rate_crown,"
                                     "twelve,110"), "loaded", "not a number", 1),
        ("numerator_above.csv", extract(ROWS[0], "Cumbria,2024-25 Q2,ineffective_trial_rate_"
                                        "crown,500,110"), "loaded", "above the denominator", 1),
        ("unknown_area.csv", extract(ROWS[0], "Atlantis,2024-25 Q2,ineffective_trial_rate_"
                                     "crown,5,110"), "loaded", "unknown area", 1),
        ("formula_area.csv", extract(ROWS[0], "=cmd|' /C calc'!A0,2024-25 Q2,ineffective_trial"
                                     "_rate_crown,5,110"), "loaded", "unknown area", 1),
        ("unknown_measure.csv", extract(ROWS[0], "Cumbria,2024-25 Q2,no_such_measure,5,110"),
         "loaded", "unknown measure", 1),
        ("huge_cell.csv", extract(ROWS[0], "Cumbria," + "Q" * 300_000 + ",ineffective_trial_"
                                  "rate_crown,5,110"), "loaded", "too long", 1),
        # --- periods --------------------------------------------------------------------------
        ("period_year_1_to_9999.csv", extract(ROWS[0], "Cumbria,0001-01-01/9999-12-31,"
                                              "ineffective_trial_rate_crown,5,110"),
         "loaded", "outside the years", 1),
        ("period_0000_01.csv", extract(ROWS[0], "Cumbria,0000-01,ineffective_trial_rate_crown,"
                                       "5,110"), "loaded", "year 0 is out of range", 1),
        ("period_fy9999.csv", extract(ROWS[0], "Cumbria,FY9999-00,ineffective_trial_rate_crown"
                                      ",5,110"), "loaded", "year 10000 is out of range", 1),
        ("period_1066.csv", extract(ROWS[0], "Cumbria,1066,ineffective_trial_rate_crown,5,110"),
         "loaded", "outside the years", 1),
        ("period_month_13.csv", extract(ROWS[0], "Cumbria,2024-13,ineffective_trial_rate_crown"
                                        ",5,110"), "loaded", "month 13 does not exist", 1),
        ("period_backwards.csv", extract(ROWS[0], "Cumbria,2024-06-30/2024-06-01,ineffective_"
                                         "trial_rate_crown,5,110"), "loaded", "ends before", 1),
        # --- many rejects: stored bounded -----------------------------------------------------
        ("three_thousand_bad_rows.csv", many_bad, "loaded", "unknown area", 3_000),
        # --- spreadsheets ---------------------------------------------------------------------
        ("good.xlsx", good_xlsx, "loaded", "", 0),
        ("cell_at_XFD1048576.xlsx", xlsx([*sheet_cells(GOOD), ("XFD1048576", "x")]),
         "refused", "reaches cell XFD1048576", 0),
        ("cell_at_Z1048576.xlsx", xlsx([*sheet_cells(GOOD), ("Z1048576", "x")]),
         "refused", "reaches cell Z1048576", 0),
        ("truncated.xlsx", good_xlsx[: len(good_xlsx) // 2], "refused", "damaged", 0),
        ("bad_crc.xlsx", stored_bad_crc(b"x" * 10, "xl/worksheets/sheet1.xml"), "refused",
         "", 0),
        ("csv_named.xlsx", GOOD.encode(), "refused", "not a format", 0),
        ("empty_sheet.xlsx", xlsx([]), "refused", "the file is empty", 0),
        ("good.ods", ods("".join("<table:table-row>" + "".join(ods_cell(v) for v in
                                                                 next(csv.reader([line])))
                                 + "</table:table-row>" for line in GOOD.splitlines())
                         .replace("&", "&amp;")), "loaded", "", 0),
        ("repeat_bomb.ods", ods('<table:table-row table:number-rows-repeated="1048576"><table:'
                                'table-cell table:number-columns-repeated="16384" office:value-'
                                'type="string"><text:p>x</text:p></table:table-cell></table:'
                                'table-row>'), "refused", "", 0),
        # --- ZIPs -------------------------------------------------------------------------------
        ("empty.zip", zipped({}), "refused", "the ZIP holds no files", 0),
        ("not_a_zip.zip", GOOD.encode(), "refused", "not a readable ZIP", 0),
        ("truncated.zip", zipped({"extract.csv": GOOD * 50})[:300], "refused",
         "not a readable ZIP", 0),
        ("bad_crc.zip", bad_crc(zipped({"extract.csv": GOOD * 50}), "extract.csv"),
         "refused", "", 0),
        ("good.zip", zipped({"extract.csv": GOOD}), "loaded", "", 0),
        ("zip_with_image.zip", zipped({"a.csv": GOOD + ROWS[0] + "\n", "b.csv": "\x89PNG x"}),
         "loaded", "duplicate", 1),
        ("zip_of_bad_rows.zip", zipped({"rows.csv": many_bad + b"Atlantis,2024-06,x,1,2\n"}), "loaded", "unknown area",
         3_001),
        ("nested.zip", zipped({"inner.zip": zipped({"extract.csv": GOOD})}), "skipped",
         "ZIP package", 0),
        # --- data.police.uk ----------------------------------------------------------------------
        ("2021-01-city-of-london-street-crcrlf.csv", street.replace(b"\r\n", b"\r\r\n"),
         "loaded", "", 0),
        ("2021-01-city-of-london-street-cr-last.csv",
         b"".join(street_lines[:-1]) + street_lines[-1].rstrip(b"\r\n") + b"\r", "loaded",
         "", 0),
        ("2021-01-city-of-london-street-cr-inside-last.csv",
         b"".join(street_lines[:-1]) + street_lines[-1].replace(b",Anti", b",An\rti"),
         "loaded", "", 0),
        ("2021-01-city-of-london-street-extra-field.csv",
         b"".join(street_lines[:3]) + street_lines[3].rstrip(b"\r\n") + b",extra\r\n"
         + b"".join(street_lines[4:]), "loaded", "quarantined", 1),
        ("2021-01-city-of-london-street-truncated.csv", street[: len(street) - 40],
         "refused", "truncated", 0),
        ("2021-01-city-of-london-street-month-0000.csv",
         street.replace(b",2021-01,", b",0000-01,", 2), "loaded", "not a month", 2),
        ("2026-02-city-of-london-outcomes-lf-cr.csv", outcomes.replace(b"\n", b"\r\n"),
         "loaded", "", 0),
        ("stop-and-search-quote.zip", zipped({SEARCHES.name: b"".join(s_lines[:4]) + b'"' + s_lines[4]
                                              + b"".join(s_lines[5:])}),
         "loaded", "quarantined", 1),
        ("stop-and-search-nan.zip", zipped({SEARCHES.name: searches.replace(b"53.407704",
                                                                             b"nan")}),
         "loaded", "", 0),
        # --- other published formats, cut or bent -------------------------------------------------
        ("trial-effectiveness-extra-field.csv", _bend(head(MOJ_TRIALS, 8), 4, b",9,9"),
         "loaded", "quarantined", 1),
        ("trial-effectiveness-nan.csv", _swap_last(head(MOJ_TRIALS, 8), 4, b"nan"),
         "loaded", "not a number", 1),
        ("nomis-ts021-inf.csv", head(NOMIS, 41).replace(b",89042", b",inf"),
         "refused", "not a number", 0),
        ("arrests-extra-field.csv", _bend(head(ARRESTS, 10), 5, b",7"),
         "loaded", "more than the header", 1),
        ("arrests.csv.gz", gzip.compress(head(ARRESTS, 10), mtime=0)[:60], "refused", "", 0),
    ]


def _bend(data: bytes, line: int, tail: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    ending = lines[line][len(lines[line].rstrip(b"\r\n")):]
    lines[line] = lines[line].rstrip(b"\r\n") + tail + ending
    return b"".join(lines)


def _swap_last(data: bytes, line: int, value: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    ending = lines[line][len(lines[line].rstrip(b"\r\n")):]
    fields = lines[line].rstrip(b"\r\n").split(b",")
    lines[line] = b",".join([*fields[:-1], value]) + ending
    return b"".join(lines)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    rows = []
    for name, data, outcome, reason, rejects in cases():
        (OUT / name).write_bytes(data)
        rows.append({"file": name, "outcome": outcome, "reason": reason, "rejects": rejects})
    with (HERE / "expected.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["file", "outcome", "reason", "rejects"],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} files written to {OUT}")


if __name__ == "__main__":
    main()
