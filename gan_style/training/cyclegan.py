"""The CycleGAN update, with Keras `Sequential` models and `train_on_batch`.

Paper (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks") ↔ code:

    ==============  ====================================  =================================
    paper           code                                  what
    ==============  ====================================  =================================
    X, Y            photo, style                          the two domains
    G: X → Y        generator_photo_to_style              what a style bundle ships
    F: Y → X        generator_style_to_photo
    D_Y             discriminator_style                   real_style vs fake_style
    D_X             discriminator_photo                   real_photo vs fake_photo
    G(x)            fake_style
    F(G(x))         cycled_photo                          L_cyc, eq. 2, weight λ
    F(y), G(F(y))   fake_photo, cycled_style
    F(x), G(y)      identity_photo, identity_style        L_identity, weight λ_id = 0.5 λ
    ==============  ====================================  =================================

The Keras 3 recipe (checked on TF 2.21 / Keras 3.15; see DESIGN.md section 3):

1. Each discriminator is compiled on its own with the adversarial loss of the registry (for
   WGAN-GP inside a small critic model that adds the gradient penalty:
   `gan_style.training.discriminator_update`).
2. One functional *combined* model maps ``(real_photo, real_style)`` to six named outputs:
   ``adversarial_style = D_Y(G(x))``, ``adversarial_photo = D_X(F(y))``, ``cycled_photo``,
   ``cycled_style``, ``identity_photo``, ``identity_style``, with losses ``[adv, adv, mae,
   mae, mae, mae]`` and weights ``[1, 1, λ, λ, λ_id, λ_id]``. The outputs are wrapped in named
   `Identity` layers so that each loss has its own readable key.
3. Before every combined step the discriminators are frozen (``trainable = False``); before
   every discriminator step they are unfrozen. Keras 3 fixes a model's trainable variables
   when its train function is traced, so setting the flag once is not enough.
4. The discriminators train on a history pool of fakes, made by a compiled forward pass.

This class is the only place that compiles models, flips ``trainable`` or calls
`train_on_batch`.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from gan_style.config import TrainConfig
from gan_style.training.augment import DiffAugment
from gan_style.training.discriminator_update import DiscriminatorUpdate
from gan_style.training.losses import get_adversarial_loss
from gan_style.training.pool import ImagePool
from gan_style.training.records import LossRecord
from gan_style.training.schedule import make_optimizer
from gan_style.training.translation import PhotoToStyleTrainer

#: Names of the combined model's outputs, in order.
GENERATOR_OUTPUTS = (
    "adversarial_style",
    "adversarial_photo",
    "cycled_photo",
    "cycled_style",
    "identity_photo",
    "identity_style",
)


@dataclasses.dataclass(frozen=True)
class StepLosses(LossRecord):
    """Losses of one training step (means over the batch)."""

    generator_total: float
    adversarial_style: float
    adversarial_photo: float
    cycle: float
    identity: float
    discriminator_style: float
    discriminator_photo: float


class CycleGANTrainer(PhotoToStyleTrainer):
    """Builds the four networks and performs one CycleGAN step per `train_step` call.

    Args:
        config: A resolved `TrainConfig` (no preset-dependent field left as None).
        use_augment: Put DiffAugment in front of both discriminators.
        strategy: A `tf.distribute.Strategy` to build the models under (None: the default).
    """

    #: The training sets `train_step` takes a batch of, in order.
    domains = ("photo", "style")

    def __init__(self, config: TrainConfig, *, use_augment: bool, strategy=None):
        if config.model not in (None, "cyclegan"):
            raise ValueError(f"CycleGANTrainer trains 'cyclegan', not {config.model!r}")
        self.config = config = dataclasses.replace(config, model="cyclegan").resolved()
        self.strategy = strategy or tf.distribute.get_strategy()
        self.adversarial = get_adversarial_loss(config.loss)
        size = config.image_size
        with self.strategy.scope():
            self.generator_photo_to_style = self.build_generator("generator_photo_to_style")
            self.generator_style_to_photo = self.build_generator("generator_style_to_photo")
            self.discriminator_style = self._discriminator("discriminator_style", use_augment, 1)
            self.discriminator_photo = self._discriminator("discriminator_photo", use_augment, 2)
            self.update_style, self.update_photo = (
                DiscriminatorUpdate(
                    discriminator,
                    self.adversarial,
                    make_optimizer(config, discriminator=True),
                    size,
                    seed=config.seed + offset,
                )
                for discriminator, offset in (
                    (self.discriminator_style, 41),
                    (self.discriminator_photo, 42),
                )
            )
            self._set_discriminators_trainable(False)
            self.combined = self._build_combined()
        score_shape = self.discriminator_style.compute_output_shape((1, size, size, 3))
        self._score_shape = tuple(int(dim) for dim in score_shape[1:])
        self.pool_style = ImagePool(config.pool_size, seed=config.seed + 11)
        self.pool_photo = ImagePool(config.pool_size, seed=config.seed + 12)
        self._translate = tf.function(self._translate_eager, reduce_retracing=True)

    # --- construction -------------------------------------------------------------------------

    @property
    def optimizers(self) -> list[keras.optimizers.Optimizer]:
        """Every optimizer of the run (their schedules end together)."""
        return [self.combined.optimizer, self.update_style.optimizer, self.update_photo.optimizer]

    def _discriminator(self, name: str, use_augment: bool, seed_offset: int) -> keras.Sequential:
        augment = None
        if use_augment:
            augment = DiffAugment(
                self.config.augment_policy, seed=self.config.seed + seed_offset, name="augment"
            )
        return self.build_discriminator(name, augment, seed_offset)

    def _build_combined(self) -> keras.Model:
        size = self.config.image_size
        real_photo = keras.Input((size, size, 3), name="real_photo")
        real_style = keras.Input((size, size, 3), name="real_style")
        fake_style = self.generator_photo_to_style(real_photo)
        fake_photo = self.generator_style_to_photo(real_style)
        produced = {
            "adversarial_style": self.discriminator_style(fake_style),
            "adversarial_photo": self.discriminator_photo(fake_photo),
            "cycled_photo": self.generator_style_to_photo(fake_style),
            "cycled_style": self.generator_photo_to_style(fake_photo),
        }
        cycle = self.config.cycle_weight
        identity = self.config.identity_weight * cycle
        weights = {
            "adversarial_style": 1.0,
            "adversarial_photo": 1.0,
            "cycled_photo": cycle,
            "cycled_style": cycle,
        }
        if identity > 0:
            produced["identity_photo"] = self.generator_style_to_photo(real_photo)
            produced["identity_style"] = self.generator_photo_to_style(real_style)
            weights.update(identity_photo=identity, identity_style=identity)
        outputs = {
            name: keras.layers.Identity(name=name, dtype="float32")(tensor)
            for name, tensor in produced.items()
        }
        combined = keras.Model([real_photo, real_style], outputs, name="cyclegan_combined")
        adversarial = self.adversarial.generator_keras_loss
        losses = {
            name: adversarial if name.startswith("adversarial") else "mae" for name in outputs
        }
        combined.compile(optimizer=make_optimizer(self.config), loss=losses, loss_weights=weights)
        return combined

    def _set_discriminators_trainable(self, trainable: bool) -> None:
        self.discriminator_style.trainable = trainable
        self.discriminator_photo.trainable = trainable

    # --- the update ---------------------------------------------------------------------------

    def _translate_eager(self, real_photo, real_style):
        return (
            self.generator_photo_to_style(real_photo, training=False),
            self.generator_style_to_photo(real_style, training=False),
        )

    def train_step(self, real_photo, real_style) -> StepLosses:
        """One generator update and one update of each discriminator.

        Args:
            real_photo: Batch of photos, (B, S, S, 3) in [-1, 1].
            real_style: Batch of style images, same shape.

        Returns:
            The step's losses.
        """
        batch = int(real_photo.shape[0])
        real, fake = self.adversarial.real_target, self.adversarial.fake_target
        targets = {
            "adversarial_style": self._targets(batch, real),
            "adversarial_photo": self._targets(batch, real),
            "cycled_photo": real_photo,
            "cycled_style": real_style,
            "identity_photo": real_photo,
            "identity_style": real_style,
        }
        targets = {name: targets[name] for name in self.combined.output_names}

        self._set_discriminators_trainable(False)
        generator_logs = self.combined.train_on_batch(
            [real_photo, real_style], targets, return_dict=True
        )

        fake_style, fake_photo = self._translate(real_photo, real_style)
        pooled_style = self.pool_style.query(np.asarray(fake_style))
        pooled_photo = self.pool_photo.query(np.asarray(fake_photo))
        real_targets, fake_targets = self._targets(batch, real), self._targets(batch, fake)

        self._set_discriminators_trainable(True)
        style_loss = self.update_style.train(real_style, pooled_style, real_targets, fake_targets)
        photo_loss = self.update_photo.train(real_photo, pooled_photo, real_targets, fake_targets)
        return StepLosses(
            generator_total=float(generator_logs["loss"]),
            adversarial_style=float(generator_logs["adversarial_style_loss"]),
            adversarial_photo=float(generator_logs["adversarial_photo_loss"]),
            cycle=float(generator_logs["cycled_photo_loss"] + generator_logs["cycled_style_loss"]),
            identity=float(
                generator_logs.get("identity_photo_loss", 0.0)
                + generator_logs.get("identity_style_loss", 0.0)
            ),
            discriminator_style=style_loss,
            discriminator_photo=photo_loss,
        )

    @staticmethod
    def progress_text(losses: dict[str, float]) -> str:
        """The losses in the progress bar."""
        return (
            f"G {losses['generator_total']:.3f} D {losses['discriminator_style']:.3f}/"
            f"{losses['discriminator_photo']:.3f}"
        )

    def sample_columns(self, samples) -> tuple[list[np.ndarray], list[str]]:
        """Columns of a sample grid: the photos, their translations, and the way back."""
        fake, cycled = self.translate(samples)
        return [samples, fake, cycled], ["photo", "styled", "cycled back"]

    def translate(self, photos) -> np.ndarray:
        """Photos → style and back: ``(fake_style, cycled_photo)`` as numpy arrays."""
        fake_style = self.generator_photo_to_style(photos, training=False)
        cycled = self.generator_style_to_photo(fake_style, training=False)
        return np.asarray(fake_style), np.asarray(cycled)

    # --- state --------------------------------------------------------------------------------

    def checkpoint(self) -> tf.train.Checkpoint:
        """A `tf.train.Checkpoint` of every network and optimizer (built first)."""
        generators = [self.generator_photo_to_style, self.generator_style_to_photo]
        with self.strategy.scope():  # slot variables must be created like the models' own
            self.combined.optimizer.build(
                [variable for model in generators for variable in model.trainable_variables]
            )
            self.update_style.build_optimizer()
            self.update_photo.build_optimizer()
        return tf.train.Checkpoint(
            generator_photo_to_style=self.generator_photo_to_style,
            generator_style_to_photo=self.generator_style_to_photo,
            discriminator_style=self.discriminator_style,
            discriminator_photo=self.discriminator_photo,
            generator_optimizer=self.combined.optimizer,
            discriminator_style_optimizer=self.update_style.optimizer,
            discriminator_photo_optimizer=self.update_photo.optimizer,
            augment_seeds=_AugmentSeeds(self.discriminator_style, self.discriminator_photo),
            **_penalty_seeds(self.update_style, self.update_photo),
        )

    def pool_arrays(self) -> dict[str, np.ndarray]:
        """The pools' state as flat numpy arrays (for ``arrays.npz``)."""
        return {
            f"{prefix}/{key}": np.asarray(value)
            for prefix, pool in self._pools()
            for key, value in pool.get_state().items()
        }

    def restore_pools(self, arrays: dict[str, np.ndarray]) -> None:
        """Inverse of `pool_arrays`."""
        for prefix, pool in self._pools():
            pool.set_state(
                {
                    key.split("/", 1)[1]: value
                    for key, value in arrays.items()
                    if key.startswith(prefix + "/")
                }
            )

    def _pools(self) -> tuple[tuple[str, ImagePool], ...]:
        return (("pool_style", self.pool_style), ("pool_photo", self.pool_photo))


class _AugmentSeeds(tf.Module):
    """Tracks the DiffAugment seed-generator states so a resumed run continues their streams."""

    def __init__(self, *discriminators: keras.Model):
        super().__init__()
        self.states = [
            layer.seed_generator.state
            for discriminator in discriminators
            for layer in discriminator.layers
            if isinstance(layer, DiffAugment)
        ]


def _penalty_seeds(*updates: DiscriminatorUpdate) -> dict[str, tf.Module]:
    """The WGAN-GP ε streams to checkpoint (none for the other losses, so older checkpoints
    keep matching)."""
    states = [state for update in updates for state in update.seed_states]
    if not states:
        return {}
    module = tf.Module()
    module.states = states
    return {"penalty_seeds": module}
