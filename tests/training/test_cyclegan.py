"""The train_on_batch recipe: each update changes exactly the networks it should."""

from __future__ import annotations

import numpy as np
import pytest

from gan_style.training.cyclegan import CycleGANTrainer
from gan_style.training.schedule import ConstantThenLinearDecay
from tests.training.conftest import batch, changed, tiny_config, weights


@pytest.fixture(scope="module")
def trainer():
    return CycleGANTrainer(tiny_config(), use_augment=True)


def snapshot(trainer):
    return {
        "generator_photo_to_style": weights(trainer.generator_photo_to_style),
        "generator_style_to_photo": weights(trainer.generator_style_to_photo),
        "discriminator_style": weights(trainer.discriminator_style),
        "discriminator_photo": weights(trainer.discriminator_photo),
    }


def test_each_update_changes_only_its_own_networks(trainer):
    trainer.train_step(batch(0), batch(1))  # trace every function once
    photo, style = batch(2), batch(3)
    real, fake = trainer.adversarial.real_target, trainer.adversarial.fake_target
    targets = {
        "adversarial_style": trainer._targets(1, real),
        "adversarial_photo": trainer._targets(1, real),
        "cycled_photo": photo,
        "cycled_style": style,
        "identity_photo": photo,
        "identity_style": style,
    }

    before = snapshot(trainer)
    trainer._set_discriminators_trainable(False)
    trainer.combined.train_on_batch([photo, style], targets)
    after = snapshot(trainer)
    assert changed(before["generator_photo_to_style"], after["generator_photo_to_style"])
    assert changed(before["generator_style_to_photo"], after["generator_style_to_photo"])
    assert not changed(before["discriminator_style"], after["discriminator_style"])
    assert not changed(before["discriminator_photo"], after["discriminator_photo"])

    trainer._set_discriminators_trainable(True)
    both = np.concatenate([trainer._targets(1, real), trainer._targets(1, fake)])
    trainer.discriminator_style.train_on_batch(np.concatenate([style, photo]), both)
    final = snapshot(trainer)
    assert changed(after["discriminator_style"], final["discriminator_style"])
    for name in ("generator_photo_to_style", "generator_style_to_photo", "discriminator_photo"):
        assert not changed(after[name], final[name]), name


def test_a_full_step_updates_all_four_networks_and_reports_finite_losses(trainer):
    before = snapshot(trainer)
    losses = trainer.train_step(batch(4), batch(5))
    after = snapshot(trainer)
    assert all(changed(before[name], after[name]) for name in before)
    assert losses.all_finite()
    assert losses.cycle > 0 and losses.identity > 0
    expected_total = (
        losses.adversarial_style
        + losses.adversarial_photo
        + 10.0 * losses.cycle
        + 5.0 * losses.identity
    )
    assert losses.generator_total == pytest.approx(expected_total, rel=1e-4)


@pytest.mark.slow  # builds a second CycleGAN trainer: ~14 s
def test_without_identity_weight_the_identity_outputs_are_gone():
    trainer = CycleGANTrainer(tiny_config(identity_weight=0.0), use_augment=False)
    assert set(trainer.combined.output_names) == {
        "adversarial_style",
        "adversarial_photo",
        "cycled_photo",
        "cycled_style",
    }
    assert trainer.train_step(batch(6), batch(7)).identity == 0.0


def test_learning_rate_is_constant_then_decays_linearly_to_zero():
    schedule = ConstantThenLinearDecay(2e-4, total_steps=100, decay_start_step=50)
    values = [float(schedule(step)) for step in (0, 49, 50, 75, 100, 150)]
    assert values == pytest.approx([2e-4, 2e-4, 2e-4, 1e-4, 0.0, 0.0])
    assert ConstantThenLinearDecay(**schedule.get_config()).get_config() == schedule.get_config()


def test_d_learning_rate_sets_the_discriminators_rate_and_only_theirs():
    trainer = CycleGANTrainer(
        tiny_config(learning_rate=2e-4, d_learning_rate=5e-5), use_augment=False
    )

    def initial_rate(model):
        return float(model.optimizer.learning_rate)

    assert initial_rate(trainer.discriminator_style) == pytest.approx(5e-5)
    assert initial_rate(trainer.discriminator_photo) == pytest.approx(5e-5)
    assert initial_rate(trainer.combined) == pytest.approx(2e-4)
    fast = CycleGANTrainer(tiny_config(learning_rate=3e-4), use_augment=False)
    assert initial_rate(fast.discriminator_style) == pytest.approx(1.5e-4)  # the preset's half
    assert initial_rate(fast.combined) == pytest.approx(3e-4)
    quality = tiny_config(learning_rate=3e-4, preset="quality").resolved()
    assert quality.d_learning_rate == pytest.approx(3e-4)
