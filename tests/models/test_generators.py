import keras
import numpy as np
import pytest

from gan_style.models import GENERATOR_NAMES
from gan_style.models.generators import (
    GENERATORS,
    build_dcgan_generator,
    build_resnet_generator,
    get_generator_builder,
    resnet_trunk_range,
)
from gan_style.models.layers import ResidualBlock

NUM_FILTERS = 4
NUM_BLOCKS = 2


@pytest.fixture(scope="module")
def generator():
    return build_resnet_generator(num_filters=NUM_FILTERS, num_blocks=NUM_BLOCKS, name="g")


def random_images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype("float32")


@pytest.mark.parametrize("height, width", [(32, 32), (48, 48), (64, 64), (32, 64), (36, 20)])
def test_resnet_generator_keeps_the_size_of_any_multiple_of_4(generator, height, width):
    output = generator.predict_on_batch(random_images((2, height, width, 3)))

    assert output.shape == (2, height, width, 3)
    assert output.dtype == np.float32
    assert np.all(np.abs(output) <= 1.0)


def test_resnet_generator_layout(generator):
    start, stop = resnet_trunk_range(generator)
    trunk = generator.layers[start:stop]

    assert generator.name == "g"
    assert generator.input_shape == (None, None, None, 3)
    assert len(trunk) == NUM_BLOCKS
    assert all(isinstance(layer, ResidualBlock) for layer in trunk)
    assert {layer.num_filters for layer in trunk} == {4 * NUM_FILTERS}
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in generator.layers)
    assert generator.layers[-1].name == "decoder_head_tanh"


def test_resnet_generator_splits_into_encoder_trunk_decoder(generator):
    images = random_images((1, 32, 48, 3))
    start, stop = resnet_trunk_range(generator)

    def run(layers, inputs):
        for layer in layers:
            inputs = layer(inputs)
        return inputs

    features = run(generator.layers[:start], images)
    assert features.shape == (1, 8, 12, 4 * NUM_FILTERS)
    features = run(generator.layers[start:stop], features)
    assert features.shape == (1, 8, 12, 4 * NUM_FILTERS)
    output = keras.ops.convert_to_numpy(run(generator.layers[stop:], features))

    np.testing.assert_allclose(output, generator.predict_on_batch(images), atol=1e-5)


def test_resnet_trunk_range_rejects_a_model_without_trunk():
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(3, 1)], name="m")

    with pytest.raises(ValueError, match="contiguous run of trunk_"):
        resnet_trunk_range(model)


def test_resnet_generator_save_and_safe_load_give_identical_outputs(generator, tmp_path):
    images = random_images((2, 32, 64, 3))
    path = tmp_path / "generator.keras"
    generator.save(path)

    loaded = keras.saving.load_model(path, safe_mode=True)

    assert [layer.name for layer in loaded.layers] == [layer.name for layer in generator.layers]
    assert resnet_trunk_range(loaded) == resnet_trunk_range(generator)
    np.testing.assert_array_equal(
        loaded.predict_on_batch(images), generator.predict_on_batch(images)
    )


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"image_size": 30}, "image_size must be a multiple of 4"),
        ({"image_size": 4}, "image_size must be a multiple of 4"),
        ({"num_filters": 0}, "num_filters must be a positive int"),
        ({"num_blocks": -1}, "num_blocks must be a positive int"),
    ],
)
def test_resnet_generator_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        build_resnet_generator(**arguments)


@pytest.mark.parametrize("image_size", [8, 32, 64])
def test_dcgan_generator_output_shape(image_size):
    generator = build_dcgan_generator(latent_dim=16, image_size=image_size, num_filters=4)
    latents = np.random.default_rng(0).normal(size=(3, 16)).astype("float32")

    output = generator.predict_on_batch(latents)

    assert output.shape == (3, image_size, image_size, 3)
    assert output.dtype == np.float32
    assert np.all(np.abs(output) <= 1.0)


def test_dcgan_generator_uses_the_dcgan_filter_schedule():
    generator = build_dcgan_generator(latent_dim=8, image_size=64, num_filters=4)

    # 4×4 map of num_filters * 8, halved by each transposed convolution: 32 → 16 → 8 → 4 → 3.
    assert generator.get_layer("project_reshape").output.shape == (None, 4, 4, 32)
    filters = [
        layer.filters
        for layer in generator.layers
        if isinstance(layer, keras.layers.Conv2DTranspose)
    ]
    assert filters == [16, 8, 4, 3]


@pytest.mark.parametrize("image_size", [4, 48, 100])
def test_dcgan_generator_rejects_sizes_that_are_not_powers_of_two(image_size):
    with pytest.raises(ValueError, match=rf"power of two of at least 8.*received {image_size}"):
        build_dcgan_generator(image_size=image_size)


def test_generator_registry():
    assert tuple(GENERATORS) == GENERATOR_NAMES
    assert get_generator_builder("resnet") is build_resnet_generator
    assert get_generator_builder("dcgan") is build_dcgan_generator
    with pytest.raises(
        ValueError, match="Unknown generator 'unet'; expected one of: 'resnet', 'dcgan'"
    ):
        get_generator_builder("unet")
