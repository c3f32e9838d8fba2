"""Checking alerts against the official compiled OCSF schema, profiles enforced.

The compiled schema is the OCSF server's export (``/export/schema``) that the ocsf-json-schema package
ships for each release (Apache-2.0, the OCSF project's); that package also turns a class plus a set of
profiles into a JSON Schema, in which an attribute of a profile the event does not declare is an
unknown property. On top of it, checks the JSON Schema cannot express: every enum caption beside its id
(``severity`` for ``severity_id``), ``type_uid``, the class's category, declared profiles that exist.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema


@cache
def compiled_schema(version: str) -> dict[str, Any]:
    return get_ocsf_schema(version=version)


@cache
def _validator(version: str, class_name: str, profiles: tuple[str, ...]) -> Draft202012Validator:
    schema = OcsfJsonSchemaEmbedded(compiled_schema(version)).get_class_schema(class_name, list(profiles))
    return Draft202012Validator(schema)


def _class_of(schema: dict, class_uid: Any) -> dict | None:
    return next((c for c in schema["classes"].values() if c.get("uid") == class_uid), None)


def _caption_problems(value: Any, attributes: dict, objects: dict, path: str) -> list[str]:
    """Enum captions that disagree with their ids, in ``value`` and every nested object."""
    problems = []
    if not isinstance(value, dict):
        return problems
    for name, item in value.items():
        spec = attributes.get(name)
        if spec is None:
            continue
        sibling = spec.get("sibling")
        if sibling and "enum" in spec and sibling in value and item != 99:
            expected = spec["enum"].get(str(item), {}).get("caption")
            if expected is not None and value[sibling] != expected:
                problems.append(f"{path}{sibling}: {value[sibling]!r} is not the caption of {name}={item} "
                                f"({expected!r})")
        if spec.get("type") == "object_t" and spec.get("object_type") in objects:
            nested = objects[spec["object_type"]]["attributes"]
            for position, element in enumerate(item if isinstance(item, list) else [item]):
                where = f"{path}{name}[{position}]." if isinstance(item, list) else f"{path}{name}."
                problems.extend(_caption_problems(element, nested, objects, where))
    return problems


def schema_problems(alert: dict, version: str | None = None) -> list[str]:
    """Everything the official schema rejects in ``alert`` (as JSON would carry it); [] when it is valid."""
    alert = orjson.loads(orjson.dumps(alert))
    version = version or alert.get("metadata", {}).get("version", "")
    schema = compiled_schema(version)
    event_class = _class_of(schema, alert.get("class_uid"))
    if event_class is None:
        return [f"class_uid {alert.get('class_uid')!r} is no class of OCSF {version}"]
    profiles = tuple(sorted(alert.get("metadata", {}).get("profiles", [])))
    problems = [f"profile {p!r} is not one of {event_class['name']}'s" for p in profiles
                if p not in event_class.get("profiles", [])]
    for error in _validator(version, event_class["name"], profiles).iter_errors(alert):
        problems.append(f"{error.json_path}: {error.message[:300]}")
    if alert.get("type_uid") != alert.get("class_uid", 0) * 100 + alert.get("activity_id", -1):
        problems.append("type_uid is not class_uid * 100 + activity_id")
    if alert.get("category_uid") != event_class.get("category_uid"):
        problems.append(f"category_uid {alert.get('category_uid')} is not {event_class.get('category_uid')}")
    problems.extend(_caption_problems(alert, event_class["attributes"], schema["objects"], ""))
    return problems
