"""Anomalous access end to end through the real broker: a model trained and promoted with `aispm model`,
a worker that windows and scores the stream, and an explained OCSF alert on the alerts topic."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from streams.demo.export import write_demo_files
from tests.conftest import WorkerHandle, worker_env
from tests.integration.test_alerts_stream import alerts_on_topic, send
from tests.unit.test_alerts import assert_valid_detection_finding

pytestmark = pytest.mark.integration

JACKED = "arn:aws:iam::493817264053:user/svc-legacy-reporting"


def test_injected_anomalous_access_raises_an_explained_alert(tmp_path, embedded_broker) -> None:
    files = tmp_path / "demo"
    write_demo_files(files, history_days=3)
    data_dir = tmp_path / "worker"
    env = worker_env(data_dir, embedded_broker)
    # Trained and promoted by the CLI in its own process (chDB opens in one process at a time).
    trained = subprocess.run([sys.executable, "-m", "streams.cli", "model", "train", "--source", "cloudtrail",
                              str(files / "history" / "cloudtrail.log"), "--promote"],
                             check=False, env=env, capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr
    handle = WorkerHandle(env=env, data_dir=data_dir)
    handle.start()
    try:
        day = (files / "day" / "cloudtrail.log").read_bytes().splitlines()
        send(handle, "cloudtrail", day)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            anomaly = handle.stats_all()["anomaly"]
            if anomaly["anomalies"] > 0 and anomaly["windows_closed"] > 300:
                break
            time.sleep(0.5)
        assert anomaly["model_version"] and anomaly["windows_scored"] == anomaly["windows_closed"] > 300, anomaly
        alerts = [alert for alert in alerts_on_topic(handle)
                  if alert["finding_info"]["analytic"]["uid"] == "anomalous_access"]
        assert alerts
        for alert in alerts:
            assert_valid_detection_finding(alert)
        jacked = [alert for alert in alerts if alert["unmapped"]["principal"] == JACKED]
        assert jacked, [alert["unmapped"]["principal"] for alert in alerts]
        # The alert says why (the latest unusual window of its hour) and carries the model's evidence.
        assert all(alert["finding_info"]["desc"] for alert in jacked)
        evidence = jacked[-1]["unmapped"]["context"]
        assert evidence["drivers"] and evidence["score"] >= evidence["threshold"] and evidence["model_version"]
        rows = handle.query("SELECT explanation FROM access_windows FINAL WHERE anomalous AND actor = {actor:String} "
                            "ORDER BY window_start", {"actor": JACKED})
        assert rows and "new network 203.0.113.0/24" in rows[0][0]
    finally:
        handle.stop()
