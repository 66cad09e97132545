import keras
import numpy as np
import pytest

from gan_style.models.layers import (
    INSTANCE_NORM_EPSILON,
    ReflectionPadding2D,
    ResidualBlock,
    instance_normalization,
)


def random_images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype("float32")


def test_reflection_padding_matches_numpy_reflect():
    images = random_images((2, 5, 7, 3))
    layer = ReflectionPadding2D((1, 2))

    padded = keras.ops.convert_to_numpy(layer(images))

    expected = np.pad(images, [(0, 0), (1, 1), (2, 2), (0, 0)], mode="reflect")
    np.testing.assert_array_equal(padded, expected)


def test_reflection_padding_output_shape_keeps_unknown_sizes():
    layer = ReflectionPadding2D(3)

    assert layer.compute_output_shape((None, None, 10, 4)) == (None, None, 16, 4)
    assert keras.Sequential([keras.Input((None, None, 3)), layer]).output_shape == (
        None,
        None,
        None,
        3,
    )


@pytest.mark.parametrize("padding", [-1, (1, 2, 3), 1.5, "1"])
def test_reflection_padding_rejects_bad_padding(padding):
    with pytest.raises(ValueError, match="padding must be"):
        ReflectionPadding2D(padding)


def test_reflection_padding_config_round_trip():
    layer = ReflectionPadding2D((2, 1), name="pad")

    restored = ReflectionPadding2D.from_config(layer.get_config())

    assert restored.get_config() == layer.get_config()
    assert restored.padding == (2, 1)
    assert restored.name == "pad"


def test_instance_normalization_normalises_each_sample_and_channel():
    images = random_images((2, 6, 5, 4)) * 3.0 + 1.0
    layer = instance_normalization()

    normalised = keras.ops.convert_to_numpy(layer(images))

    mean = images.mean(axis=(1, 2), keepdims=True)
    variance = images.var(axis=(1, 2), keepdims=True)
    expected = (images - mean) / np.sqrt(variance + INSTANCE_NORM_EPSILON)
    np.testing.assert_allclose(normalised, expected, atol=1e-5)


def test_residual_block_keeps_shape_at_any_size():
    block = ResidualBlock(8)

    for height, width in [(8, 8), (6, 10)]:
        assert block(random_images((2, height, width, 8))).shape == (2, height, width, 8)


def test_residual_block_adds_its_input():
    images = random_images((2, 8, 8, 4))
    block = ResidualBlock(4)
    block(images)
    # A zero second convolution leaves norm_2 with nothing but its offset (zero), so the block
    # must return its input exactly: that is the skip connection.
    block.conv_2.kernel.assign(np.zeros(block.conv_2.kernel.shape, "float32"))

    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(images)), images, atol=1e-6)


def test_residual_block_transforms_its_input():
    images = random_images((2, 8, 8, 4))
    block = ResidualBlock(4)

    residual = keras.ops.convert_to_numpy(block(images)) - images

    # The residual branch ends in an instance norm: zero mean and unit variance per channel.
    np.testing.assert_allclose(residual.mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(residual.std(axis=(1, 2)), 1.0, atol=1e-2)


def test_residual_block_rejects_a_channel_mismatch():
    block = ResidualBlock(8)

    with pytest.raises(ValueError, match="needs inputs with 8 channels"):
        block(random_images((1, 8, 8, 3)))


def test_residual_block_rejects_bad_num_filters():
    with pytest.raises(ValueError, match="num_filters must be a positive int; received 0"):
        ResidualBlock(0)


def test_residual_block_config_round_trip_with_weights():
    images = random_images((1, 8, 8, 4))
    block = ResidualBlock(4, name="block")
    expected = keras.ops.convert_to_numpy(block(images))

    restored = ResidualBlock.from_config(block.get_config())
    restored.build(images.shape)
    restored.set_weights(block.get_weights())

    assert restored.get_config() == block.get_config()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored(images)), expected)


@pytest.mark.parametrize("layer_class", [ReflectionPadding2D, ResidualBlock])
def test_layers_are_registered_for_safe_loading(layer_class):
    name = keras.saving.get_registered_name(layer_class)

    assert name == f"gan_style>{layer_class.__name__}"
    assert keras.saving.get_registered_object(name) is layer_class
