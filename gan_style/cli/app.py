"""The ``gan-style`` click group: one-line errors with exit codes, the shared options, ``main``.

Errors a user can fix (`gan_style.errors.GanStyleError`) are printed as one line,
``error: <message>``, with the error type's exit code.
"""

from __future__ import annotations

import os
import sys

import click

from gan_style import __version__
from gan_style.config import defaults
from gan_style.errors import GanStyleError


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


def config_options(config_type: type):
    """A `click.option` for the commands of ``config_type``, whose defaults it reads from there.

    An option that gives no ``default`` takes its config field's (the field is the option's
    parameter name), shown in ``--help`` unless it is None or the option is a flag: the config
    stays the one place a default is written.
    """
    values = defaults(config_type)

    def option(*declarations: str, **attributes):
        name = click.Option(declarations).name
        if "default" not in attributes and name in values:
            attributes["default"] = values[name]
            shown = values[name] is not None and not attributes.get("is_flag", False)
            attributes.setdefault("show_default", shown)
        return click.option(*declarations, **attributes)

    return option


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout."
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="gan-style")
def cli() -> None:
    """Learn a personal image style with a GAN and apply it to photos at full resolution."""


def progress_bar(description: str, *, unit: str):
    """A progress-bar wrapper on stderr (silent when stderr is not a terminal)."""

    def wrap(iterable):
        from tqdm import tqdm

        return tqdm(
            iterable, desc=description, unit=unit, file=sys.stderr, disable=None, dynamic_ncols=True
        )

    return wrap


def main() -> None:
    """Console-script entry point."""
    # TensorFlow's C++ start-up chatter (oneDNN, CPU features) is noise on a command line.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cli(prog_name="gan-style")
