"""The DCGAN recipe: each update changes only its own network, the noise stream is exact."""

from __future__ import annotations

import numpy as np
import pytest

from gan_style.config import TrainConfig
from gan_style.training.dcgan import DCGANTrainer, latent_vectors
from tests.training.conftest import tiny_config as tiny_translation_config

SIZE = 16
BATCH = 4


def tiny_config(**overrides) -> TrainConfig:
    """A tiny dcgan config (the fields dcgan has no use for stay at the translation ones')."""
    dcgan = dict(model="dcgan", image_size=SIZE, batch_size=BATCH, latent_dim=8)
    return tiny_translation_config(**{**dcgan, **overrides})


def batch(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (BATCH, SIZE, SIZE, 3)).astype("float32")


def weights(model) -> list[np.ndarray]:
    return [np.array(value) for value in model.get_weights()]


def trainable_weights(model) -> list[np.ndarray]:
    return [variable.numpy() for variable in model.trainable_weights]


def changed(before, after) -> bool:
    return any(not np.array_equal(left, right) for left, right in zip(before, after, strict=True))


@pytest.fixture(scope="module")
def trainer():
    return DCGANTrainer(tiny_config(), use_augment=True)


def test_the_preset_gives_dcgan_sizes_and_bce():
    config = TrainConfig(style="s", name="n", model="dcgan").resolved()
    assert (config.image_size, config.batch_size, config.loss) == (64, 32, "bce")
    assert config.num_blocks is None


def test_each_update_changes_only_its_own_network(trainer):
    trainer.train_step(batch(0))  # trace every function once
    real = trainer.adversarial.real_target
    before_g = trainable_weights(trainer.generator)
    before_d = weights(trainer.discriminator)
    trainer.discriminator.trainable = False
    noise = latent_vectors(BATCH, 8, 5)
    trainer.combined.train_on_batch(noise, np.full((BATCH, 1), real, np.float32))
    after_g, after_d = trainable_weights(trainer.generator), weights(trainer.discriminator)
    assert changed(before_g, after_g)
    assert not changed(before_d, after_d)

    trainer.discriminator.trainable = True
    targets = np.concatenate([np.ones((BATCH, 1)), np.zeros((BATCH, 1))]).astype("float32")
    trainer.discriminator.train_on_batch(np.concatenate([batch(1), batch(2)]), targets)
    trainer.discriminator.trainable = False
    assert changed(after_d, weights(trainer.discriminator))
    assert not changed(after_g, trainable_weights(trainer.generator))


def test_a_full_step_updates_both_networks_and_reports_finite_losses(trainer):
    before_g, before_d = weights(trainer.generator), weights(trainer.discriminator)
    losses = trainer.train_step(batch(3))
    assert changed(before_g, weights(trainer.generator))
    assert changed(before_d, weights(trainer.discriminator))
    assert losses.all_finite() and losses.generator > 0 and losses.discriminator > 0


def test_the_sample_grid_is_the_same_fixed_noise_every_time(trainer):
    columns, titles = trainer.sample_columns()
    assert len(columns) == 4 and len(titles) == 4
    assert all(column.shape == (4, SIZE, SIZE, 3) for column in columns)
    again, _ = trainer.sample_columns()
    np.testing.assert_array_equal(np.stack(columns), np.stack(again))


def test_latent_vectors_are_seeded_and_truncated():
    first = latent_vectors(6, 8, (3, 7))
    np.testing.assert_array_equal(first, latent_vectors(6, 8, (3, 7)))
    assert not np.array_equal(first, latent_vectors(6, 8, (3, 8)))
    assert first.dtype == np.float32 and first.shape == (6, 8)
    truncated = latent_vectors(500, 8, 0, truncation=0.5)
    assert np.abs(truncated).max() <= 0.5
    assert truncated.std() > 0.2  # redrawn, not clipped to a constant
    with pytest.raises(ValueError, match="truncation"):
        latent_vectors(1, 8, 0, truncation=0)


def test_two_trainers_with_the_same_seed_take_the_same_steps():
    import keras

    data = batch(9)
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(4)  # as `gan_style.train` does before building the models
        trainer = DCGANTrainer(tiny_config(seed=4), use_augment=True)
        for _ in range(2):
            trainer.train_step(data)
        runs.append(weights(trainer.generator))
    assert not changed(*runs)
