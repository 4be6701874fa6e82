"""Files that sit beside the data in a real download folder (code lists, force lists, a
geography lookup, regional or regrouped populations, Home Office workforce and use-of-force
tables) are refused with the reason a person would give, logged, and change nothing."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from cjsdash.cli import app
from ingest import known_files

KNOWN = Path(__file__).resolve().parents[1] / "data" / "known"
WHY = {
    "census2011_pop_ests_by_ethn_region.csv": "adding up police force areas",
    "police-defined-demographics_DERIVED.csv": "officer-defined groups",
    "blackthrive-searchlight-nomis-ethnicity.csv": "a code list",
    "blackthrive-streetlamp-forces.csv": "a list of police forces",
    "datahub-crime-uk-forces.csv": "2010 populations",
    "lad16-csp16-pfa16-lookup-first-rows.csv": "a geography lookup",
    "police-workforce-sep19-tables.ods": "police workforce",
    "police-use-of-force-apr2019-mar2020-tables.ods": "use of force",
}


def _ods(path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    path.write_bytes(buffer.getvalue())


def _counts(db: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                for t in ("core.observations", "core.populations", "meta.sources")}
    finally:
        con.close()


def test_each_known_file_is_refused_with_its_reason(tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    shutil.copytree(KNOWN, folder)
    (folder / "NOTICE.md").unlink()
    for name in WHY:
        if name.endswith(".ods"):
            _ods(folder / name)
    db = tmp_path / "w.duckdb"
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(KNOWN / "datahub-crime-uk-forces.csv"),
                                "--db", str(db)])
    assert first.exit_code != 0, first.output
    before = _counts(db)
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(db)])
    assert result.exit_code != 0
    for name, why in WHY.items():
        line = next((ln for ln in result.output.splitlines() if ln.startswith(name)), "")
        assert "refused: known, not loaded" in line and why in line, (name, result.output)
    assert _counts(db) == before


def test_detection_is_by_exact_header_or_published_name() -> None:
    data = (KNOWN / "blackthrive-streetlamp-forces.csv").read_bytes()
    assert known_files.detect(Path("anything.csv"), data)
    assert not known_files.detect(Path("x.csv"), b"force_id,name,pfa_code\n")
    assert not known_files.detect(Path("police-workforce.csv"), b"a,b\n1,2\n")
    assert not known_files.detect(Path("my-board-extract.ods"), b"PK\x03\x04")
