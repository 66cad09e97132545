"""The CUT recipe: each update changes exactly the networks it should; FastCUT's differences."""

from __future__ import annotations

import numpy as np
import pytest

from gan_style.models.layers import Blur2D
from gan_style.training.cut import CUTTrainer, nce_layer_names
from tests.training.conftest import SIZE, batch, changed, cut_config, weights


@pytest.fixture(scope="module")
def trainer():
    return CUTTrainer(cut_config(), use_augment=True)


def snapshot(trainer):
    return {
        "generator": weights(trainer.generator_photo_to_style),
        "heads": [np.array(value) for value in trainer.nce.get_weights()],
        "discriminator": weights(trainer.discriminator_style),
    }


def test_the_presets_make_an_anti_aliased_one_sided_model(trainer):
    assert trainer.config.antialias is True and trainer.config.pool_size == 0
    for model in (trainer.generator_photo_to_style, trainer.discriminator_style):
        assert any(isinstance(layer, Blur2D) for layer in model.layers), model.name
    assert set(trainer.combined.output_names) == {"adversarial_style", "nce", "nce_identity"}
    assert nce_layer_names(3) == [
        None,
        "encoder_down_1_conv",
        "encoder_down_2_conv",
        "trunk_block_1",
        "trunk_block_2",
    ]
    assert nce_layer_names(1)[-1] == "trunk_block_1"  # the middle block is the first one


def test_each_update_changes_only_its_own_networks(trainer):
    trainer.train_step(batch(0), batch(1))  # trace every function once
    photo, style = batch(2), batch(3)
    real, fake = trainer.adversarial.real_target, trainer.adversarial.fake_target
    zeros = np.zeros((1, 1), np.float32)
    targets = {"adversarial_style": trainer._targets(1, real), "nce": zeros, "nce_identity": zeros}

    before = snapshot(trainer)
    trainer.discriminator_style.trainable = False
    trainer.combined.train_on_batch([photo, style, trainer._flips(1)], targets)
    after = snapshot(trainer)
    assert changed(before["generator"], after["generator"])
    assert changed(before["heads"], after["heads"])
    assert not changed(before["discriminator"], after["discriminator"])

    trainer.discriminator_style.trainable = True
    both = np.concatenate([trainer._targets(1, real), trainer._targets(1, fake)])
    trainer.discriminator_style.train_on_batch(np.concatenate([style, photo]), both)
    final = snapshot(trainer)
    assert changed(after["discriminator"], final["discriminator"])
    assert not changed(after["generator"], final["generator"])
    assert not changed(after["heads"], final["heads"])


def test_a_full_step_reports_the_weighted_total(trainer):
    losses = trainer.train_step(batch(4), batch(5))
    assert losses.all_finite()
    assert losses.nce > 0 and losses.nce_identity > 0  # a cross-entropy
    expected = losses.adversarial_style + 0.5 * (losses.nce + losses.nce_identity)
    assert losses.generator_total == pytest.approx(expected, rel=1e-4)


def test_fastcut_weights_one_nce_term_by_ten_and_flips_half_the_time():
    trainer = CUTTrainer(cut_config("fastcut"), use_augment=False)
    assert set(trainer.combined.output_names) == {"adversarial_style", "nce"}
    flips = [float(trainer._flips(1)[0, 0, 0, 0]) for _ in range(200)]
    assert set(flips) == {0.0, 1.0} and 70 < sum(flips) < 130
    losses = trainer.train_step(batch(6), batch(7))
    assert losses.nce_identity == 0.0
    assert losses.generator_total == pytest.approx(
        losses.adversarial_style + 10.0 * losses.nce, rel=1e-4
    )


@pytest.mark.slow
def test_a_restored_checkpoint_continues_the_same_streams(tmp_path):
    first = CUTTrainer(cut_config("fastcut", seed=4), use_augment=True)
    first.train_step(batch(0), batch(1))
    checkpoint = first.checkpoint()
    path = checkpoint.write(str(tmp_path / "state"))
    arrays = first.pool_arrays()
    expected = first.train_step(batch(2), batch(3))

    second = CUTTrainer(cut_config("fastcut", seed=4), use_augment=True)
    second.checkpoint().read(path).assert_existing_objects_matched()
    second.restore_pools(arrays)
    actual = second.train_step(batch(2), batch(3))
    for name, value in expected.as_dict().items():
        assert getattr(actual, name) == pytest.approx(value, rel=1e-4, abs=1e-6), name
    assert SIZE == 32


@pytest.fixture(scope="module")
def backbone_file(tmp_path_factory):
    """Random EfficientNet-Lite0 weights in an .npz, for --backbone-weights."""
    from gan_style.models.projected import save_backbone_arrays
    from tests.conftest import synthetic_efficientnet

    path = tmp_path_factory.mktemp("backbone") / "efficientnet_lite0.npz"
    save_backbone_arrays(synthetic_efficientnet(), path)
    return path


def test_patch_and_projected_discriminators_each_train_only_themselves(backbone_file):
    trainer = CUTTrainer(
        cut_config(discriminator="patch+projected", backbone_weights=str(backbone_file)),
        use_augment=True,
    )
    patch, projected = trainer.discriminators["style"], trainer.discriminators["style_projected"]
    assert patch.name == "discriminator_style" and projected.get_layer("frozen_features")
    assert set(trainer.combined.output_names) == {
        "adversarial_style",
        "adversarial_style_projected",
        "nce",
        "nce_identity",
    }
    frozen = projected.get_layer("frozen_features")
    first = trainer.train_step(batch(0), batch(1))
    assert first.adversarial_projected > 0 and first.discriminator_projected > 0
    assert {"adversarial_projected", "discriminator_projected"} <= set(first.as_dict())

    before = {
        "generator": weights(trainer.generator_photo_to_style),
        "patch": weights(patch),
        "head": [v.numpy() for v in projected.trainable_weights],
        "frozen": [v.numpy() for v in frozen.weights],
    }
    trainer.train_step(batch(2), batch(3))
    after = {
        "generator": weights(trainer.generator_photo_to_style),
        "patch": weights(patch),
        "head": [v.numpy() for v in projected.trainable_weights],
        "frozen": [v.numpy() for v in frozen.weights],
    }
    assert changed(before["generator"], after["generator"])
    assert changed(before["patch"], after["patch"])
    assert changed(before["head"], after["head"])
    assert not changed(before["frozen"], after["frozen"])
    checkpoint = trainer.checkpoint()
    assert hasattr(checkpoint, "discriminator_style_projected")
    assert len(trainer.optimizers) == 3


def test_one_discriminator_logs_what_it_always_did(trainer):
    assert "adversarial_projected" not in trainer.train_step(batch(0), batch(1)).as_dict()
