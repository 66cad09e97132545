"""`tf.data` input pipelines for training: prepared datasets and raw folders.

    records → shuffle → repeat → decode → (upscale if small) → random crop → random flip
            → scale to [-1, 1] → batch → prefetch

Randomness is deterministic for a given ``seed``: the shuffle is seeded and every crop and flip
uses a stateless random op keyed by ``(seed, element index)``, so two pipelines built with the
same arguments yield identical batches, whatever the parallelism.

A prepared dataset (a folder with ``manifest.json``) is read from its TFRecord shards, split by
split. A raw folder is read file by file through `gan_style.data.images`, so it decodes exactly
like prepare-data (EXIF, ICC, every mode); files that cannot be decoded are skipped. A raw
folder has no held-out split: prepare it first when you need one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from gan_style.data import images, prepare, tfrecords
from gan_style.errors import DataError

AUTOTUNE = tf.data.AUTOTUNE


def image_dataset(
    source: str | os.PathLike,
    *,
    image_size: int = 256,
    batch_size: int = 1,
    split: str = "train",
    seed: int = 0,
    shuffle: bool = True,
    repeat: bool = True,
    random_crop: bool = True,
    random_flip: bool = True,
    shuffle_buffer: int = 1024,
    drop_remainder: bool = True,
    skip: int = 0,
) -> tf.data.Dataset:
    """Batches of ``image_size``² float32 crops in [-1, 1] from a dataset or a folder.

    Args:
        source: A prepared dataset folder, or a raw folder of images.
        image_size: Side of the square crops. Images whose shorter side is smaller are
            enlarged to it first.
        batch_size: Images per batch.
        split: ``train`` or ``holdout`` for a prepared dataset; a raw folder only has ``train``.
        seed: Seed of the shuffle, crops and flips.
        shuffle: Shuffle the images (a fresh order every epoch).
        repeat: Repeat forever (training); otherwise one pass.
        random_crop: Random crops; otherwise the centre crop.
        random_flip: Random horizontal flips.
        shuffle_buffer: Shuffle buffer size, in images (encoded, so cheap).
        drop_remainder: Drop the last partial batch.
        skip: Images to skip first. The sequence is deterministic, so a resumed training run
            that skips the images it already used continues exactly where it stopped; the
            skipped images are not decoded.

    Returns:
        A `tf.data.Dataset` of float32 tensors of shape ``(batch_size, image_size,
        image_size, 3)``.

    Raises:
        DataError: the source has no images for ``split``.
        ValueError: an argument is out of range.
    """
    if image_size < 1 or batch_size < 1:
        raise ValueError(
            f"image_size and batch_size must be positive, got {image_size} and {batch_size}"
        )
    if split not in prepare.SPLITS:
        raise ValueError(f"split must be one of {prepare.SPLITS}, got {split!r}")
    source = Path(source)
    if prepare.is_dataset(source):
        dataset, decode = _prepared_records(source, split), _decode_record
    else:
        if split != "train":
            raise DataError(
                f"{source}: a raw folder has no {split!r} split; run `gan-style prepare-data` "
                "on it to get a held-out split"
            )
        dataset, decode = _raw_files(source), _decode_file
    dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()

    def transform(index: tf.Tensor, element: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image, valid = decode(element)
        element_seed = tf.stack([tf.cast(seed, tf.int64), index])
        image = _crop(image, image_size, element_seed if random_crop else None)
        if random_flip:
            image = tf.image.stateless_random_flip_left_right(image, seed=element_seed + 1)
        return tf.cast(image, tf.float32) / 127.5 - 1.0, valid

    if skip:
        dataset = dataset.skip(skip)
    dataset = dataset.enumerate(start=skip).map(transform, num_parallel_calls=AUTOTUNE)
    dataset = dataset.filter(_is_valid).map(_drop_validity)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(AUTOTUNE)


def _is_valid(image: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
    return valid


def _drop_validity(image: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
    return image


def count_images(source: str | os.PathLike, split: str = "train") -> int:
    """How many images ``image_dataset`` reads for ``split`` (raw folders: candidate files)."""
    source = Path(source)
    if prepare.is_dataset(source):
        return int(prepare.read_manifest(source)["totals"][split])
    return len(_raw_candidates(source))


def _prepared_records(folder: Path, split: str) -> tf.data.Dataset:
    manifest = prepare.read_manifest(folder)
    shards = [str(folder / name) for name in manifest["shards"].get(split, [])]
    missing = [path for path in shards if not os.path.exists(path)]
    if missing:
        raise DataError(f"{missing[0]}: shard listed in the manifest is missing; prepare again")
    if not shards:
        raise DataError(f"{folder}: the dataset has no {split!r} images")
    return tf.data.TFRecordDataset(shards, num_parallel_reads=min(len(shards), 4))


def _decode_record(serialized: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    features = tfrecords.parse_example(serialized)
    image = tf.io.decode_jpeg(features["image"], channels=3)
    return image, tf.constant(True)


def _raw_candidates(folder: Path) -> list[str]:
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    candidates, _, _ = prepare.walk_source(folder)
    return [str(folder / relative) for relative in candidates]


def _raw_files(folder: Path) -> tf.data.Dataset:
    paths = _raw_candidates(folder)
    if not paths:
        raise DataError(f"{folder}: no files to read")
    return tf.data.Dataset.from_tensor_slices(paths)


def _load_for_pipeline(path: bytes) -> tuple[np.ndarray, bool]:
    try:
        loaded = images.load_image_file(path.decode("utf-8"))
    except images.ImageRejected:
        return np.zeros((1, 1, 3), np.uint8), False
    return np.asarray(loaded.image, dtype=np.uint8), True


def _decode_file(path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    image, valid = tf.numpy_function(
        _load_for_pipeline, [path], (tf.uint8, tf.bool), stateful=False
    )
    image.set_shape([None, None, 3])
    valid.set_shape([])
    return image, valid


def _crop(image: tf.Tensor, size: int, seed: tf.Tensor | None) -> tf.Tensor:
    """Enlarge so the shorter side is at least ``size``, then crop ``size``² (random or centre)."""
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    shorter = tf.minimum(height, width)
    scale = tf.maximum(1.0, size / tf.cast(shorter, tf.float32))
    new_height = tf.maximum(
        size, tf.cast(tf.math.ceil(tf.cast(height, tf.float32) * scale), tf.int32)
    )
    new_width = tf.maximum(
        size, tf.cast(tf.math.ceil(tf.cast(width, tf.float32) * scale), tf.int32)
    )
    image = tf.cond(
        scale > 1.0,
        lambda: tf.cast(
            tf.clip_by_value(
                tf.round(tf.image.resize(image, [new_height, new_width], method="bicubic")),
                0,
                255,
            ),
            tf.uint8,
        ),
        lambda: image,
    )
    if seed is None:
        return tf.image.resize_with_crop_or_pad(image, size, size)
    return tf.image.stateless_random_crop(image, [size, size, 3], seed=seed)
