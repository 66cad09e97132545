"""The discriminator update: WGAN-GP's penalty inside train_on_batch, checked by hand."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from gan_style.training.cut import CUTTrainer
from gan_style.training.discriminator_update import DiscriminatorUpdate
from gan_style.training.losses import get_adversarial_loss
from tests.training.conftest import batch, changed, cut_config, weights


def linear_critic(scale: float) -> keras.Sequential:
    """A 1×1 conv whose summed patch scores have the gradient `kernel` at every pixel."""
    critic = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Conv2D(1, 1, use_bias=False, name="logits")]
    )
    critic.set_weights([np.full((1, 1, 3, 1), scale, np.float32)])
    return critic


def test_wgan_gp_loss_is_the_wasserstein_loss_plus_ten_times_the_hand_computed_penalty():
    # ‖∇‖ over the 8×8 image = sqrt(64 · 3 · scale²) = 2 for this scale: penalty (2 - 1)² = 1
    # whatever the interpolation weights.
    scale = 2.0 / np.sqrt(64 * 3)
    critic = linear_critic(scale)
    update = DiscriminatorUpdate(
        critic, get_adversarial_loss("wgan-gp"), keras.optimizers.SGD(0.0), 8, seed=0
    )
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    fake = rng.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    ones = np.ones((2, 8, 8, 1), np.float32)
    loss = update.train(real, fake, ones, -ones)
    real_scores, fake_scores = real.sum(-1) * scale, fake.sum(-1) * scale
    wasserstein = 0.5 * (-real_scores.mean()) + 0.5 * fake_scores.mean()
    assert loss == pytest.approx(wasserstein + 10.0 * 1.0, rel=1e-5)


def test_wgan_gp_penalty_pushes_the_gradient_norm_towards_one():
    critic = linear_critic(1.0)  # gradient norm sqrt(192) ≈ 13.9
    update = DiscriminatorUpdate(
        critic, get_adversarial_loss("wgan-gp"), keras.optimizers.SGD(1e-3), 8, seed=0
    )
    images = np.zeros((1, 8, 8, 3), np.float32)  # scores 0: only the penalty has a gradient
    ones = np.ones((1, 8, 8, 1), np.float32)
    before = np.linalg.norm(critic.get_weights()[0]) * 8
    update.train(images, images, ones, -ones)
    after = np.linalg.norm(critic.get_weights()[0]) * 8
    assert abs(after - 1.0) < abs(before - 1.0)


def test_other_losses_compile_the_discriminator_itself():
    critic = linear_critic(1.0)
    update = DiscriminatorUpdate(
        critic, get_adversarial_loss("lsgan"), keras.optimizers.SGD(0.0), 8, seed=0
    )
    assert update.model is critic and update.seed_states == []


@pytest.mark.slow  # builds a CUT trainer with the critic model: ~27 s
def test_a_cut_step_with_wgan_gp_updates_the_critic():
    trainer = CUTTrainer(cut_config(loss="wgan-gp"), use_augment=True)
    before = weights(trainer.discriminator_style)
    losses = trainer.train_step(batch(0), batch(1))
    assert losses.all_finite()
    assert changed(before, weights(trainer.discriminator_style))
    assert len(trainer.update_style.seed_states) == 1
