"""Access-window features: on the OTRF stolen-role case, on small hand-made histories, and the property
that scoring windows a part at a time against the history so far gives what one pass over all gives."""

from __future__ import annotations

import polars as pl
import pytest

from models.features import (
    FEATURES,
    HISTORY_SCHEMA,
    bounded,
    empty_history,
    history_of,
    population,
    window_events,
    window_features,
)
from streams.detect.offline import normalized_frame
from streams.detect.pipeline import Detectors
from streams.enrich.policy import Policy
from tests.conftest import dataset

WINDOW = 600_000
MINUTE = 60_000
STOLEN_ROLE = ("arn:aws:sts::123456789123:assumed-role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0/"
               "i-0317f6c6b66ae9c40")
PEDRO = "arn:aws:iam::123456789123:user/pedro"


@pytest.fixture(scope="module")
def otrf() -> pl.DataFrame:
    discovery = Policy.discovery()
    frame, dead = normalized_frame(
        "cloudtrail", [dataset("otrf-security-datasets", "ec2_proxy_s3_exfiltration_2020-09-14011940.json")],
        Detectors.default(lambda: discovery))
    assert dead == 0 and frame.height == 103
    return frame


def event(minute: float, actor: str = "alice@corp.example", *, action: str = "GetObject", ip: str = "10.0.0.5",
          agent: str = "aws-cli/2.17.20", region: str = "us-east-1", outcome: str = "success",
          actor_type: str = "User", resource: str = "", ai: str = "", day: int = 0) -> dict:
    time = 1_700_000_000_000 - 1_700_000_000_000 % WINDOW + day * 86_400_000 + int(minute * MINUTE)
    return {"event_id": f"{actor}-{time}-{action}-{ip}", "time": time, "actor": actor, "actor_type": actor_type,
            "action": action, "service": "s3.amazonaws.com", "target_resource": resource, "src_ip": ip,
            "user_agent": agent, "cloud_region": region, "outcome": outcome, "class_uid": 6003, "activity_id": 2,
            "ai_provider": ai, "bytes_in": None, "bytes_out": 100 if ai else None}


def frame(events: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(events, schema_overrides={"bytes_in": pl.Int64, "bytes_out": pl.Int64})


def test_otrf_windows_describe_the_stolen_role_and_the_console_user(otrf: pl.DataFrame) -> None:
    windows = window_features(otrf, WINDOW)
    assert windows.height == 6
    stolen = windows.filter(pl.col("actor") == STOLEN_ROLE).sort("window_start").to_dicts()
    assert [row["events"] for row in stolen] == [7, 4]
    assert [row["known_principal"] for row in stolen] == [False, True]
    # An instance role driven by the AWS CLI from a Mac: every call interactive, every call discovery or reads.
    assert all(row["population"] == "service" and row["interactive_share"] == 1.0 for row in stolen)
    assert stolen[0]["discovery_share"] == 1.0
    # A principal's first window has no baseline of its own: nothing new, usual volume.
    assert stolen[0]["new_actions"] == 0 and stolen[0]["volume_ratio"] == 1.0
    pedro = windows.filter(pl.col("actor") == PEDRO).sort("window_start").to_dicts()
    assert [row["population"] for row in pedro] == ["human", "human"]
    assert pedro[1]["new_actions"] == 4 and len(pedro[1]["new_action_items"]) == 4
    assert all(item.startswith("ec2:") for item in pedro[1]["new_action_items"])
    assert pedro[1]["volume_ratio"] == pytest.approx(48 / 39)


def test_population_separates_people_from_workloads() -> None:
    rows = pl.DataFrame({
        "actor": ["arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0123/tom@corp.example",
                  "arn:aws:sts::1:assumed-role/data-pipeline/i-0abc", "alice@corp.example",
                  "system:serviceaccount:ml:runner", "arn:aws:iam::1:user/bob"],
        "actor_type": ["AssumedRole", "AssumedRole", "User", "ServiceAccount", "IAMUser"],
    })
    assert rows.select(population()).to_series().to_list() == ["human", "service", "human", "service", "human"]


def test_new_and_rare_items_are_measured_against_the_principals_own_windows() -> None:
    usual = [event(10 * window) for window in range(40)]  # one call per window, same everything
    odd = [event(400 + 1, ip="203.0.113.9", agent="python-requests/2.31"),
           event(400 + 2, action="ListBuckets"), event(400 + 3)]
    windows = window_features(frame(usual + odd), WINDOW).sort("window_start")
    last = windows.row(-1, named=True)
    assert last["known_principal"] is True
    assert last["new_networks"] == 1 and last["new_network_items"] == ["203.0.113.0/24"]
    assert last["new_user_agents"] == 1 and last["new_user_agent_items"] == ["python-requests/2.31"]
    assert last["new_actions"] == 1 and last["new_action_items"] == ["s3:ListBuckets"]
    assert last["rare_network_share"] == pytest.approx(1 / 3)
    assert last["volume_ratio"] == pytest.approx(3.0)
    # Every earlier window but the first repeats what came before: nothing new, nothing rare.
    steady = windows[1:-1]
    assert steady["new_networks"].sum() == 0 and steady["rare_action_share"].sum() == 0
    assert windows.row(0, named=True)["known_principal"] is False


def test_an_item_seen_once_stays_rare_until_it_is_common() -> None:
    history = [event(10 * window) for window in range(40)]
    history.append(event(10 * 40 + 1, ip="198.51.100.7"))  # a one-off
    later = [event(10 * 41 + 1, ip="198.51.100.7")]
    last = window_features(frame(history + later), WINDOW).sort("window_start").row(-1, named=True)
    assert last["new_networks"] == 0  # seen before
    assert last["rare_network_share"] == 1.0  # in 1 of 41 earlier windows


def test_shares_counts_and_ai_usage() -> None:
    events = [event(1, outcome="failure"), event(2, action="ListObjects", resource="bucket-a"),
              event(3, action="PutObject", resource="bucket-b", region="eu-west-1"),
              event(4, action="InvokeModel", ai="anthropic", ip="10.0.0.6")]
    events[2]["activity_id"] = 1  # create
    row = window_features(frame(events), WINDOW).row(0, named=True)
    assert row["events"] == 4 and row["distinct_actions"] == 4 and row["distinct_resources"] == 2
    assert row["distinct_src_ips"] == 2 and row["distinct_regions"] == 2
    assert row["failure_share"] == 0.25 and row["mutating_share"] == 0.25
    assert row["discovery_share"] == 0.5  # GetObject, ListObjects
    assert row["ai_calls"] == 1 and row["ai_bytes"] == 100
    assert row["interactive_share"] == 1.0


def test_events_without_a_principal_make_no_window() -> None:
    assert window_features(frame([event(1, actor="")]), WINDOW).height == 0
    assert window_features(frame([event(1, actor="")]), WINDOW).columns[:4] == ["actor", "population", "family",
                                                                                "window_start"]


def test_scoring_part_by_part_against_the_history_so_far_equals_one_pass() -> None:
    """What the stream does (each closed part against the history before it) is what training does."""
    events = []
    for day in range(3):
        for window in range(12):
            for person, ip in (("alice@corp.example", "10.0.0.5"), ("bob@corp.example", "10.0.1.9")):
                events.append(event(10 * window + 1, person, ip=ip, day=day))
                if (window + day) % 5 == 0:
                    events.append(event(10 * window + 2, person, action="ListBuckets", day=day,
                                        ip="203.0.113.4" if day == 2 else ip))
    whole = frame(events)
    one_pass = window_features(whole, WINDOW)
    cut = events[len(events) // 2]["time"] // WINDOW * WINDOW
    before, after = whole.filter(pl.col("time") < cut), whole.filter(pl.col("time") >= cut)
    in_parts = pl.concat([window_features(before, WINDOW), window_features(after, WINDOW, history_of(before, WINDOW))])
    columns = ["actor", "family", "window_start", *FEATURES, "new_network_items"]
    assert in_parts.sort("window_start", "actor").select(columns).equals(
        one_pass.sort("window_start", "actor").select(columns))


def test_history_merges_and_is_bounded_by_recency() -> None:
    first = history_of(frame([event(1, ip="10.0.0.1"), event(2, ip="10.0.1.1")]), WINDOW)
    merged = history_of(frame([event(11, ip="10.0.0.1")]), WINDOW, first)
    networks = merged.filter(pl.col("kind") == "network").sort("item")
    assert networks["item"].to_list() == ["10.0.0.0/24", "10.0.1.0/24"]
    assert networks["windows"].to_list() == [2, 1]
    windows = merged.filter(pl.col("kind") == "window").row(0, named=True)
    assert windows["windows"] == 2 and windows["events"] == 3
    kept = bounded(merged, 1).filter(pl.col("kind") == "network")
    assert kept["item"].to_list() == ["10.0.0.0/24"]  # the most recently seen
    assert dict(empty_history().schema) == HISTORY_SCHEMA


def test_window_events_maps_every_event_with_a_principal_to_its_window(otrf: pl.DataFrame) -> None:
    mapping = window_events(otrf, WINDOW)
    assert mapping.height == 103 and mapping["event_id"].n_unique() == 103
    assert set(mapping["actor"]) == {PEDRO, STOLEN_ROLE, "ec2.amazonaws.com"}


def test_compacted_rows_give_the_same_windows(otrf: pl.DataFrame) -> None:
    from models.features import compact, features_of, prepared

    rows = prepared(otrf, WINDOW)
    folded = compact(rows)
    assert folded.height < rows.height and folded["n"].sum() == rows.height
    columns = ["actor", "family", "window_start", "first_event", "last_event", *FEATURES]
    assert features_of(folded, WINDOW).select(columns).equals(window_features(otrf, WINDOW).select(columns))
