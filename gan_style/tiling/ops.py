"""The operations of a program in TensorFlow, and the statistics that make tiles seamless.

`_forward` runs a program's operations inside a `tf.function`, each norm with either the
sample's own statistics (the whole image) or given ones (a tile, normalised with the whole
image's). `_interior_moments` measures a batch of tiles' interiors and `_Moments` merges those
measurements over every tile of a pass in float64 with Chan et al.'s pairwise update, every
pixel counted once.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from gan_style.models.layers import binomial_blur
from gan_style.tiling.program import (
    Blur,
    Conv,
    Norm,
    Operation,
    Pad,
    Pointwise,
    Upsample,
)


def _forward(
    operations: Sequence[Operation],
    weights: Sequence[tf.Tensor],
    inputs: tf.Tensor,
    *,
    compute_dtype: str,
    statistics: Sequence[tuple[tf.Tensor, tf.Tensor]] | None,
    stop_at: int | None = None,
) -> tf.Tensor:
    """Runs `operations` on NHWC float32 `inputs` (inside a `tf.function`).

    Args:
        operations: The program's operations.
        weights: Their weights (see `Program`).
        inputs: The input batch.
        compute_dtype: Dtype of the convolutions.
        statistics: `(mean, variance)` per norm, in order, used instead of each sample's own
            statistics; None normalises every sample with its own (the whole-image case).
        stop_at: Index of the norm before which to stop (its input is returned); None runs all.
    """
    x = inputs
    position = 0
    norm_index = 0
    for operation in operations:
        if isinstance(operation, Pad):
            paddings = [[0, 0], [operation.height] * 2, [operation.width] * 2, [0, 0]]
            x = tf.pad(x, paddings, mode="REFLECT")
        elif isinstance(operation, Conv):
            kernel = tf.cast(weights[position], compute_dtype)
            position += 1
            x = tf.nn.conv2d(tf.cast(x, compute_dtype), kernel, operation.stride, "VALID")
            x = tf.cast(x, tf.float32)
            if operation.use_bias:
                x = tf.nn.bias_add(x, weights[position])
                position += 1
            if operation.activation != "linear":
                x = keras.activations.get(operation.activation)(x)
        elif isinstance(operation, Norm):
            if norm_index == stop_at:
                return x
            gamma, beta = weights[position], weights[position + 1]
            position += 2
            if statistics is None:
                mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
            else:
                mean, variance = statistics[norm_index]
            scale = tf.math.rsqrt(variance + operation.epsilon) * gamma
            x = x * scale + (beta - mean * scale)
            norm_index += 1
        elif isinstance(operation, Pointwise):
            x = _pointwise(operation, x)
        elif isinstance(operation, Blur):
            # The layer's own function (after the `Pad` the layer's reflection became), in
            # float32 like the activations around it.
            x = binomial_blur(x, padding="valid")
        elif isinstance(operation, Upsample):
            factor = operation.factor
            shape = tf.shape(x)
            x = tf.broadcast_to(
                x[:, :, None, :, None, :],
                [shape[0], shape[1], factor, shape[2], factor, shape[3]],
            )
            x = tf.reshape(x, [shape[0], shape[1] * factor, shape[2] * factor, shape[3]])
    return x


def _pointwise(operation: Pointwise, x: tf.Tensor) -> tf.Tensor:
    if operation.activation == "relu":
        if (operation.negative_slope, operation.max_value, operation.threshold) == (0, None, 0):
            return tf.nn.relu(x)
        return keras.activations.relu(
            x,
            negative_slope=operation.negative_slope,
            max_value=operation.max_value,
            threshold=operation.threshold,
        )
    return keras.activations.get(operation.activation)(x)


def _image_to_float(pixels: tf.Tensor) -> tf.Tensor:
    """uint8 pixels → float32 in [-1, 1], as the training pipeline scales them."""
    return tf.cast(pixels, tf.float32) / 127.5 - 1.0


def _interior_moments(
    x: tf.Tensor, boxes: tf.Tensor, pixels: int
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Per-tile count, mean and sum of squared deviations over each tile's interior.

    Args:
        x: Activations (batch, height, width, channels) of a batch of crops.
        boxes: (batch, 4) int32 interior `top, bottom, left, right` in cells, relative to the
            crop.
        pixels: Pixels per cell of `x`.
    """
    rows = tf.range(tf.shape(x)[1])[None, :]
    columns = tf.range(tf.shape(x)[2])[None, :]
    boxes = boxes * pixels
    row_mask = tf.cast((rows >= boxes[:, 0:1]) & (rows < boxes[:, 1:2]), tf.float32)
    column_mask = tf.cast((columns >= boxes[:, 2:3]) & (columns < boxes[:, 3:4]), tf.float32)
    mask = row_mask[:, :, None, None] * column_mask[:, None, :, None]
    count = tf.reduce_sum(mask, axis=[1, 2])
    mean = tf.reduce_sum(x * mask, axis=[1, 2]) / count
    deviations = tf.reduce_sum(mask * tf.square(x - mean[:, None, None, :]), axis=[1, 2])
    return count[:, 0], mean, deviations


class _Moments:
    """Per-channel mean and variance merged over tiles in float64 (Chan et al. 1979)."""

    def __init__(self, channels: int):
        self.count = 0.0
        self.mean = np.zeros(channels, np.float64)
        self.deviations = np.zeros(channels, np.float64)

    def add(self, counts: np.ndarray, means: np.ndarray, deviations: np.ndarray) -> None:
        for count, mean, deviation in zip(counts, means, deviations, strict=True):
            count = float(count)
            total = self.count + count
            delta = mean.astype(np.float64) - self.mean
            self.mean += delta * (count / total)
            self.deviations += deviation + delta**2 * (self.count * count / total)
            self.count = total

    def statistics(self) -> tuple[tf.Tensor, tf.Tensor]:
        variance = self.deviations / self.count
        return tf.constant(self.mean, tf.float32), tf.constant(variance, tf.float32)
