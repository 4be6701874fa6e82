"""What the analysis charts share: :mod:`layouts.spc_chart` and
:mod:`layouts.comparison_charts`.

The layout every one of them starts from, and the two colours they have in common: the grey
of an ordinary (common-cause, or not chosen) point and of the limit lines. As in
:mod:`layouts.charts`: Okabe–Ito colours (:mod:`layouts.theme`).
"""

from __future__ import annotations

from layouts import theme
from layouts.figure_draft import Draft

COMMON_COLOUR = theme.SECONDARY_TEXT
LIMIT_COLOUR = theme.SECONDARY_TEXT


def analysis_layout(fig: Draft, title: str, subtitle: str, height: int, *, meta: dict) -> None:
    """Title and subtitle, height, the legend along the bottom, hover by point, ``meta``."""
    fig.update_layout(
        template=theme.TEMPLATE_NAME, height=height,
        title={"text": title, "subtitle": {"text": subtitle}},
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom",
                "x": 0, "xanchor": "left"},
        hovermode="closest", meta=meta,
    )
