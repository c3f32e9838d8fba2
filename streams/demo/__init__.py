"""Demo data: deterministic synthetic traffic with known incidents, and small real samples.

``generate(seed, scale)`` gives raw Kafka message values per source family; ``INCIDENTS`` says what was
injected and how to find it; ``expected_counts`` says how many messages (and how many deliberately
malformed ones) each family gets; ``real_samples()`` reads the recorded events shipped in
``streams/demo/data``; ``demo_policy_path()`` is the demo company's sanctioned-use policy, under
which only the injected incidents raise alerts.

Where things are: ``world`` (the company), ``simulation`` (window, random source, emission),
``cloudtrail`` / ``gateway`` / ``audit`` (each family's routine traffic), ``incidents/`` (one module per
injected incident), ``malformed``, ``records`` and ``formats`` (the sources' wire formats),
``generator`` (one run, in order), ``samples`` and ``data/`` (the bundled files).
"""

from streams.demo.generator import (
    ExpectedCounts,
    expected_counts,
    generate,
    generate_history,
    generate_labelled,
)
from streams.demo.incidents import INCIDENTS, Incident
from streams.demo.malformed import MALFORMED
from streams.demo.samples import demo_policy_path, real_samples
from streams.demo.simulation import DemoRecord

__all__ = [
    "INCIDENTS",
    "MALFORMED",
    "DemoRecord",
    "ExpectedCounts",
    "Incident",
    "demo_policy_path",
    "expected_counts",
    "generate",
    "generate_history",
    "generate_labelled",
    "real_samples",
]
