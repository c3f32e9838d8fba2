"""False positives and alert volume, measured on real network background.

The Zeek ssl (SNI) and dns logs in ../shared/datasets/zed-sample-data-zeek hold ~103k records from a
2018 competition network with no AI traffic, but with near-miss hosts (*.googleapis.com,
s3.amazonaws.com, *.microsoft.com). First every record goes through the real normalizer and every
shadow-AI detection: nothing may fire. Then AI hosts are written into a deterministic sample of the
records of a few sources, and each unsanctioned (source, provider) pair must raise exactly one alert
per dedup window it was seen in, together counting every injected record once, while a sanctioned
pair raises none.

The dataset is CC BY-SA and is read in place, never copied into the repository.
"""

from __future__ import annotations

import gzip
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import orjson
import pytest

from schemas.finding import Finding
from streams.detect.alerts import AlertEvent, MemoryLedger, alert_id_of, window_start
from streams.detect.rules import ai_credential_exposure, shadow_ai_cloud_runtime, shadow_ai_egress
from streams.enrich.catalog import Catalog, default_catalog
from streams.enrich.policy import Policy
from streams.normalize import normalize_message
from tests.conftest import dataset
from tests.unit.rule_runs import rule_findings

ZEEK = "zed-sample-data-zeek"
BATCH = 500  # records per message, as a shipper batches them
HOUR_MS = 3_600_000

# What each chosen source is made to reach. Source 2's Copilot use is sanctioned by POLICY.
INJECTED_HOSTS: dict[int, tuple[str, ...]] = {
    0: ("api.openai.com", "claude.ai"),
    1: ("bedrock-runtime.us-west-2.amazonaws.com", "generativelanguage.googleapis.com"),
    2: ("api.githubcopilot.com",),
    3: ("huggingface.co", "us-central1-aiplatform.googleapis.com"),
}
SANCTIONED_SOURCE = 2
INJECT_RATE = 0.05


@dataclass
class Corpus:
    lines: dict[str, list[bytes]]
    events: dict[str, list[dict]]
    failures: int
    seconds: float


def _normalize(lines: list[bytes]) -> tuple[list[dict], int]:
    events: list[dict] = []
    failures = 0
    for start in range(0, len(lines), BATCH):
        result = normalize_message("gateway", b"\n".join(lines[start:start + BATCH]))
        events.extend(result.events)
        failures += len(result.failures)
    return events, failures


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    started = time.perf_counter()
    lines = {log: gzip.decompress(dataset(ZEEK, f"{log}.json.gz").read_bytes()).splitlines() for log in ("ssl", "dns")}
    events: dict[str, list[dict]] = {}
    failures = 0
    for log, log_lines in lines.items():
        events[log], failed = _normalize(log_lines)
        failures += failed
    return Corpus(lines, events, failures, time.perf_counter() - started)


def _detect(events: list[dict], catalog: Catalog, policy: Policy | None) -> list[Finding]:
    findings = []
    for event in events:
        findings.extend(rule_findings(shadow_ai_egress, event, catalog, policy))
        findings.extend(rule_findings(ai_credential_exposure, event, catalog, policy))
        findings.extend(rule_findings(shadow_ai_cloud_runtime, event, catalog, policy))
    return findings


def test_background_raises_nothing(corpus: Corpus) -> None:
    catalog = default_catalog()
    records = {log: len(lines) for log, lines in corpus.lines.items()}
    assert records["ssl"] > 49_000 and records["dns"] > 53_000
    assert corpus.failures == 0
    assert {log: len(events) for log, events in corpus.events.items()} == records
    started = time.perf_counter()
    findings = _detect(corpus.events["ssl"] + corpus.events["dns"], catalog, None)  # discovery mode: flag any AI
    hosts = Counter(event["target_host"] for log in ("ssl", "dns") for event in corpus.events[log]
                    if event["target_host"])
    near_misses = sorted(host for host in hosts if host.endswith(("googleapis.com", "amazonaws.com", "azure.com")))
    print(f"\nzeek background: ssl={records['ssl']} dns={records['dns']} records, "
          f"{len(hosts)} distinct hosts ({len(near_misses)} near misses on AI parent domains), "
          f"normalized in {corpus.seconds:.2f}s, detections in {time.perf_counter() - started:.2f}s, "
          f"findings={len(findings)}")
    assert near_misses, "the background should contain near-miss hosts for this test to mean something"
    assert findings == [], [finding.context.get("host") for finding in findings[:10]]


def _sources(corpus: Corpus) -> list[str]:
    """The busiest client addresses that have both SNI and DNS records (deterministic)."""
    ssl = Counter(orjson.loads(line)["id.orig_h"] for line in corpus.lines["ssl"] if b'"server_name"' in line)
    dns = Counter(orjson.loads(line)["id.orig_h"] for line in corpus.lines["dns"])
    both = [address for address, _ in ssl.most_common() if dns[address] > 0]
    assert len(both) >= len(INJECTED_HOSTS)
    return both[:len(INJECTED_HOSTS)]


def _inject(corpus: Corpus, sources: list[str]) -> tuple[dict[str, list[dict]], Counter]:
    """The events with AI hosts written into a seeded sample of the chosen sources' records.

    Only rewritten records are normalized again; the others are the background events already made.
    """
    chooser = random.Random(20250309)
    index_of = {address: position for position, address in enumerate(sources)}
    catalog = default_catalog()
    injected: Counter = Counter()
    mixed: dict[str, list[dict]] = {}
    for log, field in (("ssl", "server_name"), ("dns", "query")):
        events = list(corpus.events[log])
        for position, line in enumerate(corpus.lines[log]):
            record = orjson.loads(line)
            source = index_of.get(record["id.orig_h"])
            if source is None or field not in record or chooser.random() >= INJECT_RATE:
                continue
            record[field] = chooser.choice(INJECTED_HOSTS[source])
            [event], failures = _normalize([orjson.dumps(record)])
            assert failures == 0
            events[position] = event
            injected[(record["id.orig_h"], catalog.match(record[field]).provider)] += 1
        mixed[log] = events
    return mixed, injected


POLICY = """
version: 1
clauses:
  - id: copilot-for-source-2
    providers: [github-copilot]
    networks: [{network}]
"""


def test_injected_ai_use_raises_one_alert_per_source_and_provider_per_window(corpus: Corpus) -> None:
    catalog = default_catalog()
    sources = _sources(corpus)
    policy = Policy.from_text(POLICY.format(network=f"{sources[SANCTIONED_SOURCE]}/32"))
    mixed, injected = _inject(corpus, sources)
    expected_pairs = {(address, catalog.match(host).provider)
                      for position, address in enumerate(sources) for host in INJECTED_HOSTS[position]}
    assert set(injected) == expected_pairs, "every planned (source, provider) pair got records"

    events = sorted(mixed["ssl"] + mixed["dns"], key=lambda event: event["time"])
    findings = _detect(events, catalog, policy)
    ledger = MemoryLedger()
    alerts_of: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    windows_of: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    final_count: dict[str, int] = {}
    for finding in findings:
        pair = (finding.principal, finding.provider)
        alert_id = alert_id_of(finding, HOUR_MS)
        tally = ledger.record([AlertEvent(alert_id, finding.event["event_id"], finding.event["time"],
                                          finding.detection)])[alert_id]
        alerts_of[pair].add(alert_id)
        windows_of[pair].add(window_start(finding.event["time"], HOUR_MS))
        final_count[alert_id] = tally.count

    sanctioned = {pair for pair in injected if pair[0] == sources[SANCTIONED_SOURCE]}
    unsanctioned = set(injected) - sanctioned
    span_min = (events[-1]["time"] - events[0]["time"]) / 60_000
    print(f"\nzeek mixed: {sum(injected.values())} records rewritten to AI hosts over {span_min:.0f} min for "
          f"{len(injected)} (source, provider) pairs ({len(sanctioned)} sanctioned); "
          f"findings={len(findings)} alerts={sum(len(ids) for ids in alerts_of.values())} (1 h windows)")
    for pair in sorted(injected):
        print(f"  {pair[0]:>15} {pair[1]:<18} records={injected[pair]:>4} alerts={len(alerts_of.get(pair, ()))}")

    assert all(finding.detection == "shadow_ai_egress" for finding in findings)
    assert set(alerts_of) == unsanctioned
    for pair in unsanctioned:
        # One alert per hour the pair was seen in, and together they count every injected record once.
        assert len(alerts_of[pair]) == len(windows_of[pair]) <= 1 + int(span_min // 60) + 1, pair
        assert sum(final_count[alert_id] for alert_id in alerts_of[pair]) == injected[pair]
    assert len(findings) == sum(injected[pair] for pair in unsanctioned)

    # The same findings over a 5-minute window: still per pair, now one alert per 5 minutes it was seen in.
    per_pair: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    starts: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for finding in findings:
        pair = (finding.principal, finding.provider)
        per_pair[pair].add(alert_id_of(finding, 5 * 60_000))
        starts[pair].add(window_start(finding.event["time"], 5 * 60_000))
    assert all(len(per_pair[pair]) == len(starts[pair]) for pair in per_pair)
    print(f"  5-min windows: alerts={sum(len(ids) for ids in per_pair.values())}")
