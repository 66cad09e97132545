"""Fréchet Inception Distance on feature arrays.

FID (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", eq. 6) is the Fréchet distance between two Gaussians fitted to the features of two
image sets:

    FID = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½)

Computed in float64 with the eigenvalue form of the trace term: Σ_a·Σ_b is similar to the
symmetric positive semi-definite Σ_a^½·Σ_b·Σ_a^½, so

    Tr (Σ_a Σ_b)^½ = Σ_i √λ_i(Σ_a^½ Σ_b Σ_a^½)

two symmetric eigenproblems (``numpy.linalg.eigh``) instead of pytorch-fid's general matrix
square root (``scipy.linalg.sqrtm``, 14-60 s for 2048² on two cores; the eigenvalue form takes
about a second and needs no singular-matrix retry). Both compute the same quantity; on
full-rank covariances they agree to about 1e-12 relative, and on the rank-deficient ones of
small image sets this form is the more accurate (no complex round-off to drop). Eigenvalues
below zero by rounding are clipped; a covariance that is clearly not positive semi-definite is
an error.

With fewer images than feature dimensions (2048) the covariances are rank-deficient and FID is
strongly biased upwards, so small sets are best compared with KID (:mod:`.kid`).
"""

from __future__ import annotations

import numpy as np

#: A covariance whose most negative eigenvalue is below −this × its largest is not one.
NEGATIVE_TOLERANCE = 1e-6


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


def _psd_root(sigma: np.ndarray, name: str) -> np.ndarray:
    """The symmetric square root of a positive semi-definite matrix (via ``eigh``)."""
    values, vectors = np.linalg.eigh(sigma)
    _check_psd(values, name)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def _check_psd(values: np.ndarray, name: str) -> None:
    scale = max(float(np.abs(values).max(initial=0.0)), np.finfo(np.float64).tiny)
    if values.min(initial=0.0) < -NEGATIVE_TOLERANCE * scale:
        raise ValueError(
            f"FID: {name} has the eigenvalue {values.min():.3g} (largest {scale:.3g}); it is not a "
            "covariance (positive semi-definite) matrix."
        )


def trace_sqrt_product(sigma_a, sigma_b) -> float:
    """Tr (Σ_a Σ_b)^½ for covariance matrices, as Σ √λ(Σ_a^½ Σ_b Σ_a^½)."""
    sigma_a = (sigma_a + sigma_a.T) / 2
    sigma_b = (sigma_b + sigma_b.T) / 2
    root_a = _psd_root(sigma_a, "the first covariance")
    _check_psd(np.linalg.eigvalsh(sigma_b), "the second covariance")
    inner = root_a @ sigma_b @ root_a
    values = np.linalg.eigvalsh((inner + inner.T) / 2)
    return float(np.sqrt(np.clip(values, 0.0, None)).sum())


def frechet_distance(mu_a, sigma_a, mu_b, sigma_b) -> float:
    """Fréchet distance between N(mu_a, sigma_a) and N(mu_b, sigma_b).

    Args:
        mu_a: Mean of the first set, shape ``(d,)``.
        sigma_a: Covariance of the first set, shape ``(d, d)``.
        mu_b: Mean of the second set.
        sigma_b: Covariance of the second set.

    Returns:
        The distance as a Python float.

    Raises:
        ValueError: On mismatched shapes, non-finite values, or a covariance that is not
            positive semi-definite.
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
    for array in (mu_a, mu_b, sigma_a, sigma_b):
        if not np.isfinite(array).all():
            raise ValueError("FID: the statistics contain NaN or infinite values.")
    difference = mu_a - mu_b
    return float(
        difference @ difference
        + np.trace(sigma_a)
        + np.trace(sigma_b)
        - 2.0 * trace_sqrt_product(sigma_a, sigma_b)
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
