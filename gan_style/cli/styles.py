"""`gan-style styles`: list the styles; `styles export` and `styles import` carry them as .gsp."""

from __future__ import annotations

import json

import click

from gan_style.cli.app import cli, config_options, json_option
from gan_style.cli.tables import package_export_table, package_import_table
from gan_style.config import PackageExportConfig, PackageImportConfig

export_option = config_options(PackageExportConfig)
import_option = config_options(PackageImportConfig)


@cli.group("styles", invoke_without_command=True)
@json_option
@click.pass_context
def styles_command(context, as_json) -> None:
    """List the styles in the store and the built-in ones.

    Built-in styles are marked "built-in"; "shadowed" means one of yours has the same name, and
    --style NAME takes yours (the built-in's path still reaches it). `styles export` packs a
    style into one .gsp file; `styles import` installs one.
    """
    if context.invoked_subcommand is not None:
        return
    from gan_style import store

    styles = store.list_styles()
    if as_json:
        click.echo(json.dumps(styles, indent=1))
        return
    if not styles:
        click.echo(f"no styles in {store.styles_folder()} yet; train one with `gan-style train`")
        return
    width = max(len(style["name"]) for style in styles)
    for style in styles:
        steps = f"{style['steps']} steps" if style["steps"] else ""
        origin = ""
        if style["builtin"]:
            origin = "built-in, shadowed" if style["shadowed"] else "built-in"
        click.echo(
            f"{style['name']:<{width}}  {style['model'] or '?':<9} {steps:>12}  {origin:<18}  "
            f"{style['path']}"
        )


@styles_command.command("export")
@click.argument("style")
@export_option(
    "-o",
    "--out",
    "output",
    type=click.Path(path_type=str),
    help="The package file to write [default: NAME.gsp here].",
)
@export_option(
    "--with-checkpoints",
    is_flag=True,
    help="Also pack the training checkpoints, so the importer can train on.",
)
@export_option("--force", is_flag=True, help="Replace --out.")
@json_option
def styles_export_command(style, as_json, **options) -> None:
    """Pack STYLE into one .gsp file: generator, style.json, samples, attribution, sha256s."""
    from gan_style.package import export_package

    summary = export_package(PackageExportConfig(style=style, **options))
    click.echo(json.dumps(summary, indent=1) if as_json else package_export_table(summary))


@styles_command.command("import")
@click.argument("package", type=click.Path(path_type=str))
@import_option("--name", help="Install under this name [default: the name it was exported with].")
@import_option(
    "--force", is_flag=True, help="Replace a style of that name in the store (kept otherwise)."
)
@json_option
def styles_import_command(package, as_json, **options) -> None:
    """Check a .gsp package and install it into the store.

    Refused, with nothing written: unknown or unsafe entry names, entries over their size
    limit, a sha256 that does not match, a newer format, a generator holding code.
    """
    from gan_style.package import import_package

    summary = import_package(PackageImportConfig(package=package, **options))
    click.echo(json.dumps(summary, indent=1) if as_json else package_import_table(summary))
