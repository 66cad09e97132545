"""Artifact figures of a stylised image: the period-4 grid peak and the colour cast.

Both are pure functions of 8-bit or [0, 1] RGB arrays, cheap enough to run on every output of
a benchmark, and both are read *relative to the untouched photos*, never as absolute scores.

Grid peak. A generator that upsamples twice by 2 (transposed convolutions, or the
checkerboard of uneven kernel overlap, Odena et al. 2016, "Deconvolution and Checkerboard
Artifacts") paints a faint grid of period 4 pixels over its output, which shows up as a sharp
line in the image's spectrum at 1/4 cycle per pixel. :func:`grid_peak` is

    peak = max(P(f_x = 1/4, f_y = 0), P(f_x = 0, f_y = 1/4)) / median(P on the ring |f| = 1/4)

where ``P`` is the power of the 2-D FFT of the luminance (Rec. 601 weights
``0.299 R + 0.587 G + 0.114 B``) after subtracting its mean and multiplying by a 2-D Hann
window (so that the image border does not add the bright cross a plain FFT has along both
axes). The image is cropped to a multiple of 4 pixels on each side first, so that 1/4 cycle per
pixel falls exactly on an FFT bin. The median is taken over the bins whose radial frequency is
within one bin of 1/4 (the ring through the two peaks), not over the whole spectrum: a photo's
power falls steeply with frequency, so the whole spectrum's median sits far below the power at
1/4 and would make every smooth image look "peaked". Against the ring, an image without a
periodic pattern gives a number of order 1 (a noisy single bin: a few tenths to a few tens for
photos with strong horizontal or vertical edges), and a period-4 grid of ±1 grey level on a
1024-px photo gives hundreds to thousands. A checkerboard that is the product of two
period-4 square waves has its power on the diagonal (1/4, 1/4) only and is not counted.

Colour cast. :func:`hue_histogram` counts the hues of a style's images, in ``num_bins`` equal
bins of the HSV hue circle (bin 0 starts at red, 0°), over the *saturated* pixels only: those
whose chroma ``max(R, G, B) − min(R, G, B)`` is at least :data:`MIN_CHROMA` of the 0-1 range
(near-grey pixels have no meaningful hue). The counts of all images are pooled and normalised
to sum to 1. :func:`colour_cast` of an image is the share of its saturated pixels whose hue bin
holds less than ``rare_below`` (default :data:`RARE_HUE_SHARE`, 0.5 %) of the style's saturated
pixels: colours the style almost never uses, such as a magenta cast over a Monet landscape. An
image without saturated pixels has no cast (0).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

#: Spatial period, in pixels, of the grid :func:`grid_peak` looks for.
GRID_PERIOD = 4
#: Rec. 601 luma weights of R, G, B.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
#: Hue bins of :func:`hue_histogram` (10° each).
NUM_HUE_BINS = 36
#: A pixel counts as saturated when max − min of its RGB values is at least this (0-1 range).
MIN_CHROMA = 0.1
#: A hue bin is rare for a style below this share of its saturated pixels.
RARE_HUE_SHARE = 0.005


def _as_rgb_float(image, name: str = "image") -> np.ndarray:
    """``(height, width, 3)`` float64 in [0, 1] from a uint8 or [0, 1] float RGB array."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"{name} must be an RGB array (height, width, 3); got {array.shape}.")
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    array = array.astype(np.float64)
    if array.size and (not np.isfinite(array).all() or array.min() < 0 or array.max() > 1):
        raise ValueError(
            f"{name} has float values outside [0, 1]; pass uint8 or divide 8-bit values by 255."
        )
    return array


def luminance(image) -> np.ndarray:
    """Rec. 601 luma ``(height, width)`` in [0, 1] of an RGB image (uint8 or [0, 1] float)."""
    return _as_rgb_float(image) @ np.asarray(LUMA_WEIGHTS)


def grid_peak(image) -> float:
    """Spectral power at the period-4 frequencies over the median at that radius (module doc).

    Args:
        image: RGB array ``(height, width, 3)``, uint8 or float in [0, 1]; at least 8×8.

    Returns:
        ``max(P[1/4 along x], P[1/4 along y]) / median(P on the ring |f| = 1/4)`` as a Python
        float; 0.0 for a flat image (no power anywhere).

    Raises:
        ValueError: The array is not an RGB image of at least 8×8 pixels.
    """
    luma = luminance(image)
    height, width = (side - side % GRID_PERIOD for side in luma.shape)
    if height < 2 * GRID_PERIOD or width < 2 * GRID_PERIOD:
        raise ValueError(f"grid_peak needs an image of at least 8×8 pixels; got {luma.shape}.")
    luma = luma[:height, :width]
    if np.ptp(luma) < 1e-9:  # flat: only rounding noise would be left to divide
        return 0.0
    luma = luma - luma.mean()
    window = np.outer(np.hanning(height), np.hanning(width))
    power = np.abs(np.fft.fft2(luma * window)) ** 2
    peak = max(power[0, width // GRID_PERIOD], power[height // GRID_PERIOD, 0])
    frequency_y = np.fft.fftfreq(height)[:, None]
    frequency_x = np.fft.fftfreq(width)[None, :]
    radius = np.hypot(frequency_x, frequency_y)
    ring = np.abs(radius - 1.0 / GRID_PERIOD) <= 1.0 / min(height, width)
    median = float(np.median(power[ring]))
    return float(peak / max(median, np.finfo(np.float64).tiny))


def _saturated_hue_bins(image, num_bins: int) -> np.ndarray:
    """The hue bin of every saturated pixel of an image, as a 1-D int array."""
    rgb = _as_rgb_float(image).reshape(-1, 3)
    high, low = rgb.max(axis=1), rgb.min(axis=1)
    chroma = high - low
    rgb, high, chroma = (
        rgb[chroma >= MIN_CHROMA],
        high[chroma >= MIN_CHROMA],
        chroma[chroma >= MIN_CHROMA],
    )
    red, green, blue = rgb.T
    # HSV hue in sixths of the circle, by which channel is the largest.
    hue = np.where(
        high == red,
        ((green - blue) / chroma) % 6.0,
        np.where(high == green, (blue - red) / chroma + 2.0, (red - green) / chroma + 4.0),
    )
    return np.minimum((hue / 6.0 * num_bins).astype(np.int64), num_bins - 1)


def hue_histogram(images: Iterable, *, num_bins: int = NUM_HUE_BINS) -> np.ndarray:
    """The share of a set's saturated pixels in each hue bin, pooled over its images.

    Args:
        images: RGB arrays ``(height, width, 3)``, uint8 or float in [0, 1] (sizes may differ).
        num_bins: Equal bins of the hue circle; bin 0 is [0°, 360°/num_bins), starting at red.

    Returns:
        float64 array ``(num_bins,)`` summing to 1.

    Raises:
        ValueError: No image has a saturated pixel (chroma ≥ `MIN_CHROMA`), or ``num_bins``
            is below 1.
    """
    if num_bins < 1:
        raise ValueError(f"num_bins must be at least 1; got {num_bins}.")
    counts = np.zeros(num_bins, np.int64)
    for image in images:
        counts += np.bincount(_saturated_hue_bins(image, num_bins), minlength=num_bins)
    total = counts.sum()
    if total == 0:
        raise ValueError(
            f"no pixel of the images has a chroma of at least {MIN_CHROMA} (all near grey), so "
            "they have no hue histogram."
        )
    return counts / total


def colour_cast(image, style_histogram, *, rare_below: float = RARE_HUE_SHARE) -> float:
    """The share of an image's saturated pixels whose hue the style rarely uses.

    Args:
        image: RGB array ``(height, width, 3)``, uint8 or float in [0, 1].
        style_histogram: The style's :func:`hue_histogram` (its length gives the bins).
        rare_below: A bin is rare when the style's share in it is below this.

    Returns:
        A fraction in [0, 1]; 0.0 when the image has no saturated pixel.

    Raises:
        ValueError: ``style_histogram`` is not a 1-D array of shares.
    """
    style_histogram = np.asarray(style_histogram, dtype=np.float64)
    if style_histogram.ndim != 1 or style_histogram.size == 0 or (style_histogram < 0).any():
        raise ValueError(
            "style_histogram must be a 1-D array of non-negative shares (from hue_histogram); "
            f"got shape {style_histogram.shape}."
        )
    bins = _saturated_hue_bins(image, style_histogram.size)
    if bins.size == 0:
        return 0.0
    return float(np.mean(style_histogram[bins] < rare_below))
