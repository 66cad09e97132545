"""`gan-style transfer`: apply a style to photos of any size."""

from __future__ import annotations

import contextlib
import json
import sys

import click

from gan_style.cli.app import cli, config_options, json_option, progress_bar
from gan_style.cli.tables import transfer_table
from gan_style.config import (
    CRF_RANGE,
    MATCH_COLORS,
    MAX_TEMPORAL_SMOOTHING,
    OUTPUT_FORMATS,
    PRECISIONS,
    STROKE_SIZES,
    VIDEO_CODECS,
    TransferConfig,
    check_stroke_size,
)
from gan_style.errors import DataError

option = config_options(TransferConfig)


class _StrokeSize(click.ParamType):
    """``auto``, ``full`` or a shorter side in pixels (`gan_style.config.check_stroke_size`)."""

    name = "auto|full|N"

    def convert(self, value, param, ctx):
        candidate = value
        if isinstance(value, str) and value not in STROKE_SIZES:
            with contextlib.suppress(ValueError):
                candidate = int(value)
        # A ConfigError, so that the group prints it as one line, like the config's own checks.
        return check_stroke_size(candidate)


@cli.command("transfer")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--style", required=True, help="Style: a name in the store or the path of a style bundle."
)
@option(
    "--out",
    "output",
    type=click.Path(path_type=str),
    help="Output file (one input) or folder (created; sub-folders mirrored) "
    "[default: beside each input].",
)
@option(
    "--name-pattern",
    help="Output file names in a folder: {stem}, {style}, {ext}.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (never an input).")
@option(
    "--strength",
    type=click.FloatRange(0.0, 1.0),
    help="Blend with the input: 0 returns it unchanged, 1 is the full style.",
)
@click.option(
    "--preserve-color",
    is_flag=True,
    help="Keep the input's colours; take only the style's luminance and texture.",
)
@option(
    "--max-size",
    type=click.IntRange(min=1),
    help="Shrink images whose longer side exceeds this many pixels first.",
)
@option(
    "--tile",
    type=click.IntRange(min=0),
    help="Tile side in pixels, 0 for one pass [default: from the image size and --memory]. "
    "The result does not depend on it.",
)
@option(
    "--format",
    "output_format",
    type=click.Choice(tuple(OUTPUT_FORMATS)),
    help="Output format [default: the input's (PNG for others), or --out's extension].",
)
@option(
    "--quality",
    type=click.IntRange(1, 100),
    help="JPEG and WebP quality (100: lossless WebP).",
)
@option(
    "--precision",
    type=click.Choice(PRECISIONS),
    help="Precision of the convolutions; auto: bfloat16 on a CPU that has it natively, "
    "float16 on a GPU, else float32.",
)
@option(
    "--memory",
    "memory_budget_mb",
    type=click.IntRange(min=64),
    help="Working memory to aim at, in MiB (beside TensorFlow's ~700); tiles fit in it.",
)
@option(
    "--stroke-size",
    type=_StrokeSize(),
    help="Shorter side (px) to style at, so brush strokes keep their trained size; the result "
    "is up-sampled to full size with the photo's edges. auto: the style's own (full if it "
    "records none); full: style at full resolution.",
)
@option(
    "--detail",
    type=click.FloatRange(0.0, 2.0),
    help="Photo detail added back after styling at --stroke-size: 0 none, 1 all of it.",
)
@option(
    "--sharpen",
    type=click.FloatRange(0.0, 5.0),
    help="Unsharp-mask amount on the styled image (0: none).",
)
@option(
    "--match-colors",
    type=click.Choice(MATCH_COLORS),
    help="Move the styled colours toward the style images' palette (recorded in the bundle) "
    "or back toward the input's.",
)
@option(
    "--contrast",
    type=click.FloatRange(0.0, 3.0),
    help="Factor on the styled image's contrast (1: unchanged).",
)
@option(
    "--saturation",
    type=click.FloatRange(0.0, 3.0),
    help="Factor on the styled image's saturation (1: unchanged, 0: grey).",
)
@option(
    "--video-codec",
    type=click.Choice(tuple(VIDEO_CODECS)),
    help="Encoder of video outputs.",
)
@option(
    "--crf",
    type=click.IntRange(*CRF_RANGE),
    help="Video quality: constant rate factor (lower is better; 18 is visually lossless).",
)
@option(
    "--temporal-smoothing",
    type=click.FloatRange(0.0, MAX_TEMPORAL_SMOOTHING),
    help="Videos: weight of the previous styled frame, warped along the optical flow, on "
    "pixels visible in both frames (against flicker); 0 turns it off.",
)
@option(
    "--reference",
    "references",
    multiple=True,
    help="Reference style only: paint in the look of this image (one of the collection or any "
    "other) or folder of images; repeat to average [default: the collection's mean look].",
)
@json_option
def transfer_command(inputs, as_json, **options) -> None:
    """Apply a style to photos and videos: INPUTS are files, folders (recursive) or globs.

    Each output keeps its input's size, orientation (upright), ICC profile and metadata; a
    video keeps its frame rate, sound, subtitles and rotation. Bad inputs are reported and
    skipped; the exit code is non-zero if any failed.
    """
    from tqdm import tqdm

    from gan_style.transfer import transfer_files

    config = TransferConfig(inputs=tuple(inputs), **options)

    def tile_progress(steps):
        return tqdm(steps, desc="tiles", unit="step", file=sys.stderr, disable=None, leave=False)

    result = transfer_files(
        config,
        progress=progress_bar("transferring", unit="file"),
        tile_progress=tile_progress,
        report=lambda line: tqdm.write(line, file=sys.stderr),
        frame_progress=progress_bar("frames", unit="frame"),
    )
    summary = result.summary
    click.echo(json.dumps(summary, indent=1) if as_json else transfer_table(summary))
    if result.failed:
        total = len(result.written) + len(result.skipped) + len(result.failed)
        raise DataError(f"{len(result.failed)} of {total} inputs failed (see above)")
