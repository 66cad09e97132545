import keras
import numpy as np
import pytest

from gan_style.models.discriminators import build_patch_discriminator
from gan_style.training import ADVERSARIAL_LOSS_NAMES
from gan_style.training.losses import (
    ADVERSARIAL_LOSSES,
    bce_discriminator_loss,
    bce_generator_loss,
    cycle_consistency_loss,
    get_adversarial_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    hinge_generator_loss,
    identity_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    wasserstein_discriminator_loss,
    wasserstein_generator_loss,
    wasserstein_keras_loss,
)

REAL_SCORES = np.array([[2.0], [0.0]], "float32")
FAKE_SCORES = np.array([[0.5], [-1.0]], "float32")


@pytest.mark.parametrize(
    "loss, arguments, expected",
    [
        # mean((0.5 - 1)², (-1 - 1)²) = (0.25 + 4) / 2
        (lsgan_generator_loss, (FAKE_SCORES,), 2.125),
        # mean((2 - 1)², (0 - 1)²) + mean(0.5², (-1)²) = 1 + 0.625
        (lsgan_discriminator_loss, (REAL_SCORES, FAKE_SCORES), 1.625),
        # softplus(z) = log(1 + e^z); mean(softplus(-0.5), softplus(1)) = (0.474077 + 1.313262) / 2
        (bce_generator_loss, (FAKE_SCORES,), 0.893669),
        # mean(softplus(-2), softplus(0)) + mean(softplus(0.5), softplus(-1))
        # = (0.126928 + 0.693147) / 2 + (0.974077 + 0.313262) / 2
        (bce_discriminator_loss, (REAL_SCORES, FAKE_SCORES), 1.053707),
        # -mean(0.5, -1)
        (hinge_generator_loss, (FAKE_SCORES,), 0.25),
        # mean(max(0, 1 - 2), max(0, 1 - 0)) + mean(max(0, 1 + 0.5), max(0, 1 - 1)) = 0.5 + 0.75
        (hinge_discriminator_loss, (REAL_SCORES, FAKE_SCORES), 1.25),
        (wasserstein_generator_loss, (FAKE_SCORES,), 0.25),
        # mean(0.5, -1) - mean(2, 0) = -0.25 - 1
        (wasserstein_discriminator_loss, (REAL_SCORES, FAKE_SCORES), -1.25),
    ],
)
def test_adversarial_losses_match_hand_computed_values(loss, arguments, expected):
    assert float(loss(*arguments)) == pytest.approx(expected, abs=1e-5)


def test_bce_losses_are_stable_for_large_logits():
    assert float(bce_generator_loss(np.array([200.0]))) == pytest.approx(0.0, abs=1e-6)
    assert float(bce_generator_loss(np.array([-200.0]))) == pytest.approx(200.0)
    assert float(bce_discriminator_loss(np.array([-200.0]), np.array([200.0]))) == pytest.approx(
        400.0
    )


def test_l1_losses_match_hand_computed_values():
    real = np.array([[[[0.0, 1.0], [-1.0, 0.5]]]], "float32")
    reconstructed = np.array([[[[0.5, 1.0], [0.0, -0.5]]]], "float32")

    # mean(|0.5|, 0, |1|, |-1|) = 2.5 / 4
    assert float(cycle_consistency_loss(real, reconstructed)) == pytest.approx(0.625)
    assert float(identity_loss(real, reconstructed)) == pytest.approx(0.625)
    assert float(cycle_consistency_loss(real, real)) == 0.0


def test_losses_return_float32_for_bfloat16_scores():
    scores = keras.ops.cast(FAKE_SCORES, "bfloat16")

    assert keras.ops.dtype(lsgan_generator_loss(scores)) == "float32"
    assert keras.ops.dtype(cycle_consistency_loss(scores, scores)) == "float32"


def linear_critic(weight):
    """D(x) = weight · sum(x): its input gradient is `weight` at every pixel."""
    return lambda images, training: weight * keras.ops.sum(images, axis=[1, 2, 3])


def square_critic(images, training):
    """D(x) = sum(x²): its input gradient is 2x."""
    return keras.ops.sum(keras.ops.square(images), axis=[1, 2, 3])


def test_gradient_penalty_is_zero_for_a_unit_gradient_norm():
    real = np.ones((2, 2, 2, 1), "float32")
    fake = np.zeros((2, 2, 2, 1), "float32")

    # Four pixels of gradient 0.5: norm sqrt(4 × 0.25) = 1, for any interpolation.
    assert float(gradient_penalty(linear_critic(0.5), real, fake, seed=1)) == pytest.approx(0.0)
    # Gradient 1: norm 2, penalty (2 - 1)² = 1.
    assert float(gradient_penalty(linear_critic(1.0), real, fake, seed=1)) == pytest.approx(1.0)


def test_gradient_penalty_interpolates_from_fake_to_real():
    real = np.ones((2, 2, 2, 1), "float32")
    fake = np.zeros((2, 2, 2, 1), "float32")
    weights = np.array([0.25, 0.5], "float32").reshape(2, 1, 1, 1)

    # x̂ = ε·1 + (1 - ε)·0 = ε, gradient 2ε at four pixels, norm 4ε: (1 - 1)² and (2 - 1)².
    penalty = gradient_penalty(square_critic, real, fake, interpolation_weights=weights)

    assert float(penalty) == pytest.approx(0.5)


def test_gradient_penalty_runs_through_a_patch_discriminator():
    discriminator = build_patch_discriminator(num_filters=2, num_layers=1)
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    fake = rng.uniform(-1, 1, (2, 16, 16, 3)).astype("float32")

    penalty = float(gradient_penalty(discriminator, real, fake, seed=0))

    assert np.isfinite(penalty)
    assert penalty > 0.0


def keras_loss_value(loss, targets, scores):
    """What `compile(loss=loss)` reports for one batch (mean over all elements)."""
    loss = keras.losses.get(loss)
    value = loss(targets, scores)
    return float(value if isinstance(loss, keras.losses.Loss) else keras.ops.mean(value))


@pytest.mark.parametrize("name", ADVERSARIAL_LOSS_NAMES)
def test_registry_keras_losses_agree_with_the_pure_losses(name):
    spec = get_adversarial_loss(name)
    rng = np.random.default_rng(0)
    real_scores = rng.normal(size=(3, 4, 4, 1)).astype("float32")
    fake_scores = rng.normal(size=(3, 4, 4, 1)).astype("float32")
    real_targets = np.full_like(real_scores, spec.real_target)
    fake_targets = np.full_like(fake_scores, spec.fake_target)

    generator_value = keras_loss_value(spec.generator_keras_loss, real_targets, fake_scores)
    real_value = keras_loss_value(spec.discriminator_keras_loss, real_targets, real_scores)
    fake_value = keras_loss_value(spec.discriminator_keras_loss, fake_targets, fake_scores)
    concatenated_value = keras_loss_value(
        spec.discriminator_keras_loss,
        np.concatenate([real_targets, fake_targets]),
        np.concatenate([real_scores, fake_scores]),
    )

    assert spec.name == name
    assert generator_value == pytest.approx(float(spec.generator_loss(fake_scores)), abs=1e-5)
    discriminator_value = float(spec.discriminator_loss(real_scores, fake_scores))
    assert real_value + fake_value == pytest.approx(discriminator_value, abs=1e-5)
    assert 2 * concatenated_value == pytest.approx(discriminator_value, abs=1e-5)


def test_only_wgan_gp_asks_for_a_gradient_penalty():
    weights = {name: spec.gradient_penalty_weight for name, spec in ADVERSARIAL_LOSSES.items()}

    assert weights == {"lsgan": 0.0, "bce": 0.0, "hinge": 0.0, "wgan-gp": 10.0}


def test_registry_names_and_unknown_name():
    assert tuple(ADVERSARIAL_LOSSES) == ADVERSARIAL_LOSS_NAMES
    with pytest.raises(
        ValueError, match="Unknown adversarial loss 'wgan'; expected one of: 'lsgan', 'bce'"
    ):
        get_adversarial_loss("wgan")


def test_wasserstein_keras_loss_survives_compile_save_and_safe_load(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=wasserstein_keras_loss)
    path = tmp_path / "critic.keras"
    model.save(path)

    loaded = keras.saving.load_model(path, safe_mode=True)

    assert keras.saving.get_registered_name(wasserstein_keras_loss) == (
        "gan_style>wasserstein_keras_loss"
    )
    inputs = np.array([[1.0, 2.0], [3.0, -1.0]], "float32")
    targets = np.array([[1.0], [-1.0]], "float32")
    scores = model.predict_on_batch(inputs)
    expected = float(np.mean(-targets * scores))
    assert loaded.evaluate(inputs, targets, verbose=0) == pytest.approx(expected, abs=1e-5)
