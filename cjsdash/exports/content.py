"""A pack's content, built once from :mod:`metrics.views`; every renderer lays out the same.

For each indicator of each section: the headline row (the figure for the pack's period, or
the latest before it, as the overview page chooses), the series its chart draws, England and
Wales for the same period (``views.overview`` / ``views.series`` at ``K04000001``), the MSG
average where one is loaded, source, vintage, suppression and synthetic flags.

Disclosure control is the pages' own: :func:`metrics.compute.compute_indicators` suppresses
small counts (and secondary cells) and blanks their numbers before any frame reaches this
module, so no renderer can show a hidden figure. The rounding option
(:attr:`metrics.options.Options.rounding`) is passed through to compute and stated in every
pack, with the suppression rule, by :func:`.pack_notes.disclosure_text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from cjsdash.core.periods import GRAIN_LABELS
from metrics import views
from metrics.options import Options
from metrics.registry import Indicator, Registry
from metrics.views import NATIONAL, AreaChoice, format_value, unit_label

from .cells import is_missing
from .msg_average import MsgInfo, msg_lookup
from .pack_inputs import Commentary, ContentError, PeriodChoice, check_commentary, resolve_period
from .pack_notes import disclosure_text
from .packs import Pack, Placeholder, ResolvedItem, Section, resolve_items

NATIONAL_NAME = "England and Wales"
AREA_KIND_SUFFIX = {"lcjb": " (LCJB)", "force": " (police force area)", "region": " (region)",
                    "country": " (country)"}  # as layouts.components.area_label writes them

# The tidy table every format writes: one row per figure.
FIGURE_COLUMNS: tuple[str, ...] = (
    "pack", "section", "section_title", "indicator", "indicator_title", "area_code",
    "area_name", "grain", "period_label", "period_start", "period_end", "breakdown",
    "numerator", "denominator", "value", "lower", "upper", "level", "unit", "display_value",
    "display_ci", "method", "target", "target_kind", "target_scope", "status",
    "change_on_last_year", "msg_value", "national_value",
    "national_display", "source", "vintage", "suppressed", "suppression_rule", "synthetic",
    "note", "commentary",
)


# --- content ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemContent:
    """One indicator of one section, with everything every format shows."""

    item: ResolvedItem
    indicator: Indicator
    rows: pl.DataFrame  # FIGURE_COLUMNS: the headline (or one row per group when ``by``)
    history: pl.DataFrame  # the area's series up to the period (all groups when ``by``)
    national_history: pl.DataFrame | None  # England and Wales (None when the area is it)
    commentary: tuple[tuple[Placeholder, str], ...]  # (placeholder, text or '')

    @property
    def headline(self) -> dict[str, Any] | None:
        """The headline row, when the item has one figure (not broken down)."""
        if self.item.by is not None or self.rows.height == 0:
            return None
        return self.rows.row(0, named=True)

    @property
    def has_figures(self) -> bool:
        return self.history.height > 0

    @property
    def synthetic(self) -> bool:
        return _any_true(self.rows, self.history, self.national_history)

    @property
    def title(self) -> str:
        return self.indicator.title + (f", by {self.item.by}" if self.item.by else "")


@dataclass(frozen=True)
class SectionContent:
    section: Section
    items: tuple[ItemContent, ...]


@dataclass(frozen=True)
class PackContent:
    pack: Pack
    registry: Registry
    area: AreaChoice
    period: PeriodChoice
    options: Options
    sections: tuple[SectionContent, ...]
    generated: datetime
    vintages: tuple[str, ...]
    synthetic: bool
    msg: MsgInfo = field(default_factory=MsgInfo)
    figures: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def msg_available(self) -> bool:
        return self.msg.available

    @property
    def items(self) -> list[ItemContent]:
        return [item for s in self.sections for item in s.items]

    @property
    def indicators(self) -> list[Indicator]:
        seen: dict[str, Indicator] = {}
        for item in self.items:
            seen.setdefault(item.indicator.id, item.indicator)
        return list(seen.values())

    @property
    def area_label(self) -> str:
        """The area's name with its kind, as the pages label it (Cumbria has an LCJB and a
        police force area of the same name)."""
        return self.area.name + AREA_KIND_SUFFIX.get(self.area.kind, "")

    @property
    def subtitle(self) -> str:
        return f"{self.area_label} · {self.period_text}"

    @property
    def period_text(self) -> str:
        grain = GRAIN_LABELS[self.period.grain].lower()
        if self.period.end is None:
            return f"latest available period ({grain})"
        return f"{self.period.label} ({grain})"

    @property
    def generated_text(self) -> str:
        return self.generated.strftime("%d %B %Y %H:%M")

    def disclosure(self) -> str:
        return disclosure_text(self.options, self.indicators)

    def sources(self) -> list[str]:
        if self.figures.height == 0:
            return []
        return sorted(s for s in self.figures["source"].drop_nulls().unique().to_list() if s)


def _any_true(*frames: pl.DataFrame | None) -> bool:
    return any(f is not None and f.height and "synthetic" in f.columns
               and bool(f["synthetic"].fill_null(False).any()) for f in frames)


def _frames(con: duckdb.DuckDBPyConnection, registry: Registry, area: str, period: PeriodChoice,
            options: Options) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Every indicator's history at the area and at England and Wales, up to the period."""
    _, history = views.overview(con, registry, area, grain=period.grain, period_end=period.end,
                                options=options)
    if area == NATIONAL:
        return history, None
    _, national = views.overview(con, registry, NATIONAL, grain=period.grain,
                                 period_end=period.end, options=options)
    return history, national


def _by_series(con: duckdb.DuckDBPyConnection, registry: Registry, ind: Indicator, area: str,
               by: str, period: PeriodChoice, options: Options
               ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    codes = [area] if area == NATIONAL else [area, NATIONAL]
    frame = views.series(con, registry, ind.id, codes, grain=period.grain, by=by,
                         options=options)
    if frame.height and period.end is not None:
        frame = frame.filter(pl.col("period_end") <= period.end)
    if frame.height:
        frame = frame.filter(pl.col("breakdown") != "")
    area_rows = frame.filter(pl.col("area_code") == area) if frame.height else frame
    national = None
    if area != NATIONAL:
        national = frame.filter(pl.col("area_code") == NATIONAL) if frame.height else frame
    return area_rows, national


def _latest(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.height == 0:
        return frame
    return frame.filter(pl.col("period_end") == pl.col("period_end").max())


def _commentary_text(item: ResolvedItem, commentary: Commentary) -> tuple[tuple[Placeholder, str],
                                                                           ...]:
    given = commentary.get(item.indicator, {})
    return tuple((p, given.get(p.id, "")) for p in item.commentary)


def _rows(ind: Indicator, current: pl.DataFrame, national: pl.DataFrame | None, *,
          pack: Pack, section: Section, area: AreaChoice, period: PeriodChoice,
          commentary: tuple[tuple[Placeholder, str], ...], msg: MsgInfo
          ) -> list[dict[str, Any]]:
    """The tidy rows of one item: the area's figures for the period, with E&W beside them,
    and the change on last year worded as every page words it."""
    from metrics.analysis.changes import change_on_last_year
    national_by_key: dict[tuple, dict[str, Any]] = {}
    if national is not None and national.height:
        for r in national.iter_rows(named=True):
            national_by_key[(r["period_start"], r["period_end"], r["breakdown"] or "")] = r
    notes = "; ".join(f"{p.label}: {text}" for p, text in commentary if text)
    base = {"pack": pack.id, "section": section.id, "section_title": section.title,
            "indicator": ind.id, "indicator_title": ind.title, "area_code": area.code,
            "area_name": area.name, "grain": period.grain, "unit": unit_label(ind),
            "commentary": notes, "msg_value": None}
    out: list[dict[str, Any]] = []
    for r in current.iter_rows(named=True):
        nat = r if national is None else national_by_key.get(
            (r["period_start"], r["period_end"], r["breakdown"] or ""))
        suppressed = bool(r["suppressed"])
        note = r.get("note") or ""
        row = {**base, **{c: r.get(c) for c in (
            "period_label", "period_start", "period_end", "breakdown", "numerator",
            "denominator", "value", "lower", "upper", "level", "display_value", "display_ci",
            "method", "target", "target_kind", "target_scope", "status", "source", "vintage",
            "synthetic")}}
        row.update(
            breakdown=r["breakdown"] or "",
            value=None if is_missing(r["value"]) else r["value"],
            suppressed=suppressed,
            suppression_rule=note.split(";")[0].removeprefix("suppressed: ")
            if suppressed else "",
            note=note,
            msg_value=None if r["breakdown"] else msg.values.get((ind.id, r["period_end"])),
            national_value=None if nat is None or is_missing(nat["value"]) else nat["value"],
            national_display="" if nat is None else format_value(
                nat["value"], ind, suppressed=bool(nat["suppressed"])),
            synthetic=bool(r["synthetic"]) or bool(nat and nat["synthetic"]),
            change_on_last_year=change_on_last_year(r, ind).short,
        )
        out.append(row)
    if not out:
        out.append({**base, "period_label": period.label, "breakdown": "",
                    "display_value": format_value(None, ind), "display_ci": "",
                    "status": "no data", "suppressed": False, "synthetic": False,
                    "suppression_rule": "", "national_display": "", "change_on_last_year": "",
                    "note": "no figures for this area and grain up to this period"})
    return out


def _item(con: duckdb.DuckDBPyConnection, registry: Registry, item: ResolvedItem, *,
          pack: Pack, section: Section, area: AreaChoice, period: PeriodChoice,
          options: Options, history: pl.DataFrame, national: pl.DataFrame | None,
          commentary: Commentary, msg: MsgInfo) -> tuple[ItemContent, list[dict[str, Any]]]:
    ind = registry.get(item.indicator)
    if item.by is not None:
        mine, theirs = _by_series(con, registry, ind, area.code, item.by, period, options)
    else:
        mine = history.filter(pl.col("indicator") == ind.id) if history.height else history
        theirs = (national.filter(pl.col("indicator") == ind.id)
                  if national is not None and national.height else national)
    texts = _commentary_text(item, commentary)
    rows = _rows(ind, _latest(mine), theirs, pack=pack, section=section, area=area,
                 period=period, commentary=texts, msg=msg)
    content = ItemContent(item=item, indicator=ind, rows=pl.DataFrame(rows, schema=_SCHEMA),
                          history=mine, national_history=theirs, commentary=texts)
    return content, rows


_SCHEMA: dict[str, Any] = {c: pl.String for c in FIGURE_COLUMNS} | {
    c: pl.Float64 for c in ("numerator", "denominator", "value", "lower", "upper", "level",
                            "target", "msg_value", "national_value")
} | {"period_start": pl.Date, "period_end": pl.Date, "suppressed": pl.Boolean,
     "synthetic": pl.Boolean}


def build_content(
    con: duckdb.DuckDBPyConnection, registry: Registry, pack: Pack, *, area: str,
    period: str | date | None = "latest", grain: str | None = None,
    options: Options | None = None,
    commentary: Commentary | None = None, generated: datetime | None = None,
    with_msg: bool = True,
) -> PackContent:
    """The pack's content for one area and period: computed once, rendered by every format.

    ``with_msg``: add the MSG average (needs every area of the kind computed: about a second,
    cached per data version)."""
    options = options or Options()
    commentary = commentary or {}
    choice = views.resolve_area(con, area)
    if choice is None:
        raise ContentError(f"unknown area '{area}'")
    chosen = resolve_period(period, grain=grain, default_grain=pack.grain)
    resolved = [(s, resolve_items(pack, s, registry)) for s in pack.sections]
    by_indicator: dict[str, list[ResolvedItem]] = {}
    for _, items in resolved:
        for item in items:
            by_indicator.setdefault(item.indicator, []).append(item)
    unknown = sorted(i for i in by_indicator if i not in {x.id for x in registry.indicators})
    if unknown:
        raise ContentError(f"pack '{pack.id}' names unknown indicators: {', '.join(unknown)} "
                           "(run `cjsdash validate`)")
    check_commentary(commentary, by_indicator)
    history, national = _frames(con, registry, choice.code, chosen, options)
    wanted = history.filter(pl.col("indicator").is_in(list(by_indicator))) if history.height \
        else history
    msg = msg_lookup(con, registry, choice, wanted, chosen.grain) if (
        with_msg and choice.code != NATIONAL) else MsgInfo()
    sections: list[SectionContent] = []
    all_rows: list[dict[str, Any]] = []
    for section, items in resolved:
        contents = []
        for item in items:
            content, rows = _item(con, registry, item, pack=pack, section=section, area=choice,
                                  period=chosen, options=options, history=history,
                                  national=national, commentary=commentary, msg=msg)
            contents.append(content)
            all_rows.extend(rows)
        sections.append(SectionContent(section, tuple(contents)))
    figures = pl.DataFrame(all_rows, schema=_SCHEMA).select(FIGURE_COLUMNS)
    return PackContent(
        pack=pack, registry=registry, area=choice, period=chosen, options=options,
        sections=tuple(sections), generated=generated or datetime.now().replace(microsecond=0),
        vintages=tuple(views.vintages(figures)), synthetic=_any_true(figures), msg=msg, figures=figures,
    )


# --- download names ---------------------------------------------------------------------------

def slug(text: str) -> str:
    """A file-name-safe slug (for download names; never a path from the user)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60] or "pack"


def default_filename(content: PackContent, fmt: str) -> str:
    period = "latest" if content.period.end is None else content.period.label
    return f"{content.pack.id}_{content.area.code}_{slug(period)}.{fmt}"
