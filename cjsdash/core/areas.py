"""Reference geography: police force areas, LCJBs, regions, countries and England & Wales.

Codes are ONS GSS codes wherever ONS publishes one: police force areas E23000001..E23000039 and
W15000001..W15000004, English regions E12, England E92000001, Wales W92000004, England and
Wales K04000001, and PSNI N23000001. ONS has no code list for local criminal justice boards
(criminal justice areas), so they carry minted codes ``CJA`` + the two-digit CJS Data Standards
force ("FF") code: CJA03 is Cumbria, and CJA01 London covers the Metropolitan Police and City of
London (FF 48) forces. British Transport Police has no ONS code at all: it is ``BTP``. BTP and
PSNI are kind ``other``: outside England & Wales and outside every footprint.

An area's footprint is the set of England & Wales forces it covers. Two areas with the same
footprint (force Cumbria and LCJB CJA03; region London and LCJB CJA01) are twins: a figure
published for one stands for the other (see ``core.area_sources``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

REFERENCE_DIR = Path(__file__).with_name("reference")
_OPTIONAL = ("region_code", "country_code", "lcjb_code", "cjs_ff_code")
AREA_COLUMNS = ("code", "name", "kind", *_OPTIONAL, "in_england_wales", "sort_key")
_AREA_SCHEMA = {c: pl.Utf8 for c in AREA_COLUMNS} | {
    "in_england_wales": pl.Boolean,
    "sort_key": pl.Int64,
}
KINDS = ("national", "country", "region", "lcjb", "force", "other")
# When one spelling names several areas ("Cumbria": force and LCJB), the first kind here wins.
_PRECEDENCE = {"force": 0, "lcjb": 1, "region": 2, "country": 3, "national": 4, "other": 5}
# A trailing one of these asks for the LCJB (longest first).
_LCJB_SUFFIXES = ("local criminal justice board", "criminal justice board", "criminal justice area")
_LCJB_SUFFIXES += ("lcjb", "cja")
_TRAILING_WORDS = frozenset({"police", "constabulary", "service"})
_SEPARATORS = re.compile(r"[-_,.]")


def normalise_area_name(text: str) -> str:
    """The matching key of a spelling: "Devon & Cornwall Police" -> "devon and cornwall"."""
    text = text.replace("\ufeff", "").casefold().replace("&", " and ")
    words = _SEPARATORS.sub(" ", text).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in _TRAILING_WORDS:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    kind: str
    region_code: str | None
    country_code: str | None
    lcjb_code: str | None
    cjs_ff_code: str | None
    in_england_wales: bool
    sort_key: int
    force_codes: tuple[str, ...]
    """The footprint: the England & Wales force codes the area covers (empty for ``other``)."""


class AreaIndex:
    """Every reference area with its aliases; resolves the spellings publishers use."""

    def __init__(self, areas: Iterable[Area], aliases: Iterable[tuple[str, str, str]]) -> None:
        self.areas: tuple[Area, ...] = tuple(sorted(areas, key=lambda a: a.sort_key))
        self._by_code = {a.code: a for a in self.areas}
        self._by_upper = {a.code.upper(): a.code for a in self.areas}
        rows = [(a.code, a.code, "code") for a in self.areas]
        rows += [(a.code, a.name, "cjsdash areas.csv") for a in self.areas]
        for code, alias, seen_in in aliases:
            if code not in self._by_code:
                raise ValueError(f"alias {alias!r} names unknown area code {code!r}")
            rows.append((code, alias, seen_in))
        self._aliases = tuple(rows)
        by_key: dict[str, set[str]] = {}
        for code, alias, _ in rows:
            by_key.setdefault(normalise_area_name(alias), set()).add(code)
        self._by_key = {k: sorted(v, key=self._rank) for k, v in by_key.items()}
        by_footprint: dict[tuple[str, ...], list[Area]] = {}
        for a in self.areas:
            if a.force_codes:
                by_footprint.setdefault(a.force_codes, []).append(a)
        self._by_footprint = by_footprint

    def _rank(self, code: str) -> tuple[int, int]:
        area = self._by_code[code]
        return _PRECEDENCE[area.kind], area.sort_key

    @classmethod
    def from_reference(cls, folder: Path | None = None) -> AreaIndex:
        """Read ``areas.csv`` and ``area_aliases.csv`` (default: the package's reference folder)."""
        folder = folder or REFERENCE_DIR
        with open(folder / "areas.csv", encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        with open(folder / "area_aliases.csv", encoding="utf-8-sig", newline="") as f:
            aliases = [(r["code"], r["alias"], r["seen_in"]) for r in csv.DictReader(f)]
        forces = [r for r in rows if r["kind"] == "force"]
        footprint_column = {"lcjb": "lcjb_code", "region": "region_code", "country": "country_code"}
        areas = []
        for r in rows:
            kind = r["kind"]
            if kind not in KINDS:
                raise ValueError(f"areas.csv: area {r['code']} has unknown kind {kind!r}")
            if kind == "force":
                footprint: tuple[str, ...] = (r["code"],)
            elif kind == "other":
                footprint = ()
            else:  # lcjb, region, country: forces pointing at it; national: every force
                column = footprint_column.get(kind)
                footprint = tuple(
                    sorted(f["code"] for f in forces if column is None or f[column] == r["code"])
                )
                if not footprint:
                    raise ValueError(f"areas.csv: {kind} {r['code']} covers no force")
            optional = {c: r[c] or None for c in _OPTIONAL}
            in_ew = r["in_england_wales"].strip().lower() == "true"
            area = Area(r["code"], r["name"], kind, **optional, in_england_wales=in_ew,
                        sort_key=int(r["sort_key"]), force_codes=footprint)  # fmt: skip
            areas.append(area)
        return cls(areas, aliases)

    def get(self, code: str) -> Area:
        try:
            return self._by_code[code]
        except KeyError:
            hint = self.resolve(code) if isinstance(code, str) else None
            tip = f" (did you mean {hint!r}?)" if hint else " (resolve() maps names to codes)"
            raise KeyError(f"unknown area code {code!r}{tip}") from None

    def resolve(self, name_or_code: str) -> str | None:
        """The area code a code or spelling names, or None.

        An exact code (any case) wins; then the normalised alias, preferring a force over its
        twin LCJB ("Cumbria" is the force). A trailing "LCJB", "CJA" or "criminal justice area"
        asks for the LCJB: "Cumbria LCJB" is CJA03 and "Metropolitan CJA" is CJA01.
        """
        text = (name_or_code or "").replace("\ufeff", "").strip()
        if not text:
            return None
        if (code := self._by_upper.get(text.upper())) is not None:
            return code
        key = normalise_area_name(text)
        if codes := self._by_key.get(key):
            return codes[0]
        for suffix in _LCJB_SUFFIXES:
            if key.endswith(" " + suffix):
                base = normalise_area_name(key[: -len(suffix)])
                for area in (self._by_code[c] for c in self._by_key.get(base, [])):
                    if area.kind == "lcjb":
                        return area.code
                    if area.kind == "force":
                        return area.lcjb_code
                return None
        return None

    def twins(self, code: str) -> tuple[Area, ...]:
        """The other areas with exactly this area's (non-empty) footprint."""
        area = self.get(code)
        return tuple(a for a in self._by_footprint.get(area.force_codes, []) if a.code != code)

    def alias_frame(self) -> pl.DataFrame:
        """``core.area_aliases`` rows: one per (alias_key, code); seen_in lists every source."""
        merged: dict[tuple[str, str], tuple[str, list[str]]] = {}
        for code, alias, seen_in in self._aliases:
            alias_key = normalise_area_name(alias)
            _, sources = merged.setdefault((alias_key, code), (alias, []))
            for source in seen_in.split("; "):
                if source not in sources:
                    sources.append(source)
        return pl.DataFrame(
            [(k, alias, code, "; ".join(s)) for (k, code), (alias, s) in merged.items()],
            schema=["alias_key", "alias", "code", "seen_in"],
            orient="row",
        )

    def areas_frame(self) -> pl.DataFrame:
        """``core.areas`` rows, sorted by sort_key."""
        return pl.DataFrame(
            [tuple(getattr(a, c) for c in AREA_COLUMNS) for a in self.areas],
            schema=_AREA_SCHEMA,
            orient="row",
        )

    def footprint_frame(self) -> pl.DataFrame:
        """``core.area_footprints`` rows: (area_code, force_code)."""
        return pl.DataFrame(
            [(a.code, f) for a in self.areas for f in a.force_codes],
            schema=["area_code", "force_code"],
            orient="row",
        )

    def sources_frame(self) -> pl.DataFrame:
        """``core.area_sources`` rows: (area_code, strategy, source_area_code, set_size)."""
        return pl.DataFrame(
            list(self._source_rows()),
            schema={
                "area_code": pl.Utf8,
                "strategy": pl.Int32,
                "source_area_code": pl.Utf8,
                "set_size": pl.Int32,
            },
            orient="row",
        )

    def _source_rows(self) -> Iterator[tuple[str, int, str, int]]:
        lcjbs = [a for a in self.areas if a.kind == "lcjb"]
        for area in self.areas:
            yield area.code, 0, area.code, 1
            footprint = set(area.force_codes)
            if not footprint:
                continue
            for twin in self.twins(area.code):
                yield area.code, 1, twin.code, 1
            if len(footprint) >= 2:
                for force in area.force_codes:
                    yield area.code, 2, force, len(footprint)
            inside = [b for b in lcjbs if b.code != area.code and set(b.force_codes) <= footprint]
            covered = {f for b in inside for f in b.force_codes}
            if len(inside) >= 2 and covered == footprint:
                for lcjb in inside:
                    yield area.code, 3, lcjb.code, len(inside)


# Constant SQL only: the rows travel in a registered frame, never formatted into the text.
_LOAD_STATEMENTS = (
    ("DELETE FROM core.areas",
     "INSERT INTO core.areas BY NAME SELECT * FROM _cjsdash_area_ref",
     "areas_frame"),
    ("DELETE FROM core.area_aliases",
     "INSERT INTO core.area_aliases BY NAME SELECT * FROM _cjsdash_area_ref",
     "alias_frame"),
    ("DELETE FROM core.area_footprints",
     "INSERT INTO core.area_footprints BY NAME SELECT * FROM _cjsdash_area_ref",
     "footprint_frame"),
    ("DELETE FROM core.area_sources",
     "INSERT INTO core.area_sources BY NAME SELECT * FROM _cjsdash_area_ref",
     "sources_frame"),
)  # fmt: skip


def load_reference_areas(con: duckdb.DuckDBPyConnection, index: AreaIndex) -> None:
    """Replace the four reference-geography tables, inside the caller's transaction."""
    for delete, insert, frame_method in _LOAD_STATEMENTS:
        frame = getattr(index, frame_method)()
        con.execute(delete)
        con.register("_cjsdash_area_ref", frame)
        try:
            con.execute(insert)
        finally:
            con.unregister("_cjsdash_area_ref")
    con.execute("DELETE FROM core.area_twins")
    con.execute(TWINS_SQL)


TWINS_SQL = """
INSERT INTO core.area_twins
WITH fp AS (
    SELECT a.code, coalesce(list_sort(list(f.force_code)), [a.code]) AS forces
    FROM core.areas AS a LEFT JOIN core.area_footprints AS f ON f.area_code = a.code
    GROUP BY a.code
)
SELECT x.code, y.code, CASE WHEN x.code = y.code THEN 0 ELSE 1 END
FROM fp AS x JOIN fp AS y ON x.forces = y.forces
"""
"""Every area paired with itself (preference 0) and each twin (1): who can fill its slot."""
