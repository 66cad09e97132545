"""The tf.data reader of prepared datasets and raw folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gan_style.config import PrepareConfig
from gan_style.data import pipeline, prepare
from gan_style.errors import DataError
from tests.conftest import photo_like, save_jpeg


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    for index in range(12):
        save_jpeg(root / f"photo_{index:02d}.jpg", photo_like(72, 48, seed=100 + index))
    return root


@pytest.fixture(scope="module")
def dataset(folder, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("prepared") / "data"
    prepare.prepare_dataset(
        PrepareConfig(source=str(folder), output=str(output), size=40, min_size=32, workers=1)
    )
    return output


def take(dataset, count: int) -> list[np.ndarray]:
    return [batch.numpy() for batch in dataset.take(count)]


def test_prepared_dataset_batches_have_the_right_shape_and_range(dataset):
    batches = take(pipeline.image_dataset(dataset, image_size=32, batch_size=4), 3)
    for batch in batches:
        assert batch.shape == (4, 32, 32, 3) and batch.dtype == np.float32
        assert batch.min() >= -1.0 and batch.max() <= 1.0
        assert batch.std() > 0.05  # real pixels, not a constant


def test_same_seed_same_batches_other_seed_other_batches(dataset):
    first = take(pipeline.image_dataset(dataset, image_size=32, batch_size=3, seed=5), 4)
    again = take(pipeline.image_dataset(dataset, image_size=32, batch_size=3, seed=5), 4)
    other = take(pipeline.image_dataset(dataset, image_size=32, batch_size=3, seed=6), 4)
    for left, right in zip(first, again, strict=True):
        np.testing.assert_array_equal(left, right)
    assert any(not np.array_equal(left, right) for left, right in zip(first, other, strict=True))


def test_one_pass_over_the_holdout_split_reads_exactly_the_held_out_images(dataset):
    held_out = prepare.read_manifest(dataset)["totals"]["holdout"]
    assert held_out == pipeline.count_images(dataset, "holdout") == 1
    one_pass = pipeline.image_dataset(
        dataset, image_size=32, split="holdout", repeat=False, shuffle=False, drop_remainder=False
    )
    assert sum(batch.shape[0] for batch in one_pass) == held_out


def test_crops_are_random_but_centre_crops_are_not(dataset):
    def first_image(random_crop: bool, seed: int) -> np.ndarray:
        data = pipeline.image_dataset(
            dataset,
            image_size=24,
            shuffle=False,
            random_flip=False,
            random_crop=random_crop,
            seed=seed,
        )
        return take(data, 1)[0][0]

    assert not np.array_equal(first_image(True, 1), first_image(True, 2))
    np.testing.assert_array_equal(first_image(False, 1), first_image(False, 2))


def test_small_images_are_enlarged_to_the_crop(dataset):
    batch = take(pipeline.image_dataset(dataset, image_size=64, batch_size=2), 1)[0]
    assert batch.shape == (2, 64, 64, 3)


def test_raw_folder_skips_files_that_do_not_decode(folder, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in sorted(folder.glob("*.jpg"))[:3]:
        (raw / path.name).write_bytes(path.read_bytes())
    (raw / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    one_pass = pipeline.image_dataset(
        raw, image_size=32, batch_size=1, repeat=False, drop_remainder=False
    )
    images = [batch.numpy() for batch in one_pass]
    assert len(images) == 3
    assert all(image.shape == (1, 32, 32, 3) for image in images)


def test_raw_folder_has_no_holdout(folder):
    with pytest.raises(DataError, match="has no 'holdout' split"):
        pipeline.image_dataset(folder, split="holdout")


def test_raw_and_prepared_pixels_agree(folder, tmp_path):
    """A raw folder decodes like prepare-data: same picture, up to JPEG re-encoding."""
    single = tmp_path / "single"
    single.mkdir()
    save_jpeg(single / "a.jpg", photo_like(40, 40, seed=7))
    prepared = tmp_path / "single_prepared"
    prepare.prepare_dataset(
        PrepareConfig(
            source=str(single), output=str(prepared), size=40, min_size=32, workers=1, holdout=0.0
        )
    )
    options = dict(image_size=40, shuffle=False, random_flip=False, random_crop=False)
    raw = take(pipeline.image_dataset(single, **options), 1)[0]
    from_shard = take(pipeline.image_dataset(prepared, **options), 1)[0]
    assert np.abs(raw - from_shard).mean() < 0.03


def test_skip_continues_the_same_sequence(dataset):
    options = dict(image_size=24, batch_size=2, seed=9)
    whole = take(pipeline.image_dataset(dataset, **options), 10)
    resumed = take(pipeline.image_dataset(dataset, skip=12, **options), 4)
    for left, right in zip(whole[6:], resumed, strict=True):
        np.testing.assert_array_equal(left, right)
