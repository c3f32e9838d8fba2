"""Isolation forests over access windows: fitting, calibrated scores, and why a window stands out.

One forest per population (``human``, ``service``): people and workloads differ too much for one notion
of normal. A forest's raw score is not comparable across forests, so every score is calibrated against
the training windows of its own population: ``score = -log10(p)``, where ``p`` is the share of training
windows at least as anomalous (smoothed, and extended past the most anomalous training window so that
ranks stay distinct). One threshold then serves every population: a window alerts when ``p`` is below
the target alert rate (``alerts_per_1000`` windows), which the training distribution calibrates.

Explanations are leave-one-out: each feature of an outlier is set to its population's median and the
window re-scored; the drop in raw score is that feature's contribution. Cheap, because only outliers
are explained, all of them in one batch call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from models.estimator import RangedIsolationForest
from models.features import ABSOLUTE_FEATURES, COUNT_FEATURES, FEATURES, HISTORY_SCHEMA

MIN_TRAINING_WINDOWS = 50
"""A population with fewer training windows gets no forest: its windows stay unscored."""
TOP_CONTRIBUTIONS = 3
# Beyond-range counts only for what is relative to the principal or share-like: absolute volumes differ
# between organisations and teams, and the forest already ranks them.
RANGED = tuple(index for index, name in enumerate(FEATURES) if name not in ABSOLUTE_FEATURES)

__all__ = ["MIN_TRAINING_WINDOWS", "AnomalyModel", "explain", "fit", "matrix", "profiles_of", "score"]


@dataclass
class AnomalyModel:
    forests: dict[str, RangedIsolationForest]
    training_scores: dict[str, np.ndarray]
    """Each population's raw training scores, sorted ascending."""
    medians: dict[str, np.ndarray]
    """Each population's median window, in model space (``matrix``)."""
    threshold: float
    """Calibrated score at or above which a window is anomalous."""
    window_ms: int
    features: tuple[str, ...] = FEATURES
    history: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=HISTORY_SCHEMA))
    """What the training windows saw (bounded): the baseline novelty of new windows is measured against."""
    profiles: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Per principal: training windows and the mean of each feature (its own baseline)."""
    version: str = ""

    @property
    def populations(self) -> tuple[str, ...]:
        return tuple(sorted(self.forests))


def matrix(windows: pl.DataFrame, features: tuple[str, ...] = FEATURES) -> np.ndarray:
    """Windows as the forest's input: counts on a log scale, shares as they are."""
    return windows.select(
        (pl.col(name).log1p() if name in COUNT_FEATURES else pl.col(name)).fill_null(0.0) for name in features
    ).to_numpy().astype(np.float64)


def profiles_of(windows: pl.DataFrame, features: tuple[str, ...] = FEATURES) -> pl.DataFrame:
    return (windows.group_by("actor", "population")
            .agg(pl.len().alias("windows"), *(pl.col(name).mean() for name in features))
            .sort("actor"))


def threshold_for(alerts_per_1000: float) -> float:
    if not 0 < alerts_per_1000 < 1000:
        raise ValueError(f"alerts_per_1000 must be between 0 and 1000, got {alerts_per_1000}")
    return -math.log10(alerts_per_1000 / 1000)


def fit(windows: pl.DataFrame, *, window_ms: int, alerts_per_1000: float, history: pl.DataFrame,
        n_estimators: int = 100, random_state: int = 0) -> AnomalyModel:
    """One forest per population with at least ``MIN_TRAINING_WINDOWS`` windows."""
    forests, training, medians = {}, {}, {}
    for (population,), group in windows.group_by("population"):
        if group.height < MIN_TRAINING_WINDOWS:
            continue
        x = matrix(group)
        forest = RangedIsolationForest(n_estimators=n_estimators, ranged=RANGED, random_state=random_state).fit(x)
        forests[str(population)] = forest
        training[str(population)] = np.sort(-forest.score_samples(x))
        medians[str(population)] = np.median(x, axis=0)
    return AnomalyModel(forests, training, medians, threshold_for(alerts_per_1000), window_ms,
                        history=history, profiles=profiles_of(windows))


def _calibrated(raw: np.ndarray, training: np.ndarray) -> np.ndarray:
    n = len(training)
    at_least = n - np.searchsorted(training, raw, side="left")
    spread = float(np.std(training)) or 1e-9
    beyond = np.maximum(raw - training[-1], 0.0) / spread
    # p: share of training windows at least as anomalous, smoothed; past the last one it keeps falling.
    log_p = np.log10((np.maximum(at_least, 0) + 1) / (n + 1)) - np.where(at_least == 0, beyond / math.log(10), 0.0)
    return -log_p


def score(model: AnomalyModel, windows: pl.DataFrame) -> pl.DataFrame:
    """``windows`` with ``raw_score``, ``score`` (calibrated; null where the population has no forest),
    ``anomalous`` and ``model_version``."""
    raw = np.full(windows.height, np.nan)
    calibrated = np.full(windows.height, np.nan)
    populations = windows["population"].to_numpy()
    x = matrix(windows, model.features) if windows.height else np.empty((0, len(model.features)))
    for population, forest in model.forests.items():
        rows = np.flatnonzero(populations == population)
        if rows.size == 0:
            continue
        raw[rows] = -forest.score_samples(x[rows])
        calibrated[rows] = _calibrated(raw[rows], model.training_scores[population])
    scored = pl.Series("score", calibrated, dtype=pl.Float64).fill_nan(None)
    return windows.with_columns(
        pl.Series("raw_score", raw, dtype=pl.Float64).fill_nan(None),
        scored,
        (scored >= model.threshold).fill_null(False).alias("anomalous"),
        pl.lit(model.version).alias("model_version"),
    )


def explain(model: AnomalyModel, windows: pl.DataFrame) -> list[dict]:
    """For each scored window (normally the anomalous ones): the features that drove its score, each
    against the principal's own baseline and the population's, and its novel items by name."""
    if windows.height == 0:
        return []
    x = matrix(windows, model.features)
    raw = windows["raw_score"].to_numpy()
    populations = windows["population"].to_list()
    contributions = np.zeros_like(x)
    for population, forest in model.forests.items():
        rows = np.flatnonzero(np.array(populations) == population)
        if rows.size == 0:
            continue
        # Every (window, feature) pair with that feature set to the median, scored in one call.
        probes = np.repeat(x[rows], len(model.features), axis=0)
        columns = np.tile(np.arange(len(model.features)), rows.size)
        probes[np.arange(len(probes)), columns] = model.medians[population][columns]
        without = -forest.score_samples(probes).reshape(rows.size, len(model.features))
        contributions[rows] = raw[rows, None] - without
    medians_raw = {population: _from_model_space(model.medians[population], model.features)
                   for population in model.forests}
    own = {row["actor"]: row for row in model.profiles.to_dicts()} if model.profiles.height else {}
    out = []
    for index, window in enumerate(windows.to_dicts()):
        population = window["population"]
        order = np.argsort(-contributions[index])
        drivers = []
        for position in order[:TOP_CONTRIBUTIONS]:
            if contributions[index, position] <= 0:
                break
            name = model.features[position]
            baseline = own.get(window["actor"])
            drivers.append({
                "feature": name,
                "value": window[name],
                "contribution": round(float(contributions[index, position]), 4),
                "principal_baseline": None if baseline is None else round(float(baseline[name]), 4),
                "population_median": (round(float(medians_raw[population][position]), 4)
                                      if population in medians_raw else None),
            })
        novel = {kind: window[f"new_{kind}_items"] for kind in ("action", "network", "user_agent", "region")}
        out.append({"actor": window["actor"], "family": window["family"], "window_start": window["window_start"],
                    "drivers": drivers,
                    "novel": novel, "known_principal": window["known_principal"],
                    "summary": summary(window, drivers, novel)})
    return out


def _from_model_space(values: np.ndarray, features: tuple[str, ...]) -> np.ndarray:
    return np.array([math.expm1(value) if name in COUNT_FEATURES else value
                     for name, value in zip(features, values, strict=True)])


_NOVEL_PHRASES = {"action": "first {} by this principal", "network": "new network {}",
                  "user_agent": "new user agent {}", "region": "new region {}"}


def summary(window: dict, drivers: list[dict], novel: dict[str, list[str]]) -> str:
    """One line an analyst can act on."""
    parts = []
    if not window["known_principal"]:
        parts.append("principal not seen before (compared with its population)")
    for kind, items in novel.items():
        if items:
            shown = ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")
            parts.append(_NOVEL_PHRASES[kind].format(shown))
    for driver in drivers:
        usual = driver["principal_baseline"] if driver["principal_baseline"] is not None else driver["population_median"]
        parts.append(f"{driver['feature']} {_number(driver['value'])} (usual {_number(usual)})")
    return "; ".join(parts)


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:.2f}"
