"""The generator as a program: primitive operations, and the walks over them that need no model.

`gan_style.tiling.reader` reads a `keras.Sequential` ResNet generator into a `GeneratorProgram`
(encoder, residual trunk, decoder) of the operations defined here: reflection pad, convolution,
instance norm, pointwise activation, nearest up-sampling and the fixed anti-aliasing blur. The
plan (`gan_style.tiling.plan`) and the executor (`gan_style.tiling.executor`) both work from
these programs.

This module imports neither TensorFlow nor Keras, so that the plan, which needs only the
programs' shapes, can be imported and tested without them: the weights a `Program` carries are
TensorFlow tensors once read from a model, but nothing here or in the plan computes with them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tensorflow as tf


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


def _decoder_rest(program: GeneratorProgram) -> tuple[Program, int, int]:
    """The decoder from its first norm on, its input's pixels per cell, and its halo."""
    decoder = program.decoder
    first = decoder.norm_indices()[0]
    pixels = _pixels_before(decoder.operations, 1, 0)
    rest = decoder.slice(first)
    _, radius, _ = _geometry(rest.operations, start_pixels=pixels)
    return rest, pixels, math.ceil(radius) + 1
