"""Training pieces: losses, differentiable augmentation, the history pool of fakes.

This package module imports nothing heavy. The option names it lists are defined once, in
`gan_style.config` (which imports nothing from here); a test checks the loss names against the
registry in `gan_style.training.losses`.
"""

from gan_style.config import DIFF_AUGMENT_POLICIES, TRAIN_LOSSES, parse_augment_policy

#: The adversarial losses the trainers train (the same tuple as `gan_style.config.TRAIN_LOSSES`).
ADVERSARIAL_LOSS_NAMES = TRAIN_LOSSES

__all__ = ["ADVERSARIAL_LOSS_NAMES", "DIFF_AUGMENT_POLICIES", "parse_augment_policy"]
