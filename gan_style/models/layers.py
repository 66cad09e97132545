"""Small serialisable layers the generators and discriminators are made of.

Built-ins are used where Keras has them: instance normalisation is
`keras.layers.GroupNormalization(groups=-1)` (one group per channel, statistics over height and
width of each sample), and up-sampling is `UpSampling2D` followed by a convolution. Only
reflection padding, the fixed binomial blur of anti-aliased resampling and the residual block
are ours. They are registered under the package name "gan_style", so a saved model loads with
`safe_mode=True` once this module has been imported.
"""

import keras
import numpy as np
from keras import ops

from gan_style.models import check_positive_int

INSTANCE_NORM_EPSILON = 1e-5
"""Epsilon of every instance normalisation, as in PyTorch's `InstanceNorm2d` (CycleGAN)."""


def gan_kernel_initializer() -> keras.initializers.Initializer:
    """Returns a fresh N(0, 0.02) initialiser, the CycleGAN and DCGAN weight initialisation.

    A new instance per layer, because Keras warns when one unseeded initialiser is reused.
    """
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def instance_normalization(name: str | None = None, dtype=None) -> keras.layers.GroupNormalization:
    """Returns an instance normalisation layer (learned scale and offset per channel).

    `GroupNormalization` with one group per channel normalises each channel of each sample over
    its height and width, which is instance normalisation. It computes its statistics in float32
    even under a mixed precision policy.

    Args:
        name: Layer name.
        dtype: Dtype policy; None takes the global one.
    """
    return keras.layers.GroupNormalization(
        groups=-1, epsilon=INSTANCE_NORM_EPSILON, name=name, dtype=dtype
    )


def _as_pair(value: int | tuple[int, int] | list[int], argument: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else value
    if (
        not isinstance(pair, tuple | list)
        or len(pair) != 2
        or not all(isinstance(item, int) and item >= 0 for item in pair)
    ):
        raise ValueError(
            f"{argument} must be a non-negative int or a pair (height, width) of them; "
            f"received {value!r}."
        )
    return tuple(pair)


@keras.saving.register_keras_serializable(package="gan_style")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads the height and width of NHWC images by reflection (the edge pixel is not repeated).

    Reflection padding keeps convolutions at the border from seeing an artificial black frame,
    which otherwise shows as dark edges in translated images. Each padding must be smaller than
    the padded dimension.

    Args:
        padding: Rows and columns to add on each side: an int for both, or a pair
            `(height_padding, width_padding)`.
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).
    """

    def __init__(self, padding: int | tuple[int, int] = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _as_pair(padding, "padding")

    def call(self, inputs):
        height_padding, width_padding = self.padding
        return ops.pad(
            inputs,
            [[0, 0], [height_padding, height_padding], [width_padding, width_padding], [0, 0]],
            mode="reflect",
        )

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        height_padding, width_padding = self.padding
        return (
            batch,
            None if height is None else height + 2 * height_padding,
            None if width is None else width + 2 * width_padding,
            channels,
        )

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


BINOMIAL_KERNEL = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0
"""The 3×3 kernel of `binomial_blur`: [1, 2, 1]⊗[1, 2, 1] / 16 (sums to 1)."""

BLUR_PADDINGS = ("reflect", "valid")
"""Paddings `binomial_blur` accepts: "reflect" keeps the size, "valid" loses a pixel a side."""


def binomial_blur(inputs, padding: str = "reflect"):
    """Low-pass filters NHWC images with the fixed 3×3 binomial kernel [1, 2, 1]⊗[1, 2, 1] / 16.

    The anti-aliasing filter of Zhang 2019 ("Making Convolutional Networks Shift-Invariant
    Again", filter size 3, the default of CUT's generator). Per axis [1, 2, 1] / 4 has the
    frequency response cos²(πf) at f cycles per pixel: 1 for a constant, 1/2 at period 4 and 0 at
    period 2 (the Nyquist frequency, the one a stride-2 sampling folds onto a constant). Before a
    stride-2 convolution it removes what that sampling would alias; after a nearest ×2 resize it
    turns the resize into bilinear ×2 with half-pixel centres (zero-stuffing and the
    [1, 3, 3, 1]² filter), which is what `UpSampling2D(interpolation="bilinear")` would compute
    if it traced with unknown sizes (see `gan_style.models.generators`).

    It runs as one depthwise 3×3 convolution, in float32 for 16-bit float inputs (rounded once
    at the end, so a mixed-precision model adds no more error than storing its activations):
    its weights are powers of two, so the result is exact up to float rounding. On CPU the
    depthwise convolution is 2-3× faster than sums of shifted slices forwards and over 10×
    faster backwards (strided-slice gradients are slow there).

    Args:
        inputs: (batch, height, width, channels) floating-point images, any (static) channel
            count.
        padding: "reflect" pads 1 pixel a side by reflection first (the output has the input's
            size; height and width must be at least 2); "valid" does not (the output is 2 pixels
            smaller along each axis), for callers that pad themselves.

    Returns:
        The filtered images, in the dtype of `inputs`.

    Raises:
        ValueError: If `padding` is not one of `BLUR_PADDINGS`, or the channel count is unknown.
    """
    if padding not in BLUR_PADDINGS:
        raise ValueError(
            f"padding must be one of {', '.join(map(repr, BLUR_PADDINGS))}; received {padding!r}."
        )
    inputs = ops.convert_to_tensor(inputs)
    channels = inputs.shape[-1]
    if channels is None:
        raise ValueError(
            "binomial_blur needs a known channel count (its depthwise kernel has one filter per "
            f"channel); received a tensor of shape {tuple(inputs.shape)}."
        )
    dtype = keras.backend.standardize_dtype(inputs.dtype)
    compute_dtype = "float32" if dtype in ("float16", "bfloat16") else dtype
    x = ops.cast(inputs, compute_dtype)
    if padding == "reflect":
        x = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
    kernel = np.tile(BINOMIAL_KERNEL[:, :, None, None], (1, 1, channels, 1))
    blurred = ops.depthwise_conv(x, ops.cast(kernel, compute_dtype), strides=1, padding="valid")
    return ops.cast(blurred, dtype)


@keras.saving.register_keras_serializable(package="gan_style")
class Blur2D(keras.layers.Layer):
    """The fixed anti-aliasing blur `binomial_blur` as a layer: same size out, no weights.

    Placed before a stride-2 convolution (blur-then-subsample, as StyleGAN2 does, so the
    convolution keeps its cost) or after a nearest ×2 resize (CUT's blurred up-sampling).

    Args:
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).
    """

    def call(self, inputs):
        return binomial_blur(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package="gan_style")
class ResidualBlock(keras.layers.Layer):
    """The CycleGAN residual block: x + norm(conv(relu(norm(conv(x))))).

    Each 3×3 convolution is preceded by a 1-pixel reflection padding and followed by instance
    normalisation; there is no activation after the addition (Johnson et al. 2016, as used by
    CycleGAN). The convolutions have no bias because the normalisation removes it.

    Args:
        num_filters: Channels of the input, the hidden layer and the output (they must match for
            the skip connection).
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).
    """

    def __init__(self, num_filters: int, **kwargs):
        super().__init__(**kwargs)
        check_positive_int(num_filters, "num_filters")
        self.num_filters = num_filters
        # Sublayers take the block's own dtype policy, not the global one: a block saved under
        # mixed precision and loaded under float32 (or the reverse) stays consistent.
        policy = self.dtype_policy
        self.pad_1 = ReflectionPadding2D(1, name="pad_1", dtype=policy)
        self.conv_1 = self._conv("conv_1")
        self.norm_1 = instance_normalization(name="norm_1", dtype=policy)
        self.pad_2 = ReflectionPadding2D(1, name="pad_2", dtype=policy)
        self.conv_2 = self._conv("conv_2")
        self.norm_2 = instance_normalization(name="norm_2", dtype=policy)

    def _conv(self, name: str) -> keras.layers.Conv2D:
        return keras.layers.Conv2D(
            self.num_filters,
            3,
            use_bias=False,
            kernel_initializer=gan_kernel_initializer(),
            name=name,
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels != self.num_filters:
            raise ValueError(
                f"ResidualBlock with num_filters={self.num_filters} needs inputs with "
                f"{self.num_filters} channels for its skip connection; received input shape "
                f"{tuple(input_shape)}."
            )
        padded_shape = self.pad_1.compute_output_shape(input_shape)
        self.conv_1.build(padded_shape)
        self.norm_1.build(input_shape)
        self.conv_2.build(padded_shape)
        self.norm_2.build(input_shape)

    def call(self, inputs):
        hidden = ops.relu(self.norm_1(self.conv_1(self.pad_1(inputs))))
        return inputs + self.norm_2(self.conv_2(self.pad_2(hidden)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_filters": self.num_filters}
