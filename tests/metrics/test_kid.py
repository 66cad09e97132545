"""Tests of gan_style.metrics.kid against a loop-by-loop reference of the unbiased MMD²."""

import numpy as np
import pytest

from gan_style.metrics import kid


def _kernel(x, y):
    return (float(np.dot(x, y)) / len(x) + 1.0) ** 3


def _reference_mmd2(x, y):
    """Unbiased MMD² (Gretton et al. 2012, eq. 3) with explicit sums over pairs."""
    m = len(x)
    within_x = sum(_kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    within_y = sum(_kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    across = sum(_kernel(x[i], y[j]) for i in range(m) for j in range(m))
    return within_x / (m * (m - 1)) + within_y / (m * (m - 1)) - 2 * across / (m * m)


def _reference_kid(features_a, features_b, num_subsets, subset_size, seed):
    """The documented protocol: per subset, draw from a, then from b, without replacement."""
    rng = np.random.default_rng(seed)
    m = min(len(features_a), len(features_b), subset_size)
    estimates = []
    for _ in range(num_subsets):
        x = features_a[rng.choice(len(features_a), m, replace=False)]
        y = features_b[rng.choice(len(features_b), m, replace=False)]
        estimates.append(_reference_mmd2(x, y))
    return np.mean(estimates), np.std(estimates)


def test_matches_loop_reference():
    rng = np.random.default_rng(0)
    features_a = rng.standard_normal((30, 5))
    features_b = rng.standard_normal((25, 5)) + 0.5
    expected = _reference_kid(features_a, features_b, num_subsets=7, subset_size=12, seed=3)
    mean, std = kid.kernel_inception_distance(
        features_a, features_b, num_subsets=7, subset_size=12, seed=3
    )
    assert mean == pytest.approx(expected[0], rel=1e-10)
    assert std == pytest.approx(expected[1], rel=1e-8)


def test_per_subset_kernels_give_the_same_result(monkeypatch):
    rng = np.random.default_rng(1)
    features_a, features_b = rng.standard_normal((40, 6)), rng.standard_normal((50, 6))
    precomputed = kid.kernel_inception_distance(
        features_a, features_b, num_subsets=5, subset_size=20
    )
    monkeypatch.setattr(kid, "_MAX_PRECOMPUTED_ENTRIES", 0)
    per_subset = kid.kernel_inception_distance(
        features_a, features_b, num_subsets=5, subset_size=20
    )
    np.testing.assert_allclose(per_subset, precomputed, rtol=1e-10)


def test_same_distribution_is_near_zero_and_a_shift_is_not():
    rng = np.random.default_rng(2)
    features_a = rng.standard_normal((600, 8))
    features_b = rng.standard_normal((600, 8))
    same, same_std = kid.kernel_inception_distance(features_a, features_b, subset_size=200)
    shifted, _ = kid.kernel_inception_distance(features_a, features_b + 0.5, subset_size=200)
    assert abs(same) < 3 * same_std / np.sqrt(100) + 1e-3
    assert shifted > 50 * abs(same)


def test_seeded_and_subset_size_capped():
    rng = np.random.default_rng(3)
    features_a, features_b = rng.standard_normal((30, 4)), rng.standard_normal((40, 4))
    first = kid.kernel_inception_distance(features_a, features_b, num_subsets=4, seed=9)
    assert first == kid.kernel_inception_distance(features_a, features_b, num_subsets=4, seed=9)
    assert first != kid.kernel_inception_distance(features_a, features_b, num_subsets=4, seed=10)
    # Both sets no larger than the subset: every subset is the whole of the smaller set.
    whole = kid.kernel_inception_distance(features_a, features_a[::-1], num_subsets=3)
    assert whole[1] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"num_subsets": 0}, "num_subsets must be at least 1"),
        ({"subset_size": 1}, "subset_size must be at least 2"),
    ],
)
def test_bad_arguments_are_value_errors(arguments, message):
    features = np.zeros((4, 2))
    with pytest.raises(ValueError, match=message):
        kid.kernel_inception_distance(features, features, **arguments)


def test_bad_features_are_value_errors():
    with pytest.raises(ValueError, match="3 and 2 features"):
        kid.kernel_inception_distance(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        kid.kernel_inception_distance(np.zeros((1, 3)), np.zeros((4, 3)))
