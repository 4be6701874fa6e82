"""A pack's content, built once from :mod:`metrics.views`; every renderer lays out the same.

For each indicator of each section: the headline row (the figure for the pack's period, or
the latest before it, as the overview page chooses), the series its chart draws, England and
Wales for the same period (``views.overview`` / ``views.series`` at ``K04000001``), the MSG
average where one is loaded, source, vintage, suppression and synthetic flags.

Disclosure control is the pages' own: :func:`metrics.compute.compute_indicators` suppresses
small counts (and secondary cells) and blanks their numbers before any frame reaches this
module, so no renderer can show a hidden figure. The rounding option
(:attr:`metrics.options.Options.rounding`) is passed through to compute and stated in every
pack, with the suppression rule, by :func:`disclosure_text`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import yaml

from cjsdash import OGL_ATTRIBUTION
from cjsdash.core.periods import (
    GRAIN_LABELS,
    GRAINS,
    PeriodError,
    bucket_start,
    grain_of,
    label_period,
    parse_period,
)
from layouts import theme
from metrics import views
from metrics.options import Options
from metrics.registry import Indicator, Registry
from metrics.statistics import peers
from metrics.views import NATIONAL, AreaChoice, format_value, unit_label
from metrics.wording import CI_WORDS, POLARITY_WORDS

from .packs import Pack, Placeholder, ResolvedItem, Section, resolve_items

SYNTHETIC_TEXT = (f"{theme.SYNTHETIC_MARK} Synthetic demo data: figures marked "
                  f"{theme.SYNTHETIC_MARK} are generated, not real.")
MSG_UNAVAILABLE = "MSG average: not available for this area."
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


class ContentError(ValueError):
    """The pack cannot be built for this choice (unknown area, unreadable period …)."""


# --- periods ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeriodChoice:
    grain: str
    end: date | None  # None: the latest available for each indicator
    label: str


_FQUARTER = re.compile(r"(?:fy\s*)?\d{4}\s*[-/]\s*\d{2,4}\s*q[1-4]", re.I)
_YEAR_ENDING = re.compile(r"(?:the\s+)?(?:year|12 months)\s+(?:ending|to)\s", re.I)


def resolve_period(text: str | date | None, *, grain: str | None = None,
                   default_grain: str = "fquarter") -> PeriodChoice:
    """``"2024-25 Q1"`` → financial quarter ending 30 June 2024; ``"latest"`` → each
    indicator's latest period at ``grain`` (or the pack's grain); a ``date`` → the period of
    ``grain`` ending then (the web page's period choices).

    The grain is the one the label names (2024-25: financial year; 2024 Q2: calendar quarter;
    Jun 2024: month; year ending June 2024: rolling 12 months) unless ``grain`` is given.
    """
    if grain is not None and grain not in GRAINS:
        raise ContentError(f"unknown grain '{grain}' (one of {', '.join(GRAINS)})")
    if isinstance(text, date):
        chosen = grain or default_grain
        start = bucket_start(text, chosen)
        return PeriodChoice(chosen, text, label_period(start, text, chosen))
    text = (text or "latest").strip()
    if text.lower() in ("latest", ""):
        chosen = grain or default_grain
        return PeriodChoice(chosen, None, "latest available")
    try:
        period = parse_period(text)
    except PeriodError as exc:
        raise ContentError(str(exc)) from exc
    if _YEAR_ENDING.match(text):
        natural = "r12"
    elif _FQUARTER.fullmatch(" ".join(text.split())):
        natural = "fquarter"
    else:
        natural = grain_of(period.start, period.end)
    chosen = grain or natural
    if chosen == "other":
        raise ContentError(f"'{text}' is not a month, quarter or year: name the period as "
                           "2024-25 Q1, 2024-25, Jun 2024 or year ending June 2024")
    return PeriodChoice(chosen, period.end, label_period(period.start, period.end, natural))


# --- commentary -------------------------------------------------------------------------------

Commentary = Mapping[str, Mapping[str, str]]
MAX_COMMENTARY = 4000


def load_commentary(path: Path) -> dict[str, dict[str, str]]:
    """Commentary for the placeholders: ``{indicator id: {placeholder id: text}}`` in YAML."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path.name}: cannot read commentary: {exc}") from exc
    try:
        return clean_commentary(raw)
    except ContentError as exc:
        raise ContentError(f"{path.name}: {exc}") from exc


def clean_commentary(raw: object) -> dict[str, dict[str, str]]:
    """``{indicator id: {placeholder id: text}}`` with every text a string of at most
    MAX_COMMENTARY characters and empty texts dropped (from a YAML file or the /export page)."""
    if not isinstance(raw, Mapping):
        raise ContentError("expected indicator id → placeholder id → text")
    out: dict[str, dict[str, str]] = {}
    for ind, fields in raw.items():
        if not isinstance(fields, Mapping):
            raise ContentError(f"{ind}: expected placeholder id → text")
        kept = {str(k): str(v)[:MAX_COMMENTARY] for k, v in fields.items()
                if v is not None and str(v).strip()}
        if kept:
            out[str(ind)] = kept
    return out


def _check_commentary(commentary: Commentary, items: dict[str, list[ResolvedItem]]) -> None:
    unknown: list[str] = []
    for ind, fields in commentary.items():
        placeholders = {p.id for item in items.get(ind, []) for p in item.commentary}
        if ind not in items:
            unknown.append(f"{ind} (not in this pack)")
        unknown.extend(f"{ind}.{k} (no such placeholder)" for k in fields if k not in placeholders)
    if unknown:
        raise ContentError("commentary for unknown fields: " + ", ".join(unknown))


# --- content ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MsgInfo:
    """The area's most similar group and its weighted averages, by (indicator, period end)."""

    label: str = ""
    members: tuple[str, ...] = ()
    values: dict[tuple[str, date], float] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return bool(self.members)

    def describe(self) -> str:
        if not self.available:
            return MSG_UNAVAILABLE if not self.label else f"MSG average: none ({self.label})."
        return (f"{peers.WEIGHTED_LABEL}; the group: {self.label}: "
                + ", ".join(self.members) + ". Counts and amounts of money are totals that "
                "grow with the area, so they have no MSG average here.")


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


def _msg_lookup(con: duckdb.DuckDBPyConnection, registry: Registry, area: AreaChoice,
                history: pl.DataFrame, grain: str) -> MsgInfo:
    """The weighted MSG average (including the area, as the baseline page computes it) for
    each indicator at its headline period. Reads the peer group and every area's figures
    through :mod:`metrics.analysis` (cached there per data version)."""
    try:
        from metrics import analysis
    except ImportError:  # pragma: no cover - a build without the analysis module
        return MsgInfo()
    cursor = con.cursor()  # its own cursor: a half-read result there cannot block ours
    try:
        return _msg_values(analysis, cursor, registry, area, history, grain)
    finally:
        cursor.close()


def _msg_values(analysis: Any, con: duckdb.DuckDBPyConnection, registry: Registry,
                area: AreaChoice, history: pl.DataFrame, grain: str) -> MsgInfo:
    group = analysis.peer_group(con, area.code)
    if not group.members or history.height == 0:
        return MsgInfo(label=group.label)
    names = analysis.area_names(con)
    heads = _latest_by_indicator(history.filter(~pl.col("indicator").is_in(
        [i.id for i in registry.indicators if i.type in ("count", "amount")])))
    if heads.height == 0:
        return MsgInfo(group.label, tuple(names.get(c, c) for c in group.members))
    frame = analysis.kind_frame(con, registry, heads["indicator"].unique().to_list(),
                                analysis.comparison_kind(con, area.code), grain)
    members = frame.filter(pl.col("area_code").is_in(list(group.members))).join(
        heads.select("indicator", "period_end"), on=["indicator", "period_end"], how="semi")
    by_key: dict[tuple[str, date], list[tuple[Any, Any]]] = {}
    for r in members.iter_rows(named=True):
        by_key.setdefault((r["indicator"], r["period_end"]), []).append(
            (r["value"], r["denominator"]))
    values: dict[tuple[str, date], float] = {}
    for r in heads.iter_rows(named=True):
        pairs = [(r["value"], r["denominator"]), *by_key.get((r["indicator"], r["period_end"]),
                                                              [])]
        v = np.array([np.nan if _missing(a) else a for a, _ in pairs], dtype=np.float64)
        d = np.array([np.nan if _missing(b) else b for _, b in pairs], dtype=np.float64)
        weighted, _ = peers.msg_average(v, d, np.ones(v.size, dtype=bool), weighted=True)
        if np.isfinite(weighted):
            values[(r["indicator"], r["period_end"])] = float(weighted)
    return MsgInfo(group.label, tuple(names.get(c, c) for c in group.members), values)


def _latest_by_indicator(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.height == 0:
        return frame
    return frame.filter(pl.col("period_end") == pl.col("period_end").max().over("indicator"))


def _any_true(*frames: pl.DataFrame | None) -> bool:
    return any(f is not None and f.height and "synthetic" in f.columns
               and bool(f["synthetic"].fill_null(False).any()) for f in frames)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def disclosure_text(options: Options, indicators: list[Indicator] | None = None) -> str:
    """The disclosure control applied, in words: the same rule as the pages."""
    own = sorted({i.suppression_threshold for i in indicators or []
                  if i.suppression_threshold and i.suppression_threshold
                  != options.suppression_threshold})
    text = (f"Disclosure control, as on the dashboard: counts below "
            f"{options.suppression_threshold}, and every rate, ratio and percentage built on "
            f"them, are suppressed and shown as {theme.SUPPRESSED_MARK}; " + (
                "secondary suppression is decided once over everything published (breakdowns "
                "within their total, areas within their region and England and Wales, months "
                "within quarters and years), so no hidden count can be worked out from any "
                "figures shown beside it." if options.disclosure == "whole_set" else
                "secondary suppression hides a further group wherever a hidden one could be "
                "worked out from the total."))
    if own:
        text += (" Some indicators set their own threshold ("
                 + ", ".join(str(t) for t in own) + "; see the notes).")
    if options.rounding:
        text += (f" Counts (numerators, denominators and the values of count indicators) "
                 f"are rounded to the nearest {options.rounding}; rates, percentages and "
                 "ratios and their intervals are computed from the unrounded counts, and "
                 "rounding does not replace suppression.")
    else:
        text += " Counts are not rounded."
    return text


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
            value=None if _missing(r["value"]) else r["value"],
            suppressed=suppressed,
            suppression_rule=note.split(";")[0].removeprefix("suppressed: ")
            if suppressed else "",
            note=note,
            msg_value=None if r["breakdown"] else msg.values.get((ind.id, r["period_end"])),
            national_value=None if nat is None or _missing(nat["value"]) else nat["value"],
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
    _check_commentary(commentary, by_indicator)
    history, national = _frames(con, registry, choice.code, chosen, options)
    wanted = history.filter(pl.col("indicator").is_in(list(by_indicator))) if history.height \
        else history
    msg = _msg_lookup(con, registry, choice, wanted, chosen.grain) if (
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


# --- words shared by the formats --------------------------------------------------------------

def definition_rows(ind: Indicator, registry: Registry, options: Options) -> list[tuple[str, str]]:
    """The registry's definition and methods of one indicator, as (term, text)."""
    theme_ = registry.theme(ind.theme)
    threshold = ind.suppression_threshold or options.suppression_threshold
    denominator = (ind.denominator.title if ind.denominator else
                   "resident population (per 1,000)" if ind.population_denominator
                   else "none: a count")
    return [
        ("What it measures", ind.description),
        ("Numerator", ind.numerator.title),
        ("Denominator", denominator),
        ("Type and unit", f"{ind.type}; {unit_label(ind)}"),
        ("Polarity", POLARITY_WORDS[ind.polarity]),
        ("Confidence interval", CI_WORDS[ind.ci_method] + (f" ({ind.ci_note})"
                                                          if ind.ci_note else "")),
        ("Suppression", f"counts below {threshold} suppressed ({theme.SUPPRESSED_MARK})"),
        ("Theme", f"{theme_.title} ({ind.psa or theme_.psa})"),
        ("National reference", ind.national_reference or "–"),
        ("Targets", "; ".join(f"{t.kind} {format_value(t.value, ind)} ({t.source})"
                              for t in ind.targets) or "no default target"),
        ("Source notes", ind.source_notes or "–"),
    ]


def method_notes(content: PackContent) -> list[tuple[str, str]]:
    """The pack-wide notes: disclosure control, comparisons, synthetic data, licence."""
    notes = [
        ("Disclosure control", content.disclosure()),
        ("Comparisons", "England and Wales is the same indicator computed for K04000001 for "
                        "the same period. " + content.msg.describe()),
        ("Confidence intervals", f"{content.options.level:.0%} intervals; the method of each "
                                 "figure is in its 'method' column."),
        ("Period", f"{content.period_text}: each indicator's figure is for this period or, "
                   "where it has none, the latest period before it (its period is shown)."),
        ("Generated", f"{content.generated_text} by cjsdash from the warehouse's committed "
                      "data."),
        ("Data vintages", "; ".join(content.vintages) or "no figures"),
        ("Licence", OGL_ATTRIBUTION),
    ]
    if content.synthetic:
        notes.insert(0, ("Synthetic data", SYNTHETIC_TEXT))
    return notes


def slug(text: str) -> str:
    """A file-name-safe slug (for download names; never a path from the user)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60] or "pack"


def default_filename(content: PackContent, fmt: str) -> str:
    period = "latest" if content.period.end is None else content.period.label
    return f"{content.pack.id}_{content.area.code}_{slug(period)}.{fmt}"
