"""ECharts options for the console's charts, from chart-shaped analysis results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: WeChat green first, then colours that stay apart for colour-blind readers.
PALETTE = ["#07c160", "#576b95", "#fa9d3b", "#e64340", "#10aeff", "#8c5cd6", "#6b7280"]


def line(
    x: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    percent: bool = False,
    area: bool = False,
) -> dict[str, Any]:
    """A line chart with one line per series (missing points left as gaps)."""
    return {
        "animation": False,
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 16, "top": 32, "bottom": 28},
        "xAxis": {"type": "category", "data": list(x), "boundaryGap": False},
        "yAxis": {
            "type": "value",
            "axisLabel": {"formatter": "{value}%" if percent else "{value}"},
        },
        "series": [
            {
                "name": name,
                "type": "line",
                "smooth": True,
                "showSymbol": False,
                "areaStyle": {"opacity": 0.12} if area else None,
                "data": [
                    None if v is None else (round(v * 100, 2) if percent else v) for v in values
                ],
            }
            for name, values in series.items()
        ],
    }


def bars(
    labels: Sequence[str], series: dict[str, Sequence[float]], *, horizontal: bool = False
) -> dict[str, Any]:
    """Grouped bars, one group per label."""
    category = {"type": "category", "data": list(labels)}
    value = {"type": "value"}
    return {
        "animation": False,
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 96 if horizontal else 48, "right": 16, "top": 32, "bottom": 28},
        "xAxis": value if horizontal else category,
        "yAxis": category if horizontal else value,
        "series": [{"name": n, "type": "bar", "data": list(v)} for n, v in series.items()],
    }


def pie(items: dict[str, float]) -> dict[str, Any]:
    return {
        "animation": False,
        "color": PALETTE,
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "series": [
            {
                "type": "pie",
                "radius": ["40%", "70%"],
                "data": [{"name": k, "value": v} for k, v in items.items()],
            }
        ],
    }
