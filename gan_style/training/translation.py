"""What the photo → style trainers (CycleGAN, CUT) share: the exported ResNet generator."""

from __future__ import annotations

import keras
import numpy as np

from gan_style.config import TrainConfig
from gan_style.models.discriminators import (
    build_patch_discriminator,
    build_projected_discriminator,
)
from gan_style.models.generators import build_resnet_generator


class PhotoToStyleTrainer:
    """Base of the trainers whose bundle ships ``generator_photo_to_style``.

    Subclasses set ``config`` (resolved), ``generator_photo_to_style`` and ``_score_shape``.
    """

    config: TrainConfig
    generator_photo_to_style: keras.Sequential
    _score_shape: tuple[int, ...]

    def build_generator(self, name: str = "generator_photo_to_style") -> keras.Sequential:
        """A fresh generator of this run's architecture (under the current dtype policy)."""
        config = self.config
        return build_resnet_generator(
            config.image_size,
            config.num_filters,
            config.num_blocks,
            name=name,
            antialias=config.antialias,
        )

    def build_discriminator(
        self,
        name: str,
        augment: keras.layers.Layer | None,
        seed_offset: int,
        kind: str | None = None,
    ) -> keras.Sequential:
        """A fresh discriminator of this run's kind (``kind``, else ``config.discriminator``).

        The projected one reads the EfficientNet-Lite0 weights once per trainer
        (`gan_style.models.projected.load_backbone_arrays`, ``config.backbone_weights``).
        """
        config = self.config
        if (kind or config.discriminator) == "projected":
            if getattr(self, "_backbone", None) is None:
                from gan_style.models.projected import load_backbone_arrays

                self._backbone = load_backbone_arrays(config.backbone_weights)
            return build_projected_discriminator(
                config.disc_filters,
                augment=augment,
                name=name,
                backbone=self._backbone,
                seed=config.seed + 50 + seed_offset,
            )
        return build_patch_discriminator(
            config.disc_filters,
            config.disc_layers,
            augment=augment,
            name=name,
            antialias=config.antialias,
        )

    @property
    def exported_generator(self) -> keras.Sequential:
        """The network a bundle ships: photo → style."""
        return self.generator_photo_to_style

    @staticmethod
    def generator_description() -> dict:
        """The ``generator`` section of ``style.json``."""
        return {"direction": "photo → style", "input_multiple": 4, "value_range": [-1, 1]}

    def _targets(self, batch: int, value: float) -> np.ndarray:
        return np.full((batch, *self._score_shape), value, dtype=np.float32)
