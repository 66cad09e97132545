"""Small serialisable layers the generators and discriminators are made of.

Built-ins are used where Keras has them: instance normalisation is
`keras.layers.GroupNormalization(groups=-1)` (one group per channel, statistics over height and
width of each sample), and up-sampling is `UpSampling2D` followed by a convolution. Only
reflection padding and the residual block are ours. Both are registered under the package name
"gan_style", so a saved model loads with `safe_mode=True` once this module has been imported.
"""

import keras
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
