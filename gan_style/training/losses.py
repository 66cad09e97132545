"""GAN losses as pure functions, and the registry that tells the trainer how to compile them.

Naming follows TF-GAN: `<kind>_generator_loss(fake_scores)` and
`<kind>_discriminator_loss(real_scores, fake_scores)`, where the scores are the discriminator's
raw outputs (logits; a patch map or one value per image, averaged either way). Paper ↔ code:
D(y) is `real_scores`, D(G(x)) is `fake_scores`, F(G(x)) is `cycled_images`.

The trainer updates with `train_on_batch`, so every adversarial loss also exists as a Keras loss
`(y_true, y_pred)` with fixed targets, collected in `ADVERSARIAL_LOSSES`. For each kind, with
real and fake batches of equal size:

- `generator_loss(fake)` equals the Keras `generator_keras_loss` on `fake` with targets
  `real_target` (the generator wants its fakes scored as real);
- `discriminator_loss(real, fake)` equals the Keras `discriminator_keras_loss` on `real` with
  targets `real_target` plus on `fake` with targets `fake_target`. One `train_on_batch` on the
  concatenated batch averages the two terms, i.e. it optimises half of `discriminator_loss`,
  which is CycleGAN's "divide the objective by 2 while optimizing D".

The cycle and identity losses are the L1 losses of CycleGAN; in the combined Keras model they
are "mae" outputs with `loss_weights` λ and λ_id.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from gan_style.errors import ConfigError


def _float32(tensor) -> Any:
    return ops.cast(ops.convert_to_tensor(tensor), "float32")


def lsgan_generator_loss(fake_scores) -> Any:
    """Least-squares generator loss: E[(D(G(x)) - 1)²].

    Mao et al. 2017, "Least Squares Generative Adversarial Networks", eq. 2 with c = 1, as used
    by CycleGAN (Zhu et al. 2017, section 4, without the factor 1/2).

    Args:
        fake_scores: Discriminator outputs on generated images.

    Returns:
        The scalar loss (float32).
    """
    return ops.mean(ops.square(_float32(fake_scores) - 1.0))


def lsgan_discriminator_loss(real_scores, fake_scores) -> Any:
    """Least-squares discriminator loss: E[(D(y) - 1)²] + E[D(G(x))²].

    Mao et al. 2017, eq. 2 with a = 0, b = 1; CycleGAN section 4.

    Args:
        real_scores: Discriminator outputs on real images.
        fake_scores: Discriminator outputs on generated images.

    Returns:
        The scalar loss (float32).
    """
    return ops.mean(ops.square(_float32(real_scores) - 1.0)) + ops.mean(
        ops.square(_float32(fake_scores))
    )


def bce_generator_loss(fake_logits) -> Any:
    """Non-saturating cross-entropy generator loss: -E[log σ(D(G(x)))] = E[softplus(-D(G(x)))].

    Goodfellow et al. 2014, "Generative Adversarial Nets", section 3 (the variant that maximises
    log D(G(z)) instead of minimising log(1 - D(G(z)))).

    Args:
        fake_logits: Discriminator logits on generated images.

    Returns:
        The scalar loss (float32).
    """
    return ops.mean(ops.softplus(-_float32(fake_logits)))


def bce_discriminator_loss(real_logits, fake_logits) -> Any:
    """Cross-entropy discriminator loss: -E[log σ(D(y))] - E[log(1 - σ(D(G(x))))].

    Goodfellow et al. 2014, eq. 1, written with logits as E[softplus(-D(y))] +
    E[softplus(D(G(x)))] for numerical stability.

    Args:
        real_logits: Discriminator logits on real images.
        fake_logits: Discriminator logits on generated images.

    Returns:
        The scalar loss (float32).
    """
    return ops.mean(ops.softplus(-_float32(real_logits))) + ops.mean(
        ops.softplus(_float32(fake_logits))
    )


def hinge_generator_loss(fake_scores) -> Any:
    """Hinge generator loss: -E[D(G(x))].

    Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018 (SN-GAN), eq. 17.

    Args:
        fake_scores: Discriminator outputs on generated images.

    Returns:
        The scalar loss (float32).
    """
    return -ops.mean(_float32(fake_scores))


def hinge_discriminator_loss(real_scores, fake_scores) -> Any:
    """Hinge discriminator loss: E[max(0, 1 - D(y))] + E[max(0, 1 + D(G(x)))].

    Lim & Ye 2017; Miyato et al. 2018, eq. 16.

    Args:
        real_scores: Discriminator outputs on real images.
        fake_scores: Discriminator outputs on generated images.

    Returns:
        The scalar loss (float32).
    """
    return ops.mean(ops.relu(1.0 - _float32(real_scores))) + ops.mean(
        ops.relu(1.0 + _float32(fake_scores))
    )


wasserstein_generator_loss = hinge_generator_loss
"""Wasserstein generator loss: -E[D(G(x))], the hinge generator loss's formula (Arjovsky et al.
2017, "Wasserstein GAN", eq. 3, the generator's part), on critic outputs."""


def wasserstein_discriminator_loss(real_scores, fake_scores) -> Any:
    """Wasserstein critic loss: E[D(G(x))] - E[D(y)].

    Arjovsky et al. 2017, eq. 3; with `gradient_penalty` added (weight 10) it is WGAN-GP
    (Gulrajani et al. 2017, eq. 3).

    Args:
        real_scores: Critic outputs on real images.
        fake_scores: Critic outputs on generated images.

    Returns:
        The scalar loss (float32).
    """
    return ops.mean(_float32(fake_scores)) - ops.mean(_float32(real_scores))


def gradient_penalty(
    discriminator: Callable[..., Any],
    real_images,
    fake_images,
    interpolation_weights=None,
    seed: int | keras.random.SeedGenerator | None = None,
) -> Any:
    """WGAN-GP gradient penalty: E[(‖∇D(x̂)‖₂ - 1)²], x̂ = ε·y + (1 - ε)·G(x), ε ~ U[0, 1].

    Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", eq. 3 (the paper weights it
    by λ = 10). ε is drawn per sample. For a patch discriminator the gradient is that of the sum
    of the patch scores, so each image's norm covers all its patches. The norm is per sample, so
    the discriminator must not mix samples (instance norm is fine, batch norm is not). The
    discriminator runs with `training=True`, as in a training step.

    This needs input gradients, which a Keras loss on D's outputs does not see: the trainers
    compute it inside a critic model (`gan_style.training.discriminator_update`).

    Args:
        discriminator: The critic, a callable on NHWC images taking `training=`.
        real_images: A batch of real images.
        fake_images: A batch of generated images, same shape.
        interpolation_weights: ε, shape (batch, 1, 1, 1); drawn uniformly when None.
        seed: Seed or `keras.random.SeedGenerator` for drawing ε.

    Returns:
        The scalar penalty (float32), unweighted.
    """
    if interpolation_weights is None:
        batch_size = ops.shape(real_images)[0]
        interpolation_weights = keras.random.uniform((batch_size, 1, 1, 1), seed=seed)
    return ops.mean(
        gradient_penalty_per_sample(discriminator, real_images, fake_images, interpolation_weights)
    )


def gradient_penalty_per_sample(
    discriminator: Callable[..., Any], real_images, fake_images, interpolation_weights
) -> Any:
    """`gradient_penalty` of each image, ``(batch,)``: (‖∇D(x̂_i)‖₂ - 1)² for given ε.

    Differentiable (a nested tape): a Keras model that returns it as an output trains D with
    the penalty through `train_on_batch` (see `gan_style.training.discriminator_update`).
    """
    real_images = _float32(real_images)
    fake_images = _float32(fake_images)
    interpolation_weights = _float32(interpolation_weights)
    mixed_images = fake_images + interpolation_weights * (real_images - fake_images)
    with tf.GradientTape() as tape:
        tape.watch(mixed_images)
        scores = _float32(discriminator(mixed_images, training=True))
    gradients = tape.gradient(scores, mixed_images)
    # The small constant keeps the square root differentiable where a gradient is exactly 0.
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=[1, 2, 3]) + 1e-12)
    return ops.square(norms - 1.0)


def cycle_consistency_loss(real_images, cycled_images) -> Any:
    """Cycle-consistency loss of one direction: E[‖F(G(x)) - x‖₁], the mean absolute error.

    Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
    Networks", eq. 2 (one of its two terms; the full objective weights each by λ = 10).

    Args:
        real_images: x, the images that went round the cycle.
        cycled_images: F(G(x)), what came back.

    Returns:
        The scalar loss (float32).
    """
    return ops.mean(ops.abs(_float32(cycled_images) - _float32(real_images)))


def identity_loss(real_images, identity_images) -> Any:
    """Identity-mapping loss of one generator: E[‖G(y) - y‖₁] for y already in G's target domain.

    Taigman et al. 2017, "Unsupervised Cross-Domain Image Generation"; CycleGAN section 5.2
    (weight 0.5·λ), where it keeps the colours of photos from drifting.

    Args:
        real_images: y, images of the generator's output domain.
        identity_images: G(y).

    Returns:
        The scalar loss (float32).
    """
    return ops.mean(ops.abs(_float32(identity_images) - _float32(real_images)))


@keras.saving.register_keras_serializable(package="gan_style")
def wasserstein_keras_loss(y_true, y_pred):
    """Keras loss -y_true·y_pred, averaged over the last axis like Keras' own losses.

    With targets +1 for real and -1 for fake it is the Wasserstein critic loss, and with target
    +1 on fakes the Wasserstein and hinge generator loss (see the module docstring). Registered,
    so models compiled with it save and load.

    Args:
        y_true: Targets, +1 (real) or -1 (fake).
        y_pred: Discriminator scores.

    Returns:
        Per-sample losses, the last axis reduced.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    return ops.mean(-y_true * y_pred, axis=-1)


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
    """One adversarial loss in both forms: pure functions and what `compile` needs.

    Args:
        name: Registry name.
        generator_loss: Pure function `(fake_scores) -> scalar`.
        discriminator_loss: Pure function `(real_scores, fake_scores) -> scalar`.
        discriminator_keras_loss: What to pass as `loss=` when compiling a discriminator.
        generator_keras_loss: The loss of the adversarial outputs of the combined model.
        real_target: Target of real images for D, and of fakes in the generator update.
        fake_target: Target of fake images for D.
        gradient_penalty_weight: Weight of `gradient_penalty` in the D update; 0 when the loss
            needs none. Non-zero means `train_on_batch` alone cannot train D (see
            `gradient_penalty`).
    """

    name: str
    generator_loss: Callable[..., Any]
    discriminator_loss: Callable[..., Any]
    discriminator_keras_loss: Any
    generator_keras_loss: Any
    real_target: float
    fake_target: float
    gradient_penalty_weight: float = 0.0


ADVERSARIAL_LOSSES: dict[str, AdversarialLoss] = {
    "lsgan": AdversarialLoss(
        name="lsgan",
        generator_loss=lsgan_generator_loss,
        discriminator_loss=lsgan_discriminator_loss,
        discriminator_keras_loss="mse",
        generator_keras_loss="mse",
        real_target=1.0,
        fake_target=0.0,
    ),
    "bce": AdversarialLoss(
        name="bce",
        generator_loss=bce_generator_loss,
        discriminator_loss=bce_discriminator_loss,
        discriminator_keras_loss=keras.losses.BinaryCrossentropy(from_logits=True),
        generator_keras_loss=keras.losses.BinaryCrossentropy(from_logits=True),
        real_target=1.0,
        fake_target=0.0,
    ),
    "hinge": AdversarialLoss(
        name="hinge",
        generator_loss=hinge_generator_loss,
        discriminator_loss=hinge_discriminator_loss,
        # Keras' hinge is max(0, 1 - y_true·y_pred) with ±1 targets: exactly the D hinge loss.
        discriminator_keras_loss=keras.losses.Hinge(),
        generator_keras_loss=wasserstein_keras_loss,
        real_target=1.0,
        fake_target=-1.0,
    ),
    "wgan-gp": AdversarialLoss(
        name="wgan-gp",
        generator_loss=wasserstein_generator_loss,
        discriminator_loss=wasserstein_discriminator_loss,
        discriminator_keras_loss=wasserstein_keras_loss,
        generator_keras_loss=wasserstein_keras_loss,
        real_target=1.0,
        fake_target=-1.0,
        gradient_penalty_weight=10.0,
    ),
}
"""Adversarial losses by name; `gan_style.training.ADVERSARIAL_LOSS_NAMES` lists the same names."""


def get_adversarial_loss(name: str) -> AdversarialLoss:
    """Returns the adversarial loss registered as `name` (see `ADVERSARIAL_LOSSES`).

    Raises:
        ConfigError: (a `ValueError`) if `name` is unknown; the message lists the valid names.
    """
    try:
        return ADVERSARIAL_LOSSES[name]
    except KeyError:
        valid = ", ".join(repr(key) for key in ADVERSARIAL_LOSSES)
        raise ConfigError(f"Unknown adversarial loss {name!r}; expected one of: {valid}.") from None
