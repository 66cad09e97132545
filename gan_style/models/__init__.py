"""Generators, discriminators and the custom layers they are made of.

The builders live in `gan_style.models.generators` and `gan_style.models.discriminators`, each
with a registry by name (`GENERATORS`, `DISCRIMINATORS`). This package module itself imports
nothing heavy: the CLI takes its `click.Choice` lists from the name tuples below without paying
for a TensorFlow import, and a test checks that they match the registries.
"""

from collections.abc import Mapping
from typing import TypeVar

from gan_style.errors import ConfigError

GENERATOR_NAMES = ("resnet", "dcgan")
DISCRIMINATOR_NAMES = ("patch", "dcgan", "projected")

_Entry = TypeVar("_Entry")


def lookup(registry: Mapping[str, _Entry], name: str, kind: str) -> _Entry:
    """Returns the registry entry called `name`.

    Args:
        registry: Mapping from name to entry (a builder, a loss specification, ...).
        name: The name asked for, usually from a config or a command-line option.
        kind: What the registry holds, for the error message (e.g. "generator").

    Returns:
        The entry registered under `name`.

    Raises:
        ConfigError: (a `ValueError`) if `name` is not registered; the message lists the valid
            names.
    """
    try:
        return registry[name]
    except KeyError:
        valid = ", ".join(repr(key) for key in registry)
        raise ConfigError(f"Unknown {kind} {name!r}; expected one of: {valid}.") from None


def check_positive_int(value: int, argument: str) -> None:
    """Raises ValueError unless `value` is an int of at least 1 (bools are refused).

    Args:
        value: The value received.
        argument: Its argument name, for the message.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{argument} must be a positive int; received {value!r}.")


def check_power_of_two_size(image_size: int) -> None:
    """Raises ValueError unless `image_size` is a power of two of at least 8 (DCGAN models).

    Args:
        image_size: The image side received.
    """
    check_positive_int(image_size, "image_size")
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(
            f"image_size must be a power of two of at least 8 (8, 16, 32, 64, ...); "
            f"received {image_size!r}."
        )
