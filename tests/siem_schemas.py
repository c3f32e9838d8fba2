"""Checks for the alerts topic's ECS and Splunk HEC formats.

ECS: every field of a document against the ECS field reference (tests/samples/ecs/ecs_fields.json, made by
scripts/ecs_fields.py from Elastic's generated ecs_flat): the name exists, the value has the field's type,
arrays where ECS expects them, allowed values and each event category's expected event types. Fields
under ``aispm.`` are the custom namespace and are not ECS's.

HEC: the HTTP Event Collector's event envelope: ``event`` required; ``time`` epoch seconds; ``host``,
``source``, ``sourcetype``, ``index`` strings; ``fields`` flat, each value a string or a list of strings.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from functools import cache
from typing import Any

import orjson

from tests.conftest import REPO

CUSTOM_NAMESPACE = "aispm"
_LEAF_OBJECTS = {"object", "flattened", "nested"}
_STRINGS = {"keyword", "wildcard", "constant_keyword", "text", "match_only_text"}
HEC_KEYS = {"time", "host", "source", "sourcetype", "index", "event", "fields"}


@cache
def ecs_reference() -> dict[str, Any]:
    return orjson.loads((REPO / "tests" / "samples" / "ecs" / "ecs_fields.json").read_bytes())


def _leaves(document: dict, fields: dict, prefix: str = "") -> list[tuple[str, Any]]:
    leaves = []
    for key, value in document.items():
        name = f"{prefix}{key}"
        spec = fields.get(name)
        if isinstance(value, dict) and not (spec and spec["type"] in _LEAF_OBJECTS) and name != CUSTOM_NAMESPACE:
            leaves.extend(_leaves(value, fields, f"{name}."))
        else:
            leaves.append((name, value))
    return leaves


def _type_problem(name: str, ecs_type: str, value: Any) -> str | None:
    if ecs_type in _STRINGS:
        ok = isinstance(value, str)
    elif ecs_type == "long":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif ecs_type in ("float", "scaled_float", "double", "half_float"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif ecs_type == "boolean":
        ok = isinstance(value, bool)
    elif ecs_type in _LEAF_OBJECTS:
        ok = isinstance(value, dict)
    elif ecs_type == "date":
        try:
            ok = isinstance(value, str) and datetime.fromisoformat(value) is not None
        except ValueError:
            ok = False
    elif ecs_type == "ip":
        try:
            ok = isinstance(value, str) and ipaddress.ip_address(value) is not None
        except ValueError:
            ok = False
    else:
        return f"{name}: ECS type {ecs_type} is not checked here"
    return None if ok else f"{name}: {value!r} is not of ECS type {ecs_type}"


def ecs_problems(document: dict) -> list[str]:
    """What the ECS field reference rejects in ``document``; [] when every field conforms."""
    document = orjson.loads(orjson.dumps(document))
    fields = ecs_reference()["fields"]
    problems = [f"{name} is required" for name in ("@timestamp", "ecs.version")
                if name not in dict(_leaves(document, fields))]
    if document.get("ecs", {}).get("version") != ecs_reference()["ecs_version"]:
        problems.append("ecs.version is not the reference's")
    for name, value in _leaves(document, fields):
        if name == CUSTOM_NAMESPACE:
            if not isinstance(value, dict):
                problems.append(f"{CUSTOM_NAMESPACE}: the custom namespace must be an object")
            continue
        spec = fields.get(name)
        if spec is None:
            problems.append(f"{name}: no such ECS field")
            continue
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not spec.get("array"):
            problems.append(f"{name}: ECS does not expect an array")
        if spec.get("array") and not isinstance(value, list):
            problems.append(f"{name}: ECS expects an array")
        for item in values:
            if problem := _type_problem(name, spec["type"], item):
                problems.append(problem)
            elif "allowed" in spec and item not in spec["allowed"]:
                problems.append(f"{name}: {item!r} is not one of ECS's allowed values")
    event = document.get("event", {})
    categories = fields["event.category"]["allowed"]
    for category in event.get("category", []):
        expected = categories.get(category, [])
        for event_type in event.get("type", []):
            if expected and event_type not in expected:
                problems.append(f"event.type {event_type!r} is not expected with event.category {category!r}")
    return problems


def hec_problems(event: dict) -> list[str]:
    """What the HEC event envelope does not allow in ``event``; [] when it conforms."""
    event = orjson.loads(orjson.dumps(event))
    problems = [f"{key}: not a key of the HEC envelope" for key in event if key not in HEC_KEYS]
    if "event" not in event or event["event"] in (None, "", {}):
        problems.append("event is required and may not be empty")
    if "time" in event and (isinstance(event["time"], bool) or not isinstance(event["time"], (int, float))):
        problems.append("time must be epoch seconds (a number)")
    for key in ("host", "source", "sourcetype", "index"):
        if key in event and not (isinstance(event[key], str) and event[key]):
            problems.append(f"{key} must be a non-empty string")
    fields = event.get("fields", {})
    if not isinstance(fields, dict):
        return [*problems, "fields must be an object"]
    for name, value in fields.items():
        if name in HEC_KEYS or name.startswith("_"):
            problems.append(f"fields.{name}: a reserved name")
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            problems.append(f"fields.{name}: indexed fields are strings or lists of strings")
    return problems
