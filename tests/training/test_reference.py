"""The reference-guided recipe: each update trains exactly its networks; the added terms."""

from __future__ import annotations

import numpy as np
import pytest

from gan_style.training.reference import LOSS_WEIGHTS, ReferenceTrainer
from tests.training.conftest import batch, changed, tiny_config, weights


@pytest.fixture(scope="module")
def trainer():
    config = tiny_config(model="reference", num_blocks=2, pool_size=0, discriminator="patch")
    return ReferenceTrainer(config, use_augment=True)


def snapshot(trainer):
    return {
        "generator": weights(trainer.generator_photo_to_style),
        "encoder": weights(trainer.style_encoder),
        "heads": [np.array(value) for value in trainer.nce.get_weights()],
        "discriminator": weights(trainer.discriminator_style),
    }


def test_the_combined_model_has_cut_terms_and_the_reference_terms(trainer):
    assert trainer.config.antialias is True
    assert set(trainer.combined.output_names) == {
        "adversarial_style",
        "nce",
        "nce_identity",
        "style_reconstruction",
        "diversity",
        "reference_statistics",
    }
    assert trainer.domains == ("photo", "style", "reference")


def test_a_step_trains_generator_encoder_and_heads_then_the_discriminator(trainer):
    trainer.train_step(batch(0), batch(1), batch(2))  # trace every function once
    before = snapshot(trainer)
    losses = trainer.train_step(batch(3), batch(4), batch(5))
    after = snapshot(trainer)
    for name in ("generator", "encoder", "heads", "discriminator"):
        assert changed(before[name], after[name]), name
    assert losses.all_finite()
    assert losses.style_reconstruction > 0 and losses.reference_statistics > 0
    assert -2.0 <= losses.diversity < 0  # minus a mean L1 distance of two tanh outputs
    expected = (
        losses.adversarial_style
        + 0.5 * (losses.nce + losses.nce_identity)
        + LOSS_WEIGHTS["style_reconstruction"] * losses.style_reconstruction
        + LOSS_WEIGHTS["diversity"] * losses.diversity
        + LOSS_WEIGHTS["reference_statistics"] * losses.reference_statistics
    )
    assert losses.generator_total == pytest.approx(expected, rel=1e-4)


def test_the_combined_step_leaves_the_discriminator_alone(trainer):
    real = trainer.adversarial.real_target
    zeros = np.zeros((1, 1), np.float32)
    targets = {name: zeros for name in trainer.combined.output_names}
    targets["adversarial_style"] = trainer._scores("style", 1, real)
    before = snapshot(trainer)
    trainer._set_discriminators_trainable(False)
    trainer.combined.train_on_batch([batch(6), batch(7), batch(8)], targets)
    after = snapshot(trainer)
    assert changed(before["generator"], after["generator"])
    assert changed(before["encoder"], after["encoder"])
    assert not changed(before["discriminator"], after["discriminator"])


def test_different_references_translate_differently(trainer):
    photos = np.repeat(batch(9), 2, axis=0)
    references = np.concatenate([batch(10) * 0.2 - 0.6, batch(11) * 0.2 + 0.6])
    styled = trainer.translate(photos, references)
    # Same photo, two references: the conditioning shows. A generator blind to the code gives
    # two identical images (0 up to float rounding, ~1e-7); a freshly initialised one's outputs
    # are small (N(0, 0.02) weights), so the bar is 10⁻³ of the [-1, 1] range.
    assert np.mean(np.abs(styled[0] - styled[1])) > 1e-3
    same = trainer.translate(photos, np.repeat(references[:1], 2, axis=0))
    assert np.mean(np.abs(same[0] - same[1])) < 1e-5
    columns, titles = trainer.sample_columns(batch(12))
    assert titles == ["photo", "reference", "styled"] and len(columns) == 3


def test_the_diversity_weight_falls_linearly_to_zero_over_the_run(trainer):
    from gan_style.training.schedule import retarget_optimizers

    optimizer = trainer.combined.optimizer
    planned = optimizer._learning_rate.total_steps
    done = int(optimizer.iterations.numpy())
    try:
        retarget_optimizers(trainer.optimizers, trainer.config, done + 4)
        losses = trainer.train_step(batch(10), batch(11), batch(12))
        assert float(trainer._diversity_decay.factor.numpy()) == pytest.approx(4 / (done + 4))
        assert losses.diversity < 0
        retarget_optimizers(trainer.optimizers, trainer.config, done + 1)
        losses = trainer.train_step(batch(13), batch(14), batch(15))
        assert float(trainer._diversity_decay.factor.numpy()) == 0.0
        assert losses.diversity == 0.0
    finally:
        retarget_optimizers(trainer.optimizers, trainer.config, planned)
