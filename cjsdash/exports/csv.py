"""CSV: one row per figure, with a CSVW-style metadata sidecar (``<out>.csv-metadata.json``).

The table is :data:`content.FIGURE_COLUMNS`. A suppressed figure has ``[c]`` in its
numerator, denominator, value and interval cells and no number anywhere; a missing one is
empty. Every text cell is neutralised (:func:`cells.neutralise`). The sidecar follows the
W3C "CSV on the Web" metadata vocabulary (``tableSchema`` with a datatype and description
per column, ``null`` markers) and names the pack, area, period, sources and vintages, the
methods and definitions from the registry, the disclosure rule and whether any figure is
synthetic.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

from cjsdash import OGL_ATTRIBUTION
from layouts import theme

from .cells import SUPPRESSED, hidden, is_missing, neutralise
from .content import FIGURE_COLUMNS, PackContent
from .pack_notes import SYNTHETIC_TEXT, definition_rows, method_notes

NUMBERS = ("numerator", "denominator", "value", "lower", "upper", "level", "target",
           "msg_value", "national_value")
DESCRIPTIONS: dict[str, str] = {
    "pack": "board pack id", "section": "pack section id", "section_title": "pack section",
    "indicator": "indicator id in the cjsdash registry", "indicator_title": "indicator",
    "area_code": "ONS area code", "area_name": "area", "grain": "period grain",
    "period_label": "period, as publishers label it", "period_start": "first day of the period",
    "period_end": "last day of the period", "breakdown": "breakdown group ('' = all people)",
    "numerator": "numerator count ([c] = suppressed)",
    "denominator": "denominator (count or population; for ratios the reference group's count)",
    "value": "the figure, in the unit of 'unit'", "lower": "lower confidence limit",
    "upper": "upper confidence limit", "level": "confidence level of the interval",
    "unit": "unit of value, lower, upper, target and comparisons",
    "display_value": "the figure as the dashboard writes it",
    "display_ci": "the interval as the dashboard writes it", "method": "CI method",
    "target": "target for the period", "target_kind": "target, trajectory or stretch",
    "target_scope": "local (the board's own, loaded from a targets file) or national",
    "status": "target status", "change_on_last_year": "change on the same period last year, "
    "significant or not where a sampling model is declared, else 'not tested'",
    "msg_value": "most similar group average (when loaded)",
    "national_value": "England and Wales, same indicator and period",
    "national_display": "England and Wales as the dashboard writes it",
    "source": "source of the figure", "vintage": "vintage (release) of the source",
    "suppressed": "true when disclosure control hid the figure",
    "suppression_rule": "the rule that suppressed it", "synthetic":
    "true when the figure comes from the synthetic demo extract (not real)",
    "note": "notes on the figure", "commentary": "the pack's commentary for the indicator",
}


def _cell(key: str, value: Any, row: dict[str, Any]) -> str:
    if hidden(key, row):
        return SUPPRESSED
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def render_csv(content: PackContent) -> bytes:
    """The table as UTF-8 CSV (with a BOM, so Excel reads the £ and ◆ correctly)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIGURE_COLUMNS)
    for row in content.figures.iter_rows(named=True):
        writer.writerow([_cell(k, row[k], row) for k in FIGURE_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _datatype(key: str) -> str:
    if key in NUMBERS:
        return "number"
    if key in ("period_start", "period_end"):
        return "date"
    if key in ("suppressed", "synthetic"):
        return "boolean"
    return "string"


def render_metadata(content: PackContent, csv_name: str) -> bytes:
    """The CSVW-style sidecar for the CSV called ``csv_name``."""
    sources = [{"name": s, "vintages": sorted(v.split(": ", 1)[1] for v in content.vintages
                                              if v.startswith(f"{s}: "))}
               for s in content.sources()]
    meta = {
        "@context": "http://www.w3.org/ns/csvw",
        "url": csv_name,
        "dc:title": f"{content.pack.title}: {content.subtitle}",
        "dc:description": content.pack.description,
        "dc:created": content.generated.isoformat(),
        "dc:creator": "cjsdash",
        "dc:license": OGL_ATTRIBUTION,
        "dc:source": sources,
        "cjsdash:pack": content.pack.id,
        "cjsdash:area": {"code": content.area.code, "name": content.area.name,
                         "kind": content.area.kind},
        "cjsdash:period": {"grain": content.period.grain, "label": content.period.label,
                           "end": content.period.end.isoformat() if content.period.end
                           else None},
        "cjsdash:synthetic": content.synthetic,
        "cjsdash:syntheticNote": SYNTHETIC_TEXT if content.synthetic else "",
        "cjsdash:suppression": {
            "rule": content.disclosure(), "marker": SUPPRESSED,
            "threshold": content.options.suppression_threshold,
            "rounding": content.options.rounding,
        },
        "cjsdash:methods": [{"term": t, "text": x} for t, x in method_notes(content)],
        "cjsdash:indicators": [
            {"id": ind.id, "title": ind.title,
             **{term: text for term, text in definition_rows(ind, content.registry,
                                                             content.options)}}
            for ind in content.indicators
        ],
        "dialect": {"encoding": "utf-8", "header": True, "lineTerminators": ["\r\n"]},
        "tableSchema": {
            "columns": [{"name": k, "titles": k, "datatype": _datatype(k),
                         "dc:description": DESCRIPTIONS.get(k, k),
                         "null": ["", SUPPRESSED] if k in NUMBERS else [""]}
                        for k in FIGURE_COLUMNS],
        },
        "notes": [f"{theme.SUPPRESSED_MARK}: suppressed by disclosure control",
                  f"{theme.SYNTHETIC_MARK}: synthetic demo data"],
    }
    return (json.dumps(meta, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def sidecar_path(out: Path) -> Path:
    return out.with_name(out.name + "-metadata.json")
