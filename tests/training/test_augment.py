import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_style.training import DIFF_AUGMENT_POLICIES, parse_augment_policy
from gan_style.training.augment import (
    DiffAugment,
    random_brightness,
    random_color,
    random_contrast,
    random_cutout,
    random_saturation,
    random_translation,
)


def random_images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype("float32")


def numbered_images(batch_size, height, width):
    """Images whose pixels are all distinct and positive, so shifts and zeros are recognisable."""
    image = np.arange(1, height * width * 3 + 1, dtype="float32").reshape(height, width, 3)
    return np.repeat(image[None], batch_size, axis=0)


def shift(image, rows, columns):
    """`image` moved down by `rows` and right by `columns`, zero-filled (numpy reference)."""
    height, width = image.shape[:2]
    shifted = np.zeros_like(image)
    shifted[max(rows, 0) : height + min(rows, 0), max(columns, 0) : width + min(columns, 0)] = (
        image[max(-rows, 0) : height - max(rows, 0), max(-columns, 0) : width - max(columns, 0)]
    )
    return shifted


def find_shift(original, translated, max_rows, max_columns):
    for rows in range(-max_rows, max_rows + 1):
        for columns in range(-max_columns, max_columns + 1):
            if np.array_equal(translated, shift(original, rows, columns)):
                return rows, columns
    raise AssertionError("the output is not a zero-filled shift of the input within the range")


def to_numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def test_diff_augment_is_the_identity_at_inference():
    images = random_images((4, 32, 32, 3))
    augment = DiffAugment(seed=0)

    np.testing.assert_array_equal(to_numpy(augment(images)), images)
    np.testing.assert_array_equal(to_numpy(augment(images, training=False)), images)


@pytest.mark.parametrize("policy", [*DIFF_AUGMENT_POLICIES, "color,translation,cutout"])
def test_diff_augment_changes_images_in_training(policy):
    images = random_images((4, 32, 48, 3))

    augmented = to_numpy(DiffAugment(policy, seed=0)(images, training=True))

    assert augmented.shape == images.shape
    # Every sample is changed, not just the batch as a whole.
    assert all(not np.allclose(augmented[index], images[index]) for index in range(4))


def test_empty_policy_is_the_identity_in_training():
    images = random_images((2, 16, 16, 3))

    np.testing.assert_array_equal(to_numpy(DiffAugment("")(images, training=True)), images)


def test_same_seed_gives_the_same_augmentation():
    images = random_images((4, 32, 32, 3))

    first = to_numpy(DiffAugment(seed=7)(images, training=True))
    second = to_numpy(DiffAugment(seed=7)(images, training=True))
    other = to_numpy(DiffAugment(seed=8)(images, training=True))

    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_gradients_flow_through_diff_augment_to_the_generator():
    generator = keras.layers.Conv2D(3, 1)
    augment = DiffAugment(seed=0)
    latents = random_images((4, 16, 16, 3))
    generator.build(latents.shape)

    with tf.GradientTape() as tape:
        fakes = generator(latents)
        loss = keras.ops.mean(keras.ops.square(augment(fakes, training=True) - 0.3))
    gradients = tape.gradient(loss, generator.trainable_variables)

    assert all(gradient is not None for gradient in gradients)
    assert all(np.all(np.isfinite(gradient)) for gradient in gradients)
    assert np.abs(gradients[0]).sum() > 0.0


def test_brightness_adds_one_offset_per_sample():
    images = random_images((16, 8, 8, 3))

    offsets = to_numpy(random_brightness(images, seed=1)) - images

    per_sample = offsets[:, :1, :1, :1]
    np.testing.assert_allclose(offsets, np.broadcast_to(per_sample, offsets.shape), atol=1e-6)
    assert np.all(np.abs(per_sample) <= 0.5)
    assert np.unique(np.round(per_sample, 6)).size == 16


def test_saturation_keeps_each_pixels_grey_and_scales_colour_by_0_to_2():
    images = random_images((16, 8, 8, 3))
    grey = images.mean(axis=-1, keepdims=True)

    saturated = to_numpy(random_saturation(images, seed=1))

    np.testing.assert_allclose(saturated.mean(axis=-1, keepdims=True), grey, atol=1e-5)
    factors = (saturated - grey)[:, 0, 0, 0] / (images - grey)[:, 0, 0, 0]
    np.testing.assert_allclose(
        saturated - grey, (images - grey) * factors[:, None, None, None], atol=1e-5
    )
    assert np.all((factors >= 0.0) & (factors <= 2.0))


def test_contrast_keeps_each_images_mean_and_scales_by_half_to_one_and_a_half():
    images = random_images((16, 8, 8, 3))
    mean = images.mean(axis=(1, 2, 3), keepdims=True)

    contrasted = to_numpy(random_contrast(images, seed=1))

    np.testing.assert_allclose(contrasted.mean(axis=(1, 2, 3), keepdims=True), mean, atol=1e-5)
    factors = (contrasted - mean)[:, 0, 0, 0] / (images - mean)[:, 0, 0, 0]
    assert np.all((factors >= 0.5) & (factors <= 1.5))


@pytest.mark.parametrize("height, width", [(32, 32), (32, 64)])
def test_translation_shifts_by_up_to_an_eighth_with_zero_fill(height, width):
    images = numbered_images(64, height, width)
    max_rows, max_columns = round(height / 8), round(width / 8)

    translated = to_numpy(random_translation(images, seed=keras.random.SeedGenerator(3)))

    shifts = np.array(
        [find_shift(images[0], sample, max_rows, max_columns) for sample in translated]
    )
    # Uniform over 2·max + 1 values per axis: 64 draws hit most of them, the extremes included.
    assert len(set(shifts[:, 0])) >= 2 * max_rows - 1
    assert len(set(shifts[:, 1])) >= 2 * max_columns - 1
    assert np.abs(shifts[:, 0]).max() == max_rows
    assert np.abs(shifts[:, 1]).max() == max_columns
    assert abs(shifts.mean(axis=0)).max() < 1.5


def test_translation_gradient_counts_the_pixels_that_stay_in_view():
    images = tf.constant(numbered_images(4, 16, 16))

    with tf.GradientTape() as tape:
        tape.watch(images)
        translated = random_translation(images, seed=2)
        total = keras.ops.sum(translated)
    gradient = tape.gradient(total, images).numpy()

    # Each input pixel reaches the output once or is shifted out: gradient 1 or 0.
    assert set(np.unique(gradient)) <= {0.0, 1.0}
    np.testing.assert_array_equal(
        gradient.sum(axis=(1, 2, 3)), (translated.numpy() > 0).sum(axis=(1, 2, 3))
    )


@pytest.mark.parametrize("height, width", [(32, 32), (32, 64)])
def test_cutout_zeroes_one_rectangle_of_at_most_half_the_sides(height, width):
    images = random_images((64, height, width, 3)) + 2.0  # all positive, so zeros are cut-outs

    cut = to_numpy(random_cutout(images, seed=keras.random.SeedGenerator(4)))

    full_rectangles = 0
    fractions = []
    for original, sample in zip(images, cut, strict=True):
        zeroed = np.all(sample == 0.0, axis=-1)
        rows, columns = np.flatnonzero(zeroed.any(axis=1)), np.flatnonzero(zeroed.any(axis=0))
        # One contiguous rectangle, and everything outside it untouched.
        assert rows.size and columns.size
        assert np.array_equal(rows, np.arange(rows[0], rows[-1] + 1))
        assert np.array_equal(columns, np.arange(columns[0], columns[-1] + 1))
        np.testing.assert_array_equal(zeroed, np.outer(zeroed.any(axis=1), zeroed.any(axis=0)))
        np.testing.assert_array_equal(sample[~zeroed], original[~zeroed])
        assert rows.size <= height // 2 and columns.size <= width // 2
        full_rectangles += rows.size == height // 2 and columns.size == width // 2
        fractions.append(zeroed.mean())
    # About a quarter of the rectangles lie fully inside; border ones are clipped.
    assert full_rectangles >= 5
    assert 0.1 < np.mean(fractions) < 0.25


def test_diff_augment_handles_unknown_sizes_in_a_tf_function():
    augment = DiffAugment(seed=0)

    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)])
    def run(images):
        return augment(images, training=True)

    for shape in [(2, 32, 32, 3), (3, 48, 64, 3)]:
        images = random_images(shape)
        augmented = run(images).numpy()
        assert augmented.shape == shape
        assert not np.allclose(augmented, images)


def test_diff_augment_trains_inside_train_on_batch():
    augment = DiffAugment(seed=0)
    model = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            augment,
            keras.layers.Conv2D(1, 3),
            keras.layers.GlobalAveragePooling2D(),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    state = to_numpy(augment.seed_generator.state).copy()

    for shape in [(2, 32, 32, 3), (2, 32, 64, 3)]:
        loss = model.train_on_batch(random_images(shape), np.zeros((2, 1), "float32"))
        assert np.isfinite(loss)

    # The random generator advanced: the augmentation ran inside the compiled train step.
    assert not np.array_equal(to_numpy(augment.seed_generator.state), state)


def test_augmentations_keep_bfloat16_images_in_bfloat16():
    images = keras.ops.cast(random_images((2, 16, 16, 3)), "bfloat16")
    seed = keras.random.SeedGenerator(0)

    augmented = random_cutout(random_translation(random_color(images, seed), seed=seed), seed=seed)

    assert keras.ops.dtype(augmented) == "bfloat16"


def test_diff_augment_config_round_trip():
    augment = DiffAugment("translation,cutout", translation_ratio=0.25, cutout_ratio=0.4, seed=3)

    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(augment), safe_mode=True
    )

    assert isinstance(restored, DiffAugment)
    assert restored.get_config() == augment.get_config()
    images = random_images((2, 16, 16, 3))
    np.testing.assert_array_equal(
        to_numpy(restored(images, training=True)), to_numpy(augment(images, training=True))
    )


def test_parse_augment_policy():
    assert parse_augment_policy("color, cutout") == ("color", "cutout")
    assert parse_augment_policy("") == ()
    with pytest.raises(ValueError, match=r"Unknown DiffAugment policy 'flip'.*color, translation"):
        parse_augment_policy("color,flip")


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"policy": "colour"}, "Unknown DiffAugment policy 'colour'"),
        ({"translation_ratio": 1.0}, r"translation_ratio must be in \[0, 1\); received 1.0"),
        ({"cutout_ratio": 0.0}, r"cutout_ratio must be in \(0, 1\]; received 0.0"),
    ],
)
def test_diff_augment_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        DiffAugment(**arguments)
