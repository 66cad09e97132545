"""The ``gan-style`` command line: thin click commands over the library.

Each command parses its options, builds a config, calls one library function and prints the
result. TensorFlow is imported only inside the commands that need it, so ``gan-style --help``
and ``--version`` answer at once. Errors a user can fix (`gan_style.errors.GanStyleError`) are
printed as one line, ``error: <message>``, with the error type's exit code.
"""

from __future__ import annotations

import json
import os
import sys

import click

from gan_style import __version__
from gan_style.config import PrepareConfig, defaults
from gan_style.errors import GanStyleError

PREPARE_DEFAULTS = defaults(PrepareConfig)


class _UserError(click.ClickException):
    def __init__(self, error: GanStyleError):
        super().__init__(str(error))
        self.exit_code = error.exit_code

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", file=file or sys.stderr)


class _Group(click.Group):
    """A click group that turns `GanStyleError` into a one-line message and an exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GanStyleError as error:
            raise _UserError(error) from error


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout."
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="gan-style")
def cli() -> None:
    """Learn a personal image style with a GAN and apply it to photos at full resolution."""


@cli.command("prepare-data")
@click.argument("source", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--out",
    "output",
    required=True,
    type=click.Path(path_type=str),
    help="Dataset folder to write (created, or replaced if it is a dataset already).",
)
@click.option(
    "--size",
    default=PREPARE_DEFAULTS["size"],
    show_default=True,
    help="Shorter side after resizing, in pixels (aspect ratio kept).",
)
@click.option(
    "--min-size",
    default=PREPARE_DEFAULTS["min_size"],
    show_default=True,
    help="Reject images whose shorter side is below this (the training crop size).",
)
@click.option("--upscale", is_flag=True, help="Enlarge images smaller than --size.")
@click.option(
    "--holdout",
    default=PREPARE_DEFAULTS["holdout"],
    show_default=True,
    help="Fraction held out for evaluation (at least one image from ten kept).",
)
@click.option(
    "--seed",
    default=PREPARE_DEFAULTS["seed"],
    show_default=True,
    help="Seed of the held-out split.",
)
@click.option(
    "--dedupe-distance",
    default=PREPARE_DEFAULTS["dedupe_distance"],
    show_default=True,
    help="Max pHash Hamming distance (of 64 bits) for near-duplicates; -1: off.",
)
@click.option(
    "--max-pixels",
    default=PREPARE_DEFAULTS["max_pixels"],
    show_default=True,
    help="Reject images with more pixels than this (decompression bombs).",
)
@click.option(
    "--background",
    default="255,255,255",
    show_default=True,
    help="R,G,B colour that transparent pixels are composited onto.",
)
@click.option(
    "--shard-size",
    default=PREPARE_DEFAULTS["shard_size"],
    show_default=True,
    help="Images per TFRecord shard.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Decoding processes [default: all cores].",
)
@json_option
def prepare_data(
    source,
    output,
    size,
    min_size,
    upscale,
    holdout,
    seed,
    dedupe_distance,
    max_pixels,
    background,
    shard_size,
    workers,
    as_json,
) -> None:
    """Validate, convert, resize, deduplicate and shard the images under SOURCE.

    Every file ends as kept (train or held out), duplicate or rejected with a reason; the
    record is DATASET/manifest.json. One bad file never stops the run.
    """
    from gan_style.data.prepare import prepare_dataset

    config = PrepareConfig(
        source=source,
        output=output,
        size=size,
        min_size=min_size,
        upscale=upscale,
        holdout=holdout,
        seed=seed,
        dedupe_distance=dedupe_distance,
        max_pixels=max_pixels,
        background=_parse_colour(background),
        shard_size=shard_size,
        workers=workers,
    )
    result = prepare_dataset(config, progress=_progress("decoding", unit="file"))
    summary = result.summary
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    click.echo(_prepare_table(summary, source))


def _parse_colour(text: str) -> tuple[int, int, int]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise click.BadParameter(
            f"expected R,G,B such as 255,255,255, got {text!r}", param_hint="--background"
        )
    return values  # type: ignore[return-value]


def _progress(description: str, *, unit: str):
    """A progress-bar wrapper on stderr (silent when stderr is not a terminal)."""

    def wrap(iterable):
        from tqdm import tqdm

        return tqdm(
            iterable, desc=description, unit=unit, file=sys.stderr, disable=None, dynamic_ncols=True
        )

    return wrap


def _prepare_table(summary: dict, source: str) -> str:
    rate = summary["images_per_second"]
    lines = [
        f"prepared {source} → {summary['output']} in {summary['seconds']:.1f} s"
        + (f" ({rate:.1f} images/s)" if rate else ""),
        f"  kept        {summary['kept']:6d}   train {summary['train']}, "
        f"held out {summary['holdout']}",
        f"  duplicates  {summary['duplicates']:6d}",
        f"  rejected    {summary['rejected']:6d}",
    ]
    for reason, count in summary["rejected_by_reason"].items():
        lines.append(f"    {reason:<28s}{count:6d}")
    lines.append(f"  ignored     {summary['ignored']:6d}   non-image files")
    return "\n".join(lines)


def main() -> None:
    """Console-script entry point."""
    # TensorFlow's C++ start-up chatter (oneDNN, CPU features) is noise on a command line.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cli(prog_name="gan-style")
