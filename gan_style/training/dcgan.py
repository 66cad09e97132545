"""The DCGAN update: new images in a style from random noise, with `train_on_batch`.

Paper (Radford et al. 2016, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks") ↔ code:

    ==============  ==============================  ===========================================
    paper           code                            what
    ==============  ==============================  ===========================================
    z ~ N(0, I)     `latent_vectors`                noise, ``latent_dim`` long
    G(z)            generator                       what a dcgan style bundle ships
    D(x)            discriminator                   real style image vs generated one
    ==============  ==============================  ===========================================

The recipe is CycleGAN's (`gan_style.training.cyclegan`) with one generator and one
discriminator: D compiled on its own, a combined functional model ``z → D(G(z))`` compiled with
the generator loss, ``trainable`` flipped before every update. Each step is one D update on a
batch of real images and the same number of fresh fakes, then one G update on new noise.
DiffAugment sits in front of D (Zhao et al. 2020 made DCGAN-class models usable at 100-1000
images), so real and fake images are augmented alike in both updates.

The noise of step ``k`` is drawn from a generator seeded with ``(seed, k)``, and ``k`` is the
discriminator optimiser's step counter, which the checkpoint restores: a resumed run draws the
same noise an uninterrupted one would have.
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from gan_style.config import TrainConfig
from gan_style.models.discriminators import build_dcgan_discriminator
from gan_style.models.generators import build_dcgan_generator
from gan_style.training.augment import DiffAugment
from gan_style.training.losses import get_adversarial_loss
from gan_style.training.records import LossRecord
from gan_style.training.schedule import make_optimizer

#: Images in the sample grid (a 4×4 grid).
SAMPLE_COUNT = 16


def latent_vectors(
    count: int, latent_dim: int, seed: int | tuple[int, ...], truncation: float | None = None
) -> np.ndarray:
    """``count`` float32 noise vectors from N(0, I), the same for the same arguments.

    Args:
        count: Number of vectors.
        latent_dim: Length of each.
        seed: Seed (an int or a tuple of ints) of the numpy generator.
        truncation: If given, every value whose magnitude exceeds it is drawn again until none
            does (the truncation trick of Brock et al. 2019, "Large Scale GAN Training", BigGAN):
            smaller values trade variety for typical, cleaner images.

    Raises:
        ValueError: If ``truncation`` is not positive.
    """
    if truncation is not None and not truncation > 0:
        raise ValueError(f"truncation must be positive; received {truncation!r}.")
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((count, latent_dim))
    if truncation is not None:
        outside = np.abs(values) > truncation
        while outside.any():
            values[outside] = rng.standard_normal(int(outside.sum()))
            outside = np.abs(values) > truncation
    return values.astype(np.float32)


@dataclasses.dataclass(frozen=True)
class DCGANStepLosses(LossRecord):
    """Losses of one DCGAN step."""

    generator: float
    discriminator: float


class DCGANTrainer:
    """Builds the DCGAN generator and discriminator and performs one step per `train_step`.

    It offers the same interface as `gan_style.training.cyclegan.CycleGANTrainer`, so
    `gan_style.train` drives either.

    Args:
        config: The options (preset-dependent fields are resolved here).
        use_augment: Put DiffAugment in front of the discriminator.
        strategy: A `tf.distribute.Strategy` to build the models under (None: the default).
    """

    #: The training sets `train_step` takes a batch of, in order.
    domains = ("style",)

    def __init__(self, config: TrainConfig, *, use_augment: bool, strategy=None):
        self.config = config = config.resolved()
        self.strategy = strategy or tf.distribute.get_strategy()
        self.adversarial = get_adversarial_loss(config.loss)
        with self.strategy.scope():
            self.generator = self.build_generator()
            augment = None
            if use_augment:
                augment = DiffAugment(config.augment_policy, seed=config.seed + 1, name="augment")
            self.discriminator = build_dcgan_discriminator(
                config.image_size, config.disc_filters, augment=augment, name="discriminator"
            )
            self.discriminator.compile(
                optimizer=make_optimizer(config, discriminator=True),
                loss=self.adversarial.discriminator_keras_loss,
            )
            self.discriminator.trainable = False
            latent = keras.Input((config.latent_dim,), name="latent")
            score = keras.layers.Identity(name="adversarial", dtype="float32")(
                self.discriminator(self.generator(latent))
            )
            self.combined = keras.Model(latent, score, name="dcgan_combined")
            self.combined.compile(
                optimizer=make_optimizer(config), loss=self.adversarial.generator_keras_loss
            )
        # Fakes for the D update come from G in training mode, as in the G update: batch norm
        # normalises them with their own batch statistics in both.
        self._generate = tf.function(
            lambda latent: self.generator(latent, training=True), reduce_retracing=True
        )
        self._sample_latent = latent_vectors(SAMPLE_COUNT, config.latent_dim, config.seed + 99)

    def build_generator(self, name: str = "generator") -> keras.Sequential:
        """A fresh generator of this run's architecture (under the current dtype policy)."""
        config = self.config
        return build_dcgan_generator(
            config.latent_dim, config.image_size, config.num_filters, name=name
        )

    @property
    def exported_generator(self) -> keras.Sequential:
        """The network a bundle ships."""
        return self.generator

    @property
    def optimizers(self) -> list[keras.optimizers.Optimizer]:
        """Every optimizer of the run (their schedules end together)."""
        return [self.combined.optimizer, self.discriminator.optimizer]

    def generator_description(self) -> dict:
        """The ``generator`` section of ``style.json``."""
        return {
            "direction": "noise → style",
            "latent_dim": self.config.latent_dim,
            "image_size": self.config.image_size,
            "value_range": [-1, 1],
        }

    # --- the update ---------------------------------------------------------------------------

    def train_step(self, real_style) -> DCGANStepLosses:
        """One discriminator update, then one generator update.

        Args:
            real_style: Batch of style images, (B, S, S, 3) in [-1, 1].
        """
        batch = int(real_style.shape[0])
        config = self.config
        step = int(self.discriminator.optimizer.iterations.numpy())
        noise = latent_vectors(2 * batch, config.latent_dim, (config.seed, step))
        real, fake = self.adversarial.real_target, self.adversarial.fake_target
        real_and_fake = np.concatenate(
            [np.full((batch, 1), real, np.float32), np.full((batch, 1), fake, np.float32)]
        )

        self.discriminator.trainable = True
        fakes = self._generate(noise[:batch])
        discriminator_loss = self.discriminator.train_on_batch(
            tf.concat([real_style, fakes], axis=0), real_and_fake
        )
        self.discriminator.trainable = False
        generator_loss = self.combined.train_on_batch(
            noise[batch:], np.full((batch, 1), real, np.float32)
        )
        return DCGANStepLosses(
            generator=_scalar(generator_loss), discriminator=_scalar(discriminator_loss)
        )

    @staticmethod
    def progress_text(losses: dict[str, float]) -> str:
        """The losses in the progress bar."""
        return f"G {losses['generator']:.3f} D {losses['discriminator']:.3f}"

    def sample_columns(self, samples=None) -> tuple[list[np.ndarray], list[str]]:
        """A 4×4 grid of images from a fixed set of noise vectors (the same every time)."""
        images = np.asarray(self.generator(self._sample_latent, training=False))
        rows = int(math.sqrt(SAMPLE_COUNT))
        return [images[column::rows] for column in range(rows)], [""] * rows

    # --- state --------------------------------------------------------------------------------

    def checkpoint(self) -> tf.train.Checkpoint:
        """A `tf.train.Checkpoint` of both networks, both optimizers and the augment seeds."""
        with self.strategy.scope():
            self.combined.optimizer.build(self.generator.trainable_variables)
            self.discriminator.trainable = True
            self.discriminator.optimizer.build(self.discriminator.trainable_variables)
            self.discriminator.trainable = False
        augment_states = [
            layer.seed_generator.state
            for layer in self.discriminator.layers
            if isinstance(layer, DiffAugment)
        ]
        return tf.train.Checkpoint(
            generator=self.generator,
            discriminator=self.discriminator,
            generator_optimizer=self.combined.optimizer,
            discriminator_optimizer=self.discriminator.optimizer,
            augment_seeds=_Variables(augment_states),
        )

    def pool_arrays(self) -> dict[str, np.ndarray]:
        """DCGAN keeps no pool of fakes: nothing beyond the checkpoint."""
        return {}

    def restore_pools(self, arrays: dict[str, np.ndarray]) -> None:
        """Nothing to restore (see `pool_arrays`)."""


class _Variables(tf.Module):
    def __init__(self, variables):
        super().__init__()
        self.states = list(variables)


def _scalar(value) -> float:
    return float(np.asarray(value).reshape(-1)[0])
