"""What a pack is built for, as the reader gives it: the period and the commentary.

:func:`resolve_period` reads a period label (or a date, or "latest") into a
:class:`PeriodChoice`; :func:`load_commentary` and :func:`clean_commentary` read and clean the
commentary for the placeholders, and :func:`check_commentary` refuses commentary for fields a
pack does not have. Every refusal is a :class:`ContentError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from cjsdash.core.periods import (
    GRAINS,
    PeriodError,
    bucket_start,
    grain_of,
    label_period,
    parse_period,
)

from .packs import ResolvedItem


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


def check_commentary(commentary: Commentary, items: dict[str, list[ResolvedItem]]) -> None:
    unknown: list[str] = []
    for ind, fields in commentary.items():
        placeholders = {p.id for item in items.get(ind, []) for p in item.commentary}
        if ind not in items:
            unknown.append(f"{ind} (not in this pack)")
        unknown.extend(f"{ind}.{k} (no such placeholder)" for k in fields if k not in placeholders)
    if unknown:
        raise ContentError("commentary for unknown fields: " + ", ".join(unknown))
