"""`train --model dcgan` and `generate` end to end on tiny synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_style import store
from gan_style.cli import cli
from gan_style.config import TrainConfig
from gan_style.errors import StyleError
from gan_style.train import train
from tests.conftest import TINY_CLI, photo_like, quiet, styled

SIZE = 32
TINY_DCGAN = dict(
    model="dcgan",
    image_size=SIZE,
    num_filters=8,
    disc_filters=8,
    batch_size=4,
    latent_dim=16,
    checkpoint_every=2,
    sample_every=100,
)
TINY_DCGAN_CLI = (
    "--model", "dcgan", "--image-size", "32", "--ngf", "8", "--ndf", "8",
    "--batch-size", "4", "--latent-dim", "16",
)  # fmt: skip


@pytest.fixture(scope="module")
def style_folder(tmp_path_factory) -> Path:
    """24 images of the synthetic style: a strong warm cast and horizontal stripes."""
    folder = tmp_path_factory.mktemp("dcgan") / "style"
    folder.mkdir()
    for index in range(24):
        styled(photo_like(40, 40, seed=900 + index)).save(folder / f"s{index:02d}.png")
    return folder


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GAN_STYLE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def dcgan_style(style_folder, home) -> Path:
    config = TrainConfig(style=str(style_folder), name="dots", steps=3, **TINY_DCGAN)
    return train(config, echo=quiet, progress=False).bundle


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_train_dcgan_writes_a_dcgan_bundle(style_folder, home):
    result = invoke("train", str(style_folder), "--name", "dots", *TINY_DCGAN_CLI, "--steps", "3")
    assert result.exit_code == 0, result.output
    bundle = home / "styles" / "dots"
    description = store.read_style(bundle)
    assert description["model"] == "dcgan"
    assert description["generator"]["direction"] == "noise → style"
    assert description["generator"]["latent_dim"] == 16
    assert description["config"]["loss"] == "bce"  # the dcgan default
    assert description["data"]["content"] is None
    assert (bundle / "samples.png").stat().st_size > 0
    generator = store.load_generator(bundle)
    assert generator.input_shape == (None, 16) and generator.output_shape == (None, SIZE, SIZE, 3)
    listing = invoke("styles")
    assert "dots" in listing.output and "dcgan" in listing.output


def test_generate_is_deterministic_per_seed(dcgan_style, tmp_path):
    def run(out: str, *options: str) -> list[np.ndarray]:
        result = invoke("generate", "--style", "dots", "--out", str(tmp_path / out), *options)
        assert result.exit_code == 0, result.output
        return [np.asarray(Image.open(path)) for path in sorted((tmp_path / out).glob("*.png"))]

    first = run("a", "-n", "5", "--seed", "7")
    again = run("b", "-n", "5", "--seed", "7")
    fewer = run("c", "-n", "2", "--seed", "7")
    other = run("d", "-n", "5", "--seed", "8")
    assert len(first) == 5 and first[0].shape == (SIZE, SIZE, 3)
    for left, right in zip(first, again, strict=True):
        np.testing.assert_array_equal(left, right)
    for left, right in zip(first[:2], fewer, strict=True):  # image i depends on seed and i only
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(np.stack(first), np.stack(other))
    assert sorted(path.name for path in (tmp_path / "a").iterdir())[0] == "dots-s7-000.png"


def test_generate_grid_truncation_and_json(dcgan_style, tmp_path):
    grid = tmp_path / "grid.png"
    result = invoke(
        "generate", "--style", "dots", "-n", "6", "--grid", str(grid), "--truncation", "0.5",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["count"] == 6 and summary["truncation"] == 0.5 and summary["images"] == []
    assert summary["grid"] == str(grid)
    with Image.open(grid) as image:
        assert image.format == "PNG" and min(image.size) > 100


def test_generate_and_transfer_say_which_command_fits(dcgan_style, style_folder, home, tmp_path):
    result = invoke("transfer", str(style_folder / "s00.png"), "--style", "dots", "--out", "x")
    assert result.exit_code == 4
    assert "gan-style generate --style dots" in result.output

    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(6):
        photo_like(40, 40, seed=index).save(photos / f"p{index}.png")
    trained = invoke(
        "train", str(style_folder), "--content", str(photos), "--name", "painted", *TINY_CLI,
        "--steps", "1",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    result = invoke("generate", "--style", "painted")
    assert result.exit_code == 4
    assert "gan-style transfer" in result.output and "--model dcgan" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_dcgan_takes_no_photos(style_folder, home):
    result = invoke(
        "train", str(style_folder), "--content", str(style_folder), "--name", "x", "--model",
        "dcgan",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "leave --content out" in result.output
    assert not (home / "styles" / "x").exists()
    bad_size = invoke("train", str(style_folder), "--name", "x", "--model", "dcgan",
                      "--image-size", "48")  # fmt: skip
    assert bad_size.exit_code == 2 and "power of two" in bad_size.output


def test_dcgan_stop_and_resume_continues_exactly(style_folder, home):
    def config(name: str) -> TrainConfig:
        return TrainConfig(style=str(style_folder), name=name, steps=4, **TINY_DCGAN)

    straight = train(config("straight"), echo=quiet, progress=False)
    first = train(config("resumed"), echo=quiet, progress=False, stop_after=2)
    assert (first.status, first.step) == ("interrupted", 2)
    second = train(config("resumed"), echo=quiet, progress=False)
    assert (second.status, second.resumed_from, second.step) == ("finished", 2, 4)
    expected = store.load_generator(straight.bundle).get_weights()
    actual = store.load_generator(second.bundle).get_weights()
    for left, right in zip(expected, actual, strict=True):
        np.testing.assert_allclose(left, right, rtol=1e-5, atol=1e-6)


def test_it_learns_the_colour_of_the_style(style_folder, home):
    """A short run moves generated images toward the style's colour statistics."""
    from gan_style.generate import generate_images

    style_mean = np.mean(
        [np.asarray(Image.open(path), np.float32).mean((0, 1)) for path in style_folder.iterdir()],
        axis=0,
    )

    def distance(bundle) -> float:
        images = generate_images(bundle, 32, seed=1).images.astype(np.float32)
        return float(np.abs(images.mean((0, 1, 2)) - style_mean).sum())

    untrained = train(
        TrainConfig(
            style=str(style_folder), name="untrained", steps=1, learning_rate=1e-12, **TINY_DCGAN
        ),
        echo=quiet,
        progress=False,
    )
    trained = train(
        TrainConfig(
            style=str(style_folder),
            name="learner",
            steps=120,
            **{**TINY_DCGAN, "checkpoint_every": 1000},
        ),
        echo=quiet,
        progress=False,
    )
    before, after = distance(untrained.bundle), distance(trained.bundle)
    assert after < 0.5 * before, (after, before)


def test_generate_rejects_a_bad_count_and_unknown_style(home):
    from gan_style.errors import ConfigError
    from gan_style.generate import generate_images

    with pytest.raises(StyleError, match="no style 'absent'"):
        generate_images("absent", 1)
    with pytest.raises(ConfigError, match="count"):
        generate_images("absent", 0)
