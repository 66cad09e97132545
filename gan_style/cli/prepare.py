"""`gan-style prepare-data`: a messy folder → a clean, sharded dataset."""

from __future__ import annotations

import json

import click

from gan_style.cli.app import cli, config_options, json_option, progress_bar
from gan_style.cli.tables import prepare_table
from gan_style.config import (
    PrepareConfig,
)

option = config_options(PrepareConfig)


@cli.command("prepare-data")
@click.argument("source", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--out",
    "output",
    required=True,
    type=click.Path(path_type=str),
    help="Dataset folder to write (created, or replaced if it is a dataset already).",
)
@option(
    "--size",
    help="Shorter side after resizing, in pixels (aspect ratio kept).",
)
@option(
    "--min-size",
    help="Reject images whose shorter side is below this (the training crop size).",
)
@click.option("--upscale", is_flag=True, help="Enlarge images smaller than --size.")
@option(
    "--holdout",
    help="Fraction held out for evaluation (at least one image from ten kept).",
)
@option(
    "--seed",
    help="Seed of the held-out split.",
)
@option(
    "--dedupe-distance",
    help="Max pHash Hamming distance (of 64 bits) for near-duplicates; -1: off.",
)
@option(
    "--max-pixels",
    help="Reject images with more pixels than this (decompression bombs).",
)
@click.option(
    "--background",
    default="255,255,255",
    show_default=True,
    help="R,G,B colour that transparent pixels are composited onto.",
)
@option(
    "--shard-size",
    help="Images per TFRecord shard.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Decoding threads [default: one per core].",
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
    result = prepare_dataset(config, progress=progress_bar("decoding", unit="file"))
    summary = result.summary
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    click.echo(prepare_table(summary, source))


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
