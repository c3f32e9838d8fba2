"""The posture report as one self-contained HTML page: inline CSS and inline SVG charts, no script, no
link to anything outside the file.

Principals, hosts, models and explanations come from logs an attacker may write, so every value put into
the page goes through ``html.escape`` here (text and attributes alike), and a Content-Security-Policy
refuses scripts and every network load should anything slip through.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.report import charts
from streams.report.data import PostureData, moment

SEVERITIES = ("critical", "high", "medium", "low", "informational")
FRAMEWORKS = ("MITRE ATT&CK", "MITRE ATLAS", "OWASP LLM Top 10", "NIST AI RMF")
TOP_PROVIDERS = 8
TABLE_ROWS = 50
OWASP_LLM_2025 = {
    "LLM01:2025": "Prompt Injection", "LLM02:2025": "Sensitive Information Disclosure",
    "LLM03:2025": "Supply Chain", "LLM04:2025": "Data and Model Poisoning",
    "LLM05:2025": "Improper Output Handling", "LLM06:2025": "Excessive Agency",
    "LLM07:2025": "System Prompt Leakage", "LLM08:2025": "Vector and Embedding Weaknesses",
    "LLM09:2025": "Misinformation", "LLM10:2025": "Unbounded Consumption",
}
NIST_AI_RMF_FUNCTIONS = {"GOVERN": "Govern", "MAP": "Map", "MEASURE": "Measure", "MANAGE": "Manage"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:32px 0 8px;border-bottom:1px solid #ccc}
h3{font-size:1em;margin:16px 0 6px}
p.meta,p.note{color:#555;margin:4px 0}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.tile{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.tile b{display:block;font-size:1.4em}
table{border-collapse:collapse;font-size:.85em;margin:8px 0;width:100%}
th,td{border-bottom:1px solid #e4e4e4;padding:3px 6px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td{overflow-wrap:anywhere}td:first-child{white-space:nowrap}
.bad{color:#a00;font-weight:600}
figure.chart{margin:8px 0}figure.chart svg{max-width:100%;height:auto}
nav a{margin-right:10px}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{value:,}" if isinstance(value, int) else esc(value)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return f"<td>{'yes' if value else '<span class=bad>no</span>'}</td>"
    if isinstance(value, int | float):
        return f'<td class="n">{_number(value)}</td>'
    if isinstance(value, list | tuple):
        return f"<td>{esc(', '.join(str(item) for item in value))}</td>"
    if isinstance(value, datetime):
        return f"<td>{esc(_when(value))}</td>"
    return f"<td>{esc(value)}</td>"


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, limit: int = TABLE_ROWS, section: str = "") -> str:
    if not rows:
        return '<p class="note">None.</p>'
    head = "".join(f"<th>{esc(column)}</th>" for column in columns)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows[:limit])
    more = (f'<p class="note">{len(rows) - limit:,} more not shown'
            f'{f" (aispm query --saved {esc(section)})" if section else ""}.</p>') if len(rows) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _figure(svg: str, caption: str) -> str:
    return f'<figure class="chart">{svg}<figcaption class="note">{esc(caption)}</figcaption></figure>'


def _tiles(items: Iterable[tuple[str, Any]]) -> str:
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><b>{_number(value)}</b>{esc(label)}</div>' for label, value in items) + "</div>"


def _buckets(data: PostureData) -> list[datetime]:
    step = timedelta(seconds=data.bucket_s)
    found, at = [], data.chart_start or data.start
    while at < (data.chart_end or data.end):
        found.append(at)
        at += step
    return found


def _bucket_label(seconds: int) -> str:
    for size, unit in ((86_400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''}" if count > 1 else unit
    return f"{seconds} s"


# --- sections ------------------------------------------------------------------------------------------

def usage_section(data: PostureData) -> str:
    buckets = _buckets(data)
    index = {bucket: position for position, bucket in enumerate(buckets)}
    totals: dict[str, int] = defaultdict(int)
    for row in data.usage:
        totals[row["provider"]] += int(row["calls"])
    providers = sorted(totals, key=lambda provider: (-totals[provider], provider))
    shown, rest = providers[:TOP_PROVIDERS], set(providers[TOP_PROVIDERS:])
    names = [*shown, *(["other providers"] if rest else [])]
    per_provider = {name: [0.0] * len(buckets) for name in names}
    split = {"sanctioned": [0.0] * len(buckets), "unsanctioned": [0.0] * len(buckets)}
    by_provider: dict[str, list[int]] = {provider: [0, 0] for provider in providers}
    for row in data.usage:
        position = index.get(moment(row["bucket"]))
        calls, unsanctioned = int(row["calls"]), int(row["unsanctioned_calls"])
        by_provider[row["provider"]][0] += calls - unsanctioned
        by_provider[row["provider"]][1] += unsanctioned
        if position is None:
            continue
        per_provider["other providers" if row["provider"] in rest else row["provider"]][position] += calls
        split["sanctioned"][position] += calls - unsanctioned
        split["unsanctioned"][position] += unsanctioned
    out = ['<section id="usage"><h2>AI usage over time</h2>']
    if not data.usage:
        return out[0] + '<p class="note">No AI use in this window.</p></section>'
    step = timedelta(seconds=data.bucket_s)
    colours = {name: charts.SERIES[position % len(charts.SERIES)] for position, name in enumerate(names)}
    out.append(_figure(charts.stacked_over_time("usage-by-provider", buckets, per_provider, colours, step, "AI calls"),
                       f"AI calls per {_bucket_label(data.bucket_s)}, by provider (saved query ai_usage_over_time)."))
    out.append('<h2 id="sanctioned">Sanctioned vs unsanctioned AI use</h2>')
    out.append(_figure(charts.stacked_over_time(
        "sanctioned-over-time", buckets, split, {"sanctioned": charts.SANCTIONED, "unsanctioned": charts.UNSANCTIONED},
        step, "AI calls"), f"AI calls per {_bucket_label(data.bucket_s)}: sanctioned by the policy or not."))
    out.append(_figure(charts.stacked_bars(
        "sanctioned-by-provider", providers, {"sanctioned": [by_provider[p][0] for p in providers],
                                             "unsanctioned": [by_provider[p][1] for p in providers]},
        {"sanctioned": charts.SANCTIONED, "unsanctioned": charts.UNSANCTIONED}, "AI calls"),
        "AI calls by provider in this window."))
    rows = [[provider, sum(by_provider[provider]), by_provider[provider][1],
             f"{by_provider[provider][1] / max(sum(by_provider[provider]), 1):.0%}"] for provider in providers]
    out.append(table(["provider", "calls", "unsanctioned calls", "unsanctioned share"], rows))
    return "".join(out) + "</section>"


def principals_section(data: PostureData) -> str:
    out = ['<section id="principals"><h2>Top principals using AI</h2>']
    if not data.principals:
        return out[0] + '<p class="note">No AI use in this window.</p></section>'
    labels = [row["principal"] for row in data.principals]
    calls = [int(row["calls"]) for row in data.principals]
    unsanctioned = [int(row["unsanctioned_calls"]) for row in data.principals]
    out.append(_figure(charts.stacked_bars(
        "top-principals", labels, {"sanctioned": [c - u for c, u in zip(calls, unsanctioned, strict=True)],
                                   "unsanctioned": unsanctioned},
        {"sanctioned": charts.SANCTIONED, "unsanctioned": charts.UNSANCTIONED}, "AI calls"),
        f"The {len(labels)} principals with the most AI calls (saved query ai_usage_by_principal)."))
    out.append(table(["principal", "calls", "unsanctioned calls", "bytes", "providers"],
                     [[row["principal"], row["calls"], row["unsanctioned_calls"], row["bytes"], row["providers"]]
                      for row in data.principals]))
    return "".join(out) + "</section>"


def new_services_section(data: PostureData) -> str:
    rows = [[row["provider"], row["product"], row["host"], moment(row["first_seen"]), row["calls"],
             row["principals"]] for row in data.new_services]
    return (f'<section id="new-services"><h2>New AI services</h2><p class="note">First seen since '
            f"{esc(_when(data.new_since))} (saved query ai_services_first_seen).</p>"
            + table(["provider", "product", "host", "first seen", "calls", "principals"], rows,
                    section="ai_services_first_seen") + "</section>")


def alerts_section(data: PostureData) -> str:
    out = ['<section id="alerts"><h2>Alerts</h2>']
    if not data.alerts:
        return out[0] + '<p class="note">No alerts in this window.</p></section>'
    by_severity: dict[str, int] = defaultdict(int)
    for row in data.alerts:
        by_severity[str(row["severity"])] += int(row["alerts"])
    severities = [s for s in SEVERITIES if s in by_severity] + sorted(set(by_severity) - set(SEVERITIES))
    out.append('<h3 id="alerts-by-severity">By severity</h3>')
    out.append(_figure(charts.bars("alerts-by-severity", severities, [by_severity[s] for s in severities],
                                   [charts.SEVERITY_COLOURS.get(s, "#7f7f7f") for s in severities], "alerts"),
                       "Alerts (one per detection, principal, provider and window) by severity."))
    detections = sorted(data.alerts, key=lambda row: (-int(row["alerts"]), row["detection"]))
    out.append('<h3 id="alerts-by-detection">By detection</h3>')
    out.append(_figure(charts.stacked_bars(
        "alerts-by-detection", [row["detection"] for row in detections],
        {"alerts": [int(row["alerts"]) for row in detections]}, {"alerts": charts.SEVERITY_COLOURS["high"]},
        "alerts"), "Alerts by detection (saved query alerts_by_detection)."))
    out.append(table(["detection", "severity", "alerts", "findings", "principals"],
                     [[row["detection"], row["severity"], row["alerts"], row["findings"], row["principals"]]
                      for row in detections]))
    return "".join(out) + "</section>"


def anomaly_section(data: PostureData) -> str:
    out = ['<section id="anomalies"><h2>Anomalous access: scores over time</h2>']
    if not data.anomaly:
        return out[0] + '<p class="note">No scored access windows in this window (is a model promoted?).</p></section>'
    buckets = [moment(row["bucket"]) for row in data.anomaly]
    lines = {"median score": [float(row["median_score"]) for row in data.anomaly],
             "99th percentile": [float(row["p99_score"]) for row in data.anomaly],
             "highest score": [float(row["max_score"]) for row in data.anomaly]}
    flagged = [(moment(row["window_start"]), float(row["score"])) for row in data.anomalous]
    windows = sum(int(row["windows"]) for row in data.anomaly)
    out.append(_figure(charts.scores_over_time("anomaly-scores", buckets, lines, flagged),
                       f"{windows:,} access windows scored; per {_bucket_label(data.bucket_s)}: median, 99th "
                       "percentile and highest score (saved query anomaly_scores_over_time); red: windows flagged."))
    out.append("<h3>Windows flagged anomalous</h3>")
    out.append(table(["window start", "principal", "family", "score", "events", "why"],
                     [[moment(row["window_start"]), row["actor"], row["family"], row["score"], row["events"],
                       row["explanation"]] for row in data.anomalous], section="anomalous_windows"))
    return "".join(out) + "</section>"


def inventory_section(data: PostureData) -> str:
    rows = [[row["provider"], row["product"], row["host"], row["model_id"], row["principal"], row["calls"],
             row["bytes"], bool(row["sanctioned"]), moment(row["first_seen"]), moment(row["last_seen"])]
            for row in data.inventory]
    services = len({(row["provider"], row["host"]) for row in data.inventory})
    principals = len({row["principal"] for row in data.inventory})
    return ('<section id="inventory"><h2>AI inventory</h2>'
            f'<p class="note">{len(rows):,} uses of {services:,} services by {principals:,} principals, '
            "unsanctioned first; calls and bytes over all stored history (saved query ai_inventory).</p>"
            + table(["provider", "product", "host", "model", "principal", "calls", "bytes", "sanctioned",
                     "first seen", "last seen"], rows, limit=200, section="ai_inventory") + "</section>")


def _at_ms(ms: int | None) -> datetime | str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def assets_section(data: PostureData) -> str:
    """The AI assets the company runs itself (Bedrock, SageMaker, Vertex AI, Azure OpenAI), from the graph."""
    rows = [[asset["kind"], asset["name"], asset["account"], asset["region"], asset["created_by"],
             _at_ms(asset["created_at"]), _at_ms(asset["last_used"]), asset["flags"], asset["asset_id"]]
            for asset in data.assets]
    flagged = sum(1 for asset in data.assets if asset["flags"])
    return ('<section id="assets"><h2>AI assets</h2>'
            f'<p class="note">{len(rows):,} assets existed at the window\'s end, {flagged:,} with posture flags '
            "(aispm inventory --at; the graph built from what the cloud audit logs said about them).</p>"
            + table(["kind", "name", "account", "region", "created by", "created", "last used", "flags", "id"],
                    rows, limit=200) + "</section>")


def paths_section(data: PostureData) -> str:
    """Attack paths: those open at the window's end, and every path alerted on in the window."""
    open_rows = [[path["pattern"], " -> ".join(node["id"] for node in path["nodes"]), _at_ms(path["since"]),
                  path["reason"]] for path in data.open_paths]
    alerted = [[row["pattern"], row["severity"], row["count"], moment(row["first_seen"]), moment(row["last_seen"]),
                row["path"], row["reason"]] for row in data.path_alerts]
    return ('<section id="paths"><h2>Attack paths</h2>'
            '<p class="note">Paths from an exposure to an AI asset (aispm paths): a public or foreign-writable '
            "bucket feeding a model or agent, an agent acting through an admin role, a model invoked by an "
            "identity the policy does not sanction, an internet-facing notebook with training rights.</p>"
            f"<h3>Open at the window's end ({len(open_rows):,})</h3>"
            + table(["pattern", "path", "since", "why"], open_rows)
            + f"<h3>Alerted in the window ({len(alerted):,}; a path alerts once per time it opens)</h3>"
            + table(["pattern", "severity", "times opened", "first seen", "last seen", "path", "why"], alerted,
                    section="attack_path_alerts") + "</section>")


def _entry_name(framework: str, entry: str) -> str:
    if framework.startswith("MITRE"):
        from streams.detect.alerts import technique_table

        return technique_table()["techniques"].get(entry, {}).get("name", "")
    if framework.startswith("OWASP"):
        return OWASP_LLM_2025.get(entry, "")
    return NIST_AI_RMF_FUNCTIONS.get(entry.split(" ")[0], "")


def frameworks_section(data: PostureData) -> str:
    out = ['<section id="frameworks"><h2>Findings by compliance framework</h2>',
           ('<p class="note">Tags the rules that raised the alerts carry: MITRE ATT&amp;CK and ATLAS techniques, '
            "OWASP Top 10 for LLM Applications (2025), NIST AI RMF subcategories (saved query "
            "alerts_by_framework). An alert counts once under each tag of its rule.</p>")]
    if not data.frameworks:
        return "".join(out) + '<p class="note">No tagged alerts in this window.</p></section>'
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in data.frameworks:
        grouped[row["framework"]].append(row)
    order = [f for f in FRAMEWORKS if f in grouped] + sorted(set(grouped) - set(FRAMEWORKS))
    entries = [(framework, row) for framework in order for row in grouped[framework][:8]]
    # One part per framework, zero outside its own entries: each bar is coloured by its framework.
    parts = {framework: [int(row["alerts"]) if owner == framework else 0 for owner, row in entries]
             for framework in order}
    out.append(_figure(charts.stacked_bars(
        "frameworks", [f"{row['id']} {_entry_name(framework, row['id'])}".strip() for framework, row in entries],
        parts, {f: charts.FRAMEWORK_COLOURS.get(f, "#7f7f7f") for f in order}, "alerts"),
        "Alerts per framework entry (up to 8 per framework, most alerts first)."))
    for framework in order:
        out.append(f"<h3>{esc(framework)}</h3>")
        out.append(table(["id", "name", "alerts", "findings", "detections"],
                         [[row["id"], _entry_name(framework, row["id"]), row["alerts"], row["findings"],
                           row["detections"]] for row in grouped[framework]]))
    return "".join(out) + "</section>"


def summary_section(data: PostureData) -> str:
    calls = sum(int(row["calls"]) for row in data.usage)
    unsanctioned = sum(int(row["unsanctioned_calls"]) for row in data.usage)
    events = sum(int(row["events"]) for row in data.events_by_source)
    tiles = _tiles([
        ("events stored", events), ("AI calls", calls), ("unsanctioned AI calls", unsanctioned),
        ("AI providers", len({row["provider"] for row in data.usage})),
        ("principals using AI", len({row["principal"] for row in data.inventory})),
        ("new AI services", len(data.new_services)), ("alerts", sum(int(row["alerts"]) for row in data.alerts)),
        ("anomalous windows", sum(int(row["anomalous"]) for row in data.anomaly)),
    ])
    sources = table(["source", "format", "events", "first event", "last event"],
                    [[row["source_family"], row["source_format"], row["events"], moment(row["first_event"]),
                      moment(row["last_event"])] for row in data.events_by_source])
    return f'<section id="summary"><h2>Summary</h2>{tiles}<h3>Stored events by source (all history)</h3>{sources}</section>'


def render(data: PostureData) -> str:
    """The whole page."""
    window = (f"{_when(data.start)} to {_when(data.end)}" if data.has_events
              else "no stored events" + (f" since {_when(data.since)}" if data.since else ""))
    sections = [summary_section(data), usage_section(data), principals_section(data), new_services_section(data),
                alerts_section(data), anomaly_section(data), inventory_section(data), assets_section(data),
                paths_section(data), frameworks_section(data)]
    nav = " ".join(f'<a href="#{anchor}">{esc(title)}</a>' for anchor, title in (
        ("summary", "Summary"), ("usage", "AI usage"), ("sanctioned", "Sanctioned"), ("principals", "Principals"),
        ("new-services", "New services"), ("alerts", "Alerts"), ("anomalies", "Anomalies"),
        ("inventory", "Inventory"), ("assets", "AI assets"), ("paths", "Attack paths"), ("frameworks", "Frameworks")))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{esc(_CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>aispm posture report: {esc(window)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>AI security posture report</h1><p class=\"meta\">{esc(window)}"
        f"{f' (since {esc(_when(data.since))})' if data.since else ''}. Generated {esc(_when(data.generated_at))} "
        "by aispm.</p>"
        f"<nav>{nav}</nav>{''.join(sections)}</main></body></html>\n"
    )
