"""Model versions as stored artifacts: packing, and loading only what was stored and only trusted types.

A version is two blobs and its lineage. The artifact is a skops file of the forests and their training
scores; the baseline is an Arrow IPC stream of the bounded history and per-principal profiles the
model measures novelty against. Loading checks both SHA-256 digests against the registry row first (a
changed byte refuses the load; skops alone would load a swapped artifact of trusted types), then asks
skops which types the artifact would build and refuses any not in ``TRUSTED_TYPES`` -- skops never
runs a constructor it was not told to trust, and we tell it only our own estimator and scikit-learn's
tree, nothing an attacker could smuggle in.
"""

from __future__ import annotations

import hashlib
import io
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np
import polars as pl
import skops.io as sio

from models.estimator import RangedIsolationForest
from models.features import FEATURE_VERSION, FEATURES, HISTORY_SCHEMA
from models.scoring import AnomalyModel

TRUSTED_TYPES: frozenset[str] = frozenset({
    "models.estimator.RangedIsolationForest",
    "sklearn.ensemble._iforest.IsolationForest",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.tree._tree.Tree",
})
"""What an artifact may contain besides skops' built-in safe types (containers, numbers, numpy arrays)."""

__all__ = ["TRUSTED_TYPES", "ModelRefused", "ModelVersion", "library_versions", "pack", "unpack"]


class ModelRefused(Exception):
    """A stored model that must not be used: altered, of untrusted types, or not what aispm writes."""


@dataclass
class ModelVersion:
    """A registry row (``model_registry``): the two blobs and what made them."""

    version: str
    created_at: datetime
    artifact: bytes
    artifact_sha256: str
    baseline: bytes
    baseline_sha256: str
    feature_version: str
    features: list[str]
    window_s: int
    threshold: float
    alerts_per_1000: float
    trained_from: str
    train_since: datetime
    train_until: datetime
    events: int
    windows_by_population: dict[str, int]
    library_versions: dict[str, str]
    metrics: str
    trained_by: str
    promoted_at: datetime | None = field(default=None)

    COLUMNS = ("version", "created_at", "artifact", "artifact_sha256", "baseline", "baseline_sha256",
               "feature_version", "features", "window_s", "threshold", "alerts_per_1000", "trained_from",
               "train_since", "train_until", "events", "windows_by_population", "library_versions", "metrics",
               "trained_by")

    def row(self) -> list[Any]:
        return [getattr(self, name) for name in self.COLUMNS]

    def lineage(self) -> dict[str, Any]:
        """Everything but the blobs, for `aispm model list/show`."""
        out = {name: getattr(self, name) for name in self.COLUMNS if name not in ("artifact", "baseline")}
        out["artifact_bytes"] = len(self.artifact)
        out["baseline_bytes"] = len(self.baseline)
        out["promoted_at"] = self.promoted_at
        return out


def library_versions() -> dict[str, str]:
    names = ("scikit-learn", "skops", "numpy", "polars")
    return {"python": platform.python_version(), **{name: metadata.version(name) for name in names}}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc_stream(buffer, compat_level=pl.CompatLevel.oldest())
    return buffer.getvalue()


def _baseline(history: pl.DataFrame, profiles: pl.DataFrame) -> bytes:
    """Two Arrow IPC streams: the history's length (8 bytes, big-endian), the history, the profiles."""
    first = _ipc(history)
    return len(first).to_bytes(8, "big") + first + _ipc(profiles)


def _frames(baseline: bytes) -> tuple[pl.DataFrame, pl.DataFrame]:
    length = int.from_bytes(baseline[:8], "big")
    history = pl.read_ipc_stream(io.BytesIO(baseline[8:8 + length])).select(list(HISTORY_SCHEMA))
    return history, pl.read_ipc_stream(io.BytesIO(baseline[8 + length:]))


def pack(model: AnomalyModel, *, trained_from: str, train_since: datetime, train_until: datetime, events: int,
         windows_by_population: dict[str, int], metrics: str, trained_by: str,
         alerts_per_1000: float) -> ModelVersion:
    """A new registry row for a freshly fitted model; its version names its creation time and digest."""
    artifact = sio.dumps({
        "forests": model.forests,
        "training_scores": model.training_scores,
        "medians": model.medians,
        "features": list(model.features),
        "threshold": float(model.threshold),
        "window_ms": int(model.window_ms),
    })
    baseline = _baseline(model.history.select(list(HISTORY_SCHEMA)), model.profiles)
    created = datetime.now(UTC)
    digest = sha256(artifact)
    version = f"{created:%Y%m%dT%H%M%S}-{digest[:8]}"
    model.version = version
    return ModelVersion(
        version=version, created_at=created, artifact=artifact, artifact_sha256=digest, baseline=baseline,
        baseline_sha256=sha256(baseline), feature_version=FEATURE_VERSION, features=list(model.features),
        window_s=model.window_ms // 1000, threshold=float(model.threshold), alerts_per_1000=alerts_per_1000,
        trained_from=trained_from, train_since=train_since, train_until=train_until, events=events,
        windows_by_population=windows_by_population, library_versions=library_versions(), metrics=metrics,
        trained_by=trained_by)


def unpack(stored: ModelVersion) -> AnomalyModel:
    """The model of a registry row, or ``ModelRefused`` saying why it must not be used."""
    name = f"model {stored.version}"
    if sha256(stored.artifact) != stored.artifact_sha256:
        raise ModelRefused(f"{name}: the artifact's SHA-256 is not the registry's (altered or corrupted)")
    if sha256(stored.baseline) != stored.baseline_sha256:
        raise ModelRefused(f"{name}: the baseline's SHA-256 is not the registry's (altered or corrupted)")
    if stored.feature_version != FEATURE_VERSION or tuple(stored.features) != FEATURES:
        raise ModelRefused(f"{name}: trained on features v{stored.feature_version} {stored.features}; this "
                           f"aispm computes v{FEATURE_VERSION}; train a new version")
    try:
        untrusted = set(sio.get_untrusted_types(data=stored.artifact))
    except Exception as error:  # noqa: BLE001 -- whatever skops says about foreign bytes
        raise ModelRefused(f"{name}: not a skops artifact ({error})") from None
    if untrusted - TRUSTED_TYPES:
        raise ModelRefused(f"{name}: the artifact holds types aispm does not trust: "
                           f"{', '.join(sorted(untrusted - TRUSTED_TYPES))}")
    try:
        content = sio.loads(stored.artifact, trusted=sorted(untrusted))
    except Exception as error:  # noqa: BLE001
        raise ModelRefused(f"{name}: the artifact does not load ({error})") from None
    if not isinstance(content, dict) or not all(isinstance(forest, RangedIsolationForest)
                                                for forest in content.get("forests", {}).values()):
        raise ModelRefused(f"{name}: the artifact is not an aispm anomaly model")
    try:
        history, profiles = _frames(stored.baseline)
    except Exception as error:  # noqa: BLE001
        raise ModelRefused(f"{name}: the baseline does not read ({error})") from None
    return AnomalyModel(
        forests=dict(content["forests"]),
        training_scores={key: np.asarray(value) for key, value in content["training_scores"].items()},
        medians={key: np.asarray(value) for key, value in content["medians"].items()},
        threshold=float(content["threshold"]), window_ms=int(content["window_ms"]),
        features=tuple(content["features"]), history=history, profiles=profiles, version=stored.version)
