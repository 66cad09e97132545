"""Tests of evaluation: listing and loading images, the feature cache, the reports.

Listing is :mod:`gan_style.data.folders`, loading and the feature cache
:mod:`gan_style.metrics.features`, the reports :mod:`gan_style.evaluate`. Features come from the
real network architecture with random weights, so these tests need no weights file;
``tests/metrics/test_inception.py`` checks the real weights.
"""

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan_style import evaluate
from gan_style.data.folders import list_images
from gan_style.errors import DataError
from gan_style.metrics import frechet_inception_distance, kernel_inception_distance
from gan_style.metrics.features import compute_features, folder_features, load_rgb8
from gan_style.metrics.weights import weights_fingerprint


def _save(path, seed, size=(48, 40), **options):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, **options)
    return pixels


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    _save(folder / "a.png", 1)
    _save(folder / "b.jpg", 2, size=(300, 200), quality=95)
    (folder / "c.png").write_bytes((folder / "a.png").read_bytes())  # same content as a.png
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes((folder / "a.png").read_bytes())
    (folder / "sub").mkdir()
    _save(folder / "sub" / "d.png", 3)
    return folder


def test_import_does_not_load_tensorflow():
    code = "import sys, gan_style.evaluate; print('tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_imports_where_tensorflow_cannot_be_imported():
    """The modules, and the names gan_style.evaluate kept when they moved, need no TensorFlow."""
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None  # any `import tensorflow` now raises ImportError\n"
        "import gan_style.data.folders, gan_style.metrics.features\n"
        "from gan_style.evaluate import (\n"
        "    DEFAULT_BATCH_SIZE, LOADER_VERSION, FolderFeatures, compare_folders,\n"
        "    compute_features, content_metrics, evaluate_style, export_split, folder_features,\n"
        "    list_images, load_rgb8, pair_folders,\n"
        ")\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_list_images_by_content(image_folder):
    with pytest.warns(UserWarning, match=r"Skipping .*notes\.txt: not a readable image"):
        images = list_images(image_folder)
    assert [path.name for path in images] == ["a.png", "b.jpg", "c.png"]


def test_list_images_errors(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        list_images(tmp_path / "missing")
    with pytest.raises(DataError, match="holds no readable image"):
        list_images(tmp_path)


def test_load_rgb8_applies_exif_orientation(tmp_path):
    pixels = np.random.default_rng(4).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(pixels).save(tmp_path / "rotated.png", exif=exif)
    loaded = load_rgb8(tmp_path / "rotated.png")
    np.testing.assert_array_equal(loaded, np.rot90(pixels, k=-1))


def test_load_rgb8_converts_modes(tmp_path):
    sixteen_bit = np.array([[0, 257 * 10], [257 * 200, 65535]], dtype=np.uint16)
    Image.fromarray(sixteen_bit).save(tmp_path / "deep.png")
    loaded = load_rgb8(tmp_path / "deep.png")
    assert loaded.dtype == np.uint8 and loaded.shape == (2, 2, 3)
    np.testing.assert_array_equal(loaded[..., 0], [[0, 10], [200, 255]])

    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[..., 0], rgba[0, 0, 3], rgba[1:, :, 3] = 120, 0, 255
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    loaded = load_rgb8(tmp_path / "alpha.png")
    np.testing.assert_array_equal(loaded[0, 0], [255, 255, 255])  # transparent: over white
    np.testing.assert_array_equal(loaded[1, 1], [120, 0, 0])


def test_folder_features_are_cached_by_content(image_folder, tmp_path, random_weights, monkeypatch):
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning, match="notes.txt"):
        first = folder_features(image_folder, weights=random_weights, cache=cache, progress=False)
    assert [path.name for path in first.paths] == ["a.png", "b.jpg", "c.png"]
    assert first.features.shape == (3, 2048) and first.features.dtype == np.float32
    assert np.isfinite(first.features).all()
    assert first.num_from_cache == 0
    np.testing.assert_array_equal(first.features[0], first.features[2])  # same content
    assert not np.array_equal(first.features[0], first.features[1])
    (settings_dir,) = cache.iterdir()
    assert len(list(settings_dir.glob("*.npy"))) == 2  # one per distinct content

    def no_network(*args, **kwargs):
        raise AssertionError("the second run should not compute features")

    monkeypatch.setattr("gan_style.metrics.features._compute_features", no_network)
    with pytest.warns(UserWarning):
        second = folder_features(image_folder, weights=random_weights, cache=cache, progress=False)
    assert second.num_from_cache == 3
    np.testing.assert_array_equal(second.features, first.features)
    with pytest.raises(AssertionError, match="should not compute"), pytest.warns(UserWarning):
        folder_features(
            image_folder, weights=random_weights, resize="area", cache=cache, progress=False
        )


def test_folder_features_without_cache_match_compute_features(
    image_folder, tmp_path, random_weights
):
    with pytest.warns(UserWarning):
        result = folder_features(
            image_folder, weights=random_weights, cache=False, batch_size=2, progress=False
        )
    features, loaded = compute_features(
        result.paths, weights=random_weights, batch_size=3, progress=False
    )
    assert loaded.all()
    np.testing.assert_allclose(result.features, features, rtol=0, atol=1e-5)


def test_undecodable_image_is_skipped_with_a_warning(tmp_path, random_weights):
    folder = tmp_path / "images"
    folder.mkdir()
    _save(folder / "good.png", 5)
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(6).integers(0, 256, (64, 64, 3), np.uint8)).save(
        buffer, "JPEG"
    )
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 6 // 10])
    with pytest.warns(UserWarning, match=r"truncated\.jpg"):
        result = folder_features(
            folder, weights=random_weights, cache=tmp_path / "cache", progress=False
        )
    assert [path.name for path in result.paths] == ["good.png"]


def test_bad_arguments_are_value_errors(image_folder):
    with pytest.raises(ValueError, match="Unknown resize method 'cubic'"):
        folder_features(image_folder, resize="cubic")
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        folder_features(image_folder, batch_size=0)
    with pytest.raises(ValueError, match="Nothing to compute"):
        evaluate.compare_folders(image_folder, image_folder, fid=False, kid=False)


def test_compare_features_report():
    rng = np.random.default_rng(7)
    features_a, features_b = rng.standard_normal((40, 8)), rng.standard_normal((30, 8)) + 1
    report = evaluate.compare_features(features_a, features_b, kid_subsets=10, kid_subset_size=20)
    assert report["n_a"] == 40 and report["n_b"] == 30
    assert report["fid"] == frechet_inception_distance(features_a, features_b)
    kid = kernel_inception_distance(features_a, features_b, num_subsets=10, subset_size=20, seed=0)
    assert (report["kid"], report["kid_std"]) == kid
    assert report["kid_subsets"] == 10 and report["kid_subset_size"] == 20
    assert "FID from 30 images is biased" in report["small_sample_warning"]
    only_kid = evaluate.compare_features(features_a, features_b, fid=False, kid_subsets=2)
    assert only_kid["fid"] is None and only_kid["small_sample_warning"] is None
    assert evaluate.small_sample_warning(2048, 5000) is None


def test_compare_folders_report(image_folder, tmp_path, random_weights):
    other = tmp_path / "other"
    other.mkdir()
    for seed in range(3):
        _save(other / f"{seed}.png", 10 + seed, size=(70, 50))
    options = dict(weights=random_weights, cache=tmp_path / "cache", progress=False)
    with pytest.warns(UserWarning):
        report = evaluate.compare_folders(image_folder, other, fid=False, kid_subsets=5, **options)
        cached_a = folder_features(image_folder, **options)
    cached_b = folder_features(other, **options)
    assert (cached_a.num_from_cache, cached_b.num_from_cache) == (3, 3)
    assert report["n_a"] == 3 and report["n_b"] == 3
    assert report["fid"] is None and isinstance(report["kid"], float)
    kid = kernel_inception_distance(
        cached_a.features, cached_b.features, num_subsets=5, subset_size=1000, seed=0
    )
    assert (report["kid"], report["kid_std"]) == kid
    assert report["dir_b"] == str(other) and report["resize"] == "bilinear"
    assert report["weights_fingerprint"] == weights_fingerprint(random_weights)


def test_content_metrics_of_folders(tmp_path):
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    same = _save(inputs / "same.png", 8)
    Image.fromarray(same).save(outputs / "same.png")
    noisy = _save(inputs / "noisy.png", 9)
    noise = np.random.default_rng(10).integers(-20, 21, noisy.shape)
    Image.fromarray(np.clip(noisy + noise, 0, 255).astype(np.uint8)).save(outputs / "noisy.png")
    _save(inputs / "smaller.png", 11, size=(96, 80))
    _save(outputs / "smaller.jpg", 11, size=(48, 40))
    _save(inputs / "unmatched.png", 12)

    pairs = evaluate.pair_folders(inputs, outputs)
    assert [(source.name, result.name) for source, result in pairs] == [
        ("noisy.png", "noisy.png"),
        ("same.png", "same.png"),
        ("smaller.png", "smaller.jpg"),
    ]
    report = evaluate.content_metrics(pairs)
    assert report["n_pairs"] == 3 and report["n_resized"] == 1
    by_name = {row["input"].rsplit("/", 1)[-1]: row for row in report["pairs"]}
    assert by_name["same.png"]["ssim"] == pytest.approx(1.0)
    assert by_name["same.png"]["psnr"] == float("inf")
    noisy_mse = np.mean((noisy / 255 - np.asarray(Image.open(outputs / "noisy.png")) / 255) ** 2)
    assert by_name["noisy.png"]["psnr"] == pytest.approx(10 * np.log10(1 / noisy_mse))
    assert 0 < by_name["noisy.png"]["ssim"] < 1
    assert report["ssim"] == pytest.approx(np.mean([row["ssim"] for row in report["pairs"]]))


def test_content_metrics_errors(tmp_path):
    with pytest.raises(DataError, match="No \\(input, output\\) image pairs"):
        evaluate.content_metrics([])
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    _save(tmp_path / "in" / "a.png", 1)
    _save(tmp_path / "out" / "b.png", 2)
    with pytest.raises(DataError, match="has the name"):
        evaluate.pair_folders(tmp_path / "in", tmp_path / "out")


def test_obedience_figures_tell_a_followed_reference_from_an_ignored_one(tmp_path, random_weights):
    weights = tmp_path / "inception.npz"
    np.savez(weights, **random_weights)
    rng = np.random.default_rng(5)
    references = tmp_path / "references"
    references.mkdir()
    pictures = [rng.integers(0, 256, (40, 48, 3), dtype=np.uint8) for _ in range(3)]
    for index, picture in enumerate(pictures):
        Image.fromarray(picture).save(references / f"{index:02d}.png")
    stems = ["beach", "city"]

    def outputs(name, picture_of):
        folders = []
        for index in range(3):
            folder = tmp_path / name / f"reference_{index:02d}"
            folder.mkdir(parents=True)
            for stem in stems:
                Image.fromarray(picture_of(index)).save(folder / f"{stem}.png")
            folders.append(folder)
        return folders

    options = {"weights": weights, "cache": False}
    followed = evaluate.obedience_figures(
        references, outputs("followed", lambda index: pictures[index]), stems, **options
    )
    assert followed["retrieval"] == 1.0 and followed["matching"] == 1.0
    assert followed["chance"] == pytest.approx(1 / 3) and followed["n_photos"] == 2
    assert followed["feature_distance"] == pytest.approx(followed["reference_feature_distance"])
    ignored = evaluate.obedience_figures(
        references, outputs("ignored", lambda index: pictures[1]), stems, **options
    )
    # One output for every reference: it is nearest to one reference only, and none is told apart.
    assert ignored["retrieval"] == pytest.approx(1 / 3)
    assert ignored["matching"] == pytest.approx(1 / 3)
    assert ignored["pixel_distance"] == 0.0 and ignored["feature_distance"] == 0.0
    with pytest.raises(ValueError, match="3 references for 2 output folders"):
        evaluate.obedience_figures(
            references, outputs("short", lambda i: pictures[i])[:2], stems, **options
        )
