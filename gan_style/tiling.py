"""Full-resolution inference of the ResNet generator: any size, bounded memory, no seams.

Why this is not "run the model on tiles and blend them": every instance normalisation of the
generator normalises with the mean and variance of the *whole* feature map. A tile run on its own
normalises with its own statistics, so neighbouring tiles come out with different contrast and
colour, and blending only smears the seams. Here every normalisation sees the statistics of the
whole image, while no full-resolution feature map is ever held in memory:

1. `read_generator` turns the `keras.Sequential` made by `build_resnet_generator` into three
   small programs of primitive operations (reflection pad, convolution, instance norm, pointwise
   activation, nearest up-sampling, the fixed anti-aliasing blur, residual block): the encoder
   (full → 1/4 resolution), the residual trunk (1/4) and the decoder (1/4 → full). A layer it
   does not know is refused with a clear error instead of being run approximately.
2. Tiles are laid on the grid of the 1/4-resolution feature map ("cells" of 4×4 pixels), so
   every tile starts on a multiple of the generator's total stride and the stride-2 sampling
   grids of each tile coincide with the whole image's. A tile is computed on a crop with a halo
   wider than the receptive field of the local operations of its program, so the tile's interior
   is exactly what the whole-image computation gives there (up to float rounding): there is
   nothing to blend, each output pixel comes from one tile's interior.
3. A norm's statistics are accumulated over the tile interiors (every pixel counted once) in one
   pass over the tiles and merged in float64 with Chan et al.'s pairwise update; later passes
   normalise with them. The encoder takes one pass per norm (3) and leaves the 1/4-resolution
   feature map, the one thing kept whole (12 MP × 256 channels / 16 = 768 MB in float32, half
   in bfloat16). The residual trunk runs on that map block by block (`TRUNK_MODES`): in one
   piece when memory allows; else tile by tile, storing each convolution's output in a second
   map; else in place with one map, recomputing instead of storing. The decoder is tiled like
   the encoder (one pass per norm, then one that writes the output), and when memory allows,
   its first pass stores its first norm's input (half resolution) for the later passes to read
   (`DECODER_MODES`).

`TiledGenerator.plan` picks one pass, or the tile size, batch and trunk mode with the fewest
estimated FLOPs whose estimated memory fits a budget: the input and output images, the feature
map(s) and one batch of tiles.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
from collections.abc import Callable, Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from gan_style.models.generators import resnet_trunk_range
from gan_style.models.layers import Blur2D, ReflectionPadding2D, ResidualBlock, binomial_blur

COMPUTE_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
"""The dtype convolutions compute in, and the stored feature maps use, by Keras dtype policy
name. Norms, their statistics and the activations between layers stay float32."""

DEFAULT_MEMORY_BUDGET = 1152 * 2**20
"""Working memory (bytes) the automatic plan aims at, on top of TensorFlow's own ~0.7 GB: with
it a 12-megapixel photo stays under 2 GB of resident memory with either preset's generator."""

MIN_TILE = 32
"""Smallest accepted tile side in pixels (smaller tiles would be mostly halo)."""

AUTOMATIC_TILES = (1024, 768, 512, 384, 256, 192, 128)
"""Tile sides the automatic plan chooses from, largest first (larger tiles waste less halo)."""

_LIVE_TENSORS = 3
"""Activations alive at once around a tile's largest operation (input, output, a temporary)."""

_ONE_PASS_FACTOR = 3.5
"""Peak memory of a one-pass run in largest activations (measured 3.2 on a 4 MP photo)."""

_WHOLE_TRUNK_FACTOR = 4.5
"""Peak memory of a residual block run in one piece, in float32 feature maps (measured 4.4 on a
4 MP photo: input, padded input, convolution output, normalisation temporaries)."""

_IMAGE_BYTES_PER_PIXEL = 24
"""Memory per pixel of the images around the generator: the decoded input and its padded copy
(uint8), the float32 output, the final uint8 image and the caller's copies."""

_POINTWISE_CHUNK_BYTES = 64 * 2**20
"""Rows of the feature map mapped per call by the pointwise passes."""

DECODER_MODES = ("recompute", "stored")
"""How the tiled decoder gets its first norm's input in its later passes. ``recompute``: from
the feature map again. ``stored``: from a half-resolution map written by the first pass
(12-15% fewer FLOPs in all, for that map's memory)."""

TRUNK_TILE_CELLS = 128
"""Smallest side of the trunk's tiles in feature-map cells (512 pixels): its crops are small
(1/16 of the pixels), so large tiles keep the halo's share of the work low."""

TRUNK_MODES = ("whole", "stored", "tiled")
"""How the residual trunk runs, fastest first. ``whole``: each block on the whole feature map
in one call. ``stored``: tile by tile, keeping each convolution's output in a second feature
map (two feature maps, no recomputation). ``tiled``: tile by tile in place, recomputing the
first convolution of a block in its later passes (one feature map, 2.5× the trunk's work)."""


_FUNCTIONS: dict[tuple, Callable] = {}
"""Compiled functions by structure, shared by every `TiledGenerator`: weights and statistics
are arguments, so one trace serves every residual block and every style of one architecture."""


class _OwnRetracingFilter(logging.Filter):
    """Drops TensorFlow's "frequent retracing" warning about this module's functions.

    TensorFlow counts traces per Python code object, and all of this module's compiled
    functions share two (the `run` closures), so their by-design one trace per structure
    reads to it as retracing. Every function has an input signature: none retraces.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("retracing" in message and "TiledGenerator._" in message)


tf.get_logger().addFilter(_OwnRetracingFilter())


# --- The program: primitive operations read from the Keras model ------------------------------


@dataclasses.dataclass(frozen=True)
class Pad:
    """Reflection padding of `height` rows and `width` columns on each side."""

    height: int
    width: int


@dataclasses.dataclass(frozen=True)
class Conv:
    """A 'valid' 2-D convolution (its weights are the kernel, then the bias if any)."""

    kernel_size: int
    stride: int
    filters: int
    use_bias: bool
    activation: str


@dataclasses.dataclass(frozen=True)
class Norm:
    """Instance normalisation with a learned scale and offset (its weights: gamma, beta)."""

    channels: int
    epsilon: float


@dataclasses.dataclass(frozen=True)
class Pointwise:
    """An activation applied to each value on its own (ReLU with its options, tanh, ...)."""

    activation: str
    negative_slope: float = 0.0
    max_value: float | None = None
    threshold: float = 0.0


@dataclasses.dataclass(frozen=True)
class Upsample:
    """Nearest-neighbour up-sampling by `factor` along height and width."""

    factor: int


@dataclasses.dataclass(frozen=True)
class Blur:
    """The fixed [1, 2, 1]² / 16 blur of `binomial_blur`, 'valid' (a `Blur2D` layer reads as
    `Pad(1, 1)` then this), on `channels` channels."""

    channels: int


_BLUR_FLOPS_PER_VALUE = 2 * 9
"""FLOPs of `Blur` per output value, counted like any convolution: 9 multiply-adds (it runs as
a depthwise 3×3 convolution)."""


Operation = Pad | Conv | Norm | Pointwise | Upsample | Blur


@dataclasses.dataclass(frozen=True, eq=False)
class Program:
    """A chain of operations with their weights; a residual program returns input + chain.

    Attributes:
        operations: The operations in order (hashable: they key the compiled functions).
        weights: float32 tensors in operation order: a convolution's kernel (and bias), a norm's
            gamma and beta.
        residual: Whether the program's output is added to its input (a residual block).
    """

    operations: tuple[Operation, ...]
    weights: tuple[tf.Tensor, ...]
    residual: bool = False

    @property
    def norm_count(self) -> int:
        return sum(isinstance(operation, Norm) for operation in self.operations)

    def norm_indices(self) -> list[int]:
        """Positions of the norms in `operations`."""
        return [index for index, op in enumerate(self.operations) if isinstance(op, Norm)]

    def slice(self, start: int, stop: int | None = None) -> Program:
        """The operations `start:stop` with their weights, as a program of its own."""
        stop = len(self.operations) if stop is None else stop
        counts = [_weight_count(operation) for operation in self.operations]
        first = sum(counts[:start])
        return Program(
            self.operations[start:stop], self.weights[first : first + sum(counts[start:stop])]
        )


def _weight_count(operation: Operation) -> int:
    if isinstance(operation, Conv):
        return 2 if operation.use_bias else 1
    return 2 if isinstance(operation, Norm) else 0


@dataclasses.dataclass(frozen=True, eq=False)
class GeneratorProgram:
    """A ResNet generator read into encoder, trunk and decoder programs.

    Attributes:
        encoder: Full resolution → feature map.
        trunk: Programs at feature-map resolution (one per residual block).
        decoder: Feature map → full-resolution image in [-1, 1].
        cell: Image pixels per feature-map pixel along each side (the encoder's total stride).
        channels: Channels of the feature map.
        min_cells: Smallest feature-map side the reflection pads allow.
        halos: Halo in cells needed by the encoder, a trunk program and the decoder.
    """

    encoder: Program
    trunk: tuple[Program, ...]
    decoder: Program
    cell: int
    channels: int
    min_cells: int
    halos: tuple[int, int, int]


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


def _geometry(operations: Sequence[Operation], start_pixels: int | None) -> tuple[int, float, int]:
    """Walks a program over the cell grid.

    Args:
        operations: The program.
        start_pixels: Pixels per cell of the input; None for the encoder, whose input is the
            image and whose output defines the cell (1 pixel per cell).

    Returns:
        `(pixels, radius, min_cells)`: pixels per cell at the end (for the encoder: the cell
        size), the contamination radius in cells (how far a wrong value at a crop's edge can
        travel inwards), and the smallest side in cells that every reflection pad allows.
    """
    if start_pixels is None:
        cell = math.prod(op.stride for op in operations if isinstance(op, Conv))
        pixels, radius, min_cells = _geometry(operations, start_pixels=cell)
        if pixels != 1:
            raise ValueError("the encoder's strides do not reduce the image to the feature map")
        return cell, radius, min_cells
    pixels = start_pixels
    radius = 0.0
    min_cells = 1
    for operation in operations:
        if isinstance(operation, Pad):
            padding = max(operation.height, operation.width)
            min_cells = max(min_cells, padding // pixels + 1)
        elif isinstance(operation, Blur):
            radius += 1 / pixels  # like a 3×3 convolution
        elif isinstance(operation, Conv):
            radius += (operation.kernel_size // 2) / pixels
            if pixels % operation.stride:
                raise ValueError(
                    f"a stride-{operation.stride} convolution at {pixels} pixels per cell does "
                    "not keep the tiles aligned"
                )
            pixels //= operation.stride
        elif isinstance(operation, Upsample):
            radius += 1 / pixels
            pixels *= operation.factor
    return pixels, radius, min_cells


def _channels_after(operations: Sequence[Operation], channels: int) -> int:
    """Channels after `operations` on an input of `channels` channels."""
    for operation in operations:
        if isinstance(operation, Conv):
            channels = operation.filters
        elif isinstance(operation, Norm | Blur):
            channels = operation.channels
    return channels


def _output_channels(operations: Sequence[Operation]) -> int:
    convolutions = [op for op in operations if isinstance(op, Conv)]
    if not convolutions:
        raise ValueError("the encoder has no convolution")
    return convolutions[-1].filters


def _largest_activation(
    operations: Sequence[Operation], height: int, width: int, channels: int
) -> int:
    """Bytes of the largest float32 activation of `operations` on a (height, width) input."""
    largest = height * width * channels
    for operation in operations:
        if isinstance(operation, Pad):
            height += 2 * operation.height
            width += 2 * operation.width
        elif isinstance(operation, Conv):
            height = (height - operation.kernel_size) // operation.stride + 1
            width = (width - operation.kernel_size) // operation.stride + 1
            channels = operation.filters
        elif isinstance(operation, Blur):
            height -= 2
            width -= 2
        elif isinstance(operation, Upsample):
            height *= operation.factor
            width *= operation.factor
        largest = max(largest, height * width * channels)
    return 4 * largest


# --- Operations in TensorFlow ---------------------------------------------------------------


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


# --- Tiles -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tile:
    """A tile of the cell grid: its interior and the crop it is computed on (in cells)."""

    top: int
    bottom: int
    left: int
    right: int
    crop_top: int
    crop_left: int
    crop_height: int
    crop_width: int

    def box(self) -> tuple[int, int, int, int]:
        """The interior relative to the crop."""
        return (
            self.top - self.crop_top,
            self.bottom - self.crop_top,
            self.left - self.crop_left,
            self.right - self.crop_left,
        )


def _split(length: int, tile: int) -> list[tuple[int, int]]:
    count = math.ceil(length / tile)
    bounds = [round(index * length / count) for index in range(count + 1)]
    return list(itertools.pairwise(bounds))


def tile_grid(height: int, width: int, tile: int, halo: int) -> list[Tile]:
    """Tiles covering a `height` × `width` cell grid, row by row.

    The interiors partition the grid into near-equal parts of at most `tile` cells. Every crop
    has the same size (so tiles batch), reaches `halo` cells beyond its interior where the grid
    goes on, and is shifted inwards at the grid's edges, where the reflection padding of the
    whole image applies unchanged.
    """
    rows = _split(height, tile)
    columns = _split(width, tile)
    crop_height = min(height, max(bottom - top for top, bottom in rows) + 2 * halo)
    crop_width = min(width, max(right - left for left, right in columns) + 2 * halo)
    return [
        Tile(
            top,
            bottom,
            left,
            right,
            min(max(top - halo, 0), height - crop_height),
            min(max(left - halo, 0), width - crop_width),
            crop_height,
            crop_width,
        )
        for top, bottom in rows
        for left, right in columns
    ]


def _last_readers(tiles: Sequence[Tile]) -> np.ndarray:
    """For each tile, the index of the last tile whose crop overlaps its interior.

    When a pass writes its output over its own input, a tile's result may be stored only once
    no later tile needs the original values under it.
    """
    interiors = np.array([[t.top, t.bottom, t.left, t.right] for t in tiles])
    crops = np.array(
        [
            [t.crop_top, t.crop_top + t.crop_height, t.crop_left, t.crop_left + t.crop_width]
            for t in tiles
        ]
    )
    overlaps = (
        (crops[None, :, 0] < interiors[:, None, 1])
        & (interiors[:, None, 0] < crops[None, :, 1])
        & (crops[None, :, 2] < interiors[:, None, 3])
        & (interiors[:, None, 2] < crops[None, :, 3])
    )
    indices = np.arange(len(tiles))
    return np.max(np.where(overlaps, indices[None, :], -1), axis=1)


# --- Planning and running ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TilePlan:
    """How one image is run.

    Attributes:
        height: Image height in pixels.
        width: Image width in pixels.
        padded_height: Height after reflection padding to whole cells (and the minimum size).
        padded_width: Width likewise.
        tile: Side of the encoder's and decoder's tiles in pixels; 0: one pass, no tiles.
        trunk_tile: Side of the trunk's tiles in pixels (``stored`` and ``tiled`` modes).
        batch_size: Tiles per call.
        trunk: One of `TRUNK_MODES`.
        decoder: One of `DECODER_MODES`.
        estimated_bytes: Estimated peak working memory.
        estimated_flops: Estimated convolution FLOPs, recomputation and halos included.
    """

    height: int
    width: int
    padded_height: int
    padded_width: int
    tile: int
    trunk_tile: int
    batch_size: int
    trunk: str
    decoder: str
    estimated_bytes: int
    estimated_flops: float


class Work:
    """The steps of one image's inference: iterate to run them (``len`` is the step count).

    The image is in ``result`` once the iteration is over.
    """

    def __init__(self):
        self.passes: list[tuple[int, Callable[[], Iterator[None]]]] = []
        self.result: np.ndarray | None = None

    def add(self, steps: int, start: Callable[[], Iterator[None]]) -> None:
        """Appends a pass: `start()` returns an iterator that yields `steps` times."""
        self.passes.append((steps, start))

    def __len__(self) -> int:
        return sum(steps for steps, _ in self.passes)

    def __iter__(self) -> Iterator[None]:
        for _, start in self.passes:
            yield from start()


class TiledGenerator:
    """A ResNet generator that runs on images of any size with whole-image instance norms.

    Args:
        generator: A model from `build_resnet_generator` (or loaded from a style bundle).
        precision: Keras dtype policy name: ``float32``, ``mixed_bfloat16`` or
            ``mixed_float16``. Convolutions compute in its compute dtype, norms and their
            statistics in float32; the stored feature maps use the compute dtype (what Keras
            keeps between layers under that policy), which halves their memory.

    Raises:
        ValueError: If the model is not a ResNet generator of known layers, or the precision is
            unknown.
    """

    def __init__(self, generator: keras.Sequential, precision: str = "float32"):
        if precision not in COMPUTE_DTYPES:
            raise ValueError(
                f"precision must be one of {', '.join(COMPUTE_DTYPES)}; received {precision!r}"
            )
        self.program = read_generator(generator)
        self.precision = precision
        self.compute_dtype = COMPUTE_DTYPES[precision]
        self.storage_dtype = tf.as_dtype(self.compute_dtype)
        self._storage_numpy = self.storage_dtype.as_numpy_dtype

    # Planning.

    def padded_size(self, height: int, width: int) -> tuple[int, int]:
        """The size an image is padded to: whole cells, at least the minimum the pads allow."""
        cell, minimum = self.program.cell, self.program.min_cells
        return (
            max(math.ceil(height / cell), minimum) * cell,
            max(math.ceil(width / cell), minimum) * cell,
        )

    def flops_per_pixel(self) -> float:
        """Convolution FLOPs (2 per multiply-add) of one pass, per image pixel."""
        program = self.program
        cell_area = program.cell**2
        total = _program_flops(program.encoder, program.cell)[-1]
        total += sum(_program_flops(block, 1)[-1] for block in program.trunk)
        total += _program_flops(program.decoder, 1)[-1]
        return total / cell_area

    def plan(
        self,
        height: int,
        width: int,
        *,
        tile: int | None = None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        trunk: str | None = None,
        trunk_tile: int | None = None,
        decoder_mode: str | None = None,
    ) -> TilePlan:
        """Chooses how to run a `height` × `width` image within a memory budget.

        One pass when it fits (or `tile` is 0). Else, among the trunk modes of `TRUNK_MODES`
        and the tile sides of `AUTOMATIC_TILES` (or `tile`) whose estimated memory fits, the
        one that needs least memory of those within 3% of the fewest estimated FLOPs
        (recomputation and halos included); when none fits, the one that needs least memory.

        Args:
            height: Image height in pixels.
            width: Image width in pixels.
            tile: Tile side in pixels (rounded down to whole cells); 0 runs the image in one
                pass; None chooses.
            memory_budget: Working memory to aim at, in bytes.
            trunk: One of `TRUNK_MODES` to force the trunk's mode; None chooses.
            trunk_tile: Side of the trunk's tiles in pixels; None chooses the tile's side or
                `TRUNK_TILE_CELLS` cells, if larger.
            decoder_mode: One of `DECODER_MODES` to force the decoder's mode; None chooses.

        Raises:
            ValueError: If `tile` is below `MIN_TILE` (and not 0) or `trunk` is unknown.
        """
        if tile is not None and tile != 0 and tile < MIN_TILE:
            raise ValueError(f"tile must be 0 or at least {MIN_TILE} pixels; received {tile}")
        if trunk is not None and trunk not in TRUNK_MODES:
            raise ValueError(
                f"trunk must be one of {', '.join(TRUNK_MODES)} or None; received {trunk!r}"
            )
        if decoder_mode is not None and decoder_mode not in self._decoder_modes():
            raise ValueError(
                f"decoder_mode must be one of {', '.join(self._decoder_modes())} or None; "
                f"received {decoder_mode!r}"
            )
        padded_height, padded_width = self.padded_size(height, width)
        cell = self.program.cell
        cells_high, cells_wide = padded_height // cell, padded_width // cell
        images = _IMAGE_BYTES_PER_PIXEL * padded_height * padded_width
        largest = self._largest_tensor_bytes(padded_height, padded_width, halo=False)
        one_pass = TilePlan(
            height,
            width,
            padded_height,
            padded_width,
            0,
            0,
            1,
            "whole",
            "recompute",
            int(images + _ONE_PASS_FACTOR * largest),
            self.flops_per_pixel() * padded_height * padded_width,
        )
        if tile == 0 or (tile is None and one_pass.estimated_bytes <= memory_budget):
            return one_pass
        decoder_modes = (decoder_mode,) if decoder_mode else self._decoder_modes()
        candidates = []
        for mode in [trunk] if trunk else [m for m in TRUNK_MODES if self._supports(m)]:
            for side in [tile] if tile else AUTOMATIC_TILES:
                tile_cells = min(max(side // cell, 1), max(cells_high, cells_wide))
                if trunk_tile:
                    trunk_sides = {max(trunk_tile // cell, 1)}
                else:  # smaller trunk tiles need less memory when updating in place
                    trunk_sides = {max(tile_cells, TRUNK_TILE_CELLS), tile_cells}
                candidates += [
                    self._tiled_plan(
                        height,
                        width,
                        (mode, decoder),
                        (tile_cells, trunk_cells),
                        images,
                        memory_budget,
                    )
                    for trunk_cells in sorted(trunk_sides)
                    for decoder in decoder_modes
                ]
        fitting = [plan for plan in candidates if plan.estimated_bytes <= memory_budget]
        if fitting:
            # Within 3% of the fewest FLOPs, the plan that needs least memory.
            fewest = min(plan.estimated_flops for plan in fitting)
            near = [plan for plan in fitting if plan.estimated_flops <= 1.03 * fewest]
            chosen = min(near, key=lambda plan: (plan.estimated_bytes, plan.estimated_flops))
        else:
            chosen = min(candidates, key=lambda plan: (plan.estimated_bytes, plan.estimated_flops))
        if chosen.tile >= max(padded_height, padded_width):
            return one_pass  # a single tile: the one pass does the same with less work
        return chosen

    def _tiled_plan(
        self,
        height: int,
        width: int,
        modes: tuple[str, str],
        tiles: tuple[int, int],
        images: int,
        budget: int,
    ) -> TilePlan:
        """A tiled plan's memory and FLOPs for (trunk, decoder) modes and (tile, trunk tile)
        sides in cells."""
        program = self.program
        mode, decoder_mode = modes
        tile_cells, trunk_cells = tiles
        cell, channels, itemsize = program.cell, program.channels, self.storage_dtype.size
        padded_height, padded_width = self.padded_size(height, width)
        cells_high, cells_wide = padded_height // cell, padded_width // cell
        cells = cells_high * cells_wide
        encoder_halo, trunk_halo, decoder_halo = program.halos
        trunk_cells = min(trunk_cells, max(cells_high, cells_wide))
        feature_map = cells * channels * itemsize
        band = min(trunk_cells, cells_high) * cells_wide * channels * itemsize
        per_tile = _LIVE_TENSORS * self._largest_tensor_bytes(tile_cells * cell, None, halo=True)
        # Batches help small tiles (fewer, larger calls): up to 1/4 MP per call, within budget.
        affordable = (budget - images - feature_map) // per_tile
        batch_size = max(1, min(8, 2**18 // (tile_cells * cell) ** 2, affordable))
        trunk_crop = trunk_cells + 2 * trunk_halo
        trunk_tile_bytes = _LIVE_TENSORS * _largest_activation(
            program.trunk[0].operations, trunk_crop, trunk_crop, channels
        )
        trunk_working = {
            "whole": feature_map + _WHOLE_TRUNK_FACTOR * cells * channels * 4,
            "stored": 2 * feature_map + band + trunk_tile_bytes,
            "tiled": feature_map + band + trunk_tile_bytes,
        }[mode]
        decoder_maps = feature_map
        decoder_flops = _passes_flops(program.decoder, 1, pointwise_tail=False)
        decoder_overhead = _halo_overhead(tile_cells, decoder_halo, cells_high, cells_wide)
        if decoder_mode == "stored":
            rest, pixels, rest_halo = self._decoder_rest()
            decoder_maps += cells * pixels**2 * rest.operations[0].channels * itemsize
            first = _program_flops(program.decoder, 1)[program.decoder.norm_indices()[0]]
            decoder_flops = first * decoder_overhead
            decoder_overhead = _halo_overhead(tile_cells, rest_halo, cells_high, cells_wide)
            decoder_flops += _passes_flops(rest, pixels, pointwise_tail=False) * decoder_overhead
        else:
            decoder_flops *= decoder_overhead
        tiles_working = max(feature_map, decoder_maps) + batch_size * per_tile
        memory = images + max(trunk_working, tiles_working)
        encoder_flops = _passes_flops(program.encoder, cell, pointwise_tail=True)
        trunk_flops = 0.0
        for block in program.trunk:
            if mode == "tiled":
                trunk_flops += _passes_flops(block, 1, pointwise_tail=False)
            else:
                trunk_flops += _program_flops(block, 1)[-1]
        if mode != "whole":
            trunk_flops *= _halo_overhead(trunk_cells, trunk_halo, cells_high, cells_wide)
        flops = cells * (
            encoder_flops * _halo_overhead(tile_cells, encoder_halo, cells_high, cells_wide)
            + trunk_flops
            + decoder_flops
        )
        return TilePlan(
            height,
            width,
            padded_height,
            padded_width,
            tile_cells * cell,
            trunk_cells * cell,
            batch_size,
            mode,
            decoder_mode,
            int(memory),
            flops,
        )

    def _decoder_modes(self) -> tuple[str, ...]:
        """``stored`` needs a decoder with two norms or more (it stores the first's input)."""
        return DECODER_MODES if self.program.decoder.norm_count >= 2 else DECODER_MODES[:1]

    def _decoder_rest(self) -> tuple[Program, int, int]:
        """The decoder from its first norm on, its input's pixels per cell, and its halo."""
        decoder = self.program.decoder
        first = decoder.norm_indices()[0]
        pixels = _pixels_before(decoder.operations, 1, 0)
        rest = decoder.slice(first)
        _, radius, _ = _geometry(rest.operations, start_pixels=pixels)
        return rest, pixels, math.ceil(radius) + 1

    def _largest_tensor_bytes(self, height: int, width: int | None, *, halo: bool) -> int:
        """Bytes of the largest float32 activation on an image (or a tile's crop with `halo`)
        of `height` × `width` pixels (square when `width` is None)."""
        width = height if width is None else width
        cell = self.program.cell
        encoder_halo, trunk_halo, decoder_halo = self.program.halos if halo else (0, 0, 0)
        channels = self.program.channels
        return max(
            _largest_activation(
                self.program.encoder.operations,
                height + 2 * encoder_halo * cell,
                width + 2 * encoder_halo * cell,
                3,
            ),
            *(
                _largest_activation(
                    block.operations,
                    height // cell + 2 * trunk_halo,
                    width // cell + 2 * trunk_halo,
                    channels,
                )
                for block in self.program.trunk
            ),
            _largest_activation(
                self.program.decoder.operations,
                height // cell + 2 * decoder_halo,
                width // cell + 2 * decoder_halo,
                channels,
            ),
        )

    def _supports(self, mode: str) -> bool:
        """``stored`` needs residual blocks that end with a norm and pointwise operations."""
        if mode != "stored":
            return True
        return all(
            program.residual and _pointwise_tail(program, allow_residual=True) is not None
            for program in self.program.trunk
        )

    # Running.

    def run(self, pixels: np.ndarray, plan: TilePlan | None = None, progress=None) -> np.ndarray:
        """Runs the generator on one image.

        Args:
            pixels: (height, width, 3) uint8 RGB image.
            plan: From `plan`; None plans with the defaults.
            progress: Optional wrapper of an iterable (e.g. a tqdm factory) that shows the steps.

        Returns:
            (height, width, 3) float32 image in [-1, 1].
        """
        work = self.work(pixels, plan)
        for _ in progress(work) if progress is not None else work:
            pass
        return work.result

    def work(self, pixels: np.ndarray, plan: TilePlan | None = None) -> Work:
        """The steps of `run`, to iterate yourself; the image is in ``.result`` at the end."""
        height, width = pixels.shape[:2]
        if plan is None:
            plan = self.plan(height, width)
        if (plan.height, plan.width) != (height, width):
            raise ValueError(
                f"the plan is for {plan.width}×{plan.height} pixels, the image is {width}×{height}"
            )
        padded = np.pad(
            pixels,
            ((0, plan.padded_height - height), (0, plan.padded_width - width), (0, 0)),
            mode="reflect",
        )
        work = Work()
        if plan.tile == 0:
            work.add(1, lambda: self._one_pass(padded, work, height, width))
        else:
            self._add_tiled_passes(work, padded, plan)
        return work

    def _one_pass(self, padded: np.ndarray, work: Work, height: int, width: int):
        programs = self._programs()
        run = self._whole_function(programs, image_input=True)
        output = run(padded[None], tuple(program.weights for program in programs))
        work.result = output.numpy()[0, :height, :width]
        yield

    def _programs(self) -> list[Program]:
        return [self.program.encoder, *self.program.trunk, self.program.decoder]

    def _add_tiled_passes(self, work: Work, padded: np.ndarray, plan: TilePlan) -> None:
        """Encoder (one pass per norm) → feature map → trunk (by mode) → decoder → output."""
        program = self.program
        cell = program.cell
        cells_high, cells_wide = plan.padded_height // cell, plan.padded_width // cell
        tile_cells, trunk_cells = plan.tile // cell, plan.trunk_tile // cell
        encoder_halo, trunk_halo, decoder_halo = program.halos
        encoder_tiles = tile_grid(cells_high, cells_wide, tile_cells, encoder_halo)
        trunk_tiles = tile_grid(cells_high, cells_wide, trunk_cells, trunk_halo)
        decoder_tiles = tile_grid(cells_high, cells_wide, tile_cells, decoder_halo)
        state: dict = {}

        def features() -> np.ndarray:
            if "features" not in state:
                shape = (cells_high, cells_wide, program.channels)
                state["features"] = np.empty(shape, self._storage_numpy)
            return state["features"]

        def tile_pass(program_, source, source_pixels, tiles, statistics, **options):
            steps = math.ceil(len(tiles) / plan.batch_size)
            work.add(
                steps,
                lambda: self._tile_pass(
                    program_,
                    source() if callable(source) else source,
                    source_pixels,
                    tiles,
                    plan.batch_size,
                    statistics=statistics,
                    **{
                        key: value() if callable(value) else value for key, value in options.items()
                    },
                ),
            )

        encoder = program.encoder
        statistics: list = []
        tail_start = _pointwise_tail(encoder)
        for index in range(encoder.norm_count):
            last = index == encoder.norm_count - 1 and tail_start is not None
            tile_pass(
                encoder,
                padded,
                cell,
                encoder_tiles,
                statistics,
                stop_at=index,
                destination=features if last else None,
                image_input=True,
            )
        if tail_start is None:
            tile_pass(
                encoder,
                padded,
                cell,
                encoder_tiles,
                statistics,
                destination=features,
                image_input=True,
            )
        else:
            tail = encoder.slice(tail_start)
            work.add(1, lambda: self._pointwise_pass(tail, features(), None, statistics))

        for block in program.trunk:
            if plan.trunk == "whole":
                work.add(1, lambda block=block: self._whole_trunk_pass(block, state))
            elif plan.trunk == "stored":
                self._add_stored_block(work, block, state, trunk_tiles, plan.batch_size)
            else:
                block_statistics: list = []
                for index in range(block.norm_count):
                    tile_pass(block, features, 1, trunk_tiles, block_statistics, stop_at=index)
                tile_pass(block, features, 1, trunk_tiles, block_statistics, destination=features)

        def drop_buffer():
            state.pop("buffer", None)  # the decoder only needs the feature map
            return iter(())

        work.add(0, drop_buffer)

        decoder = program.decoder
        decoder_statistics: list = []
        # Under a mixed policy float16 keeps ~0.06 of an 8-bit step, far below bfloat16's own
        # error, in half the memory.
        output_dtype = np.float32 if self.compute_dtype == "float32" else np.float16
        output = np.empty((plan.padded_height, plan.padded_width, 3), output_dtype)
        if plan.decoder == "stored":
            rest, pixels, rest_halo = self._decoder_rest()
            rest_tiles = tile_grid(cells_high, cells_wide, tile_cells, rest_halo)

            def decoder_map() -> np.ndarray:
                if "decoder" not in state:
                    shape = (cells_high * pixels, cells_wide * pixels, rest.operations[0].channels)
                    state["decoder"] = np.empty(shape, self._storage_numpy)
                return state["decoder"]

            tile_pass(
                decoder,
                features,
                1,
                decoder_tiles,
                decoder_statistics,
                stop_at=0,
                destination=decoder_map,
            )

            def drop_features():
                state.pop("features", None)
                return iter(())

            work.add(0, drop_features)
            # `rest` starts with the decoder's first norm, so its norms keep their numbers.
            for index in range(1, decoder.norm_count):
                tile_pass(rest, decoder_map, pixels, rest_tiles, decoder_statistics, stop_at=index)
            tile_pass(rest, decoder_map, pixels, rest_tiles, decoder_statistics, destination=output)
        else:
            for index in range(decoder.norm_count):
                tile_pass(decoder, features, 1, decoder_tiles, decoder_statistics, stop_at=index)
            tile_pass(decoder, features, 1, decoder_tiles, decoder_statistics, destination=output)

        def finish():
            state.clear()
            work.result = output[: plan.height, : plan.width]
            return iter(())

        work.add(0, finish)

    def _tile_pass(
        self,
        program: Program,
        source: np.ndarray,
        source_pixels: int,
        tiles: Sequence[Tile],
        batch_size: int,
        *,
        statistics: list,
        stop_at: int | None = None,
        destination: np.ndarray | None = None,
        image_input: bool = False,
    ) -> Iterator[None]:
        """One pass over the tiles; yields after each batch.

        With `stop_at`, runs the program up to that norm, appends the norm's whole-image
        `(mean, variance)` to `statistics` at the end, and (with a `destination`) also stores
        the norm's input there. Without, runs the whole program and stores its output in
        `destination`, which may be `source` itself (a residual block updated in place).
        """
        in_place = destination is source
        function = self._tile_function(
            program,
            (source_pixels, source.shape[-1]),
            stop_at,
            None if destination is None else tf.as_dtype(destination.dtype),
            image_input,
        )
        moments = None
        if stop_at is not None:
            norms = [op for op in program.operations if isinstance(op, Norm)]
            moments = _Moments(norms[stop_at].channels)
        last_readers = _last_readers(tiles) if in_place else None
        pending: list[tuple[int, Tile, np.ndarray]] = []
        pixels = 0
        for first in range(0, len(tiles), batch_size):
            batch = tiles[first : first + batch_size]
            crops = np.stack(
                [
                    source[
                        t.crop_top * source_pixels : (t.crop_top + t.crop_height) * source_pixels,
                        t.crop_left * source_pixels : (t.crop_left + t.crop_width) * source_pixels,
                    ]
                    for t in batch
                ]
            )
            boxes = np.array([t.box() for t in batch], np.int32)
            outputs = function(crops, program.weights, tuple(statistics), boxes)
            if moments is not None:
                moments.add(*(value.numpy() for value in outputs[:3]))
                outputs = outputs[3:]
            if destination is not None:
                result = outputs[0].numpy()
                pixels = result.shape[1] // batch[0].crop_height
                for offset, t in enumerate(batch):
                    top, bottom, left, right = (value * pixels for value in t.box())
                    interior = result[offset, top:bottom, left:right]
                    if in_place:
                        pending.append((int(last_readers[first + offset]), t, interior))
                    else:
                        _store(destination, t, pixels, interior)
                done = first + len(batch) - 1
                waiting = []
                for reader, t, interior in pending:
                    if reader <= done:
                        _store(destination, t, pixels, interior)
                    else:
                        waiting.append((reader, t, interior))
                pending = waiting
            yield
        if moments is not None:
            statistics.append(moments.statistics())

    def _pointwise_pass(
        self, tail: Program, source: np.ndarray, skip: np.ndarray | None, statistics: list
    ) -> Iterator[None]:
        """Maps the feature map through `tail` (a norm with `statistics[-1]`, then pointwise
        operations) in bands of rows. Without `skip` the result replaces `source`; with, it is
        added to `skip` in place (the end of a residual block in ``stored`` mode)."""
        function = self._pointwise_function(tail, residual=skip is not None)
        target = source if skip is None else skip
        rows = max(1, _POINTWISE_CHUNK_BYTES // (source.shape[1] * source.shape[2] * 4))
        for top in range(0, source.shape[0], rows):
            band = slice(top, top + rows)
            inputs = source[None, band]
            added = inputs if skip is None else skip[None, band]
            target[band] = function(inputs, tail.weights, (statistics[-1],), added)[0]
        yield

    def _add_stored_block(
        self, work: Work, block: Program, state: dict, tiles: Sequence[Tile], batch_size: int
    ) -> None:
        """A residual block in ``stored`` mode: each convolution's output (a norm's input) goes
        to a second feature map, the buffer, and the next segment reads it from there."""
        steps = math.ceil(len(tiles) / batch_size)
        norms = block.norm_indices()
        statistics: list = []

        def buffer() -> np.ndarray:
            if "buffer" not in state:
                state["buffer"] = np.empty_like(state["features"])
            return state["buffer"]

        for number, norm in enumerate(norms):
            segment = block.slice(0 if number == 0 else norms[number - 1], norm + 1)

            def segment_pass(segment=segment, first=number == 0):
                given = [] if first else [statistics[-1]]
                yield from self._tile_pass(
                    segment,
                    state["features"] if first else buffer(),
                    1,
                    tiles,
                    batch_size,
                    statistics=given,
                    stop_at=segment.norm_count - 1,
                    destination=buffer(),
                )
                statistics.append(given[-1])

            work.add(steps, segment_pass)
        tail = block.slice(norms[-1])
        work.add(1, lambda: self._pointwise_pass(tail, buffer(), state["features"], statistics))

    def _whole_trunk_pass(self, block: Program, state: dict) -> Iterator[None]:
        function = self._whole_function([block], image_input=False)
        features = tf.convert_to_tensor(state.pop("features")[None])
        state["features"] = np.asarray(function(features, (block.weights,)))[0]
        yield

    # Compiled functions (see `_FUNCTIONS`).

    def _input_spec(self, image_input: bool, channels: int | None = None) -> tf.TensorSpec:
        if image_input:
            return tf.TensorSpec([None, None, None, 3], tf.uint8)
        channels = self.program.channels if channels is None else channels
        return tf.TensorSpec([None, None, None, channels], self.storage_dtype)

    def _tile_function(
        self,
        program: Program,
        source: tuple[int, int],
        stop_at: int | None,
        output_dtype: tf.DType | None,
        image_input: bool,
    ) -> Callable:
        """The compiled tile step of a pass; `source` is (pixels per cell, channels)."""
        key = ("tile", program.operations, program.residual, source, stop_at)
        key += (output_dtype, image_input, self.compute_dtype)
        if key in _FUNCTIONS:
            return _FUNCTIONS[key]
        operations, residual = program.operations, program.residual
        compute_dtype = self.compute_dtype
        source_pixels, source_channels = source
        stop_pixels = _pixels_before(operations, source_pixels, stop_at)
        signature = (
            self._input_spec(image_input, source_channels),
            _weight_specs(program),
            _statistics_specs(operations, stop_at),
            tf.TensorSpec([None, 4], tf.int32),
        )

        @tf.function(input_signature=signature)
        def run(crops, weights, statistics, boxes):
            inputs = _image_to_float(crops) if image_input else tf.cast(crops, tf.float32)
            x = _forward(
                operations,
                weights,
                inputs,
                compute_dtype=compute_dtype,
                statistics=statistics,
                stop_at=stop_at,
            )
            if residual and stop_at is None:
                x = inputs + x
            outputs = () if output_dtype is None else (tf.cast(x, output_dtype),)
            if stop_at is not None:
                return (*_interior_moments(x, boxes, stop_pixels), *outputs)
            return outputs

        _FUNCTIONS[key] = run
        return run

    def _whole_function(self, programs: Sequence[Program], image_input: bool) -> Callable:
        """One call over whole images, each norm with the image's own statistics: the one-pass
        run (from uint8, float32 out) or a trunk block (feature map in and out)."""
        structure = tuple((program.operations, program.residual) for program in programs)
        key = ("whole", structure, image_input, self.program.channels, self.compute_dtype)
        if key in _FUNCTIONS:
            return _FUNCTIONS[key]
        compute_dtype, storage_dtype = self.compute_dtype, self.storage_dtype
        signature = [
            self._input_spec(image_input),
            tuple(_weight_specs(program) for program in programs),
        ]

        @tf.function(input_signature=signature)
        def run(inputs, weights):
            x = _image_to_float(inputs) if image_input else tf.cast(inputs, tf.float32)
            for (operations, residual), program_weights in zip(structure, weights, strict=True):
                y = _forward(
                    operations, program_weights, x, compute_dtype=compute_dtype, statistics=None
                )
                x = x + y if residual else y
            return x if image_input else tf.cast(x, storage_dtype)

        _FUNCTIONS[key] = run
        return run

    def _pointwise_function(self, tail: Program, residual: bool) -> Callable:
        key = ("pointwise", tail.operations, residual, self.program.channels, self.compute_dtype)
        if key in _FUNCTIONS:
            return _FUNCTIONS[key]
        storage_dtype = self.storage_dtype
        spec = self._input_spec(image_input=False)
        signature = [spec, _weight_specs(tail), _statistics_specs(tail.operations, None), spec]

        @tf.function(input_signature=signature)
        def run(inputs, weights, statistics, skip):
            x = _forward(
                tail.operations,
                weights,
                tf.cast(inputs, tf.float32),
                compute_dtype="float32",
                statistics=statistics,
            )
            if residual:
                x = tf.cast(skip, tf.float32) + x
            return tf.cast(x, storage_dtype)

        _FUNCTIONS[key] = run
        return run


def _weight_specs(program: Program) -> tuple[tf.TensorSpec, ...]:
    return tuple(tf.TensorSpec(weight.shape, tf.float32) for weight in program.weights)


def _statistics_specs(
    operations: Sequence[Operation], stop_at: int | None
) -> tuple[tuple[tf.TensorSpec, tf.TensorSpec], ...]:
    """Specs of the `(mean, variance)` pairs of the norms before `stop_at` (all if None)."""
    norms = [op for op in operations if isinstance(op, Norm)]
    if stop_at is not None:
        norms = norms[:stop_at]
    return tuple(
        (tf.TensorSpec([norm.channels], tf.float32), tf.TensorSpec([norm.channels], tf.float32))
        for norm in norms
    )


def _store(destination: np.ndarray, tile: Tile, pixels: int, interior: np.ndarray) -> None:
    destination[
        tile.top * pixels : tile.bottom * pixels, tile.left * pixels : tile.right * pixels
    ] = interior


def _pixels_before(operations: Sequence[Operation], source_pixels: int, stop_at: int | None) -> int:
    """Pixels per cell of the activation entering norm number `stop_at`."""
    pixels = source_pixels
    norm_index = 0
    for operation in operations:
        if isinstance(operation, Norm):
            if norm_index == stop_at:
                return pixels
            norm_index += 1
        elif isinstance(operation, Conv):
            pixels //= operation.stride
        elif isinstance(operation, Upsample):
            pixels *= operation.factor
    return pixels


def _pointwise_tail(program: Program, allow_residual: bool = False) -> int | None:
    """Index of the program's last norm when only pointwise operations follow it.

    The norm's input can then be stored and the rest applied in place, saving a pass over the
    tiles. A residual program qualifies only with `allow_residual` (``stored`` mode, which
    keeps the block's input aside).
    """
    if program.residual and not allow_residual:
        return None
    norms = program.norm_indices()
    if not norms:
        return None
    tail = program.operations[norms[-1] + 1 :]
    return norms[-1] if all(isinstance(op, Pointwise) for op in tail) else None


def _program_flops(program: Program, start_pixels: int) -> list[float]:
    """Cumulative convolution (and blur) FLOPs per cell after each operation of `program`."""
    pixels = start_pixels
    position = 0
    total = 0.0
    cumulative = []
    for operation in program.operations:
        if isinstance(operation, Conv):
            kernel = program.weights[position]
            position += 2 if operation.use_bias else 1
            pixels //= operation.stride
            height, width, channels_in, channels_out = kernel.shape
            total += 2.0 * height * width * channels_in * channels_out * pixels**2
        elif isinstance(operation, Blur):
            total += _BLUR_FLOPS_PER_VALUE * operation.channels * pixels**2
        elif isinstance(operation, Norm):
            position += 2
        elif isinstance(operation, Upsample):
            pixels *= operation.factor
        cumulative.append(total)
    return cumulative


def _passes_flops(program: Program, start_pixels: int, *, pointwise_tail: bool) -> float:
    """Convolution FLOPs per cell of running `program` tiled: one pass up to each norm, then
    a full pass (unless its last norm's input is stored and finished pointwise)."""
    cumulative = _program_flops(program, start_pixels)
    total = sum(cumulative[index] for index in program.norm_indices())
    if not (pointwise_tail and _pointwise_tail(program) is not None):
        total += cumulative[-1]
    return total


def _halo_overhead(tile_cells: int, halo: int, cells_high: int, cells_wide: int) -> float:
    """Crop area over interior area: the work tiles add by computing their halos."""
    height = min(tile_cells + 2 * halo, cells_high) / min(tile_cells, cells_high)
    width = min(tile_cells + 2 * halo, cells_wide) / min(tile_cells, cells_wide)
    return height * width
