"""`gan-style export`: a style's generator as ONNX, TFLite or a SavedModel, checked."""

from __future__ import annotations

import json

import click

from gan_style.cli.app import cli, config_options, json_option
from gan_style.cli.tables import export_table
from gan_style.config import EXPORT_FORMATS, ExportConfig

option = config_options(ExportConfig)


@cli.command("export")
@click.option(
    "--style",
    required=True,
    help="Style: a name in the store, a bundle's path or a .gsp package.",
)
@click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMATS),
    required=True,
    help="onnx (onnxruntime alone runs it), tflite (phones) or saved_model (a folder).",
)
@click.option(
    "-o",
    "--out",
    "output",
    type=click.Path(path_type=str),
    required=True,
    help="The file (onnx, tflite) or folder (saved_model) to write.",
)
@option("--force", is_flag=True, help="Replace --out.")
@json_option
def export_command(as_json, **options) -> None:
    """Export a style's photo → style generator (float32, any height and width).

    The export is run right after writing on two check images and compared with the Keras
    model (max and mean absolute difference); ONNX and SavedModel must agree to 1e-4.
    """
    from gan_style.export import export_style

    summary = export_style(ExportConfig(**options))
    click.echo(json.dumps(summary, indent=1) if as_json else export_table(summary))
