"""scripts/ecs_fields.py keeps what the ECS format's test checks from Elastic's ecs_flat, and the bundled
reference is what it writes."""

from __future__ import annotations

import importlib.util

import yaml

from tests.conftest import REPO
from tests.siem_schemas import ecs_reference

_spec = importlib.util.spec_from_file_location("ecs_fields", REPO / "scripts" / "ecs_fields.py")
ecs_fields = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ecs_fields)

ECS_FLAT = """\
event.category:
  dashed_name: event-category
  description: This is one of four ECS Categorization Fields.
  flat_name: event.category
  level: core
  normalize:
  - array
  type: keyword
  allowed_values:
  - name: intrusion_detection
    description: Relating to intrusion detections.
    expected_event_types:
    - allowed
    - denied
    - info
event.severity:
  flat_name: event.severity
  level: core
  normalize: []
  type: long
"""


def test_keeps_type_array_and_allowed_values() -> None:
    reference = ecs_fields.reference(yaml.safe_load(ECS_FLAT), "9.9.9")
    assert reference == {"ecs_version": "9.9.9", "fields": {
        "event.category": {"type": "keyword", "array": True,
                           "allowed": {"intrusion_detection": ["allowed", "denied", "info"]}},
        "event.severity": {"type": "long"}}}


def test_the_bundled_reference_is_a_whole_ecs_release() -> None:
    fields = ecs_reference()["fields"]
    assert len(fields) > 1000 and "alert" in fields["event.kind"]["allowed"]
    assert fields["@timestamp"]["type"] == "date" and fields["threat.technique.id"].get("array")
