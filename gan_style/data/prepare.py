"""`gan-style prepare-data`: a messy personal folder → a clean, sharded, reproducible dataset.

Every file found under the source ends in exactly one state, recorded in ``manifest.json``:

- ``ok``: decoded, converted to sRGB, resized, and stored in a TFRecord shard of the
  ``train`` or ``holdout`` split;
- ``duplicate``: byte-identical to, or a near-duplicate (perceptual hash within
  ``dedupe_distance`` bits) of, a file kept before it in path order;
- ``rejected``: with a short reason (``truncated``, ``not an image``, ``too small (180×120 <
  256)``, ``unreadable: permission denied``...).

Operating-system clutter (``.DS_Store``, ``Thumbs.db``) and non-image files without an image
extension are ignored and only counted. One bad file never stops the run.

Atomicity: shards are written under names unique to this run, then ``manifest.json`` is
replaced in one `os.replace`, then the previous run's shards are removed. Readers use only the
shards the manifest lists, so a crash at any point leaves the old dataset or the new one.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import hashlib
import io
import os
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from gan_style import __version__
from gan_style.atomic import write_json_atomic
from gan_style.config import PrepareConfig
from gan_style.data import images
from gan_style.documents import read_document
from gan_style.errors import DataError

MANIFEST_NAME = "manifest.json"
DATASET_FORMAT = "gan-style-dataset"
DATASET_FORMAT_VERSION = 1
SPLITS = ("train", "holdout")


@dataclasses.dataclass
class FileRecord:
    """What happened to one source file (one entry of the manifest's ``files``)."""

    source: str
    status: str = "rejected"
    reason: str | None = None
    split: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    original_size: tuple[int, int] | None = None
    size: tuple[int, int] | None = None
    phash: str | None = None
    duplicate_of: str | None = None


@dataclasses.dataclass
class _Inspected:
    """A worker's answer for one file: its record and, when kept, the encoded image."""

    record: FileRecord
    encoded: bytes | None = None
    ignored: bool = False


@dataclasses.dataclass(frozen=True)
class PrepareResult:
    """What `prepare_dataset` did: the manifest it wrote and how long it took."""

    output: Path
    manifest: dict[str, Any]
    seconds: float

    @property
    def summary(self) -> dict[str, Any]:
        """Totals for people and for ``--json``: counts, reasons, timing."""
        totals = dict(self.manifest["totals"])
        considered = totals["kept"] + totals["duplicates"] + totals["rejected"]
        totals["seconds"] = round(self.seconds, 3)
        totals["images_per_second"] = round(considered / self.seconds, 2) if self.seconds else None
        totals["output"] = str(self.output)
        return totals


def prepare_dataset(
    config: PrepareConfig, *, progress: Callable[[Iterable], Iterable] | None = None
) -> PrepareResult:
    """Walk, decode, deduplicate, split and shard ``config.source`` into ``config.output``.

    Args:
        config: The validated options.
        progress: Optional wrapper around the per-file iterator (a progress bar); it receives
            an iterable whose ``len`` is the number of files to decode.

    Returns:
        A `PrepareResult` with the manifest written.

    Raises:
        DataError: the source is missing, the output is not a dataset folder, or no image
            could be kept (then nothing is written).
    """
    started = time.perf_counter()
    source = Path(config.source).expanduser()
    output = Path(config.output).expanduser()
    if not source.exists():
        raise DataError(f"{source}: no such folder")
    if not source.is_dir():
        raise DataError(f"{source}: not a folder (give the folder that holds the images)")
    _check_output(output)

    candidates, ignored, unreadable = walk_source(source, exclude=output)
    inspected = _inspect_all(source, candidates, config, progress)

    records = list(unreadable)
    kept: list[_Inspected] = []
    for item in inspected:
        if item.ignored:
            ignored.append(item.record.source)
        elif item.record.status == "ok":
            kept.append(item)
        else:
            records.append(item.record)
    duplicates = _mark_duplicates(kept, config.dedupe_distance)
    kept = [item for item in kept if item.record.status == "ok"]
    records.extend(item.record for item in duplicates)
    if not kept:
        raise DataError(_nothing_kept_message(source, records, ignored))
    _assign_splits([item.record for item in kept], config.holdout, config.seed)
    records.extend(item.record for item in kept)
    records.sort(key=lambda record: record.source)

    manifest = _write_dataset(output, kept, records, ignored, config)
    return PrepareResult(output=output, manifest=manifest, seconds=time.perf_counter() - started)


def walk_source(
    source: Path, *, exclude: Path | None = None
) -> tuple[list[str], list[str], list[FileRecord]]:
    """List the files under ``source`` that may be images, in a stable order.

    Symbolic links to folders are followed once: a folder reached again (a link loop, or two
    links to one place) is not walked twice.

    Args:
        source: Root folder.
        exclude: A folder to skip (the output, when it lies inside the source).

    Returns:
        ``(candidates, ignored, unreadable)``: paths relative to ``source`` (POSIX form) of
        files to decode, of clutter skipped by name, and records for folders that could not
        be read.
    """
    candidates: list[str] = []
    ignored: list[str] = []
    unreadable: list[FileRecord] = []
    seen_directories: set[tuple[int, int]] = set()
    exclude_resolved = exclude.resolve() if exclude is not None else None

    def on_error(error: OSError) -> None:
        relative = _relative(source, Path(error.filename or source))
        reason = (
            "unreadable: permission denied"
            if isinstance(error, PermissionError)
            else (f"unreadable: {error.strerror or error}")
        )
        unreadable.append(FileRecord(source=relative + "/", reason=reason))

    for directory, subdirectories, files in os.walk(source, followlinks=True, onerror=on_error):
        stat = os.stat(directory)
        key = (stat.st_dev, stat.st_ino)
        if key in seen_directories:
            subdirectories[:] = []
            continue
        seen_directories.add(key)
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if exclude_resolved is None or Path(directory, name).resolve() != exclude_resolved
        )
        for name in sorted(files):
            relative = _relative(source, Path(directory, name))
            if images.is_clutter_name(name):
                ignored.append(relative)
            else:
                candidates.append(relative)
    candidates.sort()
    return candidates, ignored, unreadable


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _check_output(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise DataError(f"{output}: exists and is not a folder; choose another --out")
    if output.is_dir() and any(output.iterdir()):
        try:
            read_manifest(output)
        except DataError as error:
            raise DataError(
                f"{output}: refusing to write into a folder that is not empty and not a "
                "gan-style dataset; choose another --out or empty it"
            ) from error


def read_manifest(dataset: str | os.PathLike) -> dict[str, Any]:
    """Load and check a dataset's ``manifest.json``.

    Raises:
        DataError: the folder is not a gan-style dataset, or one of a newer format.
    """
    return read_document(
        dataset,
        MANIFEST_NAME,
        document_format=DATASET_FORMAT,
        max_version=DATASET_FORMAT_VERSION,
        error=DataError,
        missing="a gan-style dataset",
        description="gan-style dataset manifest",
    )


def is_dataset(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a gan-style dataset manifest."""
    try:
        read_manifest(folder)
    except DataError:
        return False
    return True


# --- decoding (runs in worker threads) -------------------------------------------------------


def inspect_file(source: Path, relative: str, config: PrepareConfig) -> _Inspected:
    """Decode one file and decide its fate (without looking at other files)."""
    import imagehash

    record = FileRecord(source=relative)
    path = source / relative
    try:
        data = images.read_bytes(path)
        record.bytes = len(data)
        record.sha256 = hashlib.sha256(data).hexdigest()
        loaded = images.load_image(
            data,
            max_pixels=config.max_pixels,
            background=tuple(config.background),
            reduce_to=config.size,
            name=relative,
        )
    except images.ImageRejected as rejected:
        announced = images.has_image_extension(relative)
        if rejected.reason in ("not an image", "empty file") and not announced:
            return _Inspected(record=record, ignored=True)
        record.reason = rejected.reason
        return _Inspected(record=record)

    width, height = loaded.original_size
    record.original_size = (width, height)
    if min(width, height) < config.min_size:
        record.reason = f"too small ({width}×{height} < {config.min_size})"
        return _Inspected(record=record)

    image = images.resize_shorter_side(loaded.image, config.size, upscale=config.upscale)
    record.size = image.size
    record.phash = str(imagehash.phash(image))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=config.jpeg_quality, subsampling=0)
    record.status = "ok"
    return _Inspected(record=record, encoded=buffer.getvalue())


def _inspect_star(arguments: tuple[Path, str, PrepareConfig]) -> _Inspected:
    return inspect_file(*arguments)


def _inspect_all(
    source: Path,
    candidates: list[str],
    config: PrepareConfig,
    progress: Callable[[Iterable], Iterable] | None,
) -> list[_Inspected]:
    # Threads, not processes: Pillow releases the GIL while it decodes, resizes and encodes,
    # which is nearly all the work, and threads cost nothing to start (spawned processes took
    # seconds each to import numpy/SciPy, more than a small folder's whole decoding).
    workers = config.workers or os.cpu_count() or 1
    jobs = [(source, relative, config) for relative in candidates]
    wrap = progress or (lambda iterable: iterable)
    if workers == 1 or len(jobs) < 2:
        return list(wrap(_Sized(map(_inspect_star, jobs), len(jobs))))
    with concurrent.futures.ThreadPoolExecutor(workers) as executor:
        return list(wrap(_Sized(executor.map(_inspect_star, jobs), len(jobs))))


class _Sized:
    """An iterator with a length, so progress bars know the total."""

    def __init__(self, iterator: Iterable, length: int):
        self._iterator = iter(iterator)
        self._length = length

    def __iter__(self) -> Iterator:
        return self._iterator

    def __len__(self) -> int:
        return self._length


# --- dataset-level decisions ------------------------------------------------------------------


def _mark_duplicates(kept: list[_Inspected], max_distance: int) -> list[_Inspected]:
    """Mark exact and near duplicates in place; the first in path order is the one kept."""
    import numpy as np

    duplicates: list[_Inspected] = []
    by_sha: dict[str, str] = {}
    hashes: list[int] = []
    sources: list[str] = []
    for item in sorted(kept, key=lambda entry: entry.record.source):
        record = item.record
        original = by_sha.get(record.sha256 or "")
        if original is not None:
            record.status, record.reason, record.duplicate_of = (
                "duplicate",
                "identical file",
                (original),
            )
        elif max_distance >= 0 and hashes:
            distances = np.bitwise_count(
                np.array(hashes, dtype=np.uint64) ^ np.uint64(int(record.phash, 16))
            )
            nearest = int(np.argmin(distances))
            if distances[nearest] <= max_distance:
                record.status = "duplicate"
                record.reason = f"near-duplicate (pHash distance {int(distances[nearest])})"
                record.duplicate_of = sources[nearest]
        if record.status == "duplicate":
            item.encoded = None
            duplicates.append(item)
            continue
        by_sha[record.sha256 or ""] = record.source
        hashes.append(int(record.phash, 16))
        sources.append(record.source)
    return duplicates


def holdout_count(total: int, fraction: float) -> int:
    """How many of ``total`` images the held-out split gets for ``fraction``."""
    if fraction <= 0 or total < 2:
        return 0
    count = round(total * fraction)
    if total >= 10:
        count = max(1, count)
    return min(count, total - 1)


def _assign_splits(records: list[FileRecord], fraction: float, seed: int) -> None:
    ordered = sorted(records, key=lambda record: record.source)
    held = set(
        random.Random(seed).sample(range(len(ordered)), holdout_count(len(ordered), fraction))
    )
    for index, record in enumerate(ordered):
        record.split = "holdout" if index in held else "train"


def _totals(records: list[FileRecord], ignored: list[str]) -> dict[str, Any]:
    status = Counter(record.status for record in records)
    splits = Counter(record.split for record in records if record.status == "ok")
    reasons = Counter(
        _reason_kind(record.reason or "") for record in records if record.status == "rejected"
    )
    return {
        "kept": status["ok"],
        "train": splits["train"],
        "holdout": splits["holdout"],
        "duplicates": status["duplicate"],
        "rejected": status["rejected"],
        "rejected_by_reason": dict(sorted(reasons.items())),
        "ignored": len(ignored),
    }


def _reason_kind(reason: str) -> str:
    """``too small (180×120 < 256)`` → ``too small``: reasons grouped for the summary."""
    return reason.split(" (", 1)[0]


def _nothing_kept_message(source: Path, records: list[FileRecord], ignored: list[str]) -> str:
    totals = _totals(records, ignored)
    parts = [f"{count} {kind}" for kind, count in totals["rejected_by_reason"].items()]
    if totals["duplicates"]:
        parts.append(f"{totals['duplicates']} duplicates")
    if totals["ignored"]:
        parts.append(f"{totals['ignored']} non-image files ignored")
    detail = ", ".join(parts) if parts else "the folder holds no files"
    return f"{source}: no usable image ({detail})"


# --- writing ----------------------------------------------------------------------------------


def _write_dataset(
    output: Path,
    kept: list[_Inspected],
    records: list[FileRecord],
    ignored: list[str],
    config: PrepareConfig,
) -> dict[str, Any]:
    from gan_style.data import tfrecords

    output.mkdir(parents=True, exist_ok=True)
    old_shards = _listed_shards(output)
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S") + (
        "-" + secrets.token_hex(3)
    )
    shards: dict[str, list[str]] = {}
    for split in SPLITS:
        items = sorted(
            (item for item in kept if item.record.split == split),
            key=lambda item: item.record.source,
        )
        shards[split] = tfrecords.write_shards(
            output, f"{split}-{run_id}", items, shard_size=config.shard_size
        )

    manifest = {
        "format": DATASET_FORMAT,
        "format_version": DATASET_FORMAT_VERSION,
        "tool": {"name": "gan-style", "version": __version__},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": str(Path(config.source).expanduser().resolve()),
        "options": config.to_dict(),
        "encoding": {"format": "JPEG", "quality": config.jpeg_quality, "color": "sRGB"},
        "shards": shards,
        "totals": _totals(records, ignored),
        "files": [_record_dict(record) for record in records],
        "ignored": sorted(ignored),
    }
    write_json_atomic(output / MANIFEST_NAME, manifest)
    for stale in old_shards - {name for names in shards.values() for name in names}:
        (output / stale).unlink(missing_ok=True)
    _remove_orphans(output, keep={name for names in shards.values() for name in names})
    return manifest


def _record_dict(record: FileRecord) -> dict[str, Any]:
    values = dataclasses.asdict(record)
    for key in ("original_size", "size"):
        if values[key] is not None:
            values[key] = list(values[key])
    return values


def _listed_shards(output: Path) -> set[str]:
    try:
        manifest = read_manifest(output)
    except DataError:
        return set()
    return {name for names in manifest.get("shards", {}).values() for name in names}


def _remove_orphans(output: Path, keep: set[str]) -> None:
    """Remove shards and temporary files left by interrupted runs."""
    for path in output.iterdir():
        is_shard = path.suffix == ".tfrecord" and path.name not in keep
        if is_shard or path.name.startswith(".tmp-"):  # temporary files of atomic writes
            path.unlink(missing_ok=True)
