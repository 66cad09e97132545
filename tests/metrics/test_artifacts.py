"""Grid peak and colour cast on images whose answer is known by construction."""

import numpy as np
import pytest
from scipy import ndimage

from gan_style.metrics.artifacts import (
    MIN_CHROMA,
    NUM_HUE_BINS,
    colour_cast,
    grid_peak,
    hue_histogram,
    luminance,
)


def smooth_image(seed: int = 0, shape=(96, 128)) -> np.ndarray:
    """Blurred noise stretched to [0, 1], grey: a broad spectrum with no periodic line."""
    field = ndimage.gaussian_filter(np.random.default_rng(seed).random(shape), 3)
    field = (field - field.min()) / (field.max() - field.min())
    return np.repeat(field[..., None], 3, axis=2)


def stripes(period: int, shape=(96, 128), axis: int = 1) -> np.ndarray:
    """Grey stripes across ``axis`` with the given period, as uint8."""
    position = np.indices(shape)[axis]
    values = np.where(position % period < period // 2, 180, 80).astype(np.uint8)
    return np.repeat(values[..., None], 3, axis=2)


def solid(rgb, shape=(32, 32)) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, np.uint8), (*shape, 3)).copy()


def test_luminance_uses_rec601_weights():
    assert luminance(solid((255, 0, 0)))[0, 0] == pytest.approx(0.299)
    assert luminance(solid((0, 255, 0)))[0, 0] == pytest.approx(0.587)
    assert luminance(np.ones((2, 2, 3)))[0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("axis", [0, 1])
def test_period_4_stripes_have_a_huge_grid_peak_on_either_axis(axis):
    assert grid_peak(stripes(4, axis=axis)) > 1e6


def test_a_smooth_image_has_a_grid_peak_near_one():
    peaks = [grid_peak(smooth_image(seed)) for seed in range(5)]
    assert 0.1 < np.median(peaks) < 5


def test_stripes_of_another_period_do_not_count():
    assert grid_peak(stripes(8)) < 1e-3 * grid_peak(stripes(4))


def test_a_faint_period_4_grid_on_a_smooth_image_stands_out():
    image = smooth_image() * 200 + 20
    faint = image + 2.0 * (np.indices(image.shape[:2])[1] % 4 < 2)[..., None]
    assert grid_peak(faint.astype(np.uint8)) > 100 * grid_peak(image.astype(np.uint8))


def test_grid_peak_crops_to_a_multiple_of_four_and_takes_uint8_or_float():
    image = stripes(4, shape=(99, 130))
    assert grid_peak(image) > 1e6
    assert grid_peak(image) == pytest.approx(grid_peak(image / 255.0))


def test_grid_peak_of_a_flat_image_is_zero():
    assert grid_peak(solid((90, 90, 90))) == 0.0


def test_grid_peak_rejects_tiny_or_non_rgb_images():
    with pytest.raises(ValueError, match="8×8"):
        grid_peak(solid((1, 2, 3), shape=(6, 40)))
    with pytest.raises(ValueError, match="RGB"):
        grid_peak(np.zeros((16, 16)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        grid_peak(np.full((16, 16, 3), 2.0))


def test_hue_histogram_bins_pure_hues_and_ignores_grey_pixels():
    red, green, blue = solid((255, 0, 0)), solid((0, 255, 0)), solid((0, 0, 255))
    grey = solid((120, 125, 122))  # chroma 5/255 < MIN_CHROMA: no hue
    assert MIN_CHROMA > 5 / 255
    histogram = hue_histogram([red, green, blue, grey])
    bin_width = 360 / NUM_HUE_BINS
    expected = np.zeros(NUM_HUE_BINS)
    for hue in (0, 120, 240):
        expected[int(hue / bin_width)] = 1 / 3
    np.testing.assert_allclose(histogram, expected)


def test_hue_histogram_pools_pixels_not_images():
    small_red, big_blue = solid((200, 20, 20), (2, 2)), solid((20, 20, 200), (4, 4))
    histogram = hue_histogram([small_red, big_blue], num_bins=6)
    np.testing.assert_allclose(histogram, [4 / 20, 0, 0, 0, 16 / 20, 0])


def test_hue_histogram_of_grey_images_is_an_error():
    with pytest.raises(ValueError, match="near grey"):
        hue_histogram([solid((100, 100, 100))])


def test_a_hue_the_style_lacks_is_a_full_cast_and_its_own_hues_none():
    rng = np.random.default_rng(0)
    # A "style" of warm hues only: reds to yellows with random saturation and value.
    warm = np.stack(
        [rng.uniform(200, 255, (64, 64)), rng.uniform(0, 200, (64, 64)), np.full((64, 64), 10)],
        axis=2,
    ).astype(np.uint8)
    histogram = hue_histogram([warm])
    magenta = solid((220, 30, 200))
    assert colour_cast(magenta, histogram) == 1.0
    assert colour_cast(warm, histogram) == 0.0


def test_colour_cast_counts_only_saturated_pixels():
    histogram = hue_histogram([solid((255, 0, 0))])
    half = solid((255, 0, 0), (4, 4))
    half[:2] = (0, 0, 255)  # 8 blue pixels: a hue the style never has
    half[:, :1] = (128, 128, 128)  # grey column: ignored
    # 12 saturated pixels left, of which 6 are blue.
    assert colour_cast(half, histogram) == pytest.approx(6 / 12)
    assert colour_cast(solid((128, 128, 128)), histogram) == 0.0


def test_colour_cast_threshold_is_a_share_of_the_style():
    histogram = np.zeros(NUM_HUE_BINS)
    histogram[0], histogram[12] = 0.996, 0.004  # green in 0.4 % of the style's pixels
    green = solid((0, 255, 0))
    assert colour_cast(green, histogram) == 1.0
    assert colour_cast(green, histogram, rare_below=0.001) == 0.0


def test_colour_cast_rejects_a_malformed_histogram():
    with pytest.raises(ValueError, match="hue_histogram"):
        colour_cast(solid((255, 0, 0)), np.ones((2, 3)))
