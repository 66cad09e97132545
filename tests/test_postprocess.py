"""Post-processing: colour matching, contrast, saturation, sharpening; the CLI and the API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_style import store
from gan_style.cli import cli
from gan_style.errors import ConfigError, StyleError
from gan_style.postprocess import (
    PALETTE_KEY,
    Palette,
    PostProcess,
    adjust_contrast,
    adjust_saturation,
    blend,
    match_colors,
    palette_statistics,
    unsharp_mask,
)
from gan_style.transfer import transfer
from tests.conftest import perturbed_generator, photo_like

WARM = Palette((0.7, 0.45, 0.25), ((0.02, 0.01, 0.0), (0.01, 0.015, 0.0), (0.0, 0.0, 0.01)))


def image(seed: int = 0, size: tuple[int, int] = (48, 40)) -> np.ndarray:
    return np.asarray(photo_like(*size, seed=seed))


def test_palette_statistics_are_the_pixels_mean_and_covariance():
    first, second = image(1), image(2, (20, 30))
    palette = palette_statistics([first, second])
    pixels = np.concatenate([first.reshape(-1, 3), second.reshape(-1, 3)]) / 255.0
    assert palette.mean == pytest.approx(pixels.mean(axis=0), abs=1e-9)
    assert np.array(palette.covariance) == pytest.approx(np.cov(pixels.T, bias=True), abs=1e-9)
    assert palette.pixels == len(pixels)
    assert Palette.from_dict(palette.to_dict(), "x").mean == pytest.approx(palette.mean, abs=1e-6)


def test_match_colors_gives_the_palettes_mean_and_covariance():
    matched = match_colors(image(3), WARM)
    measured = palette_statistics([matched])
    assert measured.mean == pytest.approx(WARM.mean, abs=0.01)
    assert np.array(measured.covariance) == pytest.approx(np.array(WARM.covariance), abs=0.002)
    # Matching an image to its own palette changes it by rounding only.
    own = image(4)
    assert np.abs(match_colors(own, palette_statistics([own])).astype(int) - own).max() <= 1


def test_contrast_and_saturation():
    pixels = image(5)
    assert adjust_contrast(pixels, 1.0) is pixels and adjust_saturation(pixels, 1.0) is pixels
    flat = adjust_contrast(pixels, 0.0)
    assert np.ptp(flat) <= 1  # every pixel at the mean luma
    assert adjust_contrast(pixels, 1.5).std() > pixels.std() * 1.3
    grey = adjust_saturation(pixels, 0.0).astype(int)
    assert np.abs(grey[..., 0] - grey[..., 2]).max() <= 1
    vivid = adjust_saturation(pixels, 2.0).astype(float)
    spread = np.ptp(vivid, axis=-1).mean()
    assert spread > np.ptp(pixels.astype(float), axis=-1).mean() * 1.5


def test_unsharp_mask_steepens_an_edge_and_zero_leaves_the_image():
    step = np.zeros((20, 20, 3), np.uint8)
    step[:, 10:] = 200
    soft = np.asarray(Image.fromarray(step).resize((20, 20), Image.Resampling.BOX))
    blurred = np.asarray(
        Image.fromarray(step).reduce(2).resize((20, 20), Image.Resampling.BILINEAR)
    )
    assert unsharp_mask(soft, 0.0) is soft
    sharpened = unsharp_mask(blurred, 1.5).astype(int)
    assert (
        np.abs(np.diff(sharpened[10, :, 0])).max()
        > np.abs(np.diff(blurred[10, :, 0].astype(int))).max()
    )


def test_blend_zero_is_the_source_and_one_the_output():
    source, output = image(6), image(7)
    assert np.array_equal(blend(source, output, 0.0), source)
    assert np.array_equal(blend(source, output, 1.0), output)
    half = blend(source, output, 0.5).astype(int)
    assert np.abs(half - (source.astype(int) + output) / 2).max() <= 1


def test_post_process_order_and_options():
    source, styled = image(8), image(9)
    post = PostProcess(match_colors="input", saturation=0.0)
    assert post.active and not PostProcess().active
    result = post.apply(styled, source).astype(int)
    assert np.abs(result[..., 0] - result[..., 1]).max() <= 1  # saturation after matching
    with pytest.raises(ValueError):
        PostProcess(match_colors="style").apply(styled, source)


# --- Through transfer -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A store with ``plain`` (no palette, as older bundles) and ``warm`` (a warm palette)."""
    root = tmp_path_factory.mktemp("home")
    for name, extra in (("plain", {}), ("warm", {PALETTE_KEY: WARM.to_dict()})):
        bundle = root / "styles" / name
        store.save_generator(bundle, perturbed_generator(num_filters=4, num_blocks=1, seed=5))
        description = {"name": name, "model": "cyclegan", "config": {"num_filters": 4}}
        store.write_style(bundle, {**description, **extra})
    return root


@pytest.fixture(autouse=True)
def style_home(home, monkeypatch) -> Path:
    monkeypatch.setenv("GAN_STYLE_HOME", str(home))
    return home


def test_the_api_takes_the_options_and_strength_blends_last():
    photo = photo_like(40, 32, seed=10)
    grey = np.asarray(transfer(photo, style="plain", saturation=0.0)).astype(int)
    assert np.abs(grey[..., 0] - grey[..., 2]).max() <= 1
    warm = np.asarray(transfer(photo, style="warm", match_colors="style")) / 255.0
    assert warm.reshape(-1, 3).mean(axis=0) == pytest.approx(WARM.mean, abs=0.02)
    nothing = transfer(photo, style="warm", match_colors="style", strength=0.0)
    assert np.array_equal(np.asarray(nothing), np.asarray(photo))
    with pytest.raises(ConfigError):
        transfer(photo, style="plain", contrast=4.0)


def test_match_colors_style_without_a_palette_is_one_line(tmp_path):
    photo_like(40, 32, seed=11).save(tmp_path / "p.png")
    arguments = ["transfer", str(tmp_path / "p.png"), "--out", str(tmp_path / "o.png")]
    result = CliRunner().invoke(cli, [*arguments, "--style", "plain", "--match-colors", "style"])
    assert result.exit_code == StyleError.exit_code
    assert result.output.count("\n") == 1 and "records no palette" in result.output
    assert "--match-colors input" in result.output
    assert not (tmp_path / "o.png").exists()
    result = CliRunner().invoke(
        cli, [*arguments, "--style", "warm", "--match-colors", "style", "--sharpen", "1"]
    )
    assert result.exit_code == 0, result.output
    written = np.asarray(Image.open(tmp_path / "o.png")) / 255.0
    assert written.reshape(-1, 3).mean(axis=0) == pytest.approx(WARM.mean, abs=0.03)


def test_the_shipped_monet_records_the_palette_of_its_paintings():
    bundle = Path(store.__file__).resolve().parent / "styles" / "monet"
    palette = Palette.from_dict(store.read_style(bundle)[PALETTE_KEY], "monet")
    assert palette.pixels > 200 * 256 * 256
    assert 0.3 < palette.mean[2] < palette.mean[0] < 0.7  # a warm, mid-tone palette
