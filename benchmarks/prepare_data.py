"""Benchmark of data preparation and of the tf.data pipeline that feeds training.

Prints, all measured in this one run (the machine is shared and noisy, so only ratios between
figures of one run mean much):

1. prepare-data images/s on ../shared/data/photos (155 real photos, up to 1024 px) with one and
   with every worker process, as a ratio against a bare Pillow decode-and-convert loop over the
   same files (the reference: what any tool must at least spend).
2. The training pipeline's images/s (decode + crop + flip + scale from the prepared shards) at
   128 and 256 px, against what a training step consumes: the images/s of one
   `train_on_batch` of a ResNet generator (two images, one per domain, per CycleGAN step). A
   full CycleGAN step does several such passes, so this consumption is an upper bound and the
   headroom printed is a lower bound.

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


def generator_step_rate(image_size: int, num_filters: int, num_blocks: int, steps: int) -> float:
    """Images/s that one generator `train_on_batch` per CycleGAN step would consume."""
    import numpy as np

    from gan_style.models.generators import build_resnet_generator

    generator = build_resnet_generator(num_filters=num_filters, num_blocks=num_blocks)
    generator.compile(optimizer="adam", loss="mae")
    batch = np.random.default_rng(0).uniform(-1, 1, (1, image_size, image_size, 3))
    batch = batch.astype("float32")
    generator.train_on_batch(batch, batch)  # trace
    started = time.perf_counter()
    for _ in range(steps):
        generator.train_on_batch(batch, batch)
    seconds_per_step = (time.perf_counter() - started) / steps
    return 2 / seconds_per_step  # one photo and one style image per step


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

        for image_size, num_filters, num_blocks in ((128, 32, 6), (256, 64, 9)):
            feed = pipeline_rate(dataset, image_size, count=300)
            consume = generator_step_rate(image_size, num_filters, num_blocks, steps=5)
            print(
                f"pipeline {image_size}px: {feed:7.1f} images/s; one ResNet generator "
                f"update ({num_filters} filters, {num_blocks} blocks) consumes "
                f"{consume:5.1f} images/s → pipeline headroom {feed / consume:6.1f}×"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
