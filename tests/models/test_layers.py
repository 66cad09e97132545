import keras
import numpy as np
import pytest

from gan_style.models.layers import (
    INSTANCE_NORM_EPSILON,
    Blur2D,
    ReflectionPadding2D,
    ResidualBlock,
    binomial_blur,
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


@pytest.mark.parametrize("layer_class", [ReflectionPadding2D, Blur2D, ResidualBlock])
def test_layers_are_registered_for_safe_loading(layer_class):
    name = keras.saving.get_registered_name(layer_class)

    assert name == f"gan_style>{layer_class.__name__}"
    assert keras.saving.get_registered_object(name) is layer_class


@pytest.fixture
def mixed_bfloat16():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy(previous)


def blur_reference(images: np.ndarray) -> np.ndarray:
    """Reflect-pad 1, then the 3×3 kernel [1, 2, 1]⊗[1, 2, 1] / 16 tap by tap, in float64."""
    padded = np.pad(images.astype(np.float64), [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    height, width = images.shape[1:3]
    taps = np.array([1.0, 2.0, 1.0])
    return sum(
        taps[row] * taps[column] / 16.0 * padded[:, row : row + height, column : column + width]
        for row in range(3)
        for column in range(3)
    )


@pytest.mark.parametrize("channels", [1, 3, 5, 64])
def test_binomial_blur_is_the_reflect_padded_binomial_kernel(channels):
    images = random_images((2, 7, 6, channels))

    blurred = keras.ops.convert_to_numpy(binomial_blur(images))

    assert blurred.dtype == np.float32
    np.testing.assert_allclose(blurred, blur_reference(images), atol=1e-6)


def test_binomial_blur_valid_padding_drops_the_border():
    images = random_images((1, 9, 8, 2))

    valid = keras.ops.convert_to_numpy(binomial_blur(images, padding="valid"))

    assert valid.shape == (1, 7, 6, 2)
    np.testing.assert_allclose(valid, blur_reference(images)[:, 1:-1, 1:-1], atol=1e-6)
    with pytest.raises(ValueError, match="padding must be one of 'reflect', 'valid'; received"):
        binomial_blur(images, padding="same")


def stripes(period: int, phase: float, size: int = 32) -> np.ndarray:
    """Horizontal cosine stripes cos(2πn / period + phase) along the rows, 2 channels."""
    rows = np.cos(2 * np.pi * np.arange(size) / period + phase)
    return np.broadcast_to(rows[None, :, None, None], (1, size, size, 2)).astype("float32")


@pytest.mark.parametrize(
    "period, gain",
    [
        (2, 0.0),  # cos²(π/2): the Nyquist frequency a stride-2 sampling aliases
        (4, 0.5),  # cos²(π/4): the period of the hatching grid, halved
        (8, np.cos(np.pi / 8) ** 2),  # 0.854
    ],
)
@pytest.mark.parametrize("phase", [0.0, 0.3])
def test_binomial_blur_frequency_response_is_cos_squared(period, gain, phase):
    """[1, 2, 1] / 4 is symmetric, so it scales a cosine of frequency f by exactly cos²(πf)."""
    images = stripes(period, phase)

    blurred = keras.ops.convert_to_numpy(binomial_blur(images))
    transposed = keras.ops.convert_to_numpy(binomial_blur(images.transpose(0, 2, 1, 3)))

    # Away from the reflected border row; the unfiltered axis is constant (gain 1).
    np.testing.assert_allclose(blurred[:, 1:-1], gain * images[:, 1:-1], atol=1e-6)
    np.testing.assert_allclose(transposed, blurred.transpose(0, 2, 1, 3), atol=1e-6)


def test_binomial_blur_removes_period_2_checkerboards_and_keeps_constants():
    rows, columns = np.indices((16, 12))
    checkerboard = np.where((rows + columns) % 2, 1.0, -1.0)[None, :, :, None]
    grid_4 = (np.cos(np.pi * rows / 2) * np.cos(np.pi * columns / 2))[None, :, :, None]
    constant = np.full((1, 16, 12, 3), 0.37)

    def blur(images):
        return keras.ops.convert_to_numpy(binomial_blur(images.astype("float32")))

    # The reflected border of an even pattern is the pattern again: zero everywhere.
    np.testing.assert_allclose(blur(checkerboard), 0.0, atol=1e-6)
    # Period 4 along both axes: 0.5 × 0.5 (away from the border).
    np.testing.assert_allclose(blur(grid_4)[:, 1:-1, 1:-1], 0.25 * grid_4[:, 1:-1, 1:-1], atol=1e-6)
    np.testing.assert_allclose(blur(constant), constant, atol=1e-7)


def test_nearest_upsampling_then_blur_is_bilinear_upsampling():
    """Zero-stuffing + [1, 3, 3, 1]² / 16 (CUT's blurred up-sampling): bilinear ×2 with
    half-pixel centres, edges included."""
    images = random_images((2, 5, 7, 3))
    nearest = keras.layers.UpSampling2D(2, interpolation="nearest")(images)

    blurred = keras.ops.convert_to_numpy(binomial_blur(nearest))

    bilinear = keras.ops.image.resize(images, (10, 14), interpolation="bilinear")
    np.testing.assert_allclose(blurred, keras.ops.convert_to_numpy(bilinear), atol=1e-6)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float64"])
def test_binomial_blur_keeps_the_dtype(dtype):
    images = random_images((1, 6, 6, 4))

    blurred = binomial_blur(keras.ops.cast(images, dtype))

    assert keras.backend.standardize_dtype(blurred.dtype) == dtype
    # 16-bit inputs are filtered in float32 and rounded once: within their own precision.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.cast(blurred, "float32")),
        blur_reference(images),
        atol=2e-2 if dtype == "bfloat16" else 2e-3,
    )


def test_blur_layer_keeps_shape_and_unknown_sizes():
    layer = Blur2D()

    assert layer.compute_output_shape((None, None, 10, 4)) == (None, None, 10, 4)
    assert keras.Sequential([keras.Input((None, None, 3)), layer]).output_shape == (
        None,
        None,
        None,
        3,
    )
    assert layer(random_images((2, 6, 10, 3))).shape == (2, 6, 10, 3)
    assert layer.weights == []


def test_blur_layer_computes_in_bfloat16_under_mixed_precision(mixed_bfloat16):
    images = random_images((1, 8, 8, 3))
    layer = Blur2D()

    blurred = layer(images)

    assert layer.compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(blurred.dtype) == "bfloat16"
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.cast(blurred, "float32")),
        blur_reference(images),
        atol=2e-2,
    )


def test_blur_layer_config_round_trip():
    layer = Blur2D(name="blur")

    restored = Blur2D.from_config(layer.get_config())

    assert restored.get_config() == layer.get_config()
    assert restored.name == "blur"


def test_blur_layer_saves_and_safe_loads_inside_a_model(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.Conv2D(4, 3, padding="same", name="conv"),
            Blur2D(name="blur"),
        ]
    )
    images = random_images((2, 8, 12, 3))
    path = tmp_path / "blur.keras"
    model.save(path)

    loaded = keras.saving.load_model(path, safe_mode=True)

    assert isinstance(loaded.get_layer("blur"), Blur2D)
    np.testing.assert_array_equal(loaded.predict_on_batch(images), model.predict_on_batch(images))
