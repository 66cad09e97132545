"""The ``gan-style`` command line: thin click commands over the library.

Each command parses its options, builds a config, calls one library function and prints the
result. TensorFlow is imported only inside the commands that need it, so ``gan-style --help``
and ``--version`` answer at once. Errors a user can fix (`gan_style.errors.GanStyleError`) are
printed as one line, ``error: <message>``, with the error type's exit code.
"""

from gan_style.cli import (  # noqa: F401
    evaluate,
    export,
    generate,
    prepare,
    styles,
    train,
    transfer,
)
from gan_style.cli.app import cli, main

__all__ = ["cli", "main"]
