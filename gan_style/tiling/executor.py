"""Runs a generator program on one image: in one pass, or tile by tile with whole-image norms.

`TiledGenerator` reads a Keras ResNet generator (`gan_style.tiling.reader`), plans each image
(`gan_style.tiling.plan`) and runs the plan as a `Work` of passes:

- One pass: the whole image in one call, each norm with the image's own statistics.
- Tiled: a norm's statistics are accumulated over the tile interiors (every pixel counted
  once) in one pass over the tiles (`gan_style.tiling.grid`) and merged in float64
  (`gan_style.tiling.ops`); later passes normalise with them. The encoder takes one pass per
  norm (3) and leaves the 1/4-resolution feature map, the one thing kept whole (12 MP × 256
  channels / 16 = 768 MB in float32, half in bfloat16). The residual trunk runs on that map
  block by block (`TRUNK_MODES`): in one piece when memory allows; else tile by tile, storing
  each convolution's output in a second map; else in place with one map, recomputing instead
  of storing. The decoder is tiled like the encoder (one pass per norm, then one that writes
  the output), and when memory allows, its first pass stores its first norm's input (half
  resolution) for the later passes to read (`DECODER_MODES`).

The whole-image arrays a tiled run keeps between passes live in one `_Maps`, each made when
the first pass that needs it starts and dropped once no later pass reads it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Callable, Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from gan_style.tiling.grid import Tile, _last_readers, tile_grid
from gan_style.tiling.ops import _forward, _image_to_float, _interior_moments, _Moments
from gan_style.tiling.plan import Planner, TilePlan
from gan_style.tiling.program import (
    Norm,
    Operation,
    Program,
    _decoder_rest,
    _pixels_before,
    _pointwise_tail,
)
from gan_style.tiling.reader import read_generator

COMPUTE_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
"""The dtype convolutions compute in, and the stored feature maps use, by Keras dtype policy
name. Norms, their statistics and the activations between layers stay float32."""

_POINTWISE_CHUNK_BYTES = 64 * 2**20
"""Rows of the feature map mapped per call by the pointwise passes."""

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


@dataclasses.dataclass(eq=False)
class _Maps:
    """The whole-image arrays one tiled run keeps between its passes.

    Each is made when the first pass that uses it starts (`feature_map`, `buffer_map`,
    `decoder_map`) and dropped once no later pass reads it, so that no more of them are alive
    at once than the plan's memory estimate counts.

    Attributes:
        shape: Shape of the feature map: (cells high, cells wide, channels).
        dtype: The numpy dtype the maps are stored in (the storage dtype).
        decoder_shape: Shape of the decoder's map (``stored`` decoder mode only).
        features: The feature map: the encoder's output, updated block by block by the trunk,
            the decoder's input.
        buffer: A second feature map, for the trunk's ``stored`` mode: each convolution's
            output.
        decoder: The decoder's first norm's input (``stored`` decoder mode).
    """

    shape: tuple[int, int, int]
    dtype: type
    decoder_shape: tuple[int, int, int] | None = None
    features: np.ndarray | None = None
    buffer: np.ndarray | None = None
    decoder: np.ndarray | None = None

    def feature_map(self) -> np.ndarray:
        if self.features is None:
            self.features = np.empty(self.shape, self.dtype)
        return self.features

    def buffer_map(self) -> np.ndarray:
        if self.buffer is None:
            self.buffer = np.empty(self.shape, self.dtype)
        return self.buffer

    def decoder_map(self) -> np.ndarray:
        if self.decoder is None:
            self.decoder = np.empty(self.decoder_shape, self.dtype)
        return self.decoder

    def drop_buffer(self) -> None:
        self.buffer = None

    def drop_features(self) -> None:
        self.features = None

    def clear(self) -> None:
        self.features = self.buffer = self.decoder = None


@dataclasses.dataclass(frozen=True, eq=False)
class _TilePass:
    """One pass over the tiles (see `TiledGenerator._tile_pass`).

    Attributes:
        program: What each tile runs.
        source: Returns the array the crops are cut from; called when the pass starts, so that
            a map is made only then.
        source_pixels: Pixels per cell of the source.
        tiles: The tiles, in order.
        statistics: `(mean, variance)` of the program's norms before `stop_at`, in order; the
            pass appends the statistics of norm `stop_at`.
        stop_at: Runs the program up to this norm and measures its input; None runs it all.
        destination: Returns the array the interiors are stored in (the norm's input with
            `stop_at`, else the program's output; it may be the source); called when the pass
            starts. None stores nothing.
        image_input: Whether the source is the uint8 image.
    """

    program: Program
    source: Callable[[], np.ndarray]
    source_pixels: int
    tiles: Sequence[Tile]
    statistics: list
    stop_at: int | None = None
    destination: Callable[[], np.ndarray] | None = None
    image_input: bool = False


def _given(array: np.ndarray) -> Callable[[], np.ndarray]:
    """The `_TilePass` source or destination of an array that already exists."""
    return lambda: array


def _between_passes(action: Callable[[], None]) -> Callable[[], Iterator[None]]:
    """A pass of no steps that runs `action` (dropping a map, ...) when its turn comes."""

    def start() -> Iterator[None]:
        action()
        return iter(())

    return start


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
        self._planner = Planner(self.program, self.storage_dtype.size)

    # Planning (`gan_style.tiling.plan`).

    def padded_size(self, height: int, width: int) -> tuple[int, int]:
        """The size an image is padded to: whole cells, at least the minimum the pads allow."""
        return self._planner.padded_size(height, width)

    def flops_per_pixel(self) -> float:
        """Convolution FLOPs (2 per multiply-add) of one pass, per image pixel."""
        return self._planner.flops_per_pixel()

    def plan(self, height: int, width: int, **options) -> TilePlan:
        """Chooses how to run a `height` × `width` image within a memory budget.

        The keyword options (``tile``, ``memory_budget``, ``trunk``, ``trunk_tile``,
        ``decoder_mode``), the rule and the errors are `gan_style.tiling.plan.Planner.plan`'s.
        """
        return self._planner.plan(height, width, **options)

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
        cell = self.program.cell
        cells_high, cells_wide = plan.padded_height // cell, plan.padded_width // cell
        maps = _Maps((cells_high, cells_wide, self.program.channels), self._storage_numpy)
        self._add_encoder(work, padded, maps, plan)
        self._add_trunk(work, maps, plan)
        work.add(0, _between_passes(maps.drop_buffer))  # the decoder only needs the feature map
        # Under a mixed policy float16 keeps ~0.06 of an 8-bit step, far below bfloat16's own
        # error, in half the memory.
        output_dtype = np.float32 if self.compute_dtype == "float32" else np.float16
        output = np.empty((plan.padded_height, plan.padded_width, 3), output_dtype)
        self._add_decoder(work, maps, output, plan)

        def finish() -> None:
            maps.clear()
            work.result = output[: plan.height, : plan.width]

        work.add(0, _between_passes(finish))

    def _tiles(self, plan: TilePlan, side: int, halo: int) -> list[Tile]:
        """The grid of tiles of `side` pixels with `halo` cells on `plan`'s padded image."""
        cell = self.program.cell
        return tile_grid(plan.padded_height // cell, plan.padded_width // cell, side // cell, halo)

    def _add_tile_pass(self, work: Work, tile_pass: _TilePass, batch_size: int) -> None:
        steps = math.ceil(len(tile_pass.tiles) / batch_size)
        work.add(steps, lambda: self._tile_pass(tile_pass, batch_size))

    def _add_encoder(self, work: Work, padded: np.ndarray, maps: _Maps, plan: TilePlan) -> None:
        """One pass per norm, then one that writes the feature map; or, when only pointwise
        operations follow the last norm, its pass stores that norm's input in the feature map
        and a pointwise pass finishes it there."""
        encoder, cell = self.program.encoder, self.program.cell
        tiles = self._tiles(plan, plan.tile, self.program.halos[0])
        image = _given(padded)
        statistics: list = []
        tail_start = _pointwise_tail(encoder)
        for index in range(encoder.norm_count):
            last = index == encoder.norm_count - 1 and tail_start is not None
            tile_pass = _TilePass(
                encoder,
                image,
                cell,
                tiles,
                statistics,
                stop_at=index,
                destination=maps.feature_map if last else None,
                image_input=True,
            )
            self._add_tile_pass(work, tile_pass, plan.batch_size)
        if tail_start is None:
            tile_pass = _TilePass(
                encoder,
                image,
                cell,
                tiles,
                statistics,
                destination=maps.feature_map,
                image_input=True,
            )
            self._add_tile_pass(work, tile_pass, plan.batch_size)
        else:
            tail = encoder.slice(tail_start)
            work.add(1, lambda: self._pointwise_pass(tail, maps.feature_map(), None, statistics))

    def _add_trunk(self, work: Work, maps: _Maps, plan: TilePlan) -> None:
        """Each residual block on the feature map, in the plan's trunk mode."""
        tiles = self._tiles(plan, plan.trunk_tile, self.program.halos[1])
        for block in self.program.trunk:
            if plan.trunk == "whole":
                work.add(1, functools.partial(self._whole_trunk_pass, block, maps))
            elif plan.trunk == "stored":
                self._add_stored_block(work, block, maps, tiles, plan.batch_size)
            else:
                statistics: list = []
                for index in range(block.norm_count):
                    tile_pass = _TilePass(
                        block, maps.feature_map, 1, tiles, statistics, stop_at=index
                    )
                    self._add_tile_pass(work, tile_pass, plan.batch_size)
                tile_pass = _TilePass(
                    block, maps.feature_map, 1, tiles, statistics, destination=maps.feature_map
                )
                self._add_tile_pass(work, tile_pass, plan.batch_size)

    def _add_decoder(self, work: Work, maps: _Maps, output: np.ndarray, plan: TilePlan) -> None:
        """One pass per norm, then one that writes `output`. In ``stored`` mode the first pass
        also stores the first norm's input, which the later passes read instead of the feature
        map (dropped after the first pass)."""
        decoder = self.program.decoder
        tiles = self._tiles(plan, plan.tile, self.program.halos[2])
        statistics: list = []
        if plan.decoder == "stored":
            rest, pixels, rest_halo = _decoder_rest(self.program)
            cells_high, cells_wide = maps.shape[:2]
            maps.decoder_shape = (
                cells_high * pixels,
                cells_wide * pixels,
                rest.operations[0].channels,
            )
            first_pass = _TilePass(
                decoder,
                maps.feature_map,
                1,
                tiles,
                statistics,
                stop_at=0,
                destination=maps.decoder_map,
            )
            self._add_tile_pass(work, first_pass, plan.batch_size)
            work.add(0, _between_passes(maps.drop_features))
            # `rest` starts with the decoder's first norm, so its norms keep their numbers.
            program, source, source_pixels, first_norm = rest, maps.decoder_map, pixels, 1
            tiles = self._tiles(plan, plan.tile, rest_halo)
        else:
            program, source, source_pixels, first_norm = decoder, maps.feature_map, 1, 0
        for index in range(first_norm, decoder.norm_count):
            tile_pass = _TilePass(program, source, source_pixels, tiles, statistics, stop_at=index)
            self._add_tile_pass(work, tile_pass, plan.batch_size)
        tile_pass = _TilePass(
            program, source, source_pixels, tiles, statistics, destination=_given(output)
        )
        self._add_tile_pass(work, tile_pass, plan.batch_size)

    def _tile_pass(self, tile_pass: _TilePass, batch_size: int) -> Iterator[None]:
        """Runs `tile_pass` (see `_TilePass`); yields after each batch of `batch_size` tiles.

        With `stop_at`, runs the program up to that norm, appends the norm's whole-image
        `(mean, variance)` to `statistics` at the end, and (with a `destination`) also stores
        the norm's input there. Without, runs the whole program and stores its output in
        `destination`, which may be the source itself (a residual block updated in place).
        """
        program, tiles, statistics = tile_pass.program, tile_pass.tiles, tile_pass.statistics
        source_pixels, stop_at = tile_pass.source_pixels, tile_pass.stop_at
        source = tile_pass.source()
        destination = None if tile_pass.destination is None else tile_pass.destination()
        in_place = destination is source
        function = self._tile_function(
            program,
            (source_pixels, source.shape[-1]),
            stop_at,
            None if destination is None else tf.as_dtype(destination.dtype),
            tile_pass.image_input,
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
        self, work: Work, block: Program, maps: _Maps, tiles: Sequence[Tile], batch_size: int
    ) -> None:
        """A residual block in ``stored`` mode: each convolution's output (a norm's input) goes
        to a second feature map, the buffer, and the next segment reads it from there."""
        steps = math.ceil(len(tiles) / batch_size)
        norms = block.norm_indices()
        statistics: list = []
        for number, norm in enumerate(norms):
            segment = block.slice(0 if number == 0 else norms[number - 1], norm + 1)
            start = functools.partial(
                self._stored_segment_pass, segment, maps, number == 0, tiles, batch_size, statistics
            )
            work.add(steps, start)
        tail = block.slice(norms[-1])
        work.add(
            1, lambda: self._pointwise_pass(tail, maps.buffer_map(), maps.feature_map(), statistics)
        )

    def _stored_segment_pass(
        self,
        segment: Program,
        maps: _Maps,
        first: bool,
        tiles: Sequence[Tile],
        batch_size: int,
        statistics: list,
    ) -> Iterator[None]:
        """One segment of a ``stored`` block, from the block's input (the `first`) or the
        previous norm's input in the buffer, to the next norm's input in the buffer; appends
        that norm's statistics to the block's `statistics`."""
        given = [] if first else [statistics[-1]]
        tile_pass = _TilePass(
            segment,
            maps.feature_map if first else maps.buffer_map,
            1,
            tiles,
            given,
            stop_at=segment.norm_count - 1,
            destination=maps.buffer_map,
        )
        yield from self._tile_pass(tile_pass, batch_size)
        statistics.append(given[-1])

    def _whole_trunk_pass(self, block: Program, maps: _Maps) -> Iterator[None]:
        function = self._whole_function([block], image_input=False)
        features = tf.convert_to_tensor(maps.features[None])
        maps.features = None  # the block's input goes before its output is made
        maps.features = np.asarray(function(features, (block.weights,)))[0]
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
