"""Transfer at the scale a style trained at (``stroke_size``), then back to full size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_style import store
from gan_style.cli import cli
from gan_style.errors import ConfigError, StyleError
from gan_style.stylizer import Stylizer, finish, upsample_styled
from gan_style.transfer import TransferConfig, transfer
from tests.conftest import perturbed_generator, photo_like, save_jpeg
from tests.conftest import run_cli as run

PLAIN, SIZED = "plain", "sized"
"""A style without ``stroke_size`` (as older bundles and ``monet``) and one with 32."""


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("home")
    generator = perturbed_generator(num_filters=4, num_blocks=1, seed=3)
    for name, extra in ((PLAIN, {}), (SIZED, {"stroke_size": 32})):
        bundle = root / "styles" / name
        store.save_generator(bundle, generator)
        store.write_style(
            bundle,
            {"name": name, "model": "cyclegan", "config": {"num_filters": 4}, **extra},
        )
    return root


@pytest.fixture(autouse=True)
def style_home(home, monkeypatch) -> Path:
    monkeypatch.setenv("GAN_STYLE_HOME", str(home))
    return home


def load(name: str) -> Stylizer:
    return Stylizer.load(name, precision="float32")


def spied(stylizer: Stylizer) -> list[tuple[int, int]]:
    """Records the (width, height) of every image the stylizer's generator runs on."""
    sizes: list[tuple[int, int]] = []
    stylize = stylizer.stylize

    def spy(pixels, **options):
        sizes.append((pixels.shape[1], pixels.shape[0]))
        return stylize(pixels, **options)

    stylizer.stylize = spy
    return sizes


def old_path(stylizer: Stylizer, image: Image.Image) -> np.ndarray:
    """What transfer did before stroke sizes: the generator at full resolution, then finish."""
    pixels = np.asarray(image)
    return finish(pixels, stylizer.generator.run(pixels), 1.0, False)


def test_full_and_auto_without_the_key_are_the_old_path_bit_for_bit():
    image = photo_like(120, 88, seed=1)
    plain, sized = load(PLAIN), load(SIZED)
    expected = old_path(plain, image)

    assert np.array_equal(np.asarray(transfer(image, style=plain, stroke_size="full")), expected)
    assert np.array_equal(np.asarray(transfer(image, style=plain)), expected)  # auto
    assert np.array_equal(np.asarray(transfer(image, style=sized, stroke_size="full")), expected)
    assert plain.stroke_size is None and sized.stroke_size == 32


def test_a_stroke_size_styles_at_it_and_comes_back_at_full_size():
    image = photo_like(160, 120, seed=2)
    stylizer = load(PLAIN)
    sizes = spied(stylizer)

    result = transfer(image, style=stylizer, stroke_size=40)

    assert result.size == (160, 120)
    assert sizes == [(52, 40)]  # 160 × 40/120 = 53.3, rounded to whole 4-pixel cells
    full = old_path(load(PLAIN), image).astype(np.int16)
    assert np.abs(np.asarray(result, np.int16) - full).mean() > 3


def test_auto_takes_the_bundles_stroke_size():
    stylizer = load(SIZED)
    sizes = spied(stylizer)

    result = transfer(photo_like(90, 150, seed=3), style=stylizer)

    assert result.size == (90, 150) and sizes == [(32, 52)]
    assert stylizer.working_size(90, 150, "full") == (90, 150)
    assert stylizer.working_size(90, 150, 64) == (64, 108)


def test_a_photo_no_larger_than_the_stroke_size_is_styled_at_its_own_size():
    image = photo_like(60, 40, seed=4)  # shorter side 40 ≤ 48
    stylizer = load(PLAIN)
    sizes = spied(stylizer)

    result = transfer(image, style=stylizer, stroke_size=48)

    assert sizes == [(60, 40)]
    assert np.array_equal(np.asarray(result), old_path(load(PLAIN), image))


def test_the_detail_layer_keeps_the_photos_edge_sharper_than_bicubic():
    # A hard vertical edge; an identity "style" isolates what the up-sampler does to edges.
    photo = np.full((96, 128, 3), 40, np.uint8)
    photo[:, 61:] = 220
    small = np.asarray(Image.fromarray(photo).resize((32, 24), Image.Resampling.LANCZOS))
    styled = small.astype(np.float32) / 127.5 - 1.0

    def sharpest_step(detail: float) -> float:
        output = finish(photo, upsample_styled(styled, photo, small, detail), 1.0, False)
        return float(np.abs(np.diff(output[48, :, 0].astype(np.float32))).max())

    step = 180.0
    assert sharpest_step(1.0) >= 0.9 * step
    assert sharpest_step(0.0) <= 0.5 * step  # bicubic alone spreads the edge over pixels
    assert sharpest_step(0.5) > sharpest_step(0.0)


def test_the_detail_layer_leaves_the_styled_image_at_the_working_scale():
    photo = np.asarray(photo_like(128, 96, seed=5))
    small = np.asarray(Image.fromarray(photo).resize((32, 24), Image.Resampling.LANCZOS))
    rng = np.random.default_rng(0)
    styled = rng.uniform(-0.8, 0.8, size=(24, 32, 3)).astype(np.float32)

    without = upsample_styled(styled, photo, small, 0.0)
    with_detail = upsample_styled(styled, photo, small, 1.0)

    def box_down(image):
        return image.reshape(24, 4, 32, 4, 3).mean(axis=(1, 3))

    added = np.abs(with_detail - without).mean()
    assert added > 0.005  # the photo's detail was added...
    assert np.abs(box_down(with_detail) - box_down(without)).mean() < 0.25 * added  # ...fine


def test_a_bad_bundle_stroke_size_is_a_one_line_style_error(tmp_path, home):
    for value in (8, "256", 64.5, True):
        bundle = tmp_path / f"bad{value}"
        bundle.mkdir()
        (bundle / store.GENERATOR_FILE).write_bytes(
            (home / "styles" / PLAIN / store.GENERATOR_FILE).read_bytes()
        )
        store.write_style(bundle, {"name": "bad", "model": "cyclegan", "stroke_size": value})

        with pytest.raises(
            StyleError, match=r"style\.json: stroke_size must be an integer"
        ) as error:
            Stylizer.load(bundle)
        assert "\n" not in str(error.value) and str(bundle) in str(error.value)


def test_stroke_size_validation():
    for value in ("auto", "full", 32, 4000):
        assert (
            TransferConfig(inputs=("a.jpg",), style=PLAIN, stroke_size=value).stroke_size == value
        )
    for value in (8, 31, "big", True, 64.0):
        with pytest.raises(ConfigError, match="stroke_size must be"):
            TransferConfig(inputs=("a.jpg",), style=PLAIN, stroke_size=value)
    with pytest.raises(ConfigError, match="stroke_size"):
        transfer(photo_like(8, 8, seed=0), style=PLAIN, stroke_size=16)
    config = TransferConfig(inputs=("a.jpg",), style=PLAIN, stroke_size=256, detail=0.5)
    assert TransferConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "option, style, expected",
    [
        ("auto", SIZED, [32, 52]),
        (None, SIZED, [32, 52]),  # auto is the default
        ("full", SIZED, [64, 104]),
        ("48", PLAIN, [48, 80]),  # 104 × 48/64 = 78, to whole 4-pixel cells
        ("auto", PLAIN, [64, 104]),
    ],
)
def test_the_cli_parses_the_stroke_size_and_reports_the_working_size(
    tmp_path, option, style, expected
):
    source = save_jpeg(tmp_path / "photo.jpg", photo_like(64, 104, seed=6))
    args = ["transfer", str(source), "--style", style, "--out", str(tmp_path / "o"), "--overwrite"]
    args += [] if option is None else ["--stroke-size", option]

    result = run(*args, "--json")

    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)["styled_at"]
    assert entry["size"] == [64, 104] and entry["working_size"] == expected
    assert entry["full_resolution"] == (expected == [64, 104])
    label = "full resolution" if expected == [64, 104] else f"shorter side {expected[0]} px"
    assert "styled at      1   " + label in run(*args).output


def test_the_cli_rejects_a_tiny_stroke_size_in_one_line(tmp_path):
    source = save_jpeg(tmp_path / "photo.jpg", photo_like(40, 30, seed=7))

    result = CliRunner().invoke(
        cli, ["transfer", str(source), "--style", PLAIN, "--stroke-size", "8"]
    )

    assert result.exit_code == ConfigError.exit_code
    assert result.output.strip().splitlines() == [
        "error: stroke_size must be 'auto', 'full' or a shorter side of at least 32 pixels; got 8"
    ]
