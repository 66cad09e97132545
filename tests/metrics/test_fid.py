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


def test_singular_product_retries_with_an_offset(monkeypatch):
    calls = []
    real_sqrtm = scipy.linalg.sqrtm

    def sqrtm_failing_once(matrix):
        calls.append(matrix)
        if len(calls) == 1:
            return np.full_like(matrix, np.nan)
        return real_sqrtm(matrix)

    monkeypatch.setattr(fid.scipy.linalg, "sqrtm", sqrtm_failing_once)
    sigma_a, sigma_b = np.diag([1.0, 0.0]), np.diag([4.0, 1.0])
    with pytest.warns(RuntimeWarning, match="adding 1e-06"):
        value = fid.frechet_distance(np.zeros(2), sigma_a, np.zeros(2), sigma_b)
    np.testing.assert_allclose(
        calls[1], (sigma_a + 1e-6 * np.eye(2)) @ (sigma_b + 1e-6 * np.eye(2))
    )
    expected = 5.0 - 2 * (np.sqrt((1 + 1e-6) * (4 + 1e-6)) + np.sqrt(1e-6 * (1 + 1e-6))) + 1.0
    assert value == pytest.approx(expected, rel=1e-9)


def test_large_imaginary_part_is_an_error(monkeypatch):
    monkeypatch.setattr(fid.scipy.linalg, "sqrtm", lambda matrix: np.eye(2) * (1 + 0.5j))
    with pytest.raises(ValueError, match=r"imaginary component of 0\.5"):
        fid.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2))


def test_small_imaginary_part_is_dropped(monkeypatch):
    monkeypatch.setattr(fid.scipy.linalg, "sqrtm", lambda matrix: np.eye(2) * (1 + 1e-5j))
    assert fid.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2)) == pytest.approx(0)


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
