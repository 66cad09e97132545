"""DiffAugment: differentiable augmentation of everything a discriminator sees.

Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training" (NeurIPS). With
20-500 style images a discriminator memorises the real set within a few thousand steps;
augmenting real and fake images alike, in the D update and in the G update, keeps it honest
without the augmentations leaking into the generated images. Because every operation is
differentiable, the generator's gradient passes through the augmentation.

The transformations follow the authors' TensorFlow code (`DiffAugment_tf.py`), for images in
[-1, 1], each drawn independently per sample:

- color: brightness + U(-0.5, 0.5); saturation: distance to the pixel's channel mean × U(0, 2);
  contrast: distance to the image mean × U(0.5, 1.5);
- translation: shift by up to 1/8 of the height and width (rounded), filling with zeros;
- cutout: zero a rectangle of half the height and width at a random centre (clipped at the
  borders).

The functions are pure (images and a seed in, images out); `DiffAugment` is the Keras layer that
chains them in front of a discriminator and is the identity outside training.
"""

from typing import Any

import keras
from keras import ops

from gan_style.training import parse_augment_policy

Seed = int | keras.random.SeedGenerator | None


def _per_sample_uniform(images, minval: float, maxval: float, seed: Seed) -> Any:
    """U(minval, maxval) of shape (batch, 1, 1, 1) in the dtype of `images`."""
    batch_size = ops.shape(images)[0]
    values = keras.random.uniform((batch_size, 1, 1, 1), minval, maxval, seed=seed)
    return ops.cast(values, images.dtype)


def random_brightness(images, seed: Seed = None) -> Any:
    """Adds U(-0.5, 0.5) to every pixel of each image.

    Args:
        images: NHWC float images in [-1, 1].
        seed: Seed or `keras.random.SeedGenerator`.
    """
    return images + _per_sample_uniform(images, -0.5, 0.5, seed)


def random_saturation(images, seed: Seed = None) -> Any:
    """Scales each pixel's distance to its channel mean (its grey) by U(0, 2).

    Args:
        images: NHWC float images in [-1, 1].
        seed: Seed or `keras.random.SeedGenerator`.
    """
    grey = ops.mean(images, axis=-1, keepdims=True)
    return (images - grey) * _per_sample_uniform(images, 0.0, 2.0, seed) + grey


def random_contrast(images, seed: Seed = None) -> Any:
    """Scales each image's distance to its mean value by U(0.5, 1.5).

    Args:
        images: NHWC float images in [-1, 1].
        seed: Seed or `keras.random.SeedGenerator`.
    """
    mean = ops.mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * _per_sample_uniform(images, 0.5, 1.5, seed) + mean


def random_color(images, seed: Seed = None) -> Any:
    """Brightness, then saturation, then contrast (DiffAugment's "color" policy).

    Args:
        images: NHWC float images in [-1, 1].
        seed: Seed or `keras.random.SeedGenerator`; pass a generator so the three draws differ.
    """
    return random_contrast(random_saturation(random_brightness(images, seed), seed), seed)


def _positions(images, axis: int) -> Any:
    """0, 1, ..., size - 1 along `axis` (1 or 2), shaped to broadcast against NHWC images."""
    positions = ops.arange(ops.shape(images)[axis], dtype="int32")
    return ops.reshape(positions, (1, -1, 1, 1) if axis == 1 else (1, 1, -1, 1))


def _scaled_size(images, axis: int, ratio: float) -> Any:
    """round(size × ratio) along `axis`, as an int32 tensor (works for unknown sizes)."""
    size = ops.cast(ops.shape(images)[axis], "float32")
    return ops.cast(size * ratio + 0.5, "int32")


def _shift(images, axis: int, ratio: float, seed: Seed) -> Any:
    """Shifts each image along `axis` by a random integer in [-max, max], zero-filling."""
    size = ops.shape(images)[axis]
    max_shift = _scaled_size(images, axis, ratio)
    batch_size = ops.shape(images)[0]
    shifts = keras.random.randint((batch_size, 1, 1, 1), -max_shift, max_shift + 1, seed=seed)
    sources = _positions(images, axis) - shifts
    inside = ops.logical_and(sources >= 0, sources < size)
    shifted = ops.take_along_axis(images, ops.clip(sources, 0, size - 1), axis=axis)
    return shifted * ops.cast(inside, images.dtype)


def random_translation(images, ratio: float = 0.125, seed: Seed = None) -> Any:
    """Shifts each image by up to `ratio` of its height and width, filling with zeros.

    The vertical and horizontal shifts are independent integers, uniform in
    [-round(ratio·size), round(ratio·size)].

    Args:
        images: NHWC float images in [-1, 1], any (also unknown) height and width.
        ratio: Largest shift as a fraction of the size.
        seed: Seed or `keras.random.SeedGenerator`; pass a generator so both draws differ.
    """
    return _shift(_shift(images, 1, ratio, seed), 2, ratio, seed)


def _cutout_span(images, axis: int, ratio: float, seed: Seed) -> Any:
    """Boolean (batch, H, 1, 1) or (batch, 1, W, 1): inside the cut-out rows or columns."""
    size = ops.shape(images)[axis]
    cut_size = _scaled_size(images, axis, ratio)
    batch_size = ops.shape(images)[0]
    # As in the authors' code: an odd cut size can be centred on the last pixel too.
    centres = keras.random.randint((batch_size, 1, 1, 1), 0, size + 1 - cut_size % 2, seed=seed)
    starts = centres - cut_size // 2
    positions = _positions(images, axis)
    return ops.logical_and(positions >= starts, positions < starts + cut_size)


def random_cutout(images, ratio: float = 0.5, seed: Seed = None) -> Any:
    """Sets a `ratio`·H × `ratio`·W rectangle of each image to zero, at a random centre.

    Rectangles centred near a border are clipped, so some cover less.

    Args:
        images: NHWC float images in [-1, 1], any (also unknown) height and width.
        ratio: Side of the rectangle as a fraction of the image's side.
        seed: Seed or `keras.random.SeedGenerator`; pass a generator so both draws differ.
    """
    cut = ops.logical_and(
        _cutout_span(images, 1, ratio, seed), _cutout_span(images, 2, ratio, seed)
    )
    return images * (1 - ops.cast(cut, images.dtype))


@keras.saving.register_keras_serializable(package="gan_style")
class DiffAugment(keras.layers.Layer):
    """Differentiable augmentation in front of a discriminator; the identity unless training.

    Place one in each discriminator (`build_patch_discriminator(augment=DiffAugment())`): Keras
    then applies it with `training=True` in the discriminator's `train_on_batch` and in the
    combined generator model's, and skips it in `predict`. Works on any height and width,
    including unknown ones, inside `tf.function`.

    Args:
        policy: Comma-separated augmentations among "color", "translation" and "cutout",
            applied in the order given; "" turns the layer into the identity.
        translation_ratio: Largest shift as a fraction of the size (DiffAugment: 1/8).
        cutout_ratio: Cut-out side as a fraction of the image side (DiffAugment: 1/2).
        seed: Seed of the layer's random generator; None for a random one.
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).
    """

    def __init__(
        self,
        policy: str = "color,translation,cutout",
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._augmentations = parse_augment_policy(policy)
        if not 0.0 <= translation_ratio < 1.0:
            raise ValueError(
                f"translation_ratio must be in [0, 1); received {translation_ratio!r}."
            )
        if not 0.0 < cutout_ratio <= 1.0:
            raise ValueError(f"cutout_ratio must be in (0, 1]; received {cutout_ratio!r}.")
        self.policy = policy
        self.translation_ratio = translation_ratio
        self.cutout_ratio = cutout_ratio
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        for name in self._augmentations:
            if name == "color":
                inputs = random_color(inputs, self.seed_generator)
            elif name == "translation":
                inputs = random_translation(inputs, self.translation_ratio, self.seed_generator)
            else:
                inputs = random_cutout(inputs, self.cutout_ratio, self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "policy": self.policy,
            "translation_ratio": self.translation_ratio,
            "cutout_ratio": self.cutout_ratio,
            "seed": self.seed,
        }
