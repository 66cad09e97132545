import keras
import numpy as np
import pytest

from gan_style.models.discriminators import build_dcgan_discriminator, build_patch_discriminator
from gan_style.models.generators import build_dcgan_generator, build_resnet_generator
from gan_style.training.augment import DiffAugment


@pytest.fixture
def mixed_bfloat16():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy(previous)


@pytest.mark.parametrize(
    "build, input_shape",
    [
        (lambda: build_resnet_generator(num_filters=4, num_blocks=1), (2, 32, 64, 3)),
        (lambda: build_dcgan_generator(latent_dim=8, image_size=16, num_filters=4), (2, 8)),
        (
            lambda: build_patch_discriminator(num_filters=4, augment=DiffAugment(seed=0)),
            (2, 32, 32, 3),
        ),
        (lambda: build_dcgan_discriminator(image_size=16, num_filters=4), (2, 16, 16, 3)),
    ],
    ids=["resnet_generator", "dcgan_generator", "patch_discriminator", "dcgan_discriminator"],
)
def test_outputs_stay_float32_under_mixed_precision(mixed_bfloat16, build, input_shape):
    model = build()
    inputs = np.random.default_rng(0).uniform(-1.0, 1.0, input_shape).astype("float32")

    # The policy is in force: the hidden layers compute in bfloat16.
    assert model.layers[1].compute_dtype == "bfloat16"
    assert model.predict_on_batch(inputs).dtype == np.float32
    assert keras.ops.convert_to_numpy(model(inputs, training=True)).dtype == np.float32
