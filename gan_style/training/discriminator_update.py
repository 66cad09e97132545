"""A discriminator's own update with `train_on_batch`, for every adversarial loss.

LSGAN, BCE and hinge train D as a plain compiled model on the concatenated batch ``[real; fake]``
with fixed targets (see `gan_style.training.losses`). WGAN-GP also needs the gradient penalty
(Gulrajani et al. 2017, eq. 3), a loss on D's gradient with respect to its *input*, which a
Keras loss on D's outputs cannot see. So for it D is wrapped in a small functional *critic
model* ``(real, fake) → {real_scores, fake_scores, gradient_penalty}``: the `GradientPenalty`
layer computes the penalty of its interpolates inside the model (a nested `tf.GradientTape`, so
the outer one of `train_on_batch` differentiates through it), and the model is compiled with
the Wasserstein losses on the scores (weights ½ each, like the averaged concatenated batch of
the other losses) and the penalty's own value weighted by λ = 10. Either way the trainer calls
one `train_on_batch`; the caller toggles ``trainable`` as for any discriminator update.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from gan_style.training.losses import AdversarialLoss, gradient_penalty_per_sample
from gan_style.training.patchnce import mean_prediction_loss


class GradientPenalty(keras.layers.Layer):
    """Per-image WGAN-GP penalty of ``critic`` on random interpolates of ``[real, fake]``.

    Args:
        critic: The discriminator (its weights belong to it, not to this layer).
        seed: Seed of the interpolation weights ε.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, critic: keras.Model, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.critic = critic
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        real, fake = inputs
        epsilon = keras.random.uniform((ops.shape(real)[0], 1, 1, 1), seed=self.seed_generator)
        penalty = gradient_penalty_per_sample(self.critic, real, fake, epsilon)
        return ops.expand_dims(penalty, -1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)


class DiscriminatorUpdate:
    """Compiles one discriminator for ``adversarial`` and performs its update.

    Args:
        discriminator: The discriminator model.
        adversarial: The adversarial loss.
        optimizer: Its optimizer.
        image_size: Side of the training images (the critic model's input shape).
        seed: Seed of the gradient penalty's interpolation weights.
    """

    def __init__(
        self,
        discriminator: keras.Model,
        adversarial: AdversarialLoss,
        optimizer: keras.optimizers.Optimizer,
        image_size: int,
        seed: int,
    ):
        self.discriminator = discriminator
        self.adversarial = adversarial
        self.penalty: GradientPenalty | None = None
        weight = adversarial.gradient_penalty_weight
        if not weight:
            discriminator.compile(optimizer=optimizer, loss=adversarial.discriminator_keras_loss)
            self.model = discriminator
            return
        real = keras.Input((image_size, image_size, 3), name="real")
        fake = keras.Input((image_size, image_size, 3), name="fake")
        self.penalty = GradientPenalty(discriminator, seed=seed, name="penalty")
        produced = {
            "real_scores": discriminator(real),
            "fake_scores": discriminator(fake),
            "gradient_penalty": self.penalty([real, fake]),
        }
        outputs = {
            name: keras.layers.Identity(name=name, dtype="float32")(tensor)
            for name, tensor in produced.items()
        }
        self.model = keras.Model([real, fake], outputs, name=f"{discriminator.name}_critic")
        loss = adversarial.discriminator_keras_loss
        self.model.compile(
            optimizer=optimizer,
            loss={
                "real_scores": loss,
                "fake_scores": loss,
                "gradient_penalty": mean_prediction_loss,
            },
            loss_weights={"real_scores": 0.5, "fake_scores": 0.5, "gradient_penalty": weight},
        )

    @property
    def optimizer(self) -> keras.optimizers.Optimizer:
        return self.model.optimizer

    @property
    def seed_states(self) -> list:
        """Seed-generator states to checkpoint (the penalty's ε stream)."""
        return [] if self.penalty is None else [self.penalty.seed_generator.state]

    def build_optimizer(self) -> None:
        """Create the optimizer's slots (for a checkpoint) without changing ``trainable``."""
        was_trainable = self.discriminator.trainable
        self.discriminator.trainable = True
        self.optimizer.build(self.discriminator.trainable_variables)
        self.discriminator.trainable = was_trainable

    def train(self, real_images, fake_images, real_targets, fake_targets) -> float:
        """One update of the discriminator (it must be trainable); returns its loss."""
        if self.penalty is None:
            loss = self.model.train_on_batch(
                tf.concat([real_images, fake_images], axis=0),
                np.concatenate([real_targets, fake_targets]),
            )
        else:
            loss = self.model.train_on_batch(
                [real_images, fake_images],
                {
                    "real_scores": real_targets,
                    "fake_scores": fake_targets,
                    "gradient_penalty": np.zeros((len(real_targets), 1), np.float32),
                },
            )
        return float(np.asarray(loss).reshape(-1)[0])
