"""Attack paths: named patterns over the AI asset graph as of a time (``streams.detect.graph.facts.graph_at``).

Each pattern is a pure ``find(graph) -> list[Path]`` with metadata and examples: event sequences, and
for each moment whether the pattern finds a path then. A path is its nodes (id and kind, first to
last), the edges between them, and the events that are its evidence; ``path_id`` is stable, so the
same path found again is the same path.

The graph is built in process from the tables as of T (two saved queries, one row per edge), which
keeps a pattern a few lines of Python over adjacency lists; see README for the figure at 100k edges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.finding import Severity
from streams.detect.graph.facts import Edge, Graph

__all__ = ["PATTERNS", "Path", "PathPattern", "find_paths"]



@dataclass(frozen=True, slots=True)
class Path:
    pattern: str
    nodes: tuple[tuple[str, str], ...]
    """(node id, kind), first to last."""
    edges: tuple[Edge, ...]
    reason: str

    @property
    def path_id(self) -> str:
        text = "\x1f".join([self.pattern, *(node for node, _ in self.nodes)])
        return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()

    @property
    def alert_key(self) -> str:
        """What its alert is about: the pattern and the nodes that name the exposure (``PathPattern.key_nodes``).
        The rest of a path grows and shrinks as assets come and go (a bucket feeding a job, then the model
        the job produced, then the agent using it): one exposure, one alert, its latest path the evidence."""
        key_nodes = PATTERNS[self.pattern].key_nodes or len(self.nodes)
        text = "\x1f".join([self.pattern, *(node for node, _ in self.nodes[:key_nodes])])
        return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()

    @property
    def since(self) -> int:
        """When the last of its edges became valid: the path exists from then on."""
        return max(edge.valid_from for edge in self.edges)

    @property
    def evidence(self) -> list[str]:
        return sorted({edge.evidence for edge in self.edges})

    def record(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "path_id": self.path_id, "from": self.nodes[0][0],
                "from_kind": self.nodes[0][1], "to": self.nodes[-1][0], "to_kind": self.nodes[-1][1],
                "nodes": [{"id": node, "kind": kind} for node, kind in self.nodes],
                "edges": [{"from": e.src, "kind": e.kind, "to": e.dst, "valid_from": e.valid_from,
                           "evidence_event_id": e.evidence} for e in self.edges],
                "since": self.since, "reason": self.reason, "evidence_event_ids": self.evidence}


@dataclass(frozen=True)
class PathPattern:
    id: str
    title: str
    severity: Severity
    description: str
    remediation: str
    find: Callable[[Graph], list[Path]]
    techniques: tuple[str, ...] = ()
    key_nodes: int = 0
    """How many leading nodes of its paths name what an alert is about (0: all of them)."""


def _flagged(graph: Graph, node: str, *prefixes: str) -> list[str]:
    return sorted(flag for flag in graph.node(node).flags if flag.startswith(prefixes))


# --- exposed training or knowledge-base data ---------------------------------------------------------

_DATA_EDGES = ("training_data", "kb_data", "model_data")


def find_exposed_training_data(graph: Graph) -> list[Path]:
    """A bucket anyone (or another account) can write or read -> the job, data source or model that
    learns from it -> the model it makes, or the knowledge base it feeds -> the agents using it."""
    paths = []
    for edge in graph.edges:
        if edge.kind not in _DATA_EDGES:
            continue
        exposure = _flagged(graph, edge.src, "public", "cross_account_write")
        if not exposure:
            continue
        chains: list[list[Edge]] = []
        for onward in graph.out_edges(edge.dst, "produces") + graph.out_edges(edge.dst, "feeds"):
            agents = graph.in_edges(onward.dst, "uses_knowledge_base")
            chains.extend([[edge, onward, agent] for agent in agents] or [[edge, onward]])
        for chain in chains or [[edge]]:
            nodes = [(chain[0].src, chain[0].src_kind)] + [
                (e.src, e.src_kind) if e.kind == "uses_knowledge_base" else (e.dst, e.dst_kind) for e in chain]
            paths.append(Path("exposed_training_data", tuple(nodes), tuple(chain),
                              f"{edge.src} is {', '.join(exposure)} and is {edge.kind.replace('_', ' ')} of "
                              f"{edge.dst}"))
    return paths


# --- agent -> action group -> Lambda running as an admin role ------------------------------------------

def find_agent_admin_action(graph: Graph) -> list[Path]:
    paths = []
    for has in (e for e in graph.edges if e.kind == "has_action_group"):
        for calls in graph.out_edges(has.dst, "calls"):
            for role in graph.in_edges(calls.dst, "execution_role"):
                admin = _flagged(graph, role.src, "admin")
                if admin:
                    paths.append(Path("agent_admin_action", (
                        (has.src, has.src_kind), (has.dst, has.dst_kind), (calls.dst, calls.dst_kind),
                        (role.src, role.src_kind)), (has, calls, role),
                        f"the agent's action group calls {calls.dst}, which runs as {role.src} "
                        f"({', '.join(admin)})"))
    return paths


# --- a model or endpoint invoked by an identity the policy does not sanction ----------------------------

def find_unsanctioned_invocation(graph: Graph) -> list[Path]:
    return [Path("unsanctioned_invocation", ((e.src, e.src_kind), (e.dst, e.dst_kind)), (e,),
                 f"{e.src} called {e.dst} ({e.detail.get('action', 'invoke')}), which the policy does not sanction")
            for e in graph.edges if e.kind == "invokes" and e.detail.get("sanctioned") is False]


# --- notebook with direct internet access whose role also touches training data ------------------------

def find_exposed_notebook_role(graph: Graph) -> list[Path]:
    """A notebook reachable from the internet runs as a role that training jobs also run as (so code on
    the notebook holds the rights that write training data and models), or as an admin role."""
    paths = []
    for notebook in graph.of_kind("sagemaker_notebook"):
        if "direct_internet" not in notebook.flags:
            continue
        for role in graph.in_edges(notebook.asset_id, "execution_role"):
            for job in graph.out_edges(role.src, "execution_role"):
                if job.dst == notebook.asset_id or job.dst_kind not in (
                        "sagemaker_training_job", "bedrock_customization_job", "bedrock_model_import_job"):
                    continue
                data = graph.in_edges(job.dst, "training_data") + graph.out_edges(job.dst, "writes")
                for touched in data or [None]:
                    chain = (role, job) + ((touched,) if touched else ())
                    nodes = [(notebook.asset_id, notebook.kind), (role.src, role.src_kind), (job.dst, job.dst_kind)]
                    if touched:
                        nodes.append((touched.src, touched.src_kind) if touched.kind == "training_data"
                                     else (touched.dst, touched.dst_kind))
                    paths.append(Path("exposed_notebook_role", tuple(nodes), chain,
                                      f"{notebook.asset_id} has direct internet access and runs as {role.src}, "
                                      f"the role of {job.dst}"))
            admin = _flagged(graph, role.src, "admin")
            if admin:
                paths.append(Path("exposed_notebook_role", ((notebook.asset_id, notebook.kind),
                                                            (role.src, role.src_kind)), (role,),
                                  f"{notebook.asset_id} has direct internet access and runs as {role.src} "
                                  f"({', '.join(admin)})"))
    return paths


PATTERNS: dict[str, PathPattern] = {pattern.id: pattern for pattern in (
    PathPattern("exposed_training_data", "Exposed bucket feeds a model or agent", "high",
                "A bucket that is public or writable by another account is the training, model or knowledge-base "
                "data of an AI asset: whoever can write it can poison what the model learns or the agent retrieves.",
                "Block public access on the bucket (s3api put-public-access-block), remove foreign writers from its "
                "policy, and review recent object writes before the next training or ingestion run.",
                find_exposed_training_data, ("T1565.001", "AML.T0020"), key_nodes=2),
    PathPattern("agent_admin_action", "Agent can act with administrator rights", "high",
                "A Bedrock agent's action group calls a Lambda function whose role has administrator or iam:* "
                "rights: a prompt injection against the agent can become any action in the account.",
                "Give the function a role scoped to what the action group needs; add a guardrail to the agent.",
                find_agent_admin_action, ("T1078.004", "AML.T0051")),
    PathPattern("unsanctioned_invocation", "AI model invoked by an unsanctioned identity", "medium",
                "An identity the sanctioned-use policy does not allow for this model or endpoint invoked it.",
                "Confirm with the identity's owner; if not sanctioned, remove its bedrock:Invoke* / "
                "sagemaker:InvokeEndpoint rights or add it to the policy.",
                find_unsanctioned_invocation, ("T1496", "AML.T0040")),
    PathPattern("exposed_notebook_role", "Internet-facing notebook holds training rights", "high",
                "A SageMaker notebook with direct internet access runs as a role that training jobs use (or an admin "
                "role): whoever gets code onto the notebook can change training data and models.",
                "Disable direct internet access (a VPC-only notebook), and give notebooks their own role without "
                "write access to training data (sagemaker stop-notebook-instance, then update it).",
                find_exposed_notebook_role, ("T1078.004", "AML.T0010"), key_nodes=2),
)}


def find_paths(graph: Graph, *, patterns: list[str] | None = None, from_kind: str | None = None,
               to_kind: str | None = None) -> list[Path]:
    """Every path of the named patterns (all by default) in ``graph``, filtered by its ends' kinds."""
    found = []
    for pattern_id in patterns or list(PATTERNS):
        for path in PATTERNS[pattern_id].find(graph):
            if from_kind and path.nodes[0][1] != from_kind:
                continue
            if to_kind and path.nodes[-1][1] != to_kind:
                continue
            found.append(path)
    unique = {path.path_id: path for path in found}
    return sorted(unique.values(), key=lambda path: (path.pattern, path.since, path.path_id))
