"""The plan: how to run one image within a memory budget, from estimates of memory and FLOPs.

The executor (`gan_style.tiling.executor`) runs an image in one pass, or tiled: the encoder
one pass over the tiles per norm, the residual trunk block by block in one of `TRUNK_MODES`,
the decoder in one of `DECODER_MODES`. `Planner.plan` picks one pass, or the tile size, batch
and modes with the fewest estimated FLOPs whose estimated memory fits a budget: the input and
output images, the feature map(s) and one batch of tiles.

Pure Python on the shapes of a `GeneratorProgram`: this module imports neither TensorFlow nor
Keras (directly or through what it imports), so the cost model can be imported and tested
without them (`tests/test_tiling_plan.py` checks that it stays so).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from gan_style.config import MEMORY_BUDGET_MB
from gan_style.tiling.program import (
    Blur,
    Conv,
    GeneratorProgram,
    Norm,
    Operation,
    Pad,
    Program,
    Upsample,
    _decoder_rest,
    _pointwise_tail,
)

DEFAULT_MEMORY_BUDGET = MEMORY_BUDGET_MB * 2**20
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

_WHOLE_TRUNK_CAST_MAPS = 1.0
"""Float32 feature maps a residual block run in one piece adds in a 16-bit precision: the
normalisations work on a float32 copy of the map (`benchmarks/transfer.py` measured a 4 MP
photo's bfloat16 run 1.14× its estimate without it, float32's 1.02×)."""

_IMAGE_BYTES_PER_PIXEL = 24
"""Memory per pixel of the images around the generator: the decoded input and its padded copy
(uint8), the float32 output, the final uint8 image and the caller's copies."""

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

_BLUR_FLOPS_PER_VALUE = 2 * 9
"""FLOPs of `Blur` per output value, counted like any convolution: 9 multiply-adds (it runs as
a depthwise 3×3 convolution)."""


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


@dataclasses.dataclass(frozen=True, eq=False)
class Planner:
    """Plans images for one generator program.

    Attributes:
        program: The generator, read by `gan_style.tiling.reader.read_generator`.
        itemsize: Bytes per value of the stored feature maps (4 in float32, 2 under a mixed
            precision policy).
    """

    program: GeneratorProgram
    itemsize: int

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
        cell, channels, itemsize = program.cell, program.channels, self.itemsize
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
        whole_maps = _WHOLE_TRUNK_FACTOR + (_WHOLE_TRUNK_CAST_MAPS if itemsize < 4 else 0.0)
        trunk_working = {
            "whole": feature_map + whole_maps * cells * channels * 4,
            "stored": 2 * feature_map + band + trunk_tile_bytes,
            "tiled": feature_map + band + trunk_tile_bytes,
        }[mode]
        decoder_maps = feature_map
        decoder_flops = _passes_flops(program.decoder, 1, pointwise_tail=False)
        decoder_overhead = _halo_overhead(tile_cells, decoder_halo, cells_high, cells_wide)
        if decoder_mode == "stored":
            rest, pixels, rest_halo = _decoder_rest(program)
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
