"""Colours, status marks, fonts and the "cjsdash" plotly template.

Charts use the Okabe–Ito palette (distinguishable with the common colour-vision
deficiencies). Lines that must be told apart also differ by dash and marker, and a status is
always written as a symbol and a word, never shown by colour alone. Text colours meet WCAG
2.2 AA (contrast at least 4.5:1 on white); the chart colours used for lines meet the 3:1
non-text contrast (blue 5.1:1, vermillion 3.8:1, black 21:1, bluish green 3.3:1).
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import plotly.io as pio

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

# Colourway: the palette ordered so that the first colours have enough contrast on white.
COLOURWAY: tuple[str, ...] = (
    OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"], OKABE_ITO["black"], OKABE_ITO["orange"],
    OKABE_ITO["sky_blue"], OKABE_ITO["yellow"],
)

AREA_COLOUR = OKABE_ITO["blue"]
NATIONAL_COLOUR = OKABE_ITO["vermillion"]
TARGET_COLOUR = OKABE_ITO["black"]
CI_FILL = "rgba(0, 114, 178, 0.18)"  # the area blue, translucent
TEXT_COLOUR = "#0b0c0c"
SECONDARY_TEXT = "#505a5f"  # 7.0:1 on white
GRID_COLOUR = "#e1e4e6"

FONT_FAMILY = '"Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif'
BASE_FONT_SIZE = 14

SYNTHETIC_MARK = "◆"
SUPPRESSED_MARK = "[c]"


@dataclass(frozen=True)
class StatusStyle:
    """How a target status is shown: symbol and words always, colour only as a reinforcement."""

    symbol: str
    label: str
    colour: str  # text colour, ≥ 4.5:1 on white
    css: str

    @property
    def text(self) -> str:
        return f"{self.symbol} {self.label}"


STATUS: dict[str, StatusStyle] = {
    "met": StatusStyle("✓", "met", "#00703c", "status-met"),
    "not met": StatusStyle("✗", "not met", "#b0281a", "status-not-met"),
    "no target": StatusStyle("–", "no target", SECONDARY_TEXT, "status-none"),
    "suppressed": StatusStyle(SUPPRESSED_MARK, "suppressed", SECONDARY_TEXT, "status-suppressed"),
    "not assessed": StatusStyle("–", "not assessed (neutral indicator)", SECONDARY_TEXT,
                                "status-none"),
    "no data": StatusStyle("–", "no data", SECONDARY_TEXT, "status-none"),
}


def status_style(status: str | None) -> StatusStyle:
    """The style for a status from :func:`metrics.statistics.target_status` (or 'suppressed')."""
    return STATUS.get(status or "no data", STATUS["no data"])


def _template() -> go.layout.Template:
    axis = {
        "showgrid": True, "gridcolor": GRID_COLOUR, "zeroline": False,
        "linecolor": SECONDARY_TEXT, "ticks": "outside", "tickcolor": SECONDARY_TEXT,
        "title": {"font": {"size": BASE_FONT_SIZE}}, "automargin": True,
    }
    return go.layout.Template(
        layout={
            "font": {"family": FONT_FAMILY, "size": BASE_FONT_SIZE, "color": TEXT_COLOUR},
            "colorway": list(COLOURWAY),
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "title": {"x": 0, "xanchor": "left", "font": {"size": 18}},
            "xaxis": axis,
            "yaxis": axis,
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0,
                       "font": {"size": BASE_FONT_SIZE}},
            "hoverlabel": {"font": {"family": FONT_FAMILY, "size": BASE_FONT_SIZE},
                           "bgcolor": "#ffffff", "bordercolor": TEXT_COLOUR, "align": "left"},
            "margin": {"l": 64, "r": 24, "t": 64, "b": 64},
        }
    )


TEMPLATE_NAME = "cjsdash"
pio.templates[TEMPLATE_NAME] = _template()
