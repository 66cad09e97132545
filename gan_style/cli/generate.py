"""`gan-style generate`: new images from a dcgan style."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gan_style.cli.app import cli, config_options, json_option
from gan_style.config import (
    GenerateConfig,
)

option = config_options(GenerateConfig)


@cli.command("generate")
@click.option("--style", required=True, help="A dcgan style: a name in the store or a path.")
@option(
    "-n",
    "--count",
    type=click.IntRange(min=1),
    help="Images.",
)
@option(
    "--seed",
    type=click.IntRange(min=0),
    help="Seed of the noise: the same seed gives the same images.",
)
@option(
    "--truncation",
    type=click.FloatRange(min=0, min_open=True),
    help="Redraw noise beyond ±t: below ~1, more typical and less varied images [default: off].",
)
@option(
    "--out",
    "output",
    type=click.Path(file_okay=False, path_type=str),
    help="Folder for the images, one PNG each [default: STYLE-generated, unless --grid alone].",
)
@option(
    "--grid",
    type=click.Path(dir_okay=False, path_type=str),
    help="Also (or only) write all images in one PNG grid here.",
)
@json_option
def generate_command(as_json, **options) -> None:
    """New images in a learned style, from a style trained with `train --model dcgan`."""
    from gan_style.atomic import write_bytes_atomic
    from gan_style.generate import generate_images, grid_png, write_images

    config = GenerateConfig(**options)
    generated = generate_images(
        config.style, config.count, seed=config.seed, truncation=config.truncation
    )
    output, grid = config.output, config.grid
    if output is None and grid is None:
        output = f"{generated.style}-generated"
    paths = write_images(generated, output) if output is not None else []
    if grid is not None:
        Path(grid).parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(grid, grid_png(generated))
    summary = {
        "style": generated.style,
        "count": len(generated.images),
        "seed": config.seed,
        "truncation": config.truncation,
        "size": list(generated.images.shape[1:3]),
        "images": [str(path) for path in paths],
        "grid": grid,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    where = [f"{len(paths)} images in {output}"] if paths else []
    where += [f"grid {grid}"] if grid else []
    size = "×".join(str(side) for side in summary["size"])
    click.echo(
        f"generated {summary['count']} {size} images of {generated.style!r}: " + ", ".join(where)
    )
