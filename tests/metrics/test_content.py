"""Tests of SSIM and PSNR against a direct windowed reference and closed forms."""

import numpy as np
import pytest

from gan_style.metrics import content


def _gaussian_window_2d():
    offsets = np.arange(11) - 5.0
    grid = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * 1.5**2))
    return grid / grid.sum()


def _reference_ssim_channel(a, b):
    """Wang et al. 2004 eq. 13 window by window (no separable filtering), valid positions."""
    window = _gaussian_window_2d()
    c1, c2 = 0.01**2, 0.03**2
    values = []
    for top in range(a.shape[0] - 10):
        for left in range(a.shape[1] - 10):
            patch_a, patch_b = (
                a[top : top + 11, left : left + 11],
                b[top : top + 11, left : left + 11],
            )
            mean_a, mean_b = np.sum(window * patch_a), np.sum(window * patch_b)
            variance_a = np.sum(window * (patch_a - mean_a) ** 2)
            variance_b = np.sum(window * (patch_b - mean_b) ** 2)
            covariance = np.sum(window * (patch_a - mean_a) * (patch_b - mean_b))
            values.append(
                (2 * mean_a * mean_b + c1)
                * (2 * covariance + c2)
                / ((mean_a**2 + mean_b**2 + c1) * (variance_a + variance_b + c2))
            )
    return np.mean(values)


@pytest.fixture
def image_pair():
    rng = np.random.default_rng(0)
    clean = np.clip(np.cumsum(rng.uniform(-0.1, 0.1, (17, 20, 3)), axis=1) * 0.3 + 0.5, 0, 1)
    noisy = np.clip(clean + rng.normal(0, 0.08, clean.shape), 0, 1)
    return clean, noisy


def test_ssim_matches_windowed_reference(image_pair):
    clean, noisy = image_pair
    expected = np.mean([_reference_ssim_channel(clean[..., c], noisy[..., c]) for c in range(3)])
    assert content.structural_similarity(clean, noisy) == pytest.approx(expected, rel=1e-10)


def test_ssim_of_grayscale_equals_one_channel(image_pair):
    clean, noisy = image_pair
    expected = _reference_ssim_channel(clean[..., 1], noisy[..., 1])
    value = content.structural_similarity(clean[..., 1], noisy[..., 1])
    assert value == pytest.approx(expected, rel=1e-10)


def test_ssim_closed_forms():
    image = np.random.default_rng(1).uniform(0, 1, (16, 16, 3))
    assert content.structural_similarity(image, image) == pytest.approx(1.0, abs=1e-12)
    # Constant images: no variance, so SSIM = (2ab + C1) / (a² + b² + C1).
    a, b = 0.2, 0.6
    expected = (2 * a * b + 1e-4) / (a**2 + b**2 + 1e-4)
    value = content.structural_similarity(np.full((12, 14), a), np.full((12, 14), b))
    assert value == pytest.approx(expected, rel=1e-9)


def test_psnr_reference_and_closed_forms(image_pair):
    clean, noisy = image_pair
    expected = 10 * np.log10(1 / np.mean((clean - noisy) ** 2))
    assert content.peak_signal_to_noise_ratio(clean, noisy) == pytest.approx(expected, rel=1e-12)
    image = np.random.default_rng(2).uniform(0, 0.9, (5, 7, 3))
    assert content.peak_signal_to_noise_ratio(image, image + 0.1) == pytest.approx(20.0, rel=1e-9)
    assert content.peak_signal_to_noise_ratio(image, image) == float("inf")


@pytest.mark.parametrize(
    ("image_a", "image_b", "message"),
    [
        (np.zeros((12, 12, 3)), np.zeros((12, 13, 3)), "differ in shape"),
        (np.zeros((12, 12, 3)) + 2, np.zeros((12, 12, 3)), r"expected \[0, 1\]"),
        (np.zeros((10, 12)), np.zeros((10, 12)), "at least 11×11"),
        (np.zeros(12), np.zeros(12), "Expected images of shape"),
    ],
)
def test_bad_images_are_value_errors(image_a, image_b, message):
    with pytest.raises(ValueError, match=message):
        content.structural_similarity(image_a, image_b)
