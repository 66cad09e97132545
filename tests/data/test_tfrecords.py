"""gan_style.data.tfrecords: shards hold each image's bytes and facts, in order."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from gan_style.data.tfrecords import parse_example, write_shards


@dataclasses.dataclass
class _Record:
    size: tuple[int, int]
    source: str
    sha256: str


@dataclasses.dataclass
class _Item:
    record: _Record
    encoded: bytes


def test_shards_round_trip_in_order(tmp_path):
    items = [
        _Item(_Record((10 + i, 20 + i), f"photos/ä{i}.jpg", f"{i:064x}"), bytes([i]) * (i + 1))
        for i in range(5)
    ]
    names = write_shards(tmp_path, "train", items, shard_size=2)

    assert names == [f"train-{i:05d}-of-00003.tfrecord" for i in range(3)]
    assert not list(tmp_path.glob(".tmp-*"))  # every shard renamed into place
    records = tf.data.TFRecordDataset([str(tmp_path / name) for name in names])
    for item, serialized in zip(items, records, strict=True):
        features = parse_example(serialized)
        assert features["image"].numpy() == item.encoded
        assert (int(features["width"]), int(features["height"])) == item.record.size
        assert features["source"].numpy().decode("utf-8") == item.record.source
        assert features["sha256"].numpy().decode("ascii") == item.record.sha256


def test_no_items_no_shards(tmp_path):
    assert write_shards(tmp_path, "holdout", [], shard_size=4) == []
