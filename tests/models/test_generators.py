import keras
import numpy as np
import pytest

from gan_style.models.generators import (
    build_dcgan_generator,
    build_resnet_generator,
    resnet_trunk_range,
)
from gan_style.models.layers import Blur2D, ResidualBlock

NUM_FILTERS = 4
NUM_BLOCKS = 2


PLAIN_LAYER_NAMES = [
    *(f"encoder_stem_{part}" for part in ("pad", "conv", "norm", "relu")),
    *(f"encoder_down_1_{part}" for part in ("pad", "conv", "norm", "relu")),
    *(f"encoder_down_2_{part}" for part in ("pad", "conv", "norm", "relu")),
    "trunk_block_1",
    "trunk_block_2",
    *(f"decoder_up_1_{part}" for part in ("resize", "pad", "conv", "norm", "relu")),
    *(f"decoder_up_2_{part}" for part in ("resize", "pad", "conv", "norm", "relu")),
    "decoder_head_pad",
    "decoder_head_conv",
    "decoder_head_tanh",
]
"""The layers of the generator of earlier bundles (num_blocks=2): `antialias=False` keeps them."""


@pytest.fixture(scope="module")
def generator():
    return build_resnet_generator(num_filters=NUM_FILTERS, num_blocks=NUM_BLOCKS, name="g")


@pytest.fixture(scope="module")
def antialias_generator():
    return build_resnet_generator(
        num_filters=NUM_FILTERS, num_blocks=NUM_BLOCKS, name="g", antialias=True
    )


def random_images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype("float32")


@pytest.mark.parametrize("height, width", [(32, 32), (48, 48), (64, 64), (32, 64), (36, 20)])
def test_resnet_generator_keeps_the_size_of_any_multiple_of_4(generator, height, width):
    output = generator.predict_on_batch(random_images((2, height, width, 3)))

    assert output.shape == (2, height, width, 3)
    assert output.dtype == np.float32
    # Two different inputs give two different, non-flat outputs (a broken norm or a lost skip
    # connection would not).
    assert output[0].std() > 1e-3 and not np.allclose(output[0], output[1])


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


def test_resnet_generator_without_antialias_keeps_the_old_layers(generator):
    assert [layer.name for layer in generator.layers] == PLAIN_LAYER_NAMES
    assert not any(isinstance(layer, Blur2D) for layer in generator.layers)


def test_antialias_generator_blurs_before_each_down_sampling_and_after_each_resize(
    antialias_generator, generator
):
    names = [layer.name for layer in antialias_generator.layers]
    expected = list(PLAIN_LAYER_NAMES)
    for index in (1, 2):
        expected.insert(expected.index(f"encoder_down_{index}_pad"), f"encoder_down_{index}_blur")
        resize = expected.index(f"decoder_up_{index}_resize")
        expected.insert(resize + 1, f"decoder_up_{index}_blur")

    assert names == expected
    blurs = [layer for layer in antialias_generator.layers if isinstance(layer, Blur2D)]
    assert [layer.name for layer in blurs] == [
        "encoder_down_1_blur",
        "encoder_down_2_blur",
        "decoder_up_1_blur",
        "decoder_up_2_blur",
    ]
    # The blurs add no weights: every other layer's weights are those of the plain model.
    assert [weight.path for weight in antialias_generator.weights] == [
        weight.path for weight in generator.weights
    ]
    assert [weight.shape for weight in antialias_generator.weights] == [
        weight.shape for weight in generator.weights
    ]
    assert resnet_trunk_range(antialias_generator) == (14, 16)  # 4 + 5 + 5 encoder layers


@pytest.mark.parametrize("height, width", [(32, 32), (48, 48), (32, 64), (36, 20), (8, 12)])
def test_antialias_generator_keeps_the_size_of_any_multiple_of_4(
    antialias_generator, height, width
):
    output = antialias_generator.predict_on_batch(random_images((2, height, width, 3)))

    assert output.shape == (2, height, width, 3)
    assert output.dtype == np.float32
    # Two different inputs give two different, non-flat outputs (a broken norm or a lost skip
    # connection would not).
    assert output[0].std() > 1e-3 and not np.allclose(output[0], output[1])


def test_antialias_changes_the_output_of_the_same_weights(antialias_generator, generator):
    images = random_images((1, 32, 32, 3))
    plain = build_resnet_generator(num_filters=NUM_FILTERS, num_blocks=NUM_BLOCKS)
    plain.set_weights(antialias_generator.get_weights())

    assert not np.allclose(
        plain.predict_on_batch(images), antialias_generator.predict_on_batch(images), atol=1e-3
    )


def test_antialias_generator_save_and_safe_load_give_identical_outputs(
    antialias_generator, tmp_path
):
    images = random_images((2, 32, 48, 3))
    path = tmp_path / "generator.keras"
    antialias_generator.save(path)

    loaded = keras.saving.load_model(path, safe_mode=True)

    assert [layer.name for layer in loaded.layers] == [
        layer.name for layer in antialias_generator.layers
    ]
    assert isinstance(loaded.get_layer("decoder_up_2_blur"), Blur2D)
    np.testing.assert_array_equal(
        loaded.predict_on_batch(images), antialias_generator.predict_on_batch(images)
    )


def test_antialias_generator_runs_under_mixed_bfloat16():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_resnet_generator(num_filters=NUM_FILTERS, num_blocks=1, antialias=True)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    images = random_images((2, 32, 32, 3))

    assert model.get_layer("encoder_down_1_blur").compute_dtype == "bfloat16"
    output = model.predict_on_batch(images)
    assert output.dtype == np.float32 and output.shape == (2, 32, 32, 3)
    assert np.all(np.isfinite(output))


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"image_size": 30}, "image_size must be a multiple of 4"),
        ({"image_size": 4}, "image_size must be a multiple of 4"),
        ({"num_filters": 0}, "num_filters must be a positive int"),
        ({"num_blocks": -1}, "num_blocks must be a positive int"),
        ({"antialias": 1}, "antialias must be True or False; received 1"),
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
    assert not np.allclose(output[0], output[1])  # different noise, different images


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
