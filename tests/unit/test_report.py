"""`aispm report` against the real engine (chDB) holding the demo company's day: every section shows what the
store holds, attacker-written names are escaped, the page loads nothing from outside, and headless
Chromium draws its charts."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.report import PostureData, collect, render, write_report
from streams.report import charts as chart_colours
from streams.report.data import moment
from streams.runtime.store import Store
from tests.conftest import fresh_database_settings
from tests.report_data import land_demo

HOSTILE = "<script>alert(1)</script>"
MATHTEXT = "$\\sqrt{$x^"  # not valid mathtext: a chart that parsed labels as math would fail to draw
HOSTILE_LINES = [
    (f'10.9.9.9 - {HOSTILE} [20/Nov/2026:09:00:00 +0000] "POST https://api.deepseek.com/v1/chat/completions '
     'HTTP/1.1" 200 512 "-" "curl/8.5"'),
    (f'10.9.9.8 - {MATHTEXT} [20/Nov/2026:09:01:00 +0000] "POST https://api.mistral.ai/v1/chat/completions '
     'HTTP/1.1" 200 512 "-" "curl/8.5"'),
]
CHARTS = {"usage-by-provider", "sanctioned-over-time", "sanctioned-by-provider", "top-principals",
          "alerts-by-severity", "alerts-by-detection", "anomaly-scores", "frameworks"}


@pytest.fixture(scope="module")
def demo_store(chdb_data_dir):
    settings = fresh_database_settings(chdb_data_dir)
    store = Store(settings)
    store.migrate()
    landed = land_demo(store, {"gateway": [line.encode() for line in HOSTILE_LINES]})
    assert landed["alerts"] > 0 and landed["anomaly_alerts"] > 0
    try:
        yield store, settings
    finally:
        store.close()


@pytest.fixture(scope="module")
def report(demo_store, tmp_path_factory) -> tuple[PostureData, str, Path]:
    store, _settings = demo_store
    path = tmp_path_factory.mktemp("report") / "posture.html"
    data = write_report(store.query, path)
    return data, path.read_text(encoding="utf-8"), path


def _scalar(store: Store, sql: str, **parameters):
    return store.scalar(sql, parameters)


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start:page.index("</section>", start)]


def _chart_names(page: str) -> set[str]:
    """The charts whose data marks are in the page."""
    return {name for name in CHARTS if f'id="mark-{name}-' in page}


def test_usage_sections_hold_the_stored_calls_and_the_unsanctioned_providers(demo_store, report) -> None:
    store, _ = demo_store
    data, page, _path = report
    window = {"since": data.start.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
              "until": data.end.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]}
    in_window = "time >= {since:DateTime64(3)} AND time < {until:DateTime64(3)} AND ai_provider != ''"
    calls = _scalar(store, f"SELECT count() FROM events FINAL WHERE {in_window}", **window)
    unsanctioned = _scalar(store, f"SELECT countIf(ai_sanctioned = false) FROM events FINAL WHERE {in_window}", **window)
    assert calls > 100 and 0 < unsanctioned < calls
    assert sum(row["calls"] for row in data.usage) == calls
    assert sum(row["unsanctioned_calls"] for row in data.usage) == unsanctioned
    summary = _section(page, "summary")
    assert f"<b>{calls:,}</b>AI calls" in summary and f"<b>{unsanctioned:,}</b>unsanctioned AI calls" in summary
    # Every provider the demo company did not sanction is named, with its unsanctioned calls.
    _, rows = store.query(f"SELECT ai_provider, countIf(ai_sanctioned = false) FROM events FINAL WHERE {in_window} "
                          "GROUP BY ai_provider HAVING countIf(ai_sanctioned = false) > 0", window)
    assert {"anthropic", "deepseek", "google-gemini", "mistral"} <= {provider for provider, _ in rows}
    usage = _section(page, "usage")
    for provider, count in rows:
        assert re.search(rf"<td>{re.escape(provider)}</td><td class=\"n\">[\d,]+</td><td class=\"n\">{count:,}</td>",
                         usage), provider


def test_top_principals_new_services_and_inventory(demo_store, report) -> None:
    store, _ = demo_store
    data, page, _path = report
    jacked = "arn:aws:iam::493817264053:user/svc-legacy-reporting"
    top = {row["principal"]: row for row in data.principals}
    assert top[jacked]["unsanctioned_calls"] == top[jacked]["calls"] > 0
    assert jacked in _section(page, "principals")
    # New: first seen in the last day before the last event (the whole demo day here), as stored.
    assert {row["host"] for row in data.new_services} >= {"api.deepseek.com", "api.mistral.ai"}
    assert "api.deepseek.com" in _section(page, "new-services")
    # Uses last seen in the window (the week up to the last event): not the 2024 sample's.
    uses = _scalar(store, "SELECT count() FROM (SELECT 1 FROM ai_inventory GROUP BY provider, product, host, "
                          "model_id, principal HAVING max(last_seen) >= {since:DateTime64(3)})",
                   since=data.start.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3])
    assert len(data.inventory) == uses and uses < _scalar(store, "SELECT count() FROM ai_inventory")
    assert f"{uses:,} uses of" in _section(page, "inventory")


def test_the_asset_graph_sections_hold_the_stored_assets_and_every_alerted_path(demo_store, report) -> None:
    from streams.detect.graph.paths import PATTERNS

    store, _settings = demo_store
    data, page, _path = report
    assets = _section(page, "assets")
    stored = _scalar(store, "SELECT uniqExact(asset_id) FROM ai_assets WHERE kind = 'sagemaker_notebook'")
    assert stored > 0 and data.assets, "the demo builds AI assets"
    notebooks = [a for a in data.assets if a["kind"] == "sagemaker_notebook"]
    assert len(notebooks) <= stored and all(html.escape(a["asset_id"]) in assets for a in data.assets[:200])
    assert any(a["flags"] for a in data.assets) and "invocation_logging_off" in assets
    paths = _section(page, "paths")
    alerted = {row["pattern"] for row in data.path_alerts}
    # The demo has an incident per pattern that opens its path (and later closes it).
    assert alerted == set(PATTERNS), alerted
    stored_paths = _scalar(store, "SELECT count() FROM alerts_current WHERE JSONHas(context, 'path_id') "
                           "AND last_seen >= {since:DateTime64(3)}", since=data.start.strftime("%Y-%m-%d %H:%M:%S"))
    assert len(data.path_alerts) == stored_paths
    for row in data.path_alerts:
        assert html.escape(row["path"]) in paths
    for path in data.open_paths:
        assert html.escape(path["nodes"][0]["id"]) in paths


def test_alerts_anomalies_and_frameworks(demo_store, report) -> None:
    store, _ = demo_store
    data, page, _path = report
    alerts = _scalar(store, "SELECT count() FROM alerts_current WHERE last_seen >= {since:DateTime64(3)}",
                     since=data.start.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3])
    assert alerts < _scalar(store, "SELECT count() FROM alerts_current")  # the old samples' are outside the week
    assert sum(row["alerts"] for row in data.alerts) == alerts
    assert f"<b>{alerts:,}</b>alerts" in _section(page, "summary")
    assert "anomalous_access" in _section(page, "alerts")
    flagged = _scalar(store, "SELECT count() FROM access_windows FINAL WHERE anomalous")
    assert flagged > 0 and sum(row["anomalous"] for row in data.anomaly) == flagged == len(data.anomalous)
    frameworks = _section(page, "frameworks")
    for heading in ("MITRE ATT&amp;CK", "MITRE ATLAS", "OWASP LLM Top 10", "NIST AI RMF"):
        assert f"<h3>{heading}</h3>" in frameworks
    assert "LLM10:2025" in frameworks and "Unbounded Consumption" in frameworks
    assert "T1496" in frameworks and "Resource Hijacking" in frameworks
    tagged = _scalar(store, "SELECT count() FROM alerts_current WHERE has(JSONExtract(context, 'frameworks', "
                            "'owasp_llm', 'Array(String)'), 'LLM10:2025') AND last_seen >= {since:DateTime64(3)}",
                     since=data.start.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3])
    assert next(row["alerts"] for row in data.frameworks if row["id"] == "LLM10:2025") == tagged


def test_every_chart_is_drawn_with_data_marks(report) -> None:
    _data, page, _path = report
    assert page.count("<svg") == len(CHARTS)
    assert _chart_names(page) == CHARTS


def test_attacker_written_principals_are_escaped_everywhere(report) -> None:
    data, page, _path = report
    assert HOSTILE in {row["principal"] for row in data.inventory}
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _section(page, "inventory")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _section(page, "principals")  # table and chart label
    # Not parsed as mathtext: the label is drawn as written.
    assert html.escape(MATHTEXT) in _section(page, "principals")


def test_the_page_loads_nothing_from_outside(report) -> None:
    _data, page, _path = report
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert policy and "default-src 'none'" in html.unescape(policy.group(1))
    assert not re.search(r"<(script|link|iframe|img|object|embed)\b", page, re.IGNORECASE)
    assert not re.search(r"\bsrc\s*=", page, re.IGNORECASE)
    assert {href[0] for href in re.findall(r'href="([^"]*)"', page)} == {"#"}
    assert "url(http" not in page and "@import" not in page


def test_since_limits_the_window_and_a_later_since_reports_nothing(demo_store) -> None:
    store, _ = demo_store
    since = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    later = collect(store.query, since=since)
    calls = _scalar(store, "SELECT count() FROM events FINAL WHERE ai_provider != '' AND time >= {since:DateTime64(3)}",
                    since="2026-11-20 09:00:00")
    assert sum(row["calls"] for row in later.usage) == calls > 0
    assert later.new_since == since and all(moment(row["first_seen"]) >= since for row in later.new_services)
    empty = collect(store.query, since=datetime(2030, 1, 1, tzinfo=UTC))
    assert not empty.has_events and not empty.usage
    assert "no stored events since 2030-01-01" in render(empty)


def test_an_empty_store_gives_a_page_that_says_so(chdb_data_dir) -> None:
    store = Store(fresh_database_settings(chdb_data_dir))
    store.migrate()
    try:
        page = render(collect(store.query))
    finally:
        store.close()
    assert "no stored events" in page and "<svg" not in page


def test_the_cli_writes_the_report(demo_store, tmp_path) -> None:
    _store, settings = demo_store
    env = {"AISPM_DATA_DIR": str(settings.data_dir), "AISPM_CLICKHOUSE__DATABASE": settings.clickhouse.database}
    out = tmp_path / "cli.html"
    result = CliRunner().invoke(main, ["report", "--out", str(out), "--since", "2026-11-20T08:00:00Z"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {out}") and "unsanctioned" in result.stdout
    assert _chart_names(out.read_text(encoding="utf-8")) == CHARTS
    bad = CliRunner().invoke(main, ["report", "--out", str(out), "--since", "yesterday"], env=env)
    assert bad.exit_code == 2 and "ISO-8601" in bad.output
    nothing = CliRunner().invoke(main, ["report", "--out", str(tmp_path / "none.html")],
                                 env={"AISPM_DATA_DIR": str(tmp_path / "fresh")})
    assert nothing.exit_code == 1 and "`aispm db migrate`" in nothing.stderr
    assert not (tmp_path / "none.html").exists()


# --- in a browser ------------------------------------------------------------------------------------

def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium for this test")
        pytest.skip("chromium is not installed (apt-get install chromium); required in CI")
    return found


def _headless(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False)


def _colour_counts(png: Path) -> dict[int, int]:
    """Pixels of the screenshot per colour (0xRRGGBB)."""
    import matplotlib.image
    import numpy as np

    image = (matplotlib.image.imread(png)[..., :3] * 255).round().astype(np.uint32)
    codes, counts = np.unique(image[..., 0] << 16 | image[..., 1] << 8 | image[..., 2], return_counts=True)
    return dict(zip(codes.tolist(), counts.tolist(), strict=True))


def _pixels(counts: dict[int, int], colour: str) -> int:
    """Pixels of ``colour`` (#rrggbb), allowing a step or two of colour rounding per channel."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(counts.get((r << 16) | (g << 8) | b, 0) for r in range(red - 2, red + 3)
               for g in range(green - 2, green + 3) for b in range(blue - 2, blue + 3))


@pytest.mark.integration  # a browser start or two: seconds, not milliseconds
def test_headless_chromium_draws_the_charts(report, tmp_path) -> None:
    binary = _chromium()
    _data, _page, path = report
    dumped = _headless(binary, tmp_path / "profile-dom", "--dump-dom", path.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    # The browser parsed each inline chart as SVG, with its data marks, and ran no script.
    assert dom.count("<svg") == len(CHARTS) and _chart_names(dom) == CHARTS
    assert "<script" not in dom.lower()
    shot = tmp_path / "report.png"
    painted = _headless(binary, tmp_path / "profile-shot", "--window-size=1200,16000", f"--screenshot={shot}",
                        path.as_uri())
    assert painted.returncode == 0 and shot.exists(), painted.stderr[-2000:]
    # The data colours appear only in the charts' marks: painted means drawn.
    counts = _colour_counts(shot)
    for colour in (chart_colours.UNSANCTIONED, chart_colours.SANCTIONED, chart_colours.SEVERITY_COLOURS["medium"],
                   chart_colours.FRAMEWORK_COLOURS["NIST AI RMF"], chart_colours.FRAMEWORK_COLOURS["MITRE ATLAS"]):
        assert _pixels(counts, colour) > 500, colour


def test_the_demo_summary_says_where_the_report_is(tmp_path) -> None:
    from streams.cli.demo import render_report
    from streams.demo.runner import DemoReport, SummaryTable

    path = tmp_path / "reports" / "posture-report.html"
    report = DemoReport({"messages": 1, "events_landed": 1, "duplicates_skipped": 0, "dead_letters": 0},
                        [SummaryTable("Alerts", ["detection"], [["x"]])], path)
    assert f"Posture report (HTML, opens offline): {path}" in render_report(report, "table", width=200)
    assert json.loads(render_report(report, "json", width=80))["report"] == str(path)


def test_rows_through_the_worker_endpoint_give_the_same_page(demo_store) -> None:
    """While `aispm up` runs the report reads through the query endpoint, whose JSON carries times as text."""
    import orjson

    from streams.runtime.query import dumps

    store, _ = demo_store

    def via_endpoint(sql: str, parameters: dict[str, str]) -> tuple[list[str], list]:
        columns, rows = store.query(sql, parameters)
        answer = orjson.loads(dumps({"columns": columns, "rows": rows}))
        assert not rows or not isinstance(answer["rows"][0], tuple)
        return answer["columns"], answer["rows"]

    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert render(collect(via_endpoint, now=now)) == render(collect(store.query, now=now))
