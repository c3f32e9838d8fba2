"""The AI asset graph, event-sourced: AI assets and their lineage from CloudTrail, with time on every
edge; attack paths over it as of any time; the inventory as CycloneDX."""

from streams.detect.graph.extract import candidates, extract_facts
from streams.detect.graph.facts import AssetFact, EdgeFact, Graph, graph_at

__all__ = ["AssetFact", "EdgeFact", "Graph", "candidates", "extract_facts", "graph_at"]
