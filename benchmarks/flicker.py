"""Benchmark of video flicker: the temporal warping error with and without smoothing.

Builds a slow pan over a photo of ``../shared/data/photos`` (a window of ``--size`` pixels
moving ``--speed`` pixels per frame; ``budgie_lake-sherburne.jpg``, CC0, by default), styles
every frame with ``--style`` (the built-in ``monet`` by default) at each smoothing weight, and
prints, all measured in this one run:

- the warping error (`gan_style.temporal.warping_error`: mean |o_t − warp(o_{t−1})| in 8-bit
  levels over the pixels visible in both frames, flow and occlusions from the input frames)
  of the input itself (the reference) and of each styled version, as a ratio to the input's,
  and the ratio of the unsmoothed error to each smoothed one;
- the mean SSIM of each styled frame to its input frame (`gan_style.metrics.content`), next to
  the SSIM of the first frame styled as a single image (what a photo gets);
- seconds per frame.

``--strip FILE`` also draws four frames side by side, input / styled / styled with smoothing at
``--strip-weight``, for the README; ``--clip FILE`` writes the pan as an H.264 clip, to try
``gan-style transfer`` on.

Run: ``python benchmarks/flicker.py [--style monet] [--weights 0,0.5,0.7,0.8] [--frames 32]
[--strip docs/video_strip.jpg] [--clip pan.mp4]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PHOTOS = REPO.parent / "shared" / "data" / "photos"


def pan_frames(photo: Path, width: int, height: int, frames: int, speed: float) -> list:
    """A horizontal pan: windows of ``width`` × ``height`` moving ``speed`` px per frame.

    The photo is scaled (Lanczos) so that its height is the window's and the pan fits in its
    width; sub-pixel positions are resampled bicubically, as a camera's pan is.
    """
    from PIL import Image

    image = Image.open(photo).convert("RGB")
    scale = max(height / image.height, (width + speed * frames) / image.width)
    size = (round(image.width * scale), round(image.height * scale))
    image = image.resize(size, Image.Resampling.LANCZOS)
    top = (image.height - height) // 2
    return [
        np.asarray(
            image.transform(
                (width, height),
                Image.Transform.AFFINE,
                (1, 0, index * speed, 0, 1, top),
                Image.Resampling.BICUBIC,
            )
        )
        for index in range(frames)
    ]


def draw_strip(path: Path, frames, styled, smoothed, weight: float, shown: int = 4) -> None:
    """Consecutive frames from the middle of the clip, half size: input, styled, smoothed, and
    for the last two the warping error map |o_t − warp(o_{t−1})| (× 16, black: none)."""
    from PIL import Image, ImageDraw

    from gan_style.temporal import flows, warp

    first = len(frames) // 2
    picks = list(range(first, first + shown))
    height, width = frames[0].shape[:2]
    cell = (width // 2, height // 2)
    label = 170

    def error_map(outputs, index):
        flow, visible = flows(frames[index - 1], frames[index])
        difference = np.abs(outputs[index].astype(np.float32) - warp(outputs[index - 1], flow))
        difference[~visible] = 0
        return np.clip(difference * 16, 0, 255).astype(np.uint8)

    rows = [
        ("input", [frames[index] for index in picks]),
        ("styled", [styled[index] for index in picks]),
        (f"smoothed {weight:g}", [smoothed[index] for index in picks]),
        ("styled: warp error x16", [error_map(styled, index) for index in picks]),
        ("smoothed: warp error x16", [error_map(smoothed, index) for index in picks]),
    ]
    sheet = Image.new("RGB", (label + cell[0] * shown, cell[1] * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, (name, images) in enumerate(rows):
        draw.text((8, row * cell[1] + cell[1] // 2), name, fill="black")
        for column, image in enumerate(images):
            tile = Image.fromarray(image).resize(cell, Image.Resampling.LANCZOS)
            sheet.paste(tile, (label + column * cell[0], row * cell[1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=88)
    print(f"strip of frames {picks} written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="monet")
    parser.add_argument("--photo", default=str(PHOTOS / "budgie_lake-sherburne.jpg"))
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--speed", type=float, default=3.0)
    parser.add_argument("--weights", default="0,0.5,0.7,0.8")
    parser.add_argument("--stroke-size", default="auto")
    parser.add_argument("--strip", help="draw input / styled / smoothed frames to this file")
    parser.add_argument("--strip-weight", type=float, default=0.8)
    parser.add_argument("--clip", help="write the pan as an H.264 clip to this file")
    arguments = parser.parse_args()

    from gan_style.metrics.content import structural_similarity
    from gan_style.stylizer import load_stylizer
    from gan_style.temporal import TemporalSmoother, warping_error

    width, height = (int(value) for value in arguments.size.split("x"))
    frames = pan_frames(Path(arguments.photo), width, height, arguments.frames, arguments.speed)
    if arguments.clip:
        from tests.conftest import make_clip

        make_clip(
            Path(arguments.clip),
            frames=len(frames),
            width=width,
            height=height,
            frame_source=lambda _width, _height, index: frames[index],
        )
    stroke = arguments.stroke_size
    stroke = int(stroke) if stroke.isdigit() else stroke
    stylizer = load_stylizer(arguments.style)
    from PIL import Image

    started = time.perf_counter()
    styled = [
        np.asarray(stylizer.apply(Image.fromarray(frame), stroke_size=stroke)) for frame in frames
    ]
    style_seconds = (time.perf_counter() - started) / len(frames)
    reference = warping_error(frames, frames)
    print(
        f"pan of {Path(arguments.photo).name}: {len(frames)} frames of {width}×{height}, "
        f"{arguments.speed} px/frame; style {stylizer.name}, stroke size {stroke}"
    )
    print(f"input warping error {reference:.3f} levels (the reference, ratio 1)")
    print(f"styling: {style_seconds:.3f} s/frame")

    def ssim(outputs):
        return float(
            np.mean(
                [
                    structural_similarity(output / 255.0, frame / 255.0)
                    for output, frame in zip(outputs, frames[: len(outputs)], strict=True)
                ]
            )
        )

    print(f"SSIM of a single image (frame 0 styled alone): {ssim(styled[:1]):.4f}")
    if arguments.strip:
        smoother = TemporalSmoother(arguments.strip_weight)
        smoothed = [smoother(frame, out) for frame, out in zip(frames, styled, strict=True)]
        draw_strip(Path(arguments.strip), frames, styled, smoothed, arguments.strip_weight)
    unsmoothed = None
    print("weight  warp error  × input  unsmoothed ÷ this  SSIM to input  smoothing s/frame")
    for weight in (float(value) for value in arguments.weights.split(",")):
        smoother = TemporalSmoother(weight)
        started = time.perf_counter()
        outputs = [smoother(frame, out) for frame, out in zip(frames, styled, strict=True)]
        seconds = (time.perf_counter() - started) / len(frames)
        error = warping_error(outputs, frames)
        unsmoothed = error if unsmoothed is None else unsmoothed
        print(
            f"{weight:6.2f}  {error:10.3f}  {error / reference:7.2f}  {unsmoothed / error:17.2f}"
            f"  {ssim(outputs):13.4f}  {seconds:17.3f}"
        )


if __name__ == "__main__":
    main()
