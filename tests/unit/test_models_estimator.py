"""RangedIsolationForest: scikit-learn's estimator contract, and what it adds to an isolation forest."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.utils.estimator_checks import check_estimator

from models.estimator import RangedIsolationForest


def test_meets_the_scikit_learn_estimator_contract() -> None:
    failed = [check for check in check_estimator(RangedIsolationForest(n_estimators=10, random_state=0),
                                                 on_fail=None)
              if check["status"] == "failed"]
    assert not failed, [(check["check_name"], str(check["exception"])[:200]) for check in failed]


def _benign(rows: int = 400) -> np.ndarray:
    rng = np.random.default_rng(0)
    # Two varying features and one always zero in training (a service role's share of CLI calls).
    return np.column_stack([rng.normal(5, 1, rows), rng.normal(0.2, 0.05, rows), np.zeros(rows)])


def test_a_feature_constant_in_training_counts_once_it_moves() -> None:
    x = _benign()
    usual, moved = np.array([[5.0, 0.2, 0.0]]), np.array([[5.0, 0.2, 1.0]])
    plain = IsolationForest(random_state=0).fit(x)
    ranged = RangedIsolationForest(random_state=0).fit(x)
    # A plain forest cannot split a constant feature: the moved window scores like the usual one.
    assert plain.score_samples(moved)[0] == plain.score_samples(usual)[0]
    assert ranged.score_samples(moved)[0] < ranged.score_samples(usual)[0] - 0.4
    assert ranged.predict(moved)[0] == -1 and ranged.predict(usual)[0] == 1
    assert ranged.beyond_range(moved)[0].tolist() == [0.0, 0.0, 10.0]  # 1.0 over the 0.1 spread floor


def test_only_the_named_features_count_beyond_their_range() -> None:
    x = _benign()
    far = np.array([[50.0, 0.2, 0.0]])  # the first feature far out
    everything = RangedIsolationForest(random_state=0).fit(x)
    not_first = RangedIsolationForest(ranged=(1, 2), random_state=0).fit(x)
    assert everything.beyond_range(far)[0][0] > 40
    assert not_first.beyond_range(far)[0][0] == 0.0
    assert not_first.score_samples(far)[0] == not_first.forest_.score_samples(far)[0]


def test_its_forest_scores_are_isolation_forests_own() -> None:
    x = _benign()
    ranged = RangedIsolationForest(random_state=0).fit(x)
    probes = np.vstack([x[:50], [[5.0, 0.2, 1.0], [50.0, 0.9, 0.0], [-3.0, 0.0, 0.0]]])
    assert np.allclose(ranged._forest_score_samples(probes), ranged.forest_.score_samples(probes), rtol=0, atol=1e-12)
