"""Regenerate tests/samples/ecs/ecs_fields.json, the ECS field reference the ECS alert format is tested against.

    python scripts/ecs_fields.py ecs_flat.yml --version 9.4.0 [--out FILE]

Reads Elastic's generated flat field list (elastic/ecs ``generated/ecs/ecs_flat.yml``, or the same mapping
as JSON, as the @elastic/ecs package carries it) and keeps, per field, what the test checks: the type,
whether it is an array, and the allowed values (with each event category's expected event types).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parents[1] / "tests" / "samples" / "ecs" / "ecs_fields.json"


def reference(flat: dict, version: str) -> dict:
    fields = {}
    for name, spec in sorted(flat.items()):
        field = {"type": spec["type"]}
        if "array" in (spec.get("normalize") or []):
            field["array"] = True
        if spec.get("allowed_values"):
            field["allowed"] = {value["name"]: value.get("expected_event_types", []) for value in spec["allowed_values"]}
        fields[name] = field
    return {"ecs_version": version, "fields": fields}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flat", type=Path, help="ecs_flat.yml (or its JSON form)")
    parser.add_argument("--version", required=True, help="the ECS release the file belongs to")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(reference(yaml.safe_load(args.flat.read_text()), args.version), indent=0) + "\n")


if __name__ == "__main__":
    main()
