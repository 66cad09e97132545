"""prepare-data end to end on a folder of hostile files built here."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_style.config import PrepareConfig
from gan_style.data import prepare
from gan_style.errors import ConfigError, DataError
from tests.conftest import photo_like, save_jpeg

SIZE = 48  # shorter side after resizing
MIN_SIZE = 40


def config(source: Path, output: Path, **overrides) -> PrepareConfig:
    options = dict(size=SIZE, min_size=MIN_SIZE, workers=1, holdout=0.2, seed=3)
    options.update(overrides)
    return PrepareConfig(source=str(source), output=str(output), **options)


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A messy personal folder: good photos, duplicates, broken files, clutter, a link loop."""
    root = tmp_path / "messy"
    for index in range(8):
        save_jpeg(root / f"good_{index}.jpg", photo_like(96, 64, seed=index))
    save_jpeg(root / "nested" / "deeper" / "good_nested.jpg", photo_like(64, 96, seed=20))
    save_jpeg(root / "Ünïcödé fólder" / "ête 写真.jpg", photo_like(80, 80, seed=21))
    # an extension-less PNG: images are recognised by content, not by name
    photo_like(70, 70, seed=22).save(root / "no_extension", format="PNG")

    (root / "zz_exact_copy.jpg").write_bytes((root / "good_0.jpg").read_bytes())
    resized = photo_like(96, 64, seed=1).resize((192, 128), Image.Resampling.BICUBIC)
    save_jpeg(root / "zz_near_copy.jpg", resized)  # same picture as good_1, re-encoded larger

    full = io.BytesIO()
    photo_like(96, 64, seed=30).save(full, format="JPEG", quality=90)
    (root / "truncated.jpg").write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    (root / "zero.jpg").write_bytes(b"")
    (root / "random.png").write_bytes(np.random.default_rng(0).bytes(2048))
    (root / "notes_named.jpg").write_text("not really a picture")
    save_jpeg(root / "tiny.jpg", photo_like(30, 20, seed=31))

    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (root / "README.txt").write_text("my watercolours")
    os.symlink(root, root / "nested" / "loop_to_root")
    return root


def by_source(manifest: dict) -> dict[str, dict]:
    return {entry["source"]: entry for entry in manifest["files"]}


def test_every_file_gets_the_right_outcome(hostile, tmp_path):
    result = prepare.prepare_dataset(config(hostile, tmp_path / "out"))
    files = by_source(result.manifest)

    ok = {name for name, entry in files.items() if entry["status"] == "ok"}
    expected_ok = {f"good_{index}.jpg" for index in range(8)} | {
        "nested/deeper/good_nested.jpg",
        "Ünïcödé fólder/ête 写真.jpg",
        "no_extension",
    }
    assert ok == expected_ok  # the link loop did not add copies seen through it
    assert files["zz_exact_copy.jpg"]["status"] == "duplicate"
    assert files["zz_exact_copy.jpg"]["reason"] == "identical file"
    assert files["zz_exact_copy.jpg"]["duplicate_of"] == "good_0.jpg"
    assert files["zz_near_copy.jpg"]["status"] == "duplicate"
    assert files["zz_near_copy.jpg"]["reason"].startswith("near-duplicate (pHash distance")
    assert files["zz_near_copy.jpg"]["duplicate_of"] == "good_1.jpg"
    assert files["truncated.jpg"]["reason"] == "truncated"
    assert files["zero.jpg"]["reason"] == "empty file"
    assert files["random.png"]["reason"] == "not an image"
    assert files["notes_named.jpg"]["reason"] == "not an image"
    assert files["tiny.jpg"]["reason"] == f"too small (30×20 < {MIN_SIZE})"
    assert {
        entry["status"]
        for name, entry in files.items()
        if name.endswith(("truncated.jpg", "zero.jpg", "random.png", "notes_named.jpg", "tiny.jpg"))
    } == {"rejected"}
    assert sorted(result.manifest["ignored"]) == [".DS_Store", "README.txt", "Thumbs.db"]

    totals = result.manifest["totals"]
    assert totals == {
        "kept": 11,
        "train": 9,
        "holdout": 2,
        "duplicates": 2,
        "rejected": 5,
        "rejected_by_reason": {
            "empty file": 1,
            "not an image": 2,
            "too small": 1,
            "truncated": 1,
        },
        "ignored": 3,
    }
    for entry in files.values():
        if entry["status"] == "ok":
            assert min(entry["size"]) == SIZE
            assert entry["split"] in ("train", "holdout")
            assert len(entry["sha256"]) == 64


def test_manifest_records_version_options_and_shards(hostile, tmp_path):
    output = tmp_path / "out"
    result = prepare.prepare_dataset(config(hostile, output, shard_size=4))
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == result.manifest
    assert manifest["format"] == "gan-style-dataset"
    assert manifest["tool"]["name"] == "gan-style"
    assert PrepareConfig.from_dict(manifest["options"]) == config(hostile, output, shard_size=4)
    assert len(manifest["shards"]["train"]) == 3  # 9 images, 4 per shard
    on_disk = sorted(path.name for path in output.glob("*.tfrecord"))
    assert on_disk == sorted(manifest["shards"]["train"] + manifest["shards"]["holdout"])


def test_holdout_is_seeded_and_stable(hostile, tmp_path):
    first = prepare.prepare_dataset(config(hostile, tmp_path / "a")).manifest
    second = prepare.prepare_dataset(config(hostile, tmp_path / "b")).manifest
    other_seed = prepare.prepare_dataset(config(hostile, tmp_path / "c", seed=99)).manifest

    def held(manifest):
        return {entry["source"] for entry in manifest["files"] if entry["split"] == "holdout"}

    assert held(first) == held(second)
    assert len(held(other_seed)) == 2 and held(other_seed) != held(first)


@pytest.mark.parametrize(
    ("total", "fraction", "expected"),
    [(1, 0.1, 0), (9, 0.1, 1), (10, 0.01, 1), (155, 0.1, 16), (300, 0.1, 30), (50, 0.0, 0)],
)
def test_holdout_count(total, fraction, expected):
    assert prepare.holdout_count(total, fraction) == expected


def test_rerun_replaces_the_dataset_and_its_shards(hostile, tmp_path):
    output = tmp_path / "out"
    first = prepare.prepare_dataset(config(hostile, output)).manifest
    save_jpeg(hostile / "good_new.jpg", photo_like(96, 64, seed=40))
    second = prepare.prepare_dataset(config(hostile, output)).manifest
    assert second["totals"]["kept"] == first["totals"]["kept"] + 1
    listed = {name for names in second["shards"].values() for name in names}
    assert {path.name for path in output.glob("*.tfrecord")} == listed


def test_a_crash_while_writing_leaves_the_old_dataset(hostile, tmp_path, monkeypatch):
    output = tmp_path / "out"
    before = prepare.prepare_dataset(config(hostile, output)).manifest
    from gan_style.data import tfrecords

    real_write = tfrecords.write_shards

    def crash_after_first_split(folder, prefix, items, *, shard_size):
        if prefix.startswith("holdout"):
            raise KeyboardInterrupt  # the power goes out half-way
        return real_write(folder, prefix, items, shard_size=shard_size)

    monkeypatch.setattr(tfrecords, "write_shards", crash_after_first_split)
    save_jpeg(hostile / "good_new.jpg", photo_like(96, 64, seed=41))
    with pytest.raises(KeyboardInterrupt):
        prepare.prepare_dataset(config(hostile, output))
    assert prepare.read_manifest(output) == before
    for names in before["shards"].values():
        assert all((output / name).is_file() for name in names)


def test_refuses_a_folder_that_is_not_a_dataset(hostile, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.docx").write_text("years of work")
    with pytest.raises(DataError, match="not a gan-style dataset"):
        prepare.prepare_dataset(config(hostile, precious))
    assert (precious / "thesis.docx").read_text() == "years of work"


def test_no_usable_image_is_an_error_that_counts_reasons(tmp_path):
    source = tmp_path / "bad"
    source.mkdir()
    (source / "a.jpg").write_bytes(b"")
    (source / "b.jpg").write_text("text")
    with pytest.raises(DataError) as caught:
        prepare.prepare_dataset(config(source, tmp_path / "out"))
    assert str(caught.value) == f"{source}: no usable image (1 empty file, 1 not an image)"
    assert not (tmp_path / "out").exists()


def test_missing_source_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        prepare.prepare_dataset(config(tmp_path / "nowhere", tmp_path / "out"))


def test_output_inside_the_source_is_not_read_back(hostile):
    output = hostile / "prepared"
    prepare.prepare_dataset(config(hostile, output))
    again = prepare.prepare_dataset(config(hostile, output)).manifest
    assert not any(entry["source"].startswith("prepared/") for entry in again["files"])


def test_parallel_workers_give_the_same_manifest(hostile, tmp_path):
    serial = prepare.prepare_dataset(config(hostile, tmp_path / "serial")).manifest
    parallel = prepare.prepare_dataset(config(hostile, tmp_path / "parallel", workers=2)).manifest
    assert parallel["files"] == serial["files"]


def test_invalid_options_name_the_value(tmp_path):
    with pytest.raises(ConfigError, match="holdout must be in"):
        config(tmp_path, tmp_path / "out", holdout=1.5)
    with pytest.raises(ConfigError, match=r"min_size \(300\) is larger than size \(48\)"):
        config(tmp_path, tmp_path / "out", min_size=300)
