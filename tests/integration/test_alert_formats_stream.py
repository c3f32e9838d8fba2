"""The alerts topic in the format the settings name, through the real broker and worker: Splunk HEC events
that fit the envelope and carry a valid OCSF alert, while ClickHouse keeps the OCSF form."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import WorkerHandle, worker_env
from tests.integration.test_alerts_stream import alerts_on_topic, send, squid, wait_detected
from tests.ocsf_schema import schema_problems
from tests.siem_schemas import hec_problems

pytestmark = pytest.mark.integration


def test_the_worker_sends_hec_events_and_lands_ocsf(tmp_path, embedded_broker) -> None:
    handle = WorkerHandle(env=worker_env(tmp_path, embedded_broker, AISPM_DETECTION__ALERT_FORMAT="hec",
                                         AISPM_DETECTION__HEC_INDEX="ai_security", AISPM_DETECTION__HEC_HOST="aispm-1"),
                          data_dir=tmp_path)
    handle.start()
    try:
        send(handle, "gateway", [squid("carol", "https://api.openai.com/v1/chat/completions", i) for i in range(5)])
        wait_detected(handle, 5)
        events = alerts_on_topic(handle)
        assert events, "no alert reached the alerts topic"
        for event in events:
            assert hec_problems(event) == [] and schema_problems(event["event"]) == []
            assert (event["index"], event["host"]) == ("ai_security", "aispm-1")
        assert {event["fields"]["principal"] for event in events} == {"carol"}
        [[ocsf]] = handle.query("SELECT ocsf FROM alerts_current WHERE detection = 'shadow_ai_egress'")
        landed = orjson.loads(ocsf)
        assert schema_problems(landed) == [] and landed["finding_info"]["uid"] == events[-1]["event"]["finding_info"]["uid"]
    finally:
        handle.stop()
