"""scripts/techniques_table.py reads MITRE's own formats (ATT&CK STIX 2.1 bundle, ATLAS.yaml) and
the bundled table is what it writes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("techniques_table", REPO / "scripts" / "techniques_table.py")
techniques_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(techniques_table)


def _ref(external_id: str) -> list[dict]:
    return [{"source_name": "mitre-attack", "external_id": external_id, "url": f"https://attack.mitre.org/{external_id}"}]


STIX_BUNDLE = {"type": "bundle", "id": "bundle--1", "objects": [
    {"type": "x-mitre-collection", "id": "x-mitre-collection--1", "x_mitre_version": "18.1"},
    {"type": "x-mitre-tactic", "id": "x-mitre-tactic--1", "name": "Defense Evasion",
     "x_mitre_shortname": "defense-evasion", "external_references": _ref("TA0005")},
    {"type": "x-mitre-tactic", "id": "x-mitre-tactic--2", "name": "Persistence",
     "x_mitre_shortname": "persistence", "external_references": _ref("TA0003")},
    {"type": "attack-pattern", "id": "attack-pattern--1", "name": "Valid Accounts", "external_references": _ref("T1078"),
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "defense-evasion"},
                           {"kill_chain_name": "mitre-attack", "phase_name": "persistence"}]},
    {"type": "attack-pattern", "id": "attack-pattern--2", "name": "Cloud Accounts",
     "external_references": _ref("T1078.004"), "x_mitre_is_subtechnique": True,
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "persistence"}]},
    {"type": "attack-pattern", "id": "attack-pattern--3", "name": "Gone", "revoked": True,
     "external_references": _ref("T1002"), "kill_chain_phases": []},
]}

ATLAS_YAML = """\
id: ATLAS
name: Adversarial Threat Landscape for AI Systems
version: 5.0.0
matrices:
- id: ATLAS
  tactics:
  - id: AML.TA0011
    name: Impact
  techniques:
  - id: AML.T0034
    name: Cost Harvesting
    tactics:
    - AML.TA0011
  - id: AML.T0034.000
    name: Some Sub-technique
    subtechnique-of: AML.T0034
"""


def test_reads_the_stix_bundle_and_atlas_yaml(tmp_path: Path) -> None:
    attack, atlas = tmp_path / "enterprise-attack.json", tmp_path / "ATLAS.yaml"
    attack.write_text(json.dumps(STIX_BUNDLE))
    atlas.write_text(ATLAS_YAML)
    table = techniques_table.build(attack, atlas)
    assert table["sources"] == {"attack": {"file": "enterprise-attack.json", "version": "18.1", "techniques": 2},
                                "atlas": {"file": "ATLAS.yaml", "version": "5.0.0", "techniques": 2}}
    assert table["techniques"]["T1078"] == {"name": "Valid Accounts", "tactics": ["TA0005", "TA0003"]}
    assert table["techniques"]["T1078.004"]["tactics"] == ["TA0003"]
    assert "T1002" not in table["techniques"]
    assert table["techniques"]["AML.T0034.000"] == {"name": "Some Sub-technique", "tactics": ["AML.TA0011"]}
    assert table["tactics"] == {"AML.TA0011": "Impact", "TA0003": "Persistence", "TA0005": "Defense Evasion"}


def test_one_input_regenerates_its_part_and_keeps_the_other(tmp_path: Path) -> None:
    attack, atlas = tmp_path / "enterprise-attack.json", tmp_path / "ATLAS.yaml"
    attack.write_text(json.dumps(STIX_BUNDLE))
    atlas.write_text(ATLAS_YAML)
    earlier = techniques_table.build(attack, atlas)
    earlier["techniques"]["AML.T0001"] = {"name": "Dropped Upstream", "tactics": ["AML.TA0011"]}
    newer_atlas = tmp_path / "ATLAS-newer.yaml"
    newer_atlas.write_text(ATLAS_YAML.replace("5.0.0", "5.3.0").replace("Cost Harvesting", "Cost Harvesting (renamed)"))
    table = techniques_table.build(None, newer_atlas, keep=earlier)
    assert table["sources"]["attack"] == earlier["sources"]["attack"]
    assert table["sources"]["atlas"] == {"file": "ATLAS-newer.yaml", "version": "5.3.0", "techniques": 2}
    assert {k: v for k, v in table["techniques"].items() if not k.startswith("AML.")} == {
        k: v for k, v in earlier["techniques"].items() if not k.startswith("AML.")}
    assert table["techniques"]["AML.T0034"]["name"] == "Cost Harvesting (renamed)"
    assert "AML.T0001" not in table["techniques"]  # the ATLAS part is the new input's, not a merge of both
    assert table["tactics"] == earlier["tactics"]
    # Without an earlier table, only what was given.
    assert set(techniques_table.build(None, newer_atlas)["sources"]) == {"atlas"}


def test_the_bundled_table_names_every_tactic_it_cites() -> None:
    table = json.loads((REPO / "streams" / "detect" / "techniques.json").read_text())
    cited = {tactic for technique in table["techniques"].values() for tactic in technique["tactics"]}
    assert cited <= set(table["tactics"]) and len(table["techniques"]) > 500
    assert table["techniques"]["T1562.008"]["name"] == "Disable or Modify Cloud Logs"
    atlas = {uid: entry for uid, entry in table["techniques"].items() if uid.startswith("AML.")}
    assert table["sources"]["atlas"]["techniques"] == len(atlas) > 100
    assert atlas["AML.T0081"] == {"name": "Modify AI Agent Configuration", "tactics": ["AML.TA0006"]}
    # Every ATLAS technique has a tactic (a sub-technique its parent's); ATLAS tactics only.
    assert all(entry["tactics"] and all(t.startswith("AML.TA") for t in entry["tactics"]) for entry in atlas.values())
    assert all(not t.startswith("AML.") for uid, entry in table["techniques"].items() if not uid.startswith("AML.")
               for t in entry["tactics"])
