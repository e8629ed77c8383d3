"""Report charts drawn on the server: plain data in, SVG or PNG bytes out.

Pure: no ORM, no settings, no request. Uses `matplotlib.figure.Figure` directly (the Agg and SVG
canvases), never pyplot, whose global figure state is not thread-safe; nothing here changes
matplotlib's global rcParams either. Matplotlib itself falls back to a temporary directory when
its config/cache directory is not writable (a read-only HOME), so nothing here depends on one.

Each bar carries an SVG id `bar-<series>-<category>` and each category label `label-<category>`,
so the drawing can be checked (and styled) without reading pixels.
"""

import io
import textwrap
from dataclasses import dataclass

from matplotlib.figure import Figure

GREEN = "#2e7d32"
AMBER = "#f9a825"
ORANGE = "#ef6c00"
RED = "#c62828"
BLUE = "#1565c0"
GREY = "#757575"
PURPLE = "#6a1b9a"

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}
PNG_DPI = 110
LABEL_WIDTH = 38  # characters per line of a category label


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]
    color: str = BLUE
    labels: tuple[str, ...] | None = None  # printed at the bar ends (localised numbers)


@dataclass(frozen=True)
class BarChart:
    """Horizontal grouped bars: one row per category, one bar per series in it."""

    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    axis_label: str = ""
    percent: bool = False  # values are 0–100 and the axis says so
    empty_text: str = "–"

    def __post_init__(self):
        for series in self.series:
            if len(series.values) != len(self.categories) or (
                series.labels is not None and len(series.labels) != len(self.categories)
            ):
                raise ValueError(f"series {series.name!r} needs one value per category")


def _label(text: str) -> str:
    return "\n".join(textwrap.wrap(text, LABEL_WIDTH)[:2]) or " "


def chart_render(chart: BarChart, fmt: str = "svg") -> bytes:
    """The chart as SVG (default) or PNG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}")
    rows = len(chart.categories)
    bars_per_row = max(len(chart.series), 1)
    height = min(max(2.4, 1.3 + rows * (0.28 * bars_per_row + 0.22)), 40)
    figure = Figure(figsize=(8.5, height), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(chart.title, loc="left", fontsize=12, fontweight="bold")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)

    if not rows or not chart.series:
        axes.set_axis_off()
        axes.text(
            0.5, 0.5, chart.empty_text, ha="center", va="center", fontsize=12, color=GREY
        ).set_gid("empty")
    else:
        thickness = 0.8 / bars_per_row
        for s_index, series in enumerate(chart.series):
            offset = (s_index - (bars_per_row - 1) / 2) * thickness
            positions = [row + offset for row in range(rows)]
            bars = axes.barh(
                positions, series.values, height=thickness, color=series.color, label=series.name
            )
            for c_index, bar in enumerate(bars):
                bar.set_gid(f"bar-{s_index}-{c_index}")
            axes.bar_label(
                bars,
                labels=series.labels or [_value(v, chart.percent) for v in series.values],
                padding=3,
                fontsize=8,
            )
        axes.set_yticks(range(rows), [_label(c) for c in chart.categories], fontsize=9)
        for c_index, tick in enumerate(axes.get_yticklabels()):
            tick.set_gid(f"label-{c_index}")
        axes.invert_yaxis()
        top = max((v for s in chart.series for v in s.values), default=0)
        axes.set_xlim(0, 100 * 1.12 if chart.percent else max(top * 1.15, 1))
        if not chart.percent:
            axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
        if chart.axis_label:
            axes.set_xlabel(chart.axis_label)
        if len(chart.series) > 1:
            figure.legend(
                loc="outside lower center", ncols=len(chart.series), fontsize=8, frameon=False
            )

    buffer = io.BytesIO()
    if fmt == "svg":
        # No creation date: the same data draws the same bytes.
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    else:
        figure.savefig(buffer, format="png", dpi=PNG_DPI)
    return buffer.getvalue()


def _value(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.1f} %"
    return f"{value:g}"
