"""Fréchet Inception Distance on feature arrays.

FID (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", eq. 6) is the Fréchet distance between two Gaussians fitted to the features of two
image sets:

    FID = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½)

Computed as pytorch-fid does, in float64: ``scipy.linalg.sqrtm`` of the product Σ_a·Σ_b; only
when that square root is not finite (the product is singular), 1e-6·I is added to both
covariances and it is computed again; a complex result whose diagonal has an imaginary part
above 1e-3 is an error, a smaller one is dropped. ``sqrtm`` of a 2048×2048 matrix takes seconds
(about 14 s on two shared cores).

With fewer images than feature dimensions (2048) the covariances are rank-deficient and FID is
strongly biased upwards, so small sets are best compared with KID (:mod:`.kid`).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

SINGULAR_OFFSET = 1e-6
IMAGINARY_TOLERANCE = 1e-3


def _features_2d(features, name: str) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (images × features); got {features.shape}.")
    if features.shape[0] < 2:
        raise ValueError(
            f"{name} has {features.shape[0]} row(s); FID needs at least 2 images per set."
        )
    if not np.isfinite(features).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return features


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Returns the mean and the covariance (``np.cov``, unbiased, N−1) of features in float64.

    Args:
        features: Array ``(num_images, num_features)``, ``num_images >= 2``.

    Returns:
        ``(mu, sigma)``: shapes ``(num_features,)`` and ``(num_features, num_features)``.
    """
    features = _features_2d(features, "features")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu_a, sigma_a, mu_b, sigma_b, *, eps: float = SINGULAR_OFFSET) -> float:
    """Fréchet distance between N(mu_a, sigma_a) and N(mu_b, sigma_b), pytorch-fid's way.

    Args:
        mu_a: Mean of the first set, shape ``(d,)``.
        sigma_a: Covariance of the first set, shape ``(d, d)``.
        mu_b: Mean of the second set.
        sigma_b: Covariance of the second set.
        eps: Added to the covariances' diagonals only if ``sqrtm`` of the product is not finite.

    Returns:
        The distance as a Python float.

    Raises:
        ValueError: On mismatched shapes, or if the square root has a significant imaginary
            part (its diagonal's imaginary part exceeds 1e-3).
    """
    mu_a, mu_b = np.atleast_1d(mu_a).astype(np.float64), np.atleast_1d(mu_b).astype(np.float64)
    sigma_a = np.atleast_2d(sigma_a).astype(np.float64)
    sigma_b = np.atleast_2d(sigma_b).astype(np.float64)
    if mu_a.shape != mu_b.shape or mu_a.ndim != 1:
        raise ValueError(f"The means have different shapes: {mu_a.shape} and {mu_b.shape}.")
    expected = (mu_a.size, mu_a.size)
    if sigma_a.shape != expected or sigma_b.shape != expected:
        raise ValueError(
            f"The covariances must be {expected} for {mu_a.size} features; "
            f"got {sigma_a.shape} and {sigma_b.shape}."
        )
    difference = mu_a - mu_b
    covariance_mean = scipy.linalg.sqrtm(sigma_a @ sigma_b)
    if not np.isfinite(covariance_mean).all():
        warnings.warn(
            f"FID: the covariance product is singular; adding {eps} to the diagonals.",
            RuntimeWarning,
            stacklevel=2,
        )
        offset = np.eye(mu_a.size) * eps
        covariance_mean = scipy.linalg.sqrtm((sigma_a + offset) @ (sigma_b + offset))
    if np.iscomplexobj(covariance_mean):
        imaginary = np.abs(np.diagonal(covariance_mean).imag).max(initial=0.0)
        if imaginary > IMAGINARY_TOLERANCE:
            raise ValueError(
                f"FID: the square root of the covariance product has an imaginary component of "
                f"{np.abs(covariance_mean.imag).max():.3g}; the feature statistics are "
                "numerically unusable (too few or degenerate images?)."
            )
        covariance_mean = covariance_mean.real
    return float(
        difference @ difference
        + np.trace(sigma_a)
        + np.trace(sigma_b)
        - 2.0 * np.trace(covariance_mean)
    )


def frechet_inception_distance(features_a, features_b) -> float:
    """FID between two sets of features (usually the 2048-d Inception pool3 features).

    Args:
        features_a: Array ``(num_images_a, num_features)``.
        features_b: Array ``(num_images_b, num_features)``.

    Returns:
        The FID as a Python float (0 for identical sets, up to rounding).
    """
    features_a = _features_2d(features_a, "features_a")
    features_b = _features_2d(features_b, "features_b")
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            f"The feature sets have {features_a.shape[1]} and {features_b.shape[1]} features; "
            "they must come from the same network."
        )
    return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))
