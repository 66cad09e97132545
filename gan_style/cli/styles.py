"""`gan-style styles`: the styles in the store and the built-in ones."""

from __future__ import annotations

import json

import click

from gan_style.cli.app import cli, json_option


@cli.command("styles")
@json_option
def styles_command(as_json) -> None:
    """List the styles in the store and the built-in ones.

    Built-in styles are marked "built-in"; "shadowed" means one of yours has the same name, and
    --style NAME takes yours (the built-in's path still reaches it).
    """
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
