"""Content preservation between an input photo and its stylised output: SSIM and PSNR.

Both take images with values in [0, 1], shape ``(height, width)`` or ``(height, width,
channels)``, and compute in float64.

SSIM follows Wang et al. 2004 ("Image quality assessment: from error visibility to structural
similarity", eq. 13) with the paper's settings: an 11×11 Gaussian window of standard deviation
1.5 (normalised to sum 1), K1 = 0.01, K2 = 0.03, dynamic range L = 1, so C1 = (K1·L)² and
C2 = (K2·L)². Local statistics use the window as weights (population variance, no N−1
correction) and only windows that lie wholly inside the image (MATLAB's ``filter2(..., 'valid')``;
scikit-image's ``gaussian_weights=True, use_sample_covariance=False`` gives the same). The SSIM
map is averaged over those positions for each channel, and the channels are averaged with equal
weights (no conversion to luma).

PSNR is ``10·log10(1 / MSE)`` with the MSE over all pixels and channels of one image pair
(L = 1); a set of pairs reports the mean of the per-pair PSNRs, not the PSNR of the pooled
MSE. Identical images give ``inf``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
K1 = 0.01
K2 = 0.03


def gaussian_window_1d(size: int = WINDOW_SIZE, sigma: float = WINDOW_SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian whose outer product with itself is the SSIM window."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    window = np.exp(-(offsets**2) / (2.0 * sigma**2))
    return window / window.sum()


def _check_pair(image_a, image_b) -> tuple[np.ndarray, np.ndarray]:
    image_a = np.asarray(image_a, dtype=np.float64)
    image_b = np.asarray(image_b, dtype=np.float64)
    if image_a.shape != image_b.shape:
        raise ValueError(f"The images differ in shape: {image_a.shape} and {image_b.shape}.")
    if image_a.ndim not in (2, 3):
        raise ValueError(
            f"Expected images of shape (height, width) or (height, width, channels); "
            f"got {image_a.shape}."
        )
    for name, image in (("image_a", image_a), ("image_b", image_b)):
        if image.size == 0 or not np.isfinite(image).all():
            raise ValueError(f"{name} is empty or holds NaN or infinite values.")
        low, high = image.min(), image.max()
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"{name} has values in [{low:.4g}, {high:.4g}]; expected [0, 1] "
                "(divide 8-bit images by 255)."
            )
    return image_a, image_b


def _filter_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable weighted average over the window positions wholly inside a 2-D image."""
    margin = (window.size - 1) // 2
    filtered = ndimage.correlate1d(image, window, axis=0, mode="constant")
    filtered = ndimage.correlate1d(filtered, window, axis=1, mode="constant")
    return filtered[margin : image.shape[0] - margin, margin : image.shape[1] - margin]


def structural_similarity(image_a, image_b) -> float:
    """Mean SSIM of two images in [0, 1] (Gaussian 11×11 window, σ = 1.5, channels averaged).

    Args:
        image_a: Array ``(height, width)`` or ``(height, width, channels)``, values in [0, 1].
        image_b: Array of the same shape.

    Returns:
        The SSIM as a Python float, 1.0 for identical images.

    Raises:
        ValueError: If the shapes differ, a side is under 11 pixels, or values leave [0, 1].
    """
    image_a, image_b = _check_pair(image_a, image_b)
    if min(image_a.shape[:2]) < WINDOW_SIZE:
        raise ValueError(
            f"SSIM needs images of at least {WINDOW_SIZE}×{WINDOW_SIZE} pixels; "
            f"got {image_a.shape[0]}×{image_a.shape[1]}."
        )
    if image_a.ndim == 2:
        image_a, image_b = image_a[..., None], image_b[..., None]
    window = gaussian_window_1d()
    c1, c2 = K1**2, K2**2
    channel_means = []
    for channel in range(image_a.shape[-1]):
        a, b = image_a[..., channel], image_b[..., channel]
        mean_a, mean_b = _filter_valid(a, window), _filter_valid(b, window)
        variance_a = _filter_valid(a * a, window) - mean_a**2
        variance_b = _filter_valid(b * b, window) - mean_b**2
        covariance = _filter_valid(a * b, window) - mean_a * mean_b
        similarity = ((2 * mean_a * mean_b + c1) * (2 * covariance + c2)) / (
            (mean_a**2 + mean_b**2 + c1) * (variance_a + variance_b + c2)
        )
        channel_means.append(similarity.mean())
    return float(np.mean(channel_means))


def peak_signal_to_noise_ratio(image_a, image_b) -> float:
    """PSNR in dB of two images in [0, 1]: ``10·log10(1 / MSE)`` over all pixels and channels.

    Args:
        image_a: Array ``(height, width)`` or ``(height, width, channels)``, values in [0, 1].
        image_b: Array of the same shape.

    Returns:
        The PSNR as a Python float; ``inf`` for identical images.
    """
    image_a, image_b = _check_pair(image_a, image_b)
    mean_squared_error = np.mean((image_a - image_b) ** 2)
    if mean_squared_error == 0.0:
        return float("inf")
    return float(10.0 * np.log10(1.0 / mean_squared_error))
