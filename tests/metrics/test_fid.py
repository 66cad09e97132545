"""Tests of gan_style.metrics.fid against closed forms and an independent eigenvalue method."""

import numpy as np
import pytest
import scipy.linalg

from gan_style.metrics import fid


def _reference_fid(features_a, features_b):
    """FID with Tr((Σa Σb)^½) = Σ √λ(Σa^½ Σb Σa^½): symmetric eigenproblems, no sqrtm."""
    features_a = np.asarray(features_a, np.float64)
    features_b = np.asarray(features_b, np.float64)
    mean_a, mean_b = features_a.mean(0), features_b.mean(0)
    centred_a, centred_b = features_a - mean_a, features_b - mean_b
    sigma_a = centred_a.T @ centred_a / (len(features_a) - 1)
    sigma_b = centred_b.T @ centred_b / (len(features_b) - 1)
    values, vectors = np.linalg.eigh(sigma_a)
    root_a = vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T
    inner = np.linalg.eigvalsh(root_a @ sigma_b @ root_a)
    trace_root = np.sqrt(np.clip(inner, 0, None)).sum()
    return float(
        np.sum((mean_a - mean_b) ** 2) + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_root
    )


def test_matches_independent_reference_on_random_features():
    rng = np.random.default_rng(1)
    features_a = rng.standard_normal((200, 16)) @ rng.standard_normal((16, 16))
    features_b = rng.standard_normal((150, 16)) * 1.5 + 0.3
    expected = _reference_fid(features_a, features_b)
    assert fid.frechet_inception_distance(features_a, features_b) == pytest.approx(
        expected, rel=1e-9
    )


def test_identical_sets_give_zero():
    features = np.random.default_rng(2).standard_normal((100, 12)).astype(np.float32)
    assert abs(fid.frechet_inception_distance(features, features.copy())) < 1e-8


def test_gaussians_with_diagonal_covariances_match_the_closed_form():
    # For commuting covariances FID = ‖μa − μb‖² + Σ (√a_i − √b_i)².
    mean_a, mean_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    variances_a, variances_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum(
        (np.sqrt(variances_a) - np.sqrt(variances_b)) ** 2
    )
    value = fid.frechet_distance(mean_a, np.diag(variances_a), mean_b, np.diag(variances_b))
    assert value == pytest.approx(expected, rel=1e-12)


def test_gaussians_with_full_covariances_match_the_closed_form():
    # Σb = c²·Σa commutes with Σa: (Σa Σb)^½ = c·Σa, so FID = ‖Δμ‖² + (1 − c)² Tr Σa.
    rng = np.random.default_rng(3)
    mixing = rng.standard_normal((6, 6))
    sigma_a = mixing @ mixing.T + np.eye(6)
    scale = 1.7
    difference = rng.standard_normal(6)
    expected = difference @ difference + (1 - scale) ** 2 * np.trace(sigma_a)
    value = fid.frechet_distance(np.zeros(6), sigma_a, difference, scale**2 * sigma_a)
    assert value == pytest.approx(expected, rel=1e-9)


def test_sampled_gaussians_approach_the_closed_form():
    rng = np.random.default_rng(4)
    features_a = rng.normal(0.0, 1.0, (20000, 4))
    features_b = rng.normal(2.0, 3.0, (20000, 4))
    expected = 4 * 2.0**2 + 4 * (1.0 - 3.0) ** 2  # 32
    assert fid.frechet_inception_distance(features_a, features_b) == pytest.approx(
        expected, rel=0.02
    )


def test_feature_statistics_are_float64_mean_and_unbiased_covariance():
    features = np.array([[1, 2], [3, 5], [4, 4]], dtype=np.float32)
    mean, sigma = fid.feature_statistics(features)
    assert mean.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(mean, [8 / 3, 11 / 3])
    np.testing.assert_allclose(sigma, np.cov(features.astype(np.float64), rowvar=False))


def _sqrtm_fid(features_a, features_b):
    """pytorch-fid's formula (scipy's general matrix square root), the form this one replaced."""
    mu_a, sigma_a = fid.feature_statistics(features_a)
    mu_b, sigma_b = fid.feature_statistics(features_b)
    root = scipy.linalg.sqrtm(sigma_a @ sigma_b).real
    return float(
        np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a) + np.trace(sigma_b) - 2 * np.trace(root)
    )


def test_agrees_with_the_sqrtm_form_on_full_rank_covariances():
    rng = np.random.default_rng(7)
    features_a = rng.standard_normal((400, 64)) @ rng.standard_normal((64, 64))
    features_b = rng.standard_normal((300, 64)) * 2.0 + rng.standard_normal(64)
    assert fid.frechet_inception_distance(features_a, features_b) == pytest.approx(
        _sqrtm_fid(features_a, features_b), rel=1e-9
    )


def test_rank_deficient_covariances_match_the_closed_form():
    """Fewer images than features (every small evaluation): Σ_a, Σ_b singular, no retry needed."""
    sigma_a, sigma_b = np.diag([1.0, 0.0, 0.0]), np.diag([4.0, 1.0, 0.0])
    value = fid.frechet_distance(np.zeros(3), sigma_a, np.zeros(3), sigma_b)
    assert value == pytest.approx(1 + 5 - 2 * 2.0, rel=1e-12)


def test_a_matrix_that_is_not_a_covariance_is_an_error():
    with pytest.raises(ValueError, match="not a covariance"):
        fid.frechet_distance(np.zeros(2), np.diag([1.0, -0.5]), np.zeros(2), np.eye(2))


@pytest.mark.parametrize(
    ("features_a", "features_b", "message"),
    [
        (np.zeros((5,)), np.zeros((5, 2)), "must be a 2-D array"),
        (np.zeros((1, 2)), np.zeros((5, 2)), "at least 2 images"),
        (np.zeros((5, 2)), np.zeros((5, 3)), "2 and 3 features"),
        (np.full((5, 2), np.nan), np.zeros((5, 2)), "NaN"),
    ],
)
def test_bad_features_are_value_errors(features_a, features_b, message):
    with pytest.raises(ValueError, match=message):
        fid.frechet_inception_distance(features_a, features_b)


def test_mismatched_statistics_are_value_errors():
    with pytest.raises(ValueError, match="covariances must be"):
        fid.frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
