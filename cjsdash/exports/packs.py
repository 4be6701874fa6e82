"""Board packs declared in YAML: sections → indicators → chart kind → commentary placeholders.

A pack file (``cjsdash/exports/packs/<id>.yaml``)::

    id: lcjb_default
    title: Local Criminal Justice Board performance pack
    description: The four themes of the Criminal Justice Strategic Plan.
    grain: fquarter                 # used when --period does not say (e.g. "latest")
    commentary:                     # placeholders every indicator gets by default
      - {id: summary, label: What the board should note, prompt: Two or three sentences.}
    sections:
      - id: justice
        title: Effective in bringing offences to justice
        short_title: Justice        # optional (≤ 27 characters): the Excel sheet's name;
                                    # default the title if short, else the theme's
        theme: justice              # optional: the registry theme it reports
        chart: sparkline            # the default chart kind of the section's items
        all_of_theme: true          # optional: every indicator of the theme not listed below
        indicators:
          - {indicator: obtj, chart: trend}
          - obtj_serious            # shorthand: the section's chart kind
          - {indicator: stop_search_rate, by: ethnicity, chart: table}

Chart kinds: ``trend`` (the indicator page's trend chart, or its breakdown chart when ``by``
is given), ``sparkline`` (the scorecard's sparkline) and ``table`` (figures only). Packs are
data: :func:`validate_packs` checks every shipped pack against the registry with named rules
(``cjsdash validate`` lists their problems with the registry's).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from metrics.registry import YAML_LOADER, Indicator, Registry
from metrics.rules import Problem

PACKS_DIR = Path(__file__).resolve().parent / "packs"
PACK_ID = r"^[a-z][a-z0-9_]*$"

ChartKind = Literal["trend", "table", "sparkline"]
Grain = Literal["month", "quarter", "fquarter", "fy", "year", "r12"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Placeholder(_Strict):
    """A commentary field the pack leaves for its producer (filled by ``--commentary``)."""

    id: str = Field(pattern=PACK_ID)
    label: str = Field(min_length=1, max_length=80)
    prompt: str = Field(default="", max_length=400)


class PackItem(_Strict):
    indicator: str
    chart: ChartKind | None = None  # None: the section's chart kind
    by: str | None = None  # a breakdown the indicator declares, e.g. ethnicity
    commentary: tuple[Placeholder, ...] | None = None  # None: the pack's placeholders


class Section(_Strict):
    id: str = Field(pattern=PACK_ID)
    title: str = Field(min_length=1, max_length=120)
    short_title: str | None = Field(default=None, max_length=27)  # e.g. Excel's sheet name
    theme: str | None = None
    intro: str = ""
    chart: ChartKind = "trend"
    all_of_theme: bool = False
    indicators: tuple[PackItem, ...] = ()

    @field_validator("indicators", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``- obtj`` is ``- {indicator: obtj}``."""
        if isinstance(value, list | tuple):
            return [{"indicator": v} if isinstance(v, str) else v for v in value]
        return value


class Pack(_Strict):
    id: str = Field(pattern=PACK_ID)
    title: str = Field(min_length=1, max_length=120)
    description: str = ""
    audience: str = ""
    grain: Grain = "fquarter"
    commentary: tuple[Placeholder, ...] = ()
    sections: tuple[Section, ...] = Field(min_length=1)


class PackError(ValueError):
    """A pack that cannot be found or read."""


# --- resolved items: what content.py iterates ---------------------------------------------

class ResolvedItem(_Strict):
    """One indicator of a section with every default filled in."""

    indicator: str
    chart: ChartKind
    by: str | None
    commentary: tuple[Placeholder, ...]


def resolve_items(pack: Pack, section: Section, registry: Registry) -> list[ResolvedItem]:
    """The section's items: listed ones first, then (``all_of_theme``) the rest of its theme."""
    items = [
        ResolvedItem(indicator=i.indicator, chart=i.chart or section.chart, by=i.by,
                     commentary=pack.commentary if i.commentary is None else i.commentary)
        for i in section.indicators
    ]
    if section.all_of_theme and section.theme:
        listed = {i.indicator for i in section.indicators if i.by is None}
        items.extend(
            ResolvedItem(indicator=ind.id, chart=section.chart, by=None,
                         commentary=pack.commentary)
            for ind in registry.indicators
            if ind.theme == section.theme and ind.id not in listed
        )
    return items


def draws_charts(pack: Pack) -> bool:
    """Whether any item is a ``trend`` chart (PowerPoint and PDF then need kaleido)."""
    return any((section.all_of_theme and section.chart == "trend")
               or any((i.chart or section.chart) == "trend" for i in section.indicators)
               for section in pack.sections)


# --- loading ----------------------------------------------------------------------------------

def list_packs(directory: Path = PACKS_DIR) -> list[str]:
    """The ids of the packs shipped in ``directory`` (file stems), sorted."""
    return sorted(p.stem for p in directory.glob("*.yaml") if re.match(PACK_ID, p.stem))


def _describe(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()]


def read_pack(path: Path) -> Pack:
    """Read one pack file; :class:`PackError` lists every problem in it. A file read before
    and unchanged since (same size and modification time) is not parsed again: the /export
    page lists every pack on each view (a pack is frozen, so sharing it is safe)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise PackError(f"{path.name}: cannot be read: {exc.strerror}") from exc
    return _read_pack(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _read_pack(path: Path, _mtime_ns: int, _size: int) -> Pack:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except OSError as exc:
        raise PackError(f"{path.name}: cannot be read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise PackError(f"{path.name}: not valid YAML: {exc}") from exc
    try:
        return Pack.model_validate(raw)
    except ValidationError as exc:
        raise PackError(f"{path.name}: " + "; ".join(_describe(exc))) from exc


def load_pack(name: str, directory: Path = PACKS_DIR) -> Pack:
    """A shipped pack by id (``lcjb_default``), or a pack file by path (``my_pack.yaml``).

    The web page passes only ids from :func:`list_packs`; a path is for the command line.
    """
    if re.match(PACK_ID, name):
        path = directory / f"{name}.yaml"
        if not path.is_file():
            raise PackError(f"no pack '{name}' (shipped packs: {', '.join(list_packs(directory))})")
        return read_pack(path)
    path = Path(name)
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        return read_pack(path)
    raise PackError(f"'{name}' is neither a pack id ({', '.join(list_packs(directory))}) "
                    "nor a pack .yaml file")


# --- validation against the registry ----------------------------------------------------------

def _known(registry: Registry, indicator_id: str) -> Indicator | None:
    return next((i for i in registry.indicators if i.id == indicator_id), None)


def check_pack(pack: Pack, registry: Registry, *, file_stem: str | None = None
               ) -> Iterator[Problem]:
    """Every problem with one pack, by named rule (subject ``pack:<id>``)."""
    subject = f"pack:{pack.id}"
    if file_stem is not None and file_stem != pack.id:
        yield Problem("pack_id_matches_file", subject, f"declared in {file_stem}.yaml")
    themes = {t.id for t in registry.themes}
    for name, n in Counter(s.id for s in pack.sections).items():
        if n > 1:
            yield Problem("pack_ids_unique", subject, f"section '{name}' declared {n} times")
    for name, n in Counter(p.id for p in pack.commentary).items():
        if n > 1:
            yield Problem("pack_ids_unique", subject, f"placeholder '{name}' declared {n} times")
    for section in pack.sections:
        where = f"{subject}/{section.id}"
        if section.theme is not None and section.theme not in themes:
            yield Problem("pack_themes_known", where, f"theme '{section.theme}' is not in "
                          f"themes.yaml ({', '.join(sorted(themes))})")
        if section.all_of_theme and section.theme is None:
            yield Problem("pack_themes_known", where, "all_of_theme needs a theme")
        yield from _check_items(section, registry, where)
        if not section.indicators and not (section.all_of_theme and section.theme in themes):
            yield Problem("pack_not_empty", where, "the section has no indicators")


def _check_items(section: Section, registry: Registry, where: str) -> Iterator[Problem]:
    for (ident, by), n in Counter((i.indicator, i.by) for i in section.indicators).items():
        if n > 1:
            yield Problem("pack_ids_unique", where,
                          f"indicator '{ident}'{f' by {by}' if by else ''} listed {n} times")
    for item in section.indicators:
        ind = _known(registry, item.indicator)
        if ind is None:
            yield Problem("pack_indicators_known", where,
                          f"no indicator '{item.indicator}' in the registry")
            continue
        if item.by is not None and item.by not in ind.breakdowns:
            declared = ", ".join(ind.breakdowns) or "none"
            yield Problem("pack_breakdowns_declared", where,
                          f"{ind.id} is not broken down by '{item.by}' (declared: {declared})")
        for name, n in Counter(p.id for p in item.commentary or ()).items():
            if n > 1:
                yield Problem("pack_ids_unique", where,
                              f"{ind.id}: placeholder '{name}' declared {n} times")


def validate_packs(registry: Registry, directory: Path = PACKS_DIR) -> list[Problem]:
    """Read every pack in ``directory`` and check it against ``registry``; every problem."""
    problems: list[Problem] = []
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        problems.append(Problem("pack_readable", str(directory), "no pack files found"))
    for path in paths:
        try:
            pack = read_pack(path)
        except PackError as exc:
            problems.append(Problem("pack_readable", f"pack:{path.stem}", str(exc)))
            continue
        problems.extend(check_pack(pack, registry, file_stem=path.stem))
    return problems
