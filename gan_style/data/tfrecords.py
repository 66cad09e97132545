"""TFRecord shards of a prepared dataset: one `tf.train.Example` per image.

Features: ``image`` (JPEG bytes, 8-bit sRGB), ``height``, ``width`` (int64), ``source`` (the
path relative to the source folder) and ``sha256`` (of the original file).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tensorflow as tf

from gan_style.atomic import atomic_path

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "source": tf.io.FixedLenFeature([], tf.string),
    "sha256": tf.io.FixedLenFeature([], tf.string),
}


def _example(encoded: bytes, width: int, height: int, source: str, sha256: str) -> bytes:
    def bytes_feature(value: bytes) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    def int_feature(value: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    features = {
        "image": bytes_feature(encoded),
        "height": int_feature(height),
        "width": int_feature(width),
        "source": bytes_feature(source.encode("utf-8")),
        "sha256": bytes_feature(sha256.encode("ascii")),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def write_shards(folder: Path, prefix: str, items: Sequence[Any], *, shard_size: int) -> list[str]:
    """Write ``items`` (objects with ``record`` and ``encoded``) into ``prefix-XXXXX-of-YYYYY``.

    Each shard is written under a temporary name and renamed when complete.

    Returns:
        The shard file names, in order (empty when there are no items).
    """
    count = math.ceil(len(items) / shard_size)
    names = []
    for index in range(count):
        name = f"{prefix}-{index:05d}-of-{count:05d}.tfrecord"
        with (
            atomic_path(folder / name) as temporary,
            tf.io.TFRecordWriter(str(temporary)) as writer,
        ):
            for item in items[index * shard_size : (index + 1) * shard_size]:
                width, height = item.record.size
                writer.write(
                    _example(item.encoded, width, height, item.record.source, item.record.sha256)
                )
        names.append(name)
    return names


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parse one serialized example into its feature tensors."""
    return tf.io.parse_single_example(serialized, FEATURES)
