"""The anomaly model on the demo company and on real attack logs: trained on benign days only, evaluated on
a later day whose incidents it never saw, on the OTRF stolen-role case, and with the registry's artifacts."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from models.registry import ModelRefused, pack, sha256, unpack
from models.scoring import explain, score
from models.training import TrainingRun, evaluate
from streams.demo import INCIDENTS
from streams.detect.offline import normalized_frame
from streams.detect.pipeline import Detectors
from streams.enrich.policy import Policy
from tests.anomaly_data import WINDOW, trained_on_history
from tests.anomaly_data import demo_day as demo_day_frame
from tests.conftest import dataset

STOLEN_ROLE = ("arn:aws:sts::123456789123:assumed-role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0/"
               "i-0317f6c6b66ae9c40")


@pytest.fixture(scope="module")
def trained() -> TrainingRun:
    return trained_on_history(7)


@pytest.fixture(scope="module")
def demo_day() -> tuple[pl.DataFrame, dict[str, str]]:
    return demo_day_frame()


def test_training_calibrates_the_alert_rate_per_population(trained: TrainingRun) -> None:
    assert set(trained.model.forests) == {"human", "service"}
    metrics = trained.metrics()
    assert metrics["training_windows"] == trained.windows.height > 2000
    # 10 per 1,000 asked; the calibrated threshold gives about that on the training windows.
    assert 5 <= metrics["training_alerts_per_1000"] <= 15


def test_a_later_day_with_incidents_it_never_saw(trained: TrainingRun, demo_day) -> None:
    events, labels = demo_day
    access = {incident.id for incident in INCIDENTS if incident.anomalous_access}
    positives = {event_id for event_id, label in labels.items() if label in access}
    evaluation = evaluate(trained.model, events, positives)
    summary = evaluation.summary()
    assert summary["positives"] >= 8 and summary["roc_auc"] >= 0.9
    # Each incident with CloudTrail events has at least one flagged window.
    flagged_ids = (evaluation.windows.filter(pl.col("anomalous")).select("actor", "family", "window_start")
                   .join(_windows_of(events), on=["actor", "family", "window_start"])["event_id"].to_list())
    caught = {labels[event_id] for event_id in flagged_ids} - {""}
    with_cloudtrail = {labels[event_id] for event_id in positives}
    assert with_cloudtrail <= caught, with_cloudtrail - caught
    # Precision: nothing of the background reaches the threshold.
    assert summary["precision"] == 1.0


def _windows_of(events: pl.DataFrame) -> pl.DataFrame:
    from models.features import window_events

    return window_events(events, WINDOW)


def test_explanations_name_what_drove_the_score_and_what_was_new(trained: TrainingRun, demo_day) -> None:
    events, labels = demo_day
    jacking = {event_id for event_id, label in labels.items() if label == "bedrock_llmjacking"}
    windows = evaluate(trained.model, events, jacking).windows
    first = windows.filter(pl.col("positive") & pl.col("anomalous")).sort("window_start").head(1)
    (explained,) = explain(trained.model, first)
    assert explained["drivers"] and all(driver["contribution"] > 0 for driver in explained["drivers"])
    assert "203.0.113.0/24" in explained["novel"]["network"]
    assert "new network 203.0.113.0/24" in explained["summary"]
    assert any(item.startswith("bedrock:") for item in explained["novel"]["action"])


def test_otrf_stolen_role_windows_score_above_every_benign_window(trained: TrainingRun) -> None:
    discovery = Policy.discovery()
    events, _ = normalized_frame(
        "cloudtrail", [dataset("otrf-security-datasets", "ec2_proxy_s3_exfiltration_2020-09-14011940.json")],
        Detectors.default(lambda: discovery))
    windows = evaluate(trained.model, events, set()).windows
    stolen = windows.filter(pl.col("actor") == STOLEN_ROLE)["score"]
    benign = windows.filter(pl.col("actor") != STOLEN_ROLE)["score"]
    assert stolen.len() == 2 and benign.len() == 4
    assert stolen.min() > benign.max()


# --- the registry's artifacts -------------------------------------------------------------------------

def _packed(run: TrainingRun):
    moment = datetime(2026, 11, 20, tzinfo=UTC)
    return pack(run.model, trained_from="test", train_since=moment, train_until=moment, events=1,
                windows_by_population=run.windows_by_population(), metrics="{}", trained_by="test",
                alerts_per_1000=10)


def test_a_packed_model_loads_and_scores_the_same(trained: TrainingRun, demo_day) -> None:
    stored = _packed(trained)
    assert stored.artifact_sha256 == sha256(stored.artifact) and stored.version.endswith(stored.artifact_sha256[:8])
    loaded = unpack(stored)
    events, _ = demo_day
    from models.features import window_features

    windows = window_features(events, WINDOW, trained.model.history)
    assert score(loaded, windows)["score"].equals(score(trained.model, windows)["score"])
    assert loaded.history.equals(trained.model.history) and loaded.profiles.equals(trained.model.profiles)


def test_an_altered_artifact_or_baseline_is_refused(trained: TrainingRun) -> None:
    stored = _packed(trained)
    flipped = bytearray(stored.artifact)
    flipped[len(flipped) // 2] ^= 1
    stored.artifact = bytes(flipped)
    with pytest.raises(ModelRefused, match="artifact's SHA-256"):
        unpack(stored)
    stored = _packed(trained)
    stored.baseline = stored.baseline[:-1] + b"x"
    with pytest.raises(ModelRefused, match="baseline's SHA-256"):
        unpack(stored)


def test_an_artifact_with_untrusted_types_is_refused_even_with_a_matching_digest(trained: TrainingRun) -> None:
    import os

    stored = _packed(trained)
    # What an attacker who can write the registry would try: a callable skops has to be told to trust.
    stored.artifact = sio.dumps({"forests": {}, "hook": FunctionTransformer(func=os.system)})
    stored.artifact_sha256 = sha256(stored.artifact)
    with pytest.raises(ModelRefused, match="types aispm does not trust") as refused:
        unpack(stored)
    assert "posix.system" in str(refused.value) or "os.system" in str(refused.value)


def test_a_model_of_other_features_is_refused(trained: TrainingRun) -> None:
    stored = _packed(trained)
    stored.feature_version = "0"
    with pytest.raises(ModelRefused, match="features v0"):
        unpack(stored)
