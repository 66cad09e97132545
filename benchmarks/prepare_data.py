"""Benchmark of data preparation and of the tf.data pipeline that feeds training.

Prints, all measured in this one run (the machine is shared and noisy, so only ratios between
figures of one run mean much):

1. prepare-data images/s on ../shared/data/photos (155 real photos, up to 1024 px) with one and
   with every worker process, as a ratio against a bare Pillow decode-and-convert loop over the
   same files (the reference: what any tool must at least spend).
2. The training pipeline's images/s (decode + crop + flip + scale from the prepared shards) at
   128 and 256 px, against what real CycleGAN training steps consume (two images per step,
   one per domain; the fast preset at 128 px, the quality preset at 256 px, in the global
   precision policy, float32 by default).

Run: ``python benchmarks/prepare_data.py [--photos DIR] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PHOTOS = REPO.parent / "shared" / "data" / "photos"


def bare_decode(paths: list[Path]) -> float:
    """Seconds for Pillow to decode and convert every file: the reference loop."""
    from PIL import Image

    started = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            image.convert("RGB").load()
    return time.perf_counter() - started


def prepare(photos: Path, output: Path, workers: int) -> tuple[float, int]:
    from gan_style.config import PrepareConfig
    from gan_style.data.prepare import prepare_dataset

    result = prepare_dataset(PrepareConfig(source=str(photos), output=str(output), workers=workers))
    totals = result.manifest["totals"]
    return result.seconds, totals["kept"] + totals["duplicates"] + totals["rejected"]


def pipeline_rate(dataset: Path, image_size: int, count: int) -> float:
    from gan_style.data.pipeline import image_dataset

    data = image_dataset(dataset, image_size=image_size, batch_size=1, seed=0)
    iterator = iter(data)
    for _ in range(20):  # warm-up: tracing, cache fill
        next(iterator)
    started = time.perf_counter()
    for _ in range(count):
        next(iterator)
    return count / (time.perf_counter() - started)


def training_step_rate(image_size: int, preset: str, steps: int) -> float:
    """Images/s that full CycleGAN training steps consume (one photo + one style image each)."""
    import numpy as np

    from gan_style.config import TRAIN_PRESETS, TrainConfig
    from gan_style.training.cyclegan import CycleGANTrainer

    sizes = TRAIN_PRESETS[preset]
    config = TrainConfig(
        style="-",
        name="bench",
        preset=preset,
        image_size=image_size,
        steps=steps + 10,
        num_filters=sizes["num_filters"],
        num_blocks=sizes["num_blocks"],
        disc_filters=sizes["disc_filters"],
    )
    trainer = CycleGANTrainer(config, use_augment=True)
    rng = np.random.default_rng(0)
    photo, style = (
        rng.uniform(-1, 1, (1, image_size, image_size, 3)).astype("float32") for _ in range(2)
    )
    trainer.train_step(photo, style)  # trace
    started = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(photo, style)
    return 2 * steps / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each prepare timing")
    arguments = parser.parse_args()
    if not arguments.photos.is_dir():
        print(f"skip: {arguments.photos} is absent (needs ../shared/data/photos)")
        return 0
    paths = sorted(p for p in arguments.photos.iterdir() if p.suffix.lower() == ".jpg")
    cores = os.cpu_count() or 1

    reference = min(bare_decode(paths) for _ in range(arguments.repeats))
    reference_rate = len(paths) / reference
    print(f"photos: {len(paths)} files from {arguments.photos}, {cores} cores")
    print(f"reference  bare Pillow decode+convert, 1 process: {reference_rate:7.1f} images/s")

    with tempfile.TemporaryDirectory() as scratch:
        dataset = Path(scratch) / "photos"
        for workers in sorted({1, cores}):
            timings = [
                prepare(arguments.photos, dataset, workers) for _ in range(arguments.repeats)
            ]
            seconds, files = min(timings)
            rate = files / seconds
            print(
                f"prepare-data  workers={workers}: {rate:7.1f} images/s "
                f"({seconds:.2f} s for {files} files)  = {rate / reference_rate:.2f}× reference"
            )

        for image_size, preset in ((128, "fast"), (256, "quality")):
            feed = pipeline_rate(dataset, image_size, count=300)
            consume = training_step_rate(image_size, preset, steps=3)
            print(
                f"pipeline {image_size}px: {feed:7.1f} images/s; a {preset}-preset CycleGAN "
                f"step consumes {consume:5.2f} images/s → pipeline headroom "
                f"{feed / consume:7.1f}×"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
