"""Training pieces: losses, differentiable augmentation, the history pool of fakes.

This package module imports nothing heavy, so the CLI and the config can take their choices
from the names below, and check a DiffAugment policy, without importing TensorFlow; a test
checks the loss names against the registry in `gan_style.training.losses`.
"""

ADVERSARIAL_LOSS_NAMES = ("lsgan", "bce", "hinge", "wgan-gp")
DIFF_AUGMENT_POLICIES = ("color", "translation", "cutout")


def parse_augment_policy(policy: str) -> tuple[str, ...]:
    """Splits a DiffAugment policy such as "color,translation,cutout" into its names.

    Args:
        policy: Comma-separated names from `DIFF_AUGMENT_POLICIES`; "" for none.

    Returns:
        The names, in the order given (the order they are applied in).

    Raises:
        ValueError: If `policy` is not a string or names an unknown augmentation.
    """
    if not isinstance(policy, str):
        raise ValueError(f"policy must be a comma-separated string; received {policy!r}.")
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in DIFF_AUGMENT_POLICIES]
    if unknown:
        raise ValueError(
            f"Unknown DiffAugment policy {', '.join(map(repr, unknown))} in {policy!r}; "
            f"expected comma-separated names from {', '.join(DIFF_AUGMENT_POLICIES)}."
        )
    return names
