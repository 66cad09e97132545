"""`gan-style evaluate` on two folders, through the real command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_style.cli import cli
from gan_style.metrics import kernel_inception_distance
from gan_style.metrics.features import folder_features
from tests.conftest import photo_like


@pytest.fixture(scope="module")
def weights_file(random_weights, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "random_inception.npz"
    np.savez(path, **random_weights)
    return path


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STYLE_CACHE", str(tmp_path / "cache"))
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    for index in range(6):
        photo_like(48, 48, seed=index).save(first / f"{index}.png")
        tinted = np.asarray(photo_like(48, 48, seed=50 + index)).astype(float) * [1, 0.4, 0.2]
        Image.fromarray(tinted.astype(np.uint8)).save(second / f"{index}.png")
    return first, second


def _kid_from_cache(folder_a, folder_b, weights_file) -> tuple[float, float]:
    """KID with the command's defaults, on the features the command left in the default cache."""
    features = [
        folder_features(folder, weights=weights_file, progress=False)
        for folder in (folder_a, folder_b)
    ]
    assert [item.num_from_cache for item in features] == [len(item.paths) for item in features]
    return kernel_inception_distance(features[0].features, features[1].features, seed=0)


def test_kid_json_and_chart(folders, weights_file, tmp_path):
    first, second = folders
    chart = tmp_path / "chart.png"
    arguments = [
        "evaluate",
        str(first),
        str(second),
        "--kid",
        "--json",
        "--inception-weights",
        str(weights_file),
        "--plot",
        str(chart),
    ]
    result = CliRunner().invoke(cli, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["n_a"], report["n_b"]) == (6, 6)
    assert (report["kid"], report["kid_std"]) == _kid_from_cache(first, second, weights_file)
    assert report.get("fid") is None
    assert Image.open(chart).size[0] > 100

    same = CliRunner().invoke(
        cli,
        [
            "evaluate",
            str(first),
            str(first),
            "--kid",
            "--json",
            "--inception-weights",
            str(weights_file),
        ],
    )
    assert abs(json.loads(same.stdout)["kid"]) < report["kid"]


@pytest.mark.slow  # Inception on 12 images and FID on 2048 features: ~10 s
def test_table_output_with_fid_and_kid(folders, weights_file):
    first, second = folders
    result = CliRunner().invoke(
        cli, ["evaluate", str(first), str(second), "--inception-weights", str(weights_file)]
    )
    assert result.exit_code == 0, result.output
    assert "  images      6 vs 6" in result.output
    assert "  FID   " in result.output and "  KID   " in result.output
    assert "note:" in result.output  # six images are far too few for FID to mean much


def test_errors_are_one_line(folders, tmp_path):
    first, second = folders
    result = CliRunner().invoke(cli, ["evaluate", str(first)])
    assert (
        result.exit_code == 2 and "give two folders to compare (or --style), got 1" in result.output
    )
    missing = tmp_path / "missing.npz"
    result = CliRunner().invoke(
        cli, ["evaluate", str(first), str(second), "--inception-weights", str(missing)]
    )
    assert result.exit_code != 0
    assert result.output.startswith("error: ") and str(missing) in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.fixture
def style_bundle(tmp_path, monkeypatch):
    """A translation style built directly: two prepared datasets and an untrained generator."""
    from gan_style import store
    from gan_style.config import PrepareConfig
    from gan_style.data.prepare import prepare_dataset
    from gan_style.models.generators import build_resnet_generator

    monkeypatch.setenv("GAN_STYLE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GAN_STYLE_CACHE", str(tmp_path / "cache"))
    datasets = {}
    for role, offset in (("style", 0), ("content", 100)):
        raw = tmp_path / f"raw_{role}"
        raw.mkdir()
        for index in range(10):
            photo_like(40, 40, seed=offset + index).save(raw / f"{role}{index}.png")
        datasets[role] = tmp_path / f"data_{role}"
        prepare_dataset(
            PrepareConfig(
                source=str(raw),
                output=str(datasets[role]),
                size=40,
                min_size=32,
                workers=1,
                holdout=0.3,
            )
        )
    bundle = store.bundle_folder("tiny")
    store.save_generator(bundle, build_resnet_generator(32, 4, 1))
    store.write_style(
        bundle,
        {
            "name": "tiny",
            "model": "cyclegan",
            "config": {},
            "data": {role: {"dataset": str(path)} for role, path in datasets.items()},
        },
    )
    return bundle


def test_style_mode_scores_transfers_against_held_out_images(style_bundle, weights_file, tmp_path):
    grid = tmp_path / "grid.png"
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--style",
            "tiny",
            "--json",
            "--kid",
            "--ssim",
            "--recognition",
            "--inception-weights",
            str(weights_file),
            "--grid",
            str(grid),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["grid"] == str(grid)
    with Image.open(grid) as image:  # three rows of photo | transfer
        assert image.format == "PNG" and image.size[1] > image.size[0]
    assert (report["n_style_holdout"], report["n_photo_holdout"], report["n_pairs"]) == (3, 3, 3)
    written = report["folders"]
    for name, folder in (("transferred", "transferred"), ("baseline", "photo_holdout")):
        kid = _kid_from_cache(written["style_holdout"], written[folder], weights_file)
        assert (report[name]["kid"], report[name]["kid_std"]) == kid
    assert report["transferred"]["kid"] != report["baseline"]["kid"]
    assert (report["kid"], report["n_a"], report["n_b"]) == (report["transferred"]["kid"], 3, 3)
    assert "fid" in report and "kid_std" in report
    assert 0 < report["ssim"] < 1  # an untrained generator changes the photos
    recognition = report["recognition"]  # a classifier fit on the 7 + 7 training images
    assert (recognition["n_style_train"], recognition["n_photo_train"]) == (7, 7)
    assert recognition["counts"] == {"transferred": 3, "photos": 3, "style_holdout": 3}
    assert all(0 <= share <= 1 for share in recognition["style_share"].values())
    transferred = sorted(Path(report["folders"]["transferred"]).iterdir())
    assert [path.suffix for path in transferred] == [".png"] * 3

    table = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--style",
            "tiny",
            "--kid",
            "--ssim",
            "--recognition",
            "--inception-weights",
            str(weights_file),
        ],
    )
    assert "transferred" in table.output and "photos as they are" in table.output
    assert "recognised as the style (a classifier fit on 7 style and 7 photo" in table.output
    assert re.search(r"transferred photos +\d+\.\d % +of 3", table.output)
    assert "3 style, 3 photos (held out: never trained on)" in table.output


def test_style_mode_errors(style_bundle, tmp_path):
    result = CliRunner().invoke(cli, ["evaluate", "--style", "absent"])
    assert result.exit_code == 4 and result.output.startswith("error: no style 'absent'")
    result = CliRunner().invoke(cli, ["evaluate", "--style", "tiny", str(tmp_path)])
    assert result.exit_code == 2 and "either --style or two folders" in result.output
    result = CliRunner().invoke(cli, ["evaluate", str(tmp_path), str(tmp_path), "--grid", "g.png"])
    assert result.exit_code == 2 and "--grid needs --style" in result.output
    result = CliRunner().invoke(cli, ["evaluate", str(tmp_path), str(tmp_path), "--recognition"])
    assert result.exit_code == 2 and "--recognition needs --style" in result.output


def test_style_mode_on_a_dcgan_style_scores_generated_images(tmp_path, monkeypatch, weights_file):
    """A dcgan style: generated images and the training images, both against the held-out."""
    from gan_style import evaluate, store
    from gan_style.config import PrepareConfig
    from gan_style.data.prepare import prepare_dataset
    from gan_style.models.generators import build_dcgan_generator

    monkeypatch.setenv("GAN_STYLE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GAN_STYLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(evaluate, "GENERATED_COUNT", 5)
    raw = tmp_path / "raw"
    raw.mkdir()
    for index in range(10):
        photo_like(40, 40, seed=200 + index).save(raw / f"s{index}.png")
    dataset = tmp_path / "data"
    prepare_dataset(
        PrepareConfig(source=str(raw), output=str(dataset), size=40, min_size=32, holdout=0.3)
    )
    bundle = store.bundle_folder("dreams")
    store.save_generator(bundle, build_dcgan_generator(8, 16, 4))
    store.write_style(
        bundle,
        {
            "name": "dreams",
            "model": "dcgan",
            "config": {},
            "data": {"style": {"dataset": str(dataset)}, "content": None},
        },
    )
    arguments = ["evaluate", "--style", "dreams", "--kid", "--inception-weights", str(weights_file)]
    result = CliRunner().invoke(cli, [*arguments, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["model"] == "dcgan"
    assert (report["n_style_holdout"], report["n_a"], report["n_b"]) == (3, 3, 5)
    assert report["reference"]["n_b"] == 7  # the training images
    assert report["kid"] == report["generated"]["kid"] != report["reference"]["kid"]
    written = report["folders"]
    kid = _kid_from_cache(written["style_holdout"], written["generated"], weights_file)
    assert (report["generated"]["kid"], report["generated"]["kid_std"]) == kid
    assert len(list(Path(report["folders"]["generated"]).glob("*.png"))) == 5

    grid = tmp_path / "grid.png"
    table = CliRunner().invoke(cli, [*arguments, "--grid", str(grid)], catch_exceptions=False)
    assert grid.stat().st_size > 0
    assert "generated" in table.output and "training images" in table.output
    assert "3 style (held out: never trained on), 5 generated, 7 training images" in table.output
