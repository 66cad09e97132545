"""Folders of plain image files, the form evaluation reads: list one, or export a split into one.

- :func:`list_images` lists the images of a folder by content, not by extension, so FID, KID
  and SSIM see the same files whatever their names.
- :func:`export_split` writes a prepared dataset's split (e.g. ``holdout``) into a folder as
  JPEG files, unchanged from the shards, so a trained style can be scored on images it never
  saw with the same folder-based code as two user folders.

Pillow and TensorFlow are imported only inside the functions that need them.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from gan_style.errors import DataError


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Lists the readable images of a folder, by content, sorted by file name.

    Every regular file directly in ``folder`` (not in subfolders, as pytorch-fid), except hidden
    files and operating-system clutter (``Thumbs.db``...), is tried with Pillow (open + verify
    of the header); files that fail are skipped with a warning naming them.

    Raises:
        DataError: The folder does not exist or holds no readable image.
    """
    from PIL import Image

    from gan_style.data.images import is_clutter_name, unsupported_format

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder of images.")
    images = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or is_clutter_name(path) or not path.is_file():
            continue
        try:
            with Image.open(path) as image:
                image.verify()
        except Exception as error:  # Pillow raises many types on malformed files.
            with open(path, "rb") as handle:
                reason = unsupported_format(handle.read(4096), path)
            warnings.warn(
                f"Skipping {path}: "
                + (reason or f"not a readable image ({type(error).__name__}: {error})"),
                stacklevel=2,
            )
            continue
        images.append(path)
    if not images:
        raise DataError(f"{folder} holds no readable image (tried every file in it).")
    return images


def empty_folder(folder: str | os.PathLike) -> Path:
    """Creates ``folder`` if need be and removes the files in it (sub-folders are kept).

    For the work folders gan-style owns (a cache's exported split, transfers to score); never
    for a user's folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file() or old.is_symlink():
            old.unlink()
    return folder


def export_split(dataset: str | os.PathLike, split: str, folder: str | os.PathLike) -> Path:
    """Write the images of a prepared dataset's ``split`` into ``folder`` as they are stored.

    The JPEG bytes of the shards are written unchanged (no re-encoding), one file per image,
    named after its source path. An existing export of the same dataset and split is reused.

    Returns:
        The folder.
    """
    import json

    from gan_style.atomic import write_bytes_atomic
    from gan_style.data import prepare

    folder = Path(folder)
    manifest = prepare.read_manifest(dataset)
    stamp = {
        "dataset": str(Path(dataset).resolve()),
        "split": split,
        "shards": manifest["shards"].get(split, []),
    }
    marker = folder / ".export.json"
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == stamp:
        return folder
    import tensorflow as tf

    from gan_style.data.tfrecords import parse_example

    empty_folder(folder)
    shards = [str(Path(dataset) / name) for name in stamp["shards"]]
    if not shards:
        raise DataError(f"{dataset}: the dataset has no {split!r} images to evaluate with")
    for serialized in tf.data.TFRecordDataset(shards):
        features = parse_example(serialized)
        source = features["source"].numpy().decode("utf-8")
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", source.rsplit(".", 1)[0]) + ".jpg"
        write_bytes_atomic(folder / name, features["image"].numpy())
    write_bytes_atomic(marker, json.dumps(stamp).encode("utf-8"))
    return folder
