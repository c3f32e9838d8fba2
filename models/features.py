"""Per-principal behaviour per tumbling window, as features an isolation forest can score.

Pure and columnar: polars over a frame of normalized events (``schemas.event``), no per-event Python.
One window is one principal (``actor``) in one source family over ``window_ms`` of event time (each family's
logs arrive on their own schedule, so each closes its windows by its own event time). Besides counts and shares,
the most telling features are *novelty*: actions, networks (/24 for IPv4, /48 for IPv6), user agents,
regions and hours of the day that this principal was never seen with before, and those it used in fewer
than 5% of its earlier windows (rare). A principal's first window has no baseline of its own: its
relative features are neutral (nothing new or rare, usual volume) and ``known_principal`` is false, so
it is judged on what it did, not on being new -- every new employee and workload has a first window.

History is a frame of sightings per (principal, kind, item): first and last time, windows and events.
The same function serves training over months of history and the stream's closed windows, because the
counts before window w are the history's plus the data's own earlier windows in both. ``bounded`` keeps
it small.
"""

from __future__ import annotations

import polars as pl

FEATURE_VERSION = "1"
"""Bump when a feature's meaning changes: models say which version they were trained on."""

NOVELTY_KINDS: tuple[str, ...] = ("action", "network", "user_agent", "region", "hour")

FEATURES: tuple[str, ...] = (
    "events",
    "distinct_actions",
    "distinct_resources",
    "distinct_src_ips",
    "distinct_regions",
    "failure_share",
    "mutating_share",
    "discovery_share",
    "interactive_share",
    "ai_calls",
    "ai_bytes",
    "off_hours_share",
    "rare_action_share",
    "rare_network_share",
    "rare_user_agent_share",
    "volume_ratio",
    "new_actions",
    "new_networks",
    "new_user_agents",
    "new_regions",
)
# Heavy-tailed counts are scored on a log scale (isolation trees split uniformly between min and max).
COUNT_FEATURES = frozenset({"events", "distinct_actions", "distinct_resources", "distinct_src_ips",
                            "distinct_regions", "ai_calls", "ai_bytes", "volume_ratio", "new_actions",
                            "new_networks", "new_user_agents", "new_regions"})

WINDOW_KEYS: tuple[str, ...] = ("actor", "population", "family", "window_start", "window_end", "first_event",
                                "last_event", "known_principal")
"""``known_principal``: the principal was seen in an earlier window (else its relative features are neutral)."""
NOVEL_ITEM_COLUMNS: tuple[str, ...] = ("new_action_items", "new_network_items", "new_user_agent_items",
                                       "new_region_items")

# Volumes in absolute terms (the rest are shares or relative to the principal's own history).
ABSOLUTE_FEATURES = frozenset({"events", "distinct_actions", "distinct_resources", "distinct_src_ips",
                               "distinct_regions", "ai_calls", "ai_bytes"})

HISTORY_SCHEMA = {"scope": pl.String, "kind": pl.String, "item": pl.String,
                  "first_seen": pl.Int64, "last_seen": pl.Int64, "windows": pl.Int64, "events": pl.Int64}
"""Per principal (``scope``), kind and item: first and last sighting, in how many windows and over how many
events. Kind ``window`` (item '') counts the principal's windows and events."""
_WINDOW = "window"
RARE_SHARE = 0.05
"""An item seen in fewer than this share of a principal's earlier windows is rare for it."""
NOVEL_ITEMS_SHOWN = 10

# Identity types of people, across sources; every other identity is a service or workload.
_HUMAN_TYPES = ("User", "IAMUser", "Root", "FederatedUser", "http_basic", "proxy_user")
_MUTATING_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Clients a person drives (consoles, CLIs, browsers): normal for people, a red flag for a workload's
# credentials, which its own SDK uses (instance credentials used from a laptop look like this).
_INTERACTIVE_AGENT = (r"^\[?(aws-cli/|AWS Internal|console\.|signin\.|EC2ConsoleFrontend|Mozilla/|kubectl/|"
                      r"google-cloud-sdk|gcloud|azure-cli|Azure-CLI|AzurePowershell|PowerShell|curl/)")
_OCSF_API_ACTIVITY = 6003
_API_CREATE_UPDATE_DELETE = (1, 3, 4)

__all__ = [
    "FEATURES",
    "FEATURE_VERSION",
    "HISTORY_SCHEMA",
    "NOVELTY_KINDS",
    "bounded",
    "compact",
    "empty_history",
    "features_of",
    "history_of",
    "history_of_rows",
    "population",
    "prepared",
    "window_events",
    "window_features",
]


def population() -> pl.Expr:
    """``human`` or ``service`` per event: people and workloads behave differently and get their own model."""
    actor, kind = pl.col("actor"), pl.col("actor_type")
    human = (kind.is_in(_HUMAN_TYPES) | actor.str.contains("@", literal=True)
             | ((kind == "AssumedRole") & actor.str.contains("/AWSReservedSSO_", literal=True)))
    return pl.when(human).then(pl.lit("human")).otherwise(pl.lit("service"))


def _network() -> pl.Expr:
    ip = pl.col("src_ip")
    v4 = ip.str.extract(r"^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$", 1)
    v6 = ip.str.extract(r"^([0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}):", 1)
    # Not an address at all (CloudTrail's "bedrock.amazonaws.com" for AWS-internal calls): the name itself.
    return (pl.when(v4.is_not_null()).then(v4 + ".0/24")
            .when(v6.is_not_null()).then(v6.str.to_lowercase() + "::/48")
            .otherwise(ip))


def prepared(events: pl.DataFrame, window_ms: int) -> pl.DataFrame:
    """The columns the features need, one row per event that has a principal, with its window; ``n`` (1)
    and ``first``/``last`` (its time) let ``compact`` fold equal rows into one."""
    time = pl.col("time")
    if events.schema["time"] != pl.Int64:
        time = time.dt.epoch("ms")
    service = pl.col("service").str.replace(r"\.amazonaws\.com$", "")
    action = pl.col("action")
    mutating = (pl.when(pl.col("class_uid") == _OCSF_API_ACTIVITY)
                .then(pl.col("activity_id").is_in(_API_CREATE_UPDATE_DELETE))
                .otherwise(action.is_in(_MUTATING_METHODS)))
    ai = pl.col("ai_provider").fill_null("") != ""
    return (events.lazy()
            .filter(pl.col("actor") != "")
            .select(
                pl.col("event_id"),
                pl.col("actor"),
                (pl.col("source_family") if "source_family" in events.columns else pl.lit("")).alias("family"),
                population().alias("population"),
                pl.lit(1, dtype=pl.Int64).alias("n"),
                time.alias("first"),
                time.alias("last"),
                ((time // window_ms) * window_ms).alias("window_start"),
                pl.when(service != "").then(service + ":" + action).otherwise(action).alias("action"),
                pl.col("target_resource").alias("resource"),
                pl.col("src_ip"),
                _network().alias("network"),
                pl.col("user_agent"),
                pl.col("cloud_region").alias("region"),
                ((time // 3_600_000) % 24).cast(pl.String).str.zfill(2).alias("hour"),
                (pl.col("outcome") == "failure").alias("failed"),
                mutating.fill_null(False).alias("mutating"),
                action.str.contains(r"^(List|Describe|Get)[A-Z]").alias("discovery"),
                pl.col("user_agent").str.contains(_INTERACTIVE_AGENT).alias("interactive"),
                ai.alias("ai"),
                pl.when(ai).then(pl.col("bytes_in").fill_null(0) + pl.col("bytes_out").fill_null(0))
                .otherwise(0).alias("ai_bytes"),
            )
            .collect())


# What tells events apart for the features: rows equal in all of these fold into one (``compact``).
ROW_DIMENSIONS: tuple[str, ...] = ("actor", "population", "family", "window_start", "action", "resource", "src_ip",
                                   "network", "user_agent", "region", "hour", "failed", "mutating", "discovery",
                                   "interactive", "ai")


COMPACT_COLUMNS: tuple[str, ...] = (*ROW_DIMENSIONS, "n", "first", "last", "ai_bytes")


def compact(rows: pl.DataFrame) -> pl.DataFrame:
    """Prepared (or compacted) rows with equal dimensions folded into one, counts and times kept: what the
    stream holds of an open window, in memory that grows with distinct behaviour, not with events."""
    return (rows.group_by(ROW_DIMENSIONS)
            .agg(pl.col("n").sum(), pl.col("first").min(), pl.col("last").max(), pl.col("ai_bytes").sum())
            .select(COMPACT_COLUMNS))


def _sightings(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per (actor, population, window, kind, item): the item's events in that window, its first
    and last time; kind ``window`` (item '') stands for the window itself."""
    keys = ("actor", "population", "family", "window_start", "n", "first", "last")
    parts = [rows.select(*keys, pl.lit(kind).alias("kind"), pl.col(kind).alias("item")) for kind in NOVELTY_KINDS]
    parts.append(rows.select(*keys, pl.lit(_WINDOW).alias("kind"), pl.lit("").alias("item")))
    return (pl.concat(parts).filter((pl.col("item") != "") | (pl.col("kind") == _WINDOW))
            .group_by("actor", "population", "family", "window_start", "kind", "item")
            .agg(pl.col("n").sum(), pl.col("first").min(), pl.col("last").max()))


def empty_history() -> pl.DataFrame:
    return pl.DataFrame(schema=HISTORY_SCHEMA)


def history_of(events: pl.DataFrame, window_ms: int, seed: pl.DataFrame | None = None) -> pl.DataFrame:
    """The history these events leave, merged into ``seed``."""
    return history_of_rows(prepared(events, window_ms), seed)


def history_of_rows(rows: pl.DataFrame, seed: pl.DataFrame | None = None) -> pl.DataFrame:
    """``history_of`` for prepared or compacted rows."""
    return _history(_sightings(rows), seed)


def _history(sightings: pl.DataFrame, seed: pl.DataFrame | None) -> pl.DataFrame:
    seen = (sightings.group_by(pl.col("actor").alias("scope"), "kind", "item")
            .agg(pl.col("first").min().alias("first_seen"), pl.col("last").max().alias("last_seen"),
                 pl.len().cast(pl.Int64).alias("windows"), pl.col("n").sum().cast(pl.Int64).alias("events")))
    if seed is not None and seed.height:
        seen = (pl.concat([seed.select(list(HISTORY_SCHEMA)), seen.select(list(HISTORY_SCHEMA))])
                .group_by("scope", "kind", "item")
                .agg(pl.col("first_seen").min(), pl.col("last_seen").max(), pl.col("windows").sum(),
                     pl.col("events").sum()))
    return seen.select(list(HISTORY_SCHEMA)).sort("scope", "kind", "item")


def bounded(history: pl.DataFrame, per_scope_kind: int) -> pl.DataFrame:
    """At most ``per_scope_kind`` items per (scope, kind): the most recently seen ones."""
    return (history.sort("last_seen", descending=True)
            .group_by("scope", "kind", maintain_order=True).head(per_scope_kind)
            .sort("scope", "kind", "item"))


def window_events(events: pl.DataFrame, window_ms: int) -> pl.DataFrame:
    """(event_id, actor, window_start) for every event that lands in a window."""
    return prepared(events, window_ms).select("event_id", "actor", "family", "window_start")


def _prior(sightings: pl.DataFrame, seed: pl.DataFrame) -> pl.DataFrame:
    """Each sighting with in how many earlier windows (and events) its principal used the item, and how many
    windows and events the principal had before: the data's own earlier windows plus ``seed``."""
    seeded = seed.select(pl.col("scope").alias("actor"), "kind", "item", pl.col("windows").alias("seed_windows"),
                         pl.col("events").alias("seed_events"))
    prior = (sightings.sort("window_start", "family")
             .with_columns((pl.col("window_start").cum_count().over("actor", "kind", "item") - 1).alias("before"),
                           (pl.col("n").cum_sum().over("actor", "kind", "item") - pl.col("n")).alias("events_before"))
             .join(seeded, on=["actor", "kind", "item"], how="left")
             .with_columns((pl.col("before") + pl.col("seed_windows").fill_null(0)).alias("prior_windows"),
                           (pl.col("events_before") + pl.col("seed_events").fill_null(0)).alias("prior_events"))
             .drop("before", "events_before", "seed_windows", "seed_events"))
    windows = (prior.filter(pl.col("kind") == _WINDOW)
               .select("actor", "family", "window_start", pl.col("prior_windows").alias("actor_windows"),
                       pl.col("prior_events").alias("actor_events")))
    return prior.filter(pl.col("kind") != _WINDOW).join(windows, on=["actor", "family", "window_start"], how="left")


def window_features(events: pl.DataFrame, window_ms: int, history: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per (actor, window_start): population, window_end, every feature in ``FEATURES``, and the
    novel items by name (``new_<kind>_items``, at most ten each). ``history`` is what came before."""
    return features_of(prepared(events, window_ms), window_ms, history)


def features_of(rows: pl.DataFrame, window_ms: int, history: pl.DataFrame | None = None) -> pl.DataFrame:
    """``window_features`` for prepared or compacted rows."""
    if rows.height == 0:
        return _empty_windows()
    sightings = _sightings(rows)
    prior = _prior(sightings, history if history is not None else empty_history())
    known = pl.col("actor_windows") > 0
    # New: this principal never used it before. Rare: in fewer than RARE_SHARE of its earlier windows (new
    # items are rare too). Neither, for a principal's first window.
    marked = prior.with_columns((known & (pl.col("prior_windows") == 0)).alias("new"),
                                (known & (pl.col("prior_windows") < RARE_SHARE * pl.col("actor_windows"))).alias("rare"))
    per_kind = (marked.group_by("actor", "family", "window_start", "kind")
                .agg(pl.col("new").sum().alias("new_count"),
                     pl.col("n").filter(pl.col("rare")).sum().alias("rare_events"),
                     pl.col("item").filter(pl.col("new")).sort().head(NOVEL_ITEMS_SHOWN).alias("new_items")))
    baseline = (marked.group_by("actor", "family", "window_start")
                .agg(pl.col("actor_windows").first(), pl.col("actor_events").first()))
    windows = (rows.group_by("actor", "population", "family", "window_start")
               .agg(pl.col("n").sum().alias("events"),
                    pl.col("action").n_unique().alias("distinct_actions"),
                    pl.col("resource").filter(pl.col("resource") != "").n_unique().alias("distinct_resources"),
                    pl.col("src_ip").filter(pl.col("src_ip") != "").n_unique().alias("distinct_src_ips"),
                    pl.col("region").filter(pl.col("region") != "").n_unique().alias("distinct_regions"),
                    ((pl.col("failed") * pl.col("n")).sum() / pl.col("n").sum()).alias("failure_share"),
                    ((pl.col("mutating") * pl.col("n")).sum() / pl.col("n").sum()).alias("mutating_share"),
                    ((pl.col("discovery") * pl.col("n")).sum() / pl.col("n").sum()).alias("discovery_share"),
                    ((pl.col("interactive") * pl.col("n")).sum() / pl.col("n").sum()).alias("interactive_share"),
                    (pl.col("ai") * pl.col("n")).sum().alias("ai_calls"),
                    pl.col("ai_bytes").sum().alias("ai_bytes"),
                    pl.col("first").min().alias("first_event"),
                    pl.col("last").max().alias("last_event"))
               .join(baseline, on=["actor", "family", "window_start"], how="left"))
    for kind in NOVELTY_KINDS:
        windows = windows.join(
            per_kind.filter(pl.col("kind") == kind)
            .select("actor", "family", "window_start", pl.col("new_count").alias(f"new_{kind}_count"),
                    pl.col("rare_events").alias(f"rare_{kind}_events"), pl.col("new_items").alias(f"new_{kind}_items")),
            on=["actor", "family", "window_start"], how="left")
    events_per_window = (pl.when(pl.col("actor_windows") > 0)
                         .then(pl.col("actor_events") / pl.col("actor_windows"))
                         .otherwise(pl.col("events")))

    def share(kind: str) -> pl.Expr:
        return pl.col(f"rare_{kind}_events").fill_null(0) / pl.col("events")

    return (windows
            .with_columns(
                (pl.col("window_start") + window_ms).alias("window_end"),
                (pl.col("actor_windows") > 0).alias("known_principal"),
                share("hour").alias("off_hours_share"),
                share("action").alias("rare_action_share"),
                share("network").alias("rare_network_share"),
                share("user_agent").alias("rare_user_agent_share"),
                (pl.col("events") / events_per_window).alias("volume_ratio"),
                pl.col("new_action_count").fill_null(0).alias("new_actions"),
                pl.col("new_network_count").fill_null(0).alias("new_networks"),
                pl.col("new_user_agent_count").fill_null(0).alias("new_user_agents"),
                pl.col("new_region_count").fill_null(0).alias("new_regions"),
                *(pl.col(name).fill_null([]) for name in NOVEL_ITEM_COLUMNS))
            .select(*WINDOW_KEYS, *(pl.col(name).cast(pl.Float64) for name in FEATURES), *NOVEL_ITEM_COLUMNS)
            .sort("window_start", "actor", "family"))


def _empty_windows() -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"actor": pl.String(), "population": pl.String(), "family": pl.String(),
                                      "window_start": pl.Int64(),
                                      "window_end": pl.Int64(), "first_event": pl.Int64(), "last_event": pl.Int64(),
                                      "known_principal": pl.Boolean()}
    schema.update({name: pl.Float64() for name in FEATURES})
    schema.update({name: pl.List(pl.String) for name in NOVEL_ITEM_COLUMNS})
    return pl.DataFrame(schema=schema)
