"""Benchmark of full-resolution transfer: speed, peak memory and bfloat16's accuracy.

Prints, all measured in this one run (the machine is shared and noisy, so compare figures of
one run with each other, not across runs):

1. The reference: GFLOP/s of one large 3×3 Conv2D (256 → 256 channels on a 1×192×192 map) in
   float32 and in bfloat16, at the start and at the end of the run (the drift between the two
   shows how much the machine's load changed meanwhile).
2. For each preset's generator (fast: 32 filters, 6 blocks; quality: 64 filters, 9 blocks) on
   1, 4 and 12 megapixel photos (12 MP end to end: a JPEG decoded, styled and encoded by
   `transfer_files`): the plan (one pass, or tiles with the trunk's mode and tile, and whether
   the decoder stores its half-resolution map), seconds (the faster of two runs at 1 MP),
   megapixels/s, peak resident memory (VmHWM of a fresh process per case, TensorFlow's own
   ~0.7 GB included), the planner's check (the working memory the run added to the peak after
   tracing, as a ratio of the plan's estimate: above 1 the planner underestimated, and the
   summary line says so) and the achieved GFLOP/s: the generator's convolution FLOPs per pixel
   (counted from its layer shapes) × pixels / seconds, so the recomputation and halos of
   tiling count as overhead, as a ratio of the reference in the same precision. One pass is
   run where its estimated memory stays under ``--untiled-limit`` GB.
3. Accuracy on the 1 MP photo: PSNR of tiled against one-pass output (float32), and of
   bfloat16 against float32 output, with bfloat16's speed-up.

The generators have their initial random weights (seeded), or ``--style`` names a trained
bundle to measure instead of the presets; the photo is the largest of ``../shared/data/photos``
(else a synthetic one), resized with Lanczos.

Run: ``python benchmarks/transfer.py [--style NAME|PATH] [--sizes 1,4,12]
[--presets fast,quality] [--precision mixed_bfloat16]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"
PRESETS = {"fast": (32, 6), "quality": (64, 9)}


# --- Measurements, each in a fresh process (so that VmHWM is the case's own peak) -----------


def peak_megabytes() -> float:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def photo(width: int, height: int):
    """The largest photo of ../shared/data/photos resized to (width, height), or a synthetic."""
    from PIL import Image

    candidates = sorted(PHOTOS.glob("*.jpg"), key=lambda path: path.stat().st_size)
    if candidates:
        with Image.open(candidates[-1]) as opened:
            image = opened.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        return np.asarray(image)
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(image)


def generator_for(case: dict):
    """The preset's generator with its seeded initial weights, or the trained style's."""
    import keras

    from gan_style.models.generators import build_resnet_generator

    if case.get("style"):
        from gan_style import store

        return store.load_generator(store.resolve_style(case["style"]))
    keras.utils.set_random_seed(0)
    num_filters, num_blocks = PRESETS[case["preset"]]
    return build_resnet_generator(num_filters=num_filters, num_blocks=num_blocks)


def child(case: dict) -> dict:
    """Runs one case and returns its measurements.

    ``end_to_end`` cases run what ``gan-style transfer photo.jpg --out out.jpg`` runs (decode,
    style, encode a JPEG, through `transfer_files` and a style bundle), so their peak memory is
    a user's; the others time the generator alone on decoded pixels.
    """
    from PIL import Image

    from gan_style import store
    from gan_style.tiling import MIN_TILE, TiledGenerator
    from gan_style.transfer import TransferConfig, load_stylizer, transfer_files

    width = round((case["megapixels"] * 1e6 * 4 / 3) ** 0.5)
    height = round(width * 3 / 4)
    pixels = photo(width, height)
    if case.get("end_to_end"):
        scratch = Path(tempfile.mkdtemp())
        bundle = scratch / "bundle"
        store.save_generator(bundle, generator_for(case))
        store.write_style(bundle, {"name": "benchmark", "model": "cyclegan", "config": {}})
        source = scratch / "photo.jpg"
        Image.fromarray(pixels).save(source, quality=95)
        del pixels
        generator = load_stylizer(bundle, case["precision"]).generator
    else:
        generator = TiledGenerator(generator_for(case), case["precision"])
    plan = generator.plan(height, width, tile=case["tile"])
    # Trace every compiled function on a small image run the same way.
    small = photo(256, 192)
    if plan.tile:
        generator.run(small, generator.plan(192, 256, tile=MIN_TILE * 2, trunk=plan.trunk))
    else:
        generator.run(small, generator.plan(192, 256, tile=0))
    del small
    traced_mb = peak_megabytes()  # TensorFlow, the traced functions and the decoded photo
    seconds = float("inf")
    for _ in range(case.get("repeats", 1)):  # the fastest of the repeats
        started = time.perf_counter()
        if case.get("end_to_end"):
            config = TransferConfig(
                inputs=(str(source),),
                style=str(bundle),
                output=str(scratch / "styled.jpg"),
                overwrite=True,
                tile=case["tile"],
                precision=case["precision"],
            )
            result = transfer_files(config)
            if result.failed or not result.written:
                raise RuntimeError(f"transfer failed: {result.summary}")
        else:
            output = generator.run(pixels, plan)
        seconds = min(seconds, time.perf_counter() - started)
    if case.get("save"):
        np.save(case["save"], np.clip(np.rint((output + 1) * 127.5), 0, 255).astype(np.uint8))
    return {
        "seconds": seconds,
        "peak_mb": peak_megabytes(),
        "traced_mb": traced_mb,
        "pixels": width * height,
        "tile": plan.tile,
        "trunk": plan.trunk,
        "trunk_tile": plan.trunk_tile,
        "decoder": plan.decoder,
        "estimated_mb": plan.estimated_bytes / 2**20,
        "flops_per_pixel": generator.flops_per_pixel(),
        "end_to_end": bool(case.get("end_to_end")),
    }


def measure(case: dict) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(case)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- The reference ------------------------------------------------------------------------


def reference_gflops(dtype: str, repeats: int = 5) -> float:
    """GFLOP/s of a large 3×3 convolution (256 → 256 channels, 1×192×192) in `dtype`."""
    import tensorflow as tf

    size, channels = 192, 256
    inputs = tf.cast(tf.random.normal((1, size + 2, size + 2, channels)), dtype)
    kernel = tf.cast(tf.random.normal((3, 3, channels, channels)) * 0.02, dtype)
    convolve = tf.function(lambda x, k: tf.nn.conv2d(x, k, 1, "VALID"))
    convolve(inputs, kernel).numpy()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        convolve(inputs, kernel).numpy()
        best = min(best, time.perf_counter() - started)
    return 2.0 * 9 * channels * channels * size * size / best / 1e9


def psnr(first, second) -> float:
    error = np.mean((first.astype(np.float64) - second.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


# --- The run ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--style", help="a trained style (name or bundle) to measure instead")
    parser.add_argument("--sizes", default="1,4,12", help="megapixels, comma-separated")
    parser.add_argument("--presets", default="fast,quality", help="comma-separated")
    parser.add_argument(
        "--precision",
        default="mixed_bfloat16",
        help="precision of the 4 and 12 MP runs (the 1 MP runs measure both)",
    )
    parser.add_argument("--untiled-limit", type=float, default=5.0, help="GB")
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(child(json.loads(arguments.child))))
        return 0

    started = time.perf_counter()
    sizes = [float(size) for size in arguments.sizes.split(",")]
    presets = ["style"] if arguments.style else arguments.presets.split(",")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    reference = {dtype: reference_gflops(dtype) for dtype in ("float32", "bfloat16")}
    print(
        f"reference  3×3 Conv2D 256→256 on 192×192: {reference['float32']:6.1f} GFLOP/s "
        f"float32, {reference['bfloat16']:6.1f} GFLOP/s bfloat16"
    )
    print(
        f"{'preset':8s} {'MP':>5s} {'precision':9s} {'plan':52s} {'s':>7s} {'MP/s':>6s} "
        f"{'peak MB':>8s} {'est MB':>7s} {'× est':>6s} {'GFLOP/s':>8s} {'× ref':>6s}"
    )
    accuracy, memory_checks = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for preset in presets:
            for megapixels in sizes:
                results = {}
                for precision, tile, name in cases_for(megapixels, arguments.precision):
                    case = {
                        "preset": preset,
                        "megapixels": megapixels,
                        "tile": tile,
                        "precision": precision,
                        "style": arguments.style,
                        "save": str(Path(scratch) / f"{preset}-{name}.npy") if name else None,
                    }
                    if tile == 0 and not fits_untiled(case, arguments.untiled_limit):
                        continue
                    case["end_to_end"] = tile is None and megapixels >= 10
                    case["repeats"] = 2 if megapixels <= 1 else 1
                    results[name] = measure(case)
                    memory_checks.append(working_ratio(results[name]))
                    print_row(preset, megapixels, precision, results[name], reference)
                if megapixels <= 1:
                    accuracy.append((preset, results))
        for preset, results in accuracy:

            def load(name, preset=preset):
                return np.load(Path(scratch) / f"{preset}-{name}.npy")

            speedup = results["float32-whole"]["seconds"] / results["bfloat16-whole"]["seconds"]
            print(
                f"{preset}: tiled vs one pass (float32) PSNR "
                f"{psnr(load('float32-tiled'), load('float32-whole')):.1f} dB; bfloat16 vs "
                f"float32 PSNR {psnr(load('bfloat16-whole'), load('float32-whole')):.1f} dB, "
                f"bfloat16 {speedup:.2f}× as fast"
            )
    worst = max(memory_checks)
    verdict = "within its estimates" if worst <= 1.0 else "ABOVE its estimate: the planner is low"
    print(
        f"planner: measured working memory {min(memory_checks):.2f}-{worst:.2f}× the plans' "
        f"estimates over {len(memory_checks)} runs, {verdict}"
    )
    end_reference = {dtype: reference_gflops(dtype) for dtype in ("float32", "bfloat16")}
    print(
        f"reference at the end: {end_reference['float32']:6.1f} GFLOP/s float32, "
        f"{end_reference['bfloat16']:6.1f} GFLOP/s bfloat16; load average "
        f"{os.getloadavg()[0]:.2f}; whole run {time.perf_counter() - started:.0f} s"
    )
    return 0


def cases_for(megapixels: float, precision: str) -> list[tuple[str, int | None, str | None]]:
    """(precision, tile, name to save the output under) of each run at one size.

    Up to 1 MP: one pass in float32 and bfloat16 and 512-pixel tiles in float32, saved for the
    accuracy comparisons. Larger: one pass (where it fits) and the automatic plan, which from
    10 MP on runs end to end (JPEG in, JPEG out), as a user would.
    """
    if megapixels <= 1:
        return [
            ("float32", 0, "float32-whole"),
            ("mixed_bfloat16", 0, "bfloat16-whole"),
            ("float32", 512, "float32-tiled"),
        ]
    return [(precision, 0, None), (precision, None, None)]


def fits_untiled(case: dict, limit_gb: float) -> bool:
    """Whether a one-pass run's estimated memory stays under the limit.

    The largest one-pass activation is the decoder's up-sampled map, 2 × num_filters channels
    of float32 at full resolution; the plan counts 3.5 of them and 24 bytes per pixel of images.
    """
    num_filters = PRESETS.get(case["preset"], (64, 9))[0]
    pixels = case["megapixels"] * 1e6
    return 3.5 * pixels * 2 * num_filters * 4 + 24 * pixels <= limit_gb * 2**30


def working_ratio(result: dict) -> float:
    """Memory the run itself added to the peak (over what tracing left), per estimated byte."""
    return (result["peak_mb"] - result["traced_mb"]) / result["estimated_mb"]


def print_row(preset: str, megapixels: float, precision: str, result: dict, reference) -> None:
    if result["tile"]:
        plan = f"tiles {result['tile']}, trunk {result['trunk']}"
        if result["trunk"] != "whole":
            plan += f" {result['trunk_tile']}"
        if result["decoder"] == "stored":
            plan += ", decoder stored"
    else:
        plan = "one pass"
    if result["end_to_end"]:
        plan += ", JPEG→JPEG"
    rate = result["pixels"] / 1e6 / result["seconds"]
    gflops = result["flops_per_pixel"] * result["pixels"] / result["seconds"] / 1e9
    reference_rate = reference["float32" if precision == "float32" else "bfloat16"]
    short = "float32" if precision == "float32" else "bfloat16"
    print(
        f"{preset:8s} {megapixels:5.1f} {short:9s} {plan:52s} {result['seconds']:7.1f} "
        f"{rate:6.3f} {result['peak_mb']:8.0f} {result['estimated_mb']:7.0f} "
        f"{working_ratio(result):6.2f} {gflops:8.1f} {gflops / reference_rate:6.2f}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
