"""`--model reference` end to end: the bundle, `transfer --reference`, the mean code, tiling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_style import store
from gan_style.cli import cli
from gan_style.config import TrainConfig
from gan_style.reference import style_code
from gan_style.stylizer import Stylizer
from gan_style.train import train
from tests.conftest import perturbed_generator, photo_like, psnr, quiet, styled

SIZE = 32


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A tiny reference style trained for a few steps: (home, bundle, data root)."""
    root = tmp_path_factory.mktemp("reference")
    for index in range(12):
        (root / "photos").mkdir(exist_ok=True)
        (root / "style").mkdir(exist_ok=True)
        photo_like(40, 40, seed=100 + index).save(root / "photos" / f"p{index:02d}.png")
        styled(photo_like(40, 40, seed=200 + index)).save(root / "style" / f"s{index:02d}.png")
    home = root / "home"
    patch = pytest.MonkeyPatch()
    patch.setenv("GAN_STYLE_HOME", str(home))
    config = TrainConfig(
        style=str(root / "style"),
        content=str(root / "photos"),
        name="moods",
        model="reference",
        discriminator="patch",
        image_size=SIZE,
        steps=3,
        num_filters=4,
        num_blocks=2,
        disc_filters=4,
        disc_layers=2,
        checkpoint_every=2,
        sample_every=100,
    )
    result = train(config, progress=False, echo=quiet)
    yield home, result.bundle, root
    patch.undo()


@pytest.fixture
def home(trained, monkeypatch) -> Path:
    monkeypatch.setenv("GAN_STYLE_HOME", str(trained[0]))
    return trained[0]


def plain_style(name: str) -> None:
    """A small unconditional (``cut``) style ``name`` in the current store: no style encoder."""
    bundle = store.bundle_folder(name)
    store.save_generator(bundle, perturbed_generator(4, 1))
    store.write_style(bundle, {"name": name, "model": "cut", "complete": True})


def test_the_bundle_carries_the_encoder_and_the_collections_codes(trained, home):
    _, bundle, _ = trained
    description = store.read_style(bundle)
    assert description["model"] == "reference" and description["complete"] is True
    codes = store.read_style_codes(bundle)
    train_images = description["data"]["style"]["train_images"]
    assert len(codes["codes"]) == len(codes["images"]) == train_images
    assert codes["code_dim"] == description["generator"]["code_dim"] == 8
    encoder = store.load_style_encoder(bundle)  # safe_mode=True
    assert encoder.output_shape == (None, 8)
    # Distinct images of the collection have distinct codes.
    rows = np.asarray(codes["codes"])
    assert (
        np.min(np.linalg.norm(rows[:, None] - rows[None], axis=-1)[np.triu_indices(len(rows), 1)])
        > 0
    )


def test_different_references_give_different_codes_and_visibly_different_outputs(trained, home):
    _, bundle, root = trained
    warm = root / "warm.png"
    cold = root / "cold.png"
    Image.fromarray(np.full((48, 48, 3), (230, 120, 30), np.uint8)).save(warm)
    Image.fromarray(np.full((48, 48, 3), (20, 60, 200), np.uint8)).save(cold)
    first = Stylizer.load(bundle, "float32", references=(warm,))
    second = Stylizer.load(bundle, "float32", references=(cold,))
    assert np.linalg.norm(first.style_code - second.style_code) > 0.05
    photo = photo_like(64, 48, seed=7)
    one = np.asarray(first.apply(photo), np.float32)
    two = np.asarray(second.apply(photo), np.float32)
    # A generator that ignored its code (or a code that did not reach it) gives equal images.
    assert np.mean(np.abs(one - two)) > 2.0


def test_the_mean_code_default_is_every_collection_image_as_a_reference(trained, home):
    _, bundle, _ = trained
    collection = bundle / store.RUN_FOLDER / "style_train"
    names = store.read_style_codes(bundle)["images"]
    assert sorted(path.name for path in collection.iterdir() if path.suffix == ".jpg") == names
    default = Stylizer.load(bundle, "float32")
    every = Stylizer.load(bundle, "float32", references=(collection,))
    np.testing.assert_allclose(default.style_code, every.style_code, atol=1e-5)
    np.testing.assert_allclose(
        style_code(bundle, [collection / name for name in names]), default.style_code, atol=1e-5
    )
    photo = photo_like(40, 40, seed=3)
    assert psnr(np.asarray(default.apply(photo)), np.asarray(every.apply(photo))) > 50


def test_tiled_equals_untiled_with_a_reference(trained, home):
    from gan_style.models.conditional import AppendStyleCode

    _, bundle, root = trained
    stylizer = Stylizer.load(bundle, "float32", references=(root / "style" / "s03.png",))
    pixels = np.asarray(photo_like(96, 72, seed=11))
    tiled = stylizer.stylize(pixels, tile=32)
    generator = store.load_generator(bundle)
    values = pixels[None].astype(np.float32) / 127.5 - 1
    whole = np.asarray(generator(AppendStyleCode()([values, stylizer.style_code[None]])))[0]
    assert psnr((tiled + 1) * 127.5, (whole + 1) * 127.5) > 40


def test_cli_transfer_with_references_and_its_errors(trained, home, tmp_path):
    root = trained[2]
    photo = root / "photos" / "p01.png"
    out = tmp_path / "out.png"
    # A fresh process: loading the bundle must register the conditioned layers itself.
    ran = subprocess.run(
        [
            *(sys.executable, "-m", "gan_style", "transfer", str(photo), "--style", "moods"),
            *("--out", str(out), "--reference", str(root / "style" / "s01.png")),
            *("--reference", str(root / "style")),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "GAN_STYLE_HOME": str(home)},
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert Image.open(out).size == (40, 40)

    runner = CliRunner()
    missing = runner.invoke(
        cli, ["transfer", str(photo), "--style", "moods", "--reference", str(tmp_path / "no.jpg")]
    )
    assert missing.exit_code == 3
    assert missing.output.strip().count("\n") == 0 and "no.jpg" in missing.output

    plain_style("plain")
    refused = runner.invoke(
        cli, ["transfer", str(photo), "--style", "plain", "--reference", str(photo)]
    )
    assert refused.exit_code == 4
    line = refused.output.strip()
    assert "\n" not in line and "--model reference" in line and "--reference" in line


def test_reference_obedience_reports_retrieval_against_chance(
    trained, home, tmp_path, random_weights
):
    from gan_style.cli.tables import style_evaluation_table
    from gan_style.evaluate import reference_obedience

    _, bundle, root = trained
    weights = tmp_path / "inception.npz"
    np.savez(weights, **random_weights)
    report = reference_obedience(
        bundle,
        root / "photos",
        root / "style",
        tmp_path / "work",
        references=3,
        photos=2,
        weights=weights,
        progress=False,
    )
    assert report["n_references"] == 3 and report["n_photos"] == 2
    assert report["chance"] == pytest.approx(1 / 3)
    assert report["retrieval"] in (0.0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1.0)
    assert report["matching"] in (0.0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1.0)
    assert report["pixel_distance"] > 0 and report["feature_distance"] > 0
    assert len(list(Path(report["folder"]).glob("reference_*/*.png"))) == 6
    table = style_evaluation_table({"style": "moods", "reference_obedience": report})
    assert "retrieval" in table and "matching" in table and "chance 33.3 %" in table


def test_the_reference_grid_has_a_column_per_reference(trained, home, monkeypatch, tmp_path):
    import gan_style.report
    from gan_style.reference import reference_grid

    root = trained[2]
    drawn = {}

    def capture(columns, titles, caption=None):
        drawn.update(columns=columns, titles=titles)
        return b"png"

    monkeypatch.setattr(gan_style.report, "sample_grid", capture)
    photos = [root / "photos" / "p00.png", root / "photos" / "p01.png"]
    references = [root / "style" / "s00.png", tmp_path / "cold.png"]
    Image.fromarray(np.full((48, 48, 3), (20, 60, 200), np.uint8)).save(references[1])
    assert reference_grid("moods", photos, references) == b"png"
    columns, titles = drawn["columns"], drawn["titles"]
    assert titles == ["photo", "reference 1: s00", "reference 2: cold"]
    assert all(len(column) == 3 for column in columns)  # the reference on top, then the photos
    assert np.all(columns[0][0] == 1.0)  # no reference above the photos themselves
    top = np.asarray(Image.open(references[1]).convert("RGB"), np.float32) / 127.5 - 1
    np.testing.assert_allclose(columns[2][0], top, atol=1e-6)
    # Each reference paints the same photo differently.
    assert np.mean(np.abs(columns[1][1] - columns[2][1])) > 0.005


def test_the_reference_speed_benchmark_times_every_case_against_the_plain_style(
    trained, home, capsys
):
    import importlib.util

    root = trained[2]
    plain_style("plain_speed")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_speed.py"
    spec = importlib.util.spec_from_file_location("reference_speed_benchmark", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    photos = [str(root / "photos" / f"p0{index}.png") for index in range(2)]
    module.main(
        [
            *("--plain", "plain_speed", "--reference-style", "moods", "--photos", *photos),
            *("--reference", str(root / "style" / "s02.png"), "--repeats", "1"),
        ]
    )
    printed = capsys.readouterr().out
    end_to_end, loaded = printed.split("loaded in this process")
    for case in ("plain", "reference style, mean code", "reference style, --reference"):
        assert case in end_to_end and case in loaded
    assert "×1.00" in end_to_end.split("reference style")[0]
    assert end_to_end.count("×") == 3 and loaded.count("×") == 3
