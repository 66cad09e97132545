"""Reads a Keras ResNet generator into a `GeneratorProgram` of primitive operations.

`read_generator` turns the `keras.Sequential` made by `build_resnet_generator` into three small
programs (`gan_style.tiling.program`): the encoder (full → 1/4 resolution), the residual trunk
(1/4) and the decoder (1/4 → full). A layer it does not know is refused with a clear error
instead of being run approximately. The weights are copied out as float32 constants.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import keras
import tensorflow as tf

from gan_style.models.generators import resnet_trunk_range
from gan_style.models.layers import Blur2D, ReflectionPadding2D, ResidualBlock
from gan_style.tiling.program import (
    Blur,
    Conv,
    GeneratorProgram,
    Norm,
    Operation,
    Pad,
    Pointwise,
    Program,
    Upsample,
    _channels_after,
    _geometry,
    _output_channels,
)


def read_generator(generator: keras.Sequential) -> GeneratorProgram:
    """Reads a ResNet generator (`build_resnet_generator`) into a `GeneratorProgram`.

    Raises:
        ValueError: If the model is not a ResNet generator made of the layers this module knows
            (the message names the layer).
    """
    start, stop = resnet_trunk_range(generator)
    layers = list(generator.layers)
    encoder = _read_program(layers[:start], channels=3)
    trunk = []
    for layer in layers[start:stop]:
        if not isinstance(layer, ResidualBlock):
            raise ValueError(f"trunk layer {layer.name!r} is not a ResidualBlock")
        trunk.append(_read_residual_block(layer))
    decoder = _read_program(layers[stop:], channels=_output_channels(encoder.operations))

    cell, encoder_radius, encoder_min = _geometry(encoder.operations, start_pixels=None)
    trunk_geometry = [_geometry(program.operations, start_pixels=1) for program in trunk]
    decoder_pixels, decoder_radius, decoder_min = _geometry(decoder.operations, start_pixels=1)
    if any(pixels != 1 for pixels, _, _ in trunk_geometry):
        raise ValueError("the residual trunk must not change the resolution")
    if decoder_pixels != cell:
        raise ValueError(
            f"the decoder up-samples by {decoder_pixels} but the encoder down-samples by {cell}"
        )
    channels = _output_channels(encoder.operations)
    trunk_radius = max((radius for _, radius, _ in trunk_geometry), default=0.0)
    min_cells = max(
        [encoder_min, decoder_min, *(minimum for _, _, minimum in trunk_geometry)], default=1
    )
    halos = tuple(
        math.ceil(radius) + 1 for radius in (encoder_radius, trunk_radius, decoder_radius)
    )
    return GeneratorProgram(
        encoder, tuple(trunk), decoder, cell, channels, max(min_cells, 1), halos
    )


def _read_program(layers: Sequence[keras.layers.Layer], channels: int) -> Program:
    """Reads a chain of layers whose input has `channels` channels."""
    operations: list[Operation] = []
    weights: list[tf.Tensor] = []
    for layer in layers:
        _read_layer(layer, operations, weights, channels)
    return Program(tuple(operations), tuple(weights))


def _read_residual_block(block: ResidualBlock) -> Program:
    """Mirrors `ResidualBlock.call`: x + norm_2(conv_2(pad_2(relu(norm_1(conv_1(pad_1(x))))))."""
    operations: list[Operation] = []
    weights: list[tf.Tensor] = []
    for layer in (block.pad_1, block.conv_1, block.norm_1):
        _read_layer(layer, operations, weights, block.num_filters)
    operations.append(Pointwise("relu"))
    for layer in (block.pad_2, block.conv_2, block.norm_2):
        _read_layer(layer, operations, weights, block.num_filters)
    return Program(tuple(operations), tuple(weights), residual=True)


def _constant(variable) -> tf.Tensor:
    return tf.constant(keras.ops.convert_to_numpy(variable), dtype=tf.float32)


def _read_layer(
    layer, operations: list[Operation], weights: list[tf.Tensor], channels: int
) -> None:
    """Appends the operation(s) and weights of one Keras layer, or raises ValueError.

    `channels` is the channel count of the input of `operations`, for a blur that comes before
    any convolution or norm.
    """
    unsupported = f"layer {layer.name!r} ({type(layer).__name__}"
    if isinstance(layer, ReflectionPadding2D):
        height, width = layer.padding
        operations.append(Pad(height, width))
    elif type(layer) is Blur2D:
        operations += [Pad(1, 1), Blur(_channels_after(operations, channels))]
    elif type(layer) is keras.layers.Conv2D:
        kernel_height, kernel_width = layer.kernel_size
        stride_height, stride_width = layer.strides
        if (
            layer.padding != "valid"
            or tuple(layer.dilation_rate) != (1, 1)
            or layer.groups != 1
            or layer.data_format != "channels_last"
            or kernel_height != kernel_width
            or stride_height != stride_width
        ):
            raise ValueError(
                f"{unsupported}): only square 'valid' convolutions without dilation or groups "
                "are supported"
            )
        activation = _activation_name(layer.activation, unsupported)
        operations.append(
            Conv(kernel_height, stride_height, layer.filters, layer.use_bias, activation)
        )
        weights.append(_constant(layer.kernel))
        if layer.use_bias:
            weights.append(_constant(layer.bias))
    elif isinstance(layer, keras.layers.GroupNormalization):
        channels = int(layer.gamma.shape[0]) if layer.scale else None
        if channels is None or layer.groups != channels or layer.axis not in (-1, 3):
            raise ValueError(f"{unsupported}): only instance normalisation is supported")
        operations.append(Norm(channels, float(layer.epsilon)))
        weights.append(_constant(layer.gamma))
        weights.append(_constant(layer.beta) if layer.center else tf.zeros((channels,), tf.float32))
    elif type(layer) is keras.layers.ReLU:
        max_value = None if layer.max_value is None else float(layer.max_value)
        operations.append(
            Pointwise("relu", float(layer.negative_slope), max_value, float(layer.threshold))
        )
    elif type(layer) is keras.layers.Activation:
        operations.append(Pointwise(_activation_name(layer.activation, unsupported)))
    elif type(layer) is keras.layers.UpSampling2D:
        size_height, size_width = layer.size
        if (
            layer.interpolation != "nearest"
            or size_height != size_width
            or layer.data_format != "channels_last"
        ):
            raise ValueError(f"{unsupported}): only square nearest up-sampling is supported")
        operations.append(Upsample(size_height))
    else:
        raise ValueError(f"{unsupported}) is not supported by full-resolution transfer")


def _activation_name(function: Callable, unsupported: str) -> str:
    name = getattr(function, "__name__", "")
    try:
        if keras.activations.get(name) is function:
            return name
    except ValueError:
        pass
    raise ValueError(f"{unsupported}): unknown activation {function!r}")
