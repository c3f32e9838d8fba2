"""Garbage collection for a process that makes and drops millions of small objects a second.

Normalizing allocates a dict and a dozen strings per event and frees them a batch later: the default
thresholds run a young-generation collection every 700 allocations, which measured ~1.5-2 µs per
message on the bench mix. Objects made while starting (modules, the rule set, the catalog) live for
the whole process: frozen, the collector never walks them again. The event objects hold no reference
cycles, so collecting less often delays nothing that reference counting would not free at once.
"""

from __future__ import annotations

import gc

# Young generation collected every 50,000 allocations instead of 700; older generations as before.
YOUNG_THRESHOLD = 50_000


def tune_for_streaming() -> None:
    """Freeze what start-up made and collect the young generation less often (call once started)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
