"""Most similar groups (MSG) of police forces, from a reference file the user can replace.

Two layouts, any force spelling (names, codes, "Devon & Cornwall Police"…), header case and
spacing free:

- long: ``force,peer`` — one row per force and member of its group;
- wide: ``force,peer_1,…,peer_7`` — one row per force (blank cells allowed).

Membership is asymmetric and the order of the peers is kept. A file is the whole list: its
rows REPLACE every row of ``core.area_peers``, in the file's transaction
(:func:`load_raw`). The pages read the table through :func:`metrics.analysis.peer_group` and
label the group "most similar group from the reference file"; without one, they compute a
peer group and label it as computed.

The file carries no figures, so the result's observations frame is empty and the peer rows
travel in ``ReadResult.raw['area_peers']``.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl

from cjsdash.core.schema import BREAKDOWNS
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.textio import first_line, normalise_header, read_csv_strings

SPEC = SourceSpec(
    name="msg_reference",
    title="Most similar groups of police forces (reference file)",
    publisher="named in the file (e.g. HMICFRS most similar groups)",
    licence="as stated by the publisher of the file",
    kind="published",
    priority=40,
    required_columns=("force",),
    optional_columns=("peer", *(f"peer_{i}" for i in range(1, 8))),
)
RAW_TABLE = "area_peers"
FORCE_CODE = re.compile(r"^(E23|W15)\d{6}$")
_PEER_COLUMN = re.compile(r"^peer(_?\d+)?$")


def _columns(header: list[str]) -> tuple[str | None, list[str]]:
    names = [normalise_header(h) for h in header]
    force = next((h for h, n in zip(header, names, strict=True)
                  if n in ("force", "force_name", "police_force")), None)
    peers = [h for h, n in zip(header, names, strict=True) if _PEER_COLUMN.match(n)]
    return force, peers


def detect(path: Path, data: bytes) -> bool:
    header = [h.strip().strip('"') for h in first_line(data).split(",")]
    force, peers = _columns(header)
    return force is not None and bool(peers)


def _empty_observations() -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "measure": pl.String(), "area_code": pl.String(), "period_start": pl.Date(),
        "period_end": pl.Date(), **{b: pl.String() for b in BREAKDOWNS},
        "value": pl.Float64(), "value_note": pl.String(), "source": pl.String(),
        "vintage": pl.String(),
    }
    return pl.DataFrame(schema=schema)


def _resolve_force(name: str, context: ReadContext) -> tuple[str | None, str]:
    """(force code, why not) for one cell."""
    code = context.resolve_area(name)
    if code is None:
        return None, "unknown police force"
    if not FORCE_CODE.match(code):
        return None, f"not a police force area of England and Wales (reads as {code})"
    return code, ""


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    frame, _ = read_csv_strings(path.name, data)
    force_col, peer_cols = _columns(frame.columns)
    if force_col is None or not peer_cols:
        raise FileRefused(path.name, "expected columns force,peer or force,peer_1..peer_7")
    rejects: list[Reject] = []
    pairs: dict[tuple[str, str], None] = {}
    for row_number, row in enumerate(frame.iter_rows(named=True), start=2):
        name = (row[force_col] or "").strip()
        force, why = _resolve_force(name, context)
        if force is None:
            rejects.append(Reject(row_number, force_col, name, why))
            continue
        for column in peer_cols:
            cell = (row[column] or "").strip()
            if not cell:
                continue
            peer, why = _resolve_force(cell, context)
            if peer is None:
                rejects.append(Reject(row_number, column, cell, why))
            elif peer == force:
                rejects.append(Reject(row_number, column, cell,
                                      "a force is not a member of its own group"))
            else:
                pairs[(force, peer)] = None
    vintage = context.default_vintage
    peers = pl.DataFrame(
        {"area_code": [f for f, _ in pairs], "peer_code": [p for _, p in pairs],
         "source": [SPEC.name] * len(pairs), "vintage": [vintage] * len(pairs)},
        schema={"area_code": pl.String, "peer_code": pl.String, "source": pl.String,
                "vintage": pl.String},
    )
    if peers.height == 0:
        why = "no most-similar-group pair could be read"
        if rejects:
            why += f"; first problem: {rejects[0].describe(path.name)}"
        raise FileRefused(path.name, why, rejects)
    forces = peers["area_code"].n_unique()
    return ReadResult(
        table="observations", frame=_empty_observations(), rejects=rejects,
        rows_in=frame.height, source=SPEC.name, vintage=vintage,
        notes=[f"{peers.height} most-similar-group links for {forces} forces replace the "
               "previous list in core.area_peers"],
        raw={RAW_TABLE: peers},
    )


def load_raw(con: duckdb.DuckDBPyConnection, result: ReadResult, run_id: int) -> int:
    """Replace every row of ``core.area_peers`` with the file's (inside its transaction)."""
    peers = result.raw[RAW_TABLE]
    con.execute("DELETE FROM core.area_peers")
    con.register("_msg_peers", peers.to_arrow())
    try:
        con.execute("INSERT INTO core.area_peers (area_code, peer_code, source, vintage) "
                    "SELECT area_code, peer_code, source, vintage FROM _msg_peers")
    finally:
        con.unregister("_msg_peers")
    return peers.height


LOADER = Loader(spec=SPEC, detect=detect, read=read, load_raw=load_raw)
