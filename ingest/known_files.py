"""Files analysts have beside their data that cjsdash knows but does not load: refused, each
with the reason a person would give, rather than "not a format cjsdash recognises".

Each is recognised by its exact header (CSV) or by its published name (ODS tables whose first
sheet is a cover page). Nothing is read from them; the refusal is logged like any other
(``meta.runs``), so a folder of downloads says what became of every file.
"""

from __future__ import annotations

from pathlib import Path

from ingest.base import FileRefused, Loader, ReadContext, ReadResult, SourceSpec

SPEC = SourceSpec(
    name="known_unloaded",
    title="Known files that cjsdash does not load (refused with the reason)",
    publisher="various",
    licence="n/a",
    kind="published",
    priority=0,
    required_columns=(),
    file_types=(".csv", ".ods"),
)

_HEADERS: dict[str, str] = {
    "Region,White,Mixed,Asian,Black,Other":
        "Census 2011 populations by region: cjsdash makes regions and England and Wales by "
        "adding up police force areas, so a region's own population is not loaded (it "
        "would count people twice); load the local-authority or force-area table instead",
    "Police force,White,Black (or Black British),Asian (or Asian British),Chinese,Mixed,Other":
        "Census 2011 populations regrouped by a third party into the police's officer-defined "
        "groups: cjsdash divides by ONS's own self-defined groups (the local-authority table "
        "or force-demographics_DERIVED.csv), and says which population it used",
    "nomis_code,ethnicity_19,ethnicity_5,source_label":
        "a code list (Nomis ethnic-group codes to five groups), not data: cjsdash ships its "
        "own mapping (ingest/census_populations.py)",
    "force_id,name,pfa_code,pfa_name,country,notes":
        "a list of police forces, not data: cjsdash ships its own area reference "
        "(cjsdash/core/reference/)",
    "id,Label,Population 2010":
        "a third party's list of forces with 2010 populations that ONS did not publish in "
        "this form: cjsdash divides by Census populations (2011 or 2021, shown on each rate)",
    "LAD16CD,LAD16NM,CSP16CD,CSP16NM,PFA16CD,PFA16NM,FID":
        "a geography lookup, not data: cjsdash ships this lookup "
        "(ingest/reference/lad16_csp16_pfa16.csv) and uses it to add districts up to forces",
}

_ODS_NAMES: dict[str, str] = {
    "police-workforce":
        "Home Office police workforce tables (officer and staff numbers): no indicator in the "
        "registry is built on police workforce",
    "police-use-of-force":
        "Home Office police use of force tables: no indicator in the registry is built on "
        "use of force (its ethnicity breakdown is of incidents, not people, so it cannot "
        "join the disproportionality stages)",
}


def _first_line(data: bytes) -> str:
    end = data.find(b"\n", 0, 4096)
    line = data[: end if end >= 0 else 4096].removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")
    return line.decode("utf-8", errors="replace").replace('"', "")


def _reason(path: Path, data: bytes) -> str | None:
    if path.suffix.lower() == ".ods" and data.startswith(b"PK"):
        name = path.name.lower()
        return next((why for key, why in _ODS_NAMES.items() if name.startswith(key)), None)
    return _HEADERS.get(_first_line(data))


def detect(path: Path, data: bytes) -> bool:
    return _reason(path, data) is not None


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    raise FileRefused(path.name, f"known, not loaded: {_reason(path, data)}")


LOADER = Loader(spec=SPEC, detect=detect, read=read)
