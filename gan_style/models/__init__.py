"""Generators, discriminators and the custom layers they are made of.

The builders live in `gan_style.models.generators` and `gan_style.models.discriminators`; the
trainers call them by name of function (the choices a user has, such as
``--discriminator``, are in `gan_style.config`). This package module holds the argument checks
they share and imports nothing heavy.
"""


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
