import keras
import numpy as np
import pytest

from gan_style.models.discriminators import (
    build_dcgan_discriminator,
    build_patch_discriminator,
)
from gan_style.models.layers import Blur2D
from gan_style.training.augment import DiffAugment


def random_images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype("float32")


def receptive_field(model):
    """Side of the input patch one output sees, from the convolutions' kernels and strides."""
    size = 1
    for layer in reversed(model.layers):
        if isinstance(layer, keras.layers.Conv2D):
            size = (size - 1) * layer.strides[0] + layer.kernel_size[0]
    return size


@pytest.fixture(scope="module")
def discriminator():
    return build_patch_discriminator(num_filters=4, name="d")


@pytest.mark.parametrize("height, width", [(32, 32), (48, 48), (64, 64), (32, 64)])
def test_patch_discriminator_scores_one_patch_per_8_pixels(discriminator, height, width):
    scores = discriminator.predict_on_batch(random_images((2, height, width, 3)))

    assert scores.shape == (2, height // 8, width // 8, 1)
    assert scores.dtype == np.float32


def test_patch_discriminator_is_the_70_by_70_patchgan(discriminator):
    norms = [
        layer
        for layer in discriminator.layers
        if isinstance(layer, keras.layers.GroupNormalization)
    ]
    convs = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D)]

    assert receptive_field(discriminator) == 70
    assert [conv.filters for conv in convs] == [4, 8, 16, 32, 1]
    assert [conv.strides for conv in convs] == [(2, 2)] * 3 + [(1, 1)] * 2
    # Instance norm (one group per channel) after every convolution but the first and last.
    assert [norm.name for norm in norms] == ["block_2_norm", "block_3_norm", "block_4_norm"]
    assert [norm.groups for norm in norms] == [8, 16, 32]
    assert convs[-1].activation is keras.activations.linear


def test_patch_discriminator_num_layers_sets_the_receptive_field():
    assert receptive_field(build_patch_discriminator(num_filters=2, num_layers=1)) == 16
    assert receptive_field(build_patch_discriminator(num_filters=2, num_layers=5)) == 286


def test_patch_discriminator_augments_only_in_training():
    augment = DiffAugment(seed=3)
    discriminator = build_patch_discriminator(num_filters=4, augment=augment)
    images = random_images((2, 32, 32, 3))

    inference = keras.ops.convert_to_numpy(discriminator(images, training=False))
    training = keras.ops.convert_to_numpy(discriminator(images, training=True))

    assert discriminator.layers[0] is augment
    np.testing.assert_array_equal(discriminator.predict_on_batch(images), inference)
    assert not np.allclose(training, inference)


def test_patch_discriminator_with_augment_survives_a_config_round_trip():
    discriminator = build_patch_discriminator(num_filters=4, augment=DiffAugment(policy="cutout"))

    restored = keras.Sequential.from_config(discriminator.get_config())

    assert isinstance(restored.layers[0], DiffAugment)
    assert restored.layers[0].policy == "cutout"
    assert [layer.name for layer in restored.layers] == [
        layer.name for layer in discriminator.layers
    ]


PLAIN_LAYER_NAMES = [
    "block_1_conv",
    "block_1_relu",
    *(f"block_{index}_{part}" for index in (2, 3, 4) for part in ("conv", "norm", "relu")),
    "logits",
]
"""The layers of the discriminator of earlier runs (num_layers=3): `antialias=False` keeps
them."""


def test_patch_discriminator_without_antialias_keeps_the_old_layers(discriminator):
    assert [layer.name for layer in discriminator.layers] == PLAIN_LAYER_NAMES


@pytest.fixture(scope="module")
def antialias_discriminator():
    return build_patch_discriminator(num_filters=4, name="d", antialias=True)


def test_antialias_discriminator_blurs_before_the_stride_2_convs_after_the_first(
    antialias_discriminator, discriminator
):
    names = [layer.name for layer in antialias_discriminator.layers]
    expected = list(PLAIN_LAYER_NAMES)
    for index in (2, 3):
        expected.insert(expected.index(f"block_{index}_conv"), f"block_{index}_blur")

    # Not before block_1: the blur's zero gain at period 2 would hide checkerboards from D.
    assert names == expected
    assert all(
        isinstance(layer, Blur2D) == layer.name.endswith("_blur")
        for layer in antialias_discriminator.layers
    )
    assert [weight.shape for weight in antialias_discriminator.weights] == [
        weight.shape for weight in discriminator.weights
    ]


@pytest.mark.parametrize("height, width", [(32, 32), (48, 48), (32, 64)])
def test_antialias_discriminator_still_scores_one_patch_per_8_pixels(
    antialias_discriminator, height, width
):
    scores = antialias_discriminator.predict_on_batch(random_images((2, height, width, 3)))

    assert scores.shape == (2, height // 8, width // 8, 1)
    assert scores.dtype == np.float32
    assert antialias_discriminator.compute_output_shape((2, height, width, 3)) == scores.shape


def test_antialias_discriminator_with_one_layer_has_no_blur():
    names = [layer.name for layer in build_patch_discriminator(num_filters=2, num_layers=1).layers]
    antialias = build_patch_discriminator(num_filters=2, num_layers=1, antialias=True)

    assert [layer.name for layer in antialias.layers] == names


def test_antialias_discriminator_save_and_safe_load_give_identical_outputs(
    antialias_discriminator, tmp_path
):
    images = random_images((2, 32, 32, 3))
    path = tmp_path / "discriminator.keras"
    antialias_discriminator.save(path)

    loaded = keras.saving.load_model(path, safe_mode=True)

    assert isinstance(loaded.get_layer("block_2_blur"), Blur2D)
    np.testing.assert_array_equal(
        loaded.predict_on_batch(images), antialias_discriminator.predict_on_batch(images)
    )


@pytest.mark.parametrize("image_size", [8, 32, 64])
def test_dcgan_discriminator_gives_one_logit_per_image(image_size):
    discriminator = build_dcgan_discriminator(image_size=image_size, num_filters=4)

    logits = discriminator.predict_on_batch(random_images((3, image_size, image_size, 3)))

    assert logits.shape == (3, 1)
    assert logits.dtype == np.float32
    # Strided convolutions down to a 4×4 map, as in DCGAN.
    assert discriminator.get_layer("flatten").input.shape[1:3] == (4, 4)


@pytest.mark.parametrize(
    "builder, arguments, message",
    [
        (build_patch_discriminator, {"num_layers": 0}, "num_layers must be a positive int"),
        (build_patch_discriminator, {"num_filters": 2.5}, "num_filters must be a positive int"),
        (build_patch_discriminator, {"antialias": "yes"}, "antialias must be True or False"),
        (build_dcgan_discriminator, {"image_size": 48}, "power of two of at least 8"),
    ],
)
def test_discriminators_reject_bad_arguments(builder, arguments, message):
    with pytest.raises(ValueError, match=message):
        builder(**arguments)
