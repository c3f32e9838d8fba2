"""The report's charts, drawn by matplotlib as inline SVG.

Why matplotlib's SVG: the page must open with no network and stay small enough to mail. matplotlib is
a maintained (NumFOCUS) library already built for Python 3.11 everywhere; its SVG is drawn once, here,
so the page carries no JavaScript at all (a few tens of KB per chart), where plotly would embed its
~3.5 MB plotly.js in every page and Vega-Lite its runtime (or need a separate converter to draw
offline). Text stays text (``svg.fonttype: none``: small, selectable, and escaped by matplotlib's SVG
writer like every attribute), and labels are never read as mathtext (``text.parse_math: False``): a
principal named ``$\\frac{}`` from an attacker's log is shown as written, not parsed.

Each function returns one ``<svg>`` element (no XML prolog) whose data marks carry ids starting
``mark-`` so a test can tell a drawn chart from an empty frame.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

# Colours of the data: none is used by the page's own styles, so a screenshot shows what was drawn.
SANCTIONED = "#1f77b4"
UNSANCTIONED = "#d62728"
SEVERITY_COLOURS = {"critical": "#7b0d0d", "high": "#d62728", "medium": "#ff7f0e", "low": "#bcbd22",
                    "informational": "#17becf"}
SERIES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
          "#7f7f7f")
FRAMEWORK_COLOURS = {"MITRE ATT&CK": "#9467bd", "MITRE ATLAS": "#e377c2", "OWASP LLM Top 10": "#ff7f0e",
                     "NIST AI RMF": "#2ca02c"}
LABEL_CHARS = 48

_STYLE = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "text.usetex": False,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "axes.axisbelow": True,
    "legend.frameon": False,
}


def short(label: Any, limit: int = LABEL_CHARS) -> str:
    """A label that fits beside a bar: the end of long names (an ARN's role or user is at its end)."""
    text = str(label) if label not in (None, "") else "(none)"
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def _figure(width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=96, layout="constrained")
    return figure, figure.add_subplot()


def _svg(figure: Any, name: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    # A salt per chart: the ids matplotlib derives (clip paths) stay unique within the page and stable.
    with matplotlib.rc_context({**_STYLE, "svg.hashsalt": f"aispm-report-{name}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _time_axis(axis: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(maxticks=8)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _mark(container: Any, name: str) -> None:
    prefix = "mark-" + re.sub(r"[^A-Za-z0-9-]+", "-", name)
    for index, artist in enumerate(getattr(container, "patches", None) or [container]):
        artist.set_gid(f"{prefix}-{index}")


def _with_style(draw: Any) -> Any:
    """Run ``draw`` with the report's matplotlib style (rcParams are read when artists are made)."""
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        return draw()


def stacked_over_time(name: str, buckets: Sequence[datetime], series: dict[str, Sequence[float]],
                      colours: dict[str, str], bucket: timedelta, ylabel: str) -> str:
    """Stacked bars per time bucket, one colour per series (in the order given)."""
    import matplotlib.dates as mdates

    def draw() -> str:
        figure, axis = _figure(9.5, 3.4)
        x = mdates.date2num(list(buckets))
        width = bucket / timedelta(days=1) * 0.9
        bottom = [0.0] * len(buckets)
        for label, values in series.items():
            bars = axis.bar(x, values, width=width, bottom=bottom, align="edge", color=colours[label],
                            label=short(label, 32), linewidth=0)
            _mark(bars, f"{name}-{len(bottom)}")
            bottom = [low + value for low, value in zip(bottom, values, strict=True)]
        axis.xaxis_date()
        _time_axis(axis)
        axis.set_ylabel(ylabel)
        axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        return _svg(figure, name)

    return _with_style(draw)


def stacked_bars(name: str, labels: Sequence[str], parts: dict[str, Sequence[float]], colours: dict[str, str],
                 xlabel: str) -> str:
    """Horizontal bars, largest at the top, split into coloured parts."""

    def draw() -> str:
        figure, axis = _figure(9.5, max(1.6, 0.28 * len(labels) + 0.9))
        positions = list(range(len(labels)))[::-1]
        left = [0.0] * len(labels)
        for part, values in parts.items():
            bars = axis.barh(positions, values, left=left, color=colours[part], label=part, height=0.7)
            _mark(bars, f"{name}-{part}")
            left = [low + value for low, value in zip(left, values, strict=True)]
        axis.set_yticks(positions, [short(label) for label in labels])
        axis.set_xlabel(xlabel)
        axis.grid(axis="y", visible=False)
        if len(parts) > 1:
            axis.legend(loc="lower right", fontsize=8)
        return _svg(figure, name)

    return _with_style(draw)


def bars(name: str, labels: Sequence[str], values: Sequence[float], colours: Sequence[str], ylabel: str) -> str:
    """Vertical bars, one colour each."""

    def draw() -> str:
        figure, axis = _figure(5.5, 2.8)
        drawn = axis.bar(range(len(labels)), values, color=list(colours), width=0.6)
        _mark(drawn, name)
        axis.set_xticks(range(len(labels)), [short(label, 16) for label in labels])
        axis.set_ylabel(ylabel)
        axis.grid(axis="x", visible=False)
        for position, value in enumerate(values):
            axis.annotate(f"{value:g}", (position, value), ha="center", va="bottom", fontsize=8)
        return _svg(figure, name)

    return _with_style(draw)


def scores_over_time(name: str, buckets: Sequence[datetime], lines: dict[str, Sequence[float]],
                     flagged: Sequence[tuple[datetime, float]]) -> str:
    """Score lines per time bucket and the windows flagged anomalous as red points."""

    def draw() -> str:
        figure, axis = _figure(9.5, 3.2)
        for (label, values), colour in zip(lines.items(), ("#7f7f7f", SANCTIONED, "#9467bd"), strict=False):
            (line,) = axis.plot(list(buckets), values, label=label, color=colour, linewidth=1.2)
            line.set_gid(f"mark-{name}-{label.split()[0]}")
        if flagged:
            points = axis.scatter([when for when, _ in flagged], [score for _, score in flagged], color=UNSANCTIONED,
                                  s=18, zorder=3, label="window flagged anomalous")
            points.set_gid(f"mark-{name}-flagged")
        _time_axis(axis)
        axis.set_ylabel("score (-log10 p)")
        axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        return _svg(figure, name)

    return _with_style(draw)
