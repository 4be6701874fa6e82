"""Ingest every hostile file (the corpus, plus the three too big to commit) and report: files
tried, refused cleanly, loaded with rejects, crashes, hangs, the slowest file's time.

Run from the repository root: ``python scripts/hostile_report.py`` (README "Reliability").
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cjsdash.bootstrap import prepare  # noqa: E402
from cjsdash.core.gateway import Warehouse  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402

CORPUS = REPO / "tests" / "data" / "malformed"
HEADER = "area,period,measure,numerator,denominator\n"
ROW = "Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100\n"
HANG_SECONDS = 60


def big_files(folder: Path) -> list[Path]:
    """The issue's three largest hostile files, made here (too big to commit)."""
    wide = folder / "columns_100004.csv"
    wide.write_text(",".join(f"c{i}" for i in range(100_000)) + ",area,period,measure,"
                    "numerator\n" + ",".join(["1"] * 100_004) + "\n")
    cell = folder / "cell_10MB.csv"
    cell.write_text(HEADER + ROW + "Cumbria,2024-25 Q2,x," + "9" * 10_000_000 + ",1\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bad.csv", HEADER + ROW + "Atlantis,2024-06,x,1,2\n" * 925_000)
    rejects = folder / "rejects_925k.zip"
    rejects.write_bytes(buffer.getvalue())
    return [wide, cell, rejects]


def main() -> None:
    rows = list(csv.DictReader((CORPUS / "expected.csv").open(encoding="utf-8")))
    with tempfile.TemporaryDirectory() as tmp:
        paths = [CORPUS / "files" / r["file"] for r in rows] + big_files(Path(tmp))
        warehouse = Warehouse(Path(tmp) / "w.duckdb")
        results = []
        with warehouse.writer() as con:
            prepare(con)
            for path in paths:
                started = time.perf_counter()
                try:
                    reports = ingest_paths(con, [path])
                    outcome = ",".join(sorted({r.status for r in reports}))
                    if any("internal error" in r.message for r in reports):
                        outcome = "crash"
                except Exception as exc:  # counted: that is the point
                    outcome = f"crash ({type(exc).__name__})"
                seconds = time.perf_counter() - started
                if seconds > HANG_SECONDS:
                    outcome = "hang"
                results.append((path.name, outcome, seconds))
        warehouse.close()
    refused = sum("refused" in o for _, o, _ in results)
    crashes = sum(o.startswith("crash") for _, o, _ in results)
    hangs = sum(o == "hang" for _, o, _ in results)
    worst = max(results, key=lambda r: r[2])
    print(f"files tried {len(results)}; refused cleanly {refused}; loaded with rejects or "
          f"clean {len(results) - refused - crashes - hangs}; crashes {crashes}; hangs {hangs}; "
          f"worst {worst[2]:.2f} s ({worst[0]})")
    for name, outcome, seconds in sorted(results, key=lambda r: -r[2])[:5]:
        print(f"  {seconds:6.2f} s  {outcome:10s} {name}")


if __name__ == "__main__":
    main()
