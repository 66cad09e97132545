"""Kernel Inception Distance on feature arrays.

KID (Bińkowski et al. 2018, "Demystifying MMD GANs", section 4) is the squared maximum mean
discrepancy between two feature sets under the cubic polynomial kernel

    k(x, y) = (xᵀy / d + 1)³,    d = number of features,

estimated without bias (Gretton et al. 2012, eq. 3) on random subsets of ``m`` features from each
set, ``X`` and ``Y``:

    MMD²_u = Σ_{i≠j} k(x_i, x_j) / (m(m−1)) + Σ_{i≠j} k(y_i, y_j) / (m(m−1))
             − 2 Σ_{i,j} k(x_i, y_j) / m²

KID is the mean over subsets, reported with the (population, ddof=0) standard deviation over
subsets, as in the paper's code and torch-fidelity. Unlike FID it is unbiased, so it is the
headline number for small sets. It can be slightly negative when the sets are alike.

The standard deviation measures how much the estimate moves between subsets, not the sampling
error of the sets themselves: when both sets have no more images than the subset size, every
subset is a whole set and the deviation is 0.
"""

from __future__ import annotations

import numpy as np

DEFAULT_NUM_SUBSETS = 100
DEFAULT_SUBSET_SIZE = 1000
# Above this many kernel entries (256 MiB of float64) the kernel matrices are computed per
# subset instead of once for all subsets.
_MAX_PRECOMPUTED_ENTRIES = 1 << 25


def polynomial_kernel(features_x, features_y) -> np.ndarray:
    """The cubic polynomial kernel matrix ``(xᵀy / d + 1)³`` in float64."""
    features_x = np.asarray(features_x, dtype=np.float64)
    features_y = np.asarray(features_y, dtype=np.float64)
    return (features_x @ features_y.T / features_x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(kernel_xx, kernel_yy, kernel_xy) -> float:
    m = kernel_xx.shape[0]
    within_x = (kernel_xx.sum() - np.trace(kernel_xx)) / (m * (m - 1))
    within_y = (kernel_yy.sum() - np.trace(kernel_yy)) / (m * (m - 1))
    return float(within_x + within_y - 2.0 * kernel_xy.sum() / (m * m))


def kernel_inception_distance(
    features_a,
    features_b,
    *,
    num_subsets: int = DEFAULT_NUM_SUBSETS,
    subset_size: int | None = DEFAULT_SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """KID between two feature sets: unbiased MMD² with a cubic kernel, averaged over subsets.

    Args:
        features_a: Array ``(num_images_a, num_features)``.
        features_b: Array ``(num_images_b, num_features)``.
        num_subsets: How many random subset pairs to average over.
        subset_size: Images per subset; the effective size is
            ``min(num_images_a, num_images_b, subset_size)`` (``None``: no cap).
        seed: Seed of the subset sampling; the same seed gives the same result.

    Returns:
        ``(kid_mean, kid_std)`` over the subsets, as Python floats.

    Raises:
        ValueError: On malformed features, mismatched feature counts, fewer than 2 images in a
            set, or non-positive ``num_subsets`` / ``subset_size``.
    """
    features_a = np.asarray(features_a, dtype=np.float64)
    features_b = np.asarray(features_b, dtype=np.float64)
    for name, features in (("features_a", features_a), ("features_b", features_b)):
        if features.ndim != 2:
            raise ValueError(f"{name} must be 2-D (images × features); got {features.shape}.")
        if features.shape[0] < 2:
            raise ValueError(f"{name} has {features.shape[0]} row(s); KID needs at least 2.")
        if not np.isfinite(features).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            f"The feature sets have {features_a.shape[1]} and {features_b.shape[1]} features; "
            "they must come from the same network."
        )
    if num_subsets < 1:
        raise ValueError(f"num_subsets must be at least 1; got {num_subsets}.")
    if subset_size is not None and subset_size < 2:
        raise ValueError(f"subset_size must be at least 2 (or None); got {subset_size}.")
    size_a, size_b = features_a.shape[0], features_b.shape[0]
    m = min(size_a, size_b, subset_size or max(size_a, size_b))

    rng = np.random.default_rng(seed)
    precompute = (size_a + size_b) ** 2 <= _MAX_PRECOMPUTED_ENTRIES
    if precompute:
        kernel_aa = polynomial_kernel(features_a, features_a)
        kernel_bb = polynomial_kernel(features_b, features_b)
        kernel_ab = polynomial_kernel(features_a, features_b)
    estimates = np.empty(num_subsets)
    for subset in range(num_subsets):
        index_a = rng.choice(size_a, m, replace=False)
        index_b = rng.choice(size_b, m, replace=False)
        if precompute:
            estimates[subset] = _unbiased_mmd2(
                kernel_aa[np.ix_(index_a, index_a)],
                kernel_bb[np.ix_(index_b, index_b)],
                kernel_ab[np.ix_(index_a, index_b)],
            )
        else:
            x, y = features_a[index_a], features_b[index_b]
            estimates[subset] = _unbiased_mmd2(
                polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
            )
    return float(estimates.mean()), float(estimates.std())
