"""The posture report (`aispm report`): one self-contained HTML page of AI usage, alerts, anomalies, the AI
inventory, the AI assets and attack paths of the asset graph and findings by framework, read from the store
with the saved analyst queries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from streams.report.data import PostureData, QueryFn, collect
from streams.report.page import render

__all__ = ["PostureData", "collect", "render", "write_report"]


def write_report(query: QueryFn, out: Path, *, since: datetime | None = None) -> PostureData:
    """Collect the report's data with ``query`` and write the page to ``out``; returns what it showed."""
    data = collect(query, since=since)
    out.write_text(render(data), encoding="utf-8")
    return data
