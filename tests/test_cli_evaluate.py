"""`gan-style evaluate` on two folders, through the real command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_style.cli import cli
from tests.conftest import photo_like
from tests.test_evaluate import random_weights  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def weights_file(random_weights, tmp_path_factory):  # noqa: F811
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
    assert report["kid"] > 0 and report["kid_std"] >= 0 and report.get("fid") is None
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


@pytest.mark.slow  # FID's sqrtm of a 2048×2048 matrix takes 15-60 s on two cores
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
    assert result.exit_code == 2 and "give two folders to compare, got 1" in result.output
    missing = tmp_path / "missing.npz"
    result = CliRunner().invoke(
        cli, ["evaluate", str(first), str(second), "--inception-weights", str(missing)]
    )
    assert result.exit_code != 0
    assert result.output.startswith("error: ") and str(missing) in result.output
    assert len(result.output.strip().splitlines()) == 1
