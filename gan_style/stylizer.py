"""A loaded style: its generator applied to one image, at full resolution or at a stroke size.

`Stylizer` runs a style bundle's generator (`gan_style.tiling`: whole-image instance norms,
tiles only when the image is large, so the result does not depend on the tiling) either at
full resolution or, with a ``stroke_size``, at the scale the style was trained at and then
back to full size with the photo's own edges (`upsample_styled`). `finish` optionally keeps
the input's colours (the output's luma with the input's chroma, BT.601 YCbCr as in JPEG) and
blends with the input. `load_stylizer` keeps the last two loaded styles in a cache.

At import time this module needs only the standard library and gan-style's light modules;
numpy, Pillow and TensorFlow load on first use.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gan_style.config import (
    MIN_STROKE_SIZE,
    PRECISIONS,
    REFERENCE_MODELS,
    _require,
    check_stroke_size,
)
from gan_style.errors import StyleError
from gan_style.reference import check_reference_model, style_code

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from gan_style.tiling import TiledGenerator

STROKE_SIZE_KEY = "stroke_size"
"""The ``style.json`` key with the shorter side (pixels) of the images the generator trained on."""


def bundle_stroke_size(description: dict[str, Any], bundle: Path) -> int | None:
    """The ``stroke_size`` a bundle's ``style.json`` records, or None when it has none.

    Raises:
        StyleError: The value is not an int of at least `MIN_STROKE_SIZE`; names the file.
    """
    from gan_style import store

    value = description.get(STROKE_SIZE_KEY)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_STROKE_SIZE:
        raise StyleError(
            f"{bundle / store.STYLE_JSON}: {STROKE_SIZE_KEY} must be an integer of at least "
            f"{MIN_STROKE_SIZE} pixels (the shorter side the style trained at); got {value!r}"
        )
    return value


# --- A loaded style ---------------------------------------------------------------------------


class Stylizer:
    """A style bundle's generator, loaded once and applied to any number of images.

    Use `Stylizer.load`; `load_stylizer` (and so `gan_style.transfer.transfer`) keeps the
    last two loaded styles in a cache.

    Attributes:
        name: The style's name.
        bundle: The bundle's folder.
        precision: The dtype policy its convolutions run in (``auto`` resolved).
        generator: The `gan_style.tiling.TiledGenerator` that runs it at any size.
        stroke_size: The shorter side (pixels) of the images it trained on, from the bundle's
            ``style.json``; None for bundles that do not record it.
        style_code: A reference style's code that the generator runs with
            (`gan_style.reference.style_code`); None for other styles.
    """

    def __init__(
        self,
        name: str,
        bundle: Path,
        generator: TiledGenerator,
        stroke_size: int | None = None,
        style_code: np.ndarray | None = None,
    ):
        self.name = name
        self.bundle = bundle
        self.generator = generator
        self.precision = generator.precision
        self.stroke_size = stroke_size
        self.style_code = style_code

    @classmethod
    def load(
        cls, style: str | os.PathLike, precision: str = "auto", references: tuple = ()
    ) -> Stylizer:
        """Loads a style by name or bundle path (`gan_style.store.resolve_style`).

        ``references``: for a reference style, image files or folders whose averaged style
        code it paints with (none: the collection's mean code); see `gan_style.reference`.

        Raises:
            StyleError: No such style; an incomplete, unreadable or newer bundle; a style that
                is not an image-to-image (``cyclegan``) one.
                A bad ``stroke_size`` in ``style.json``.
            ConfigError: An unknown precision.
        """
        from gan_style import store
        from gan_style.training.devices import resolve_precision

        _require(
            precision in PRECISIONS,
            f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}",
        )
        opened = store.open_style(style, "transfer")
        bundle, description, name = opened.bundle, opened.description, opened.name
        stroke_size = bundle_stroke_size(description, bundle)
        # Importing tiling first also registers gan-style's layers, which loading needs.
        from gan_style.tiling import TiledGenerator

        generator = store.load_generator(bundle)
        code = None
        if opened.model in REFERENCE_MODELS:
            generator, code = _with_style_code(bundle, generator, references)
        elif references:
            check_reference_model(opened.model, name, bundle)
        try:
            tiled = TiledGenerator(generator, resolve_precision(precision))
        except ValueError as error:
            raise StyleError(
                f"{bundle / store.GENERATOR_FILE}: not a generator transfer can run ({error})"
            ) from error
        return cls(name, bundle, tiled, stroke_size, code)

    def stylize(
        self,
        pixels: np.ndarray,
        *,
        tile: int | None = None,
        memory_budget: int | None = None,
        progress: Callable[[Iterable], Iterable] | None = None,
    ) -> np.ndarray:
        """Runs the generator on a (height, width, 3) uint8 image; returns float32 in [-1, 1].

        Args:
            pixels: The image.
            tile: See `gan_style.transfer.TransferConfig.tile`.
            memory_budget: Working memory to aim at, in bytes; None: the tiling default.
            progress: Wraps the iterable of tile steps (e.g. a tqdm factory); called only when
                the image is tiled.
        """
        from gan_style.tiling import DEFAULT_MEMORY_BUDGET

        height, width = pixels.shape[:2]
        plan = self.generator.plan(
            height,
            width,
            tile=tile,
            memory_budget=DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget,
        )
        work = self.generator.work(pixels, plan)
        steps = progress(work) if progress is not None and plan.tile else work
        for _ in steps:
            pass
        return work.result

    def working_size(
        self, width: int, height: int, stroke_size: int | str = "auto"
    ) -> tuple[int, int]:
        """The (width, height) the generator runs at for a ``width`` × ``height`` image.

        The image's own size at full resolution (``full``, ``auto`` without a bundle
        ``stroke_size``, or an image whose shorter side is not above the stroke size: photos
        are never enlarged). Else the shorter side becomes the stroke size and the longer one
        keeps the aspect ratio, both rounded to whole cells of the generator (4 pixels), so
        that no padding shows at the borders once the result is stretched back.
        """
        check_stroke_size(stroke_size)
        target = self.stroke_size if stroke_size == "auto" else stroke_size
        if target is None or target == "full":
            return width, height
        cell = self.generator.program.cell
        shorter = min(width, height)
        working_shorter = max(cell, round(target / cell) * cell)
        if working_shorter >= shorter:
            return width, height
        scale = working_shorter / shorter
        return (
            max(cell, round(width * scale / cell) * cell),
            max(cell, round(height * scale / cell) * cell),
        )

    def apply(self, image: Image.Image, **options) -> Image.Image:
        """Styles an upright 8-bit RGB image of any size; returns an RGB image of its size.

        The keyword options are `apply_at_working_size`'s (``strength``, ``preserve_color``,
        ``tile``, ``memory_budget``, ``progress``, ``stroke_size``, ``detail``, as in
        `gan_style.transfer.TransferConfig`); `working_size` says what size the generator runs
        at.
        """
        return self.apply_at_working_size(image, **options)[0]

    def apply_at_working_size(
        self,
        image: Image.Image,
        *,
        strength: float = 1.0,
        preserve_color: bool = False,
        tile: int | None = None,
        memory_budget: int | None = None,
        progress: Callable[[Iterable], Iterable] | None = None,
        stroke_size: int | str = "auto",
        detail: float = 1.0,
    ) -> tuple[Image.Image, tuple[int, int] | None]:
        """`apply`, and the (width, height) the generator ran at (None: ``strength`` is 0)."""
        import numpy as np
        from PIL import Image

        pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        if strength == 0:
            return Image.fromarray(pixels.copy(), "RGB"), None
        size = self.working_size(image.width, image.height, stroke_size)
        run = dict(tile=tile, memory_budget=memory_budget, progress=progress)
        if size == image.size:
            styled = self.stylize(pixels, **run)
        else:
            small = np.asarray(
                Image.fromarray(pixels, "RGB").resize(
                    size, Image.Resampling.LANCZOS, reducing_gap=3.0
                )
            )
            styled = upsample_styled(self.stylize(small, **run), pixels, small, detail)
        return Image.fromarray(finish(pixels, styled, strength, preserve_color), "RGB"), size


@functools.lru_cache(maxsize=2)
def _cached_stylizer(
    bundle: str, modified: int, precision: str, references: tuple[str, ...] = ()
) -> Stylizer:
    return Stylizer.load(bundle, precision, references)


def load_stylizer(
    style: str | os.PathLike | Stylizer,
    precision: str = "auto",
    references: Iterable[str | os.PathLike] = (),
) -> Stylizer:
    """A `Stylizer` for ``style`` (returned as is when it is one), cached per bundle file.

    ``references``: a reference style's reference images or folders (see `Stylizer.load`).
    """
    if isinstance(style, Stylizer):
        return style
    from gan_style import store

    bundle = store.resolve_style(style)
    generator_file = bundle / store.GENERATOR_FILE
    modified = generator_file.stat().st_mtime_ns if generator_file.is_file() else 0
    references = tuple(str(Path(item).expanduser().resolve()) for item in references)
    return _cached_stylizer(str(bundle.resolve()), modified, precision, references)


def _with_style_code(bundle: Path, generator, references: tuple):
    """A reference style's generator with its style code folded in, and the code."""
    from gan_style.models.conditional import bake_style_code

    code = style_code(bundle, references)
    try:
        return bake_style_code(generator, code), code
    except ValueError as error:
        from gan_style import store

        raise StyleError(
            f"{bundle / store.GENERATOR_FILE}: not a reference generator this style's codes "
            f"fit ({error})"
        ) from error


# --- Pixels -----------------------------------------------------------------------------------

_ROWS_PER_CHUNK = 512

_LUMA = (0.299, 0.587, 0.114)
"""BT.601 luma weights (JPEG's YCbCr). They sum to 1 and the chroma rows sum to 0, so keeping
an image's Cb and Cr while taking another's Y adds the difference of the two lumas to R, G, B."""


def finish(
    pixels: np.ndarray, styled: np.ndarray, strength: float, preserve_color: bool
) -> np.ndarray:
    """The final uint8 image from the input and the generator's output.

    Args:
        pixels: (height, width, 3) uint8 input.
        styled: (height, width, 3) float generator output in [-1, 1].
        strength: 0-1: weight of the styled image in a linear blend with the input.
        preserve_color: Take the styled image's luma and the input's chroma (YCbCr).

    Returns:
        (height, width, 3) uint8 image. Processed in bands of rows to bound memory.
    """
    import numpy as np

    result = np.empty_like(pixels)
    luma = np.array(_LUMA, np.float32)
    for top in range(0, pixels.shape[0], _ROWS_PER_CHUNK):
        rows = slice(top, top + _ROWS_PER_CHUNK)
        source = pixels[rows].astype(np.float32)
        output = (styled[rows].astype(np.float32) + 1.0) * 127.5
        if preserve_color:
            output = source + (output @ luma - source @ luma)[..., None]
        if strength < 1:
            output = source + strength * (output - source)
        result[rows] = np.clip(np.rint(output), 0, 255)
    return result


def _resize_float(channel: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of one float32 (height, width) plane to ``size`` = (width, height)."""
    import numpy as np
    from PIL import Image

    plane = Image.fromarray(np.ascontiguousarray(channel, np.float32), "F")
    return np.asarray(plane.resize(size, Image.Resampling.BICUBIC), np.float32)


def upsample_styled(
    styled: np.ndarray, pixels: np.ndarray, small: np.ndarray, detail: float = 1.0
) -> np.ndarray:
    """Brings a styled working-scale image back to the photo's size with the photo's edges.

    The styled image is up-sampled bicubically, and the photo's *detail layer* is added to
    every channel: its luma minus the same luma seen at the working scale (``small``'s luma,
    up-sampled the same way), i.e. exactly what the trip down to the working scale lost.
    The strokes the generator drew stay as they are (the detail layer averages to zero over a
    working-scale pixel); the photo's edges and fine texture come back at its resolution, in
    luma only so that they carry no colour of the photo into the style's palette.

    Chosen with numbers, on 4 photos of ``/work/shared/data/photos`` enlarged (Lanczos) to
    a longer side of 3000 px to mimic phone photos (so softer than real ones), styled with
    the built-in ``monet`` at a shorter side of 256; means over the photos (full resolution:
    2 of them). SSIM to the input (`gan_style.metrics.content`); gradient: mean Sobel
    magnitude of the luma, output / input, over all pixels and over the photo's top 5 %
    edge pixels; working SSIM: the output box-shrunk back to the working size vs the
    generator's output (are the strokes kept?); seconds per megapixel on 2 CPU cores,
    generator included:

    ======================================  =====  =====  =====  =======  ======
    up-sampler                              SSIM   grad   edges  working  s/MP
    ======================================  =====  =====  =====  =======  ======
    bicubic alone (``detail=0``)            0.646  0.281  0.091  0.998    0.24
    bicubic + detail layer, ``detail=0.5``  0.789  0.538  0.408  0.987    0.24
    bicubic + detail layer, ``detail=1``    0.836  0.914  0.766  0.963    0.24
    guidedFilter, luma guide, r=scale,      0.689  0.256  0.143  0.975    0.32
    eps=1e-4 (of bicubic)
    guidedFilter, RGB guide, eps=1e-3       0.652  0.218  0.068  0.968    0.53
    jointBilateralFilter, photo as joint    0.656  0.272  0.123  0.995    0.69
    full resolution (exact tiled)           0.792  0.988  0.855  0.748    8.35
    ======================================  =====  =====  =====  =======  ======

    The guided filters (``cv2.ximgproc``) smooth the strokes in flat regions (their output
    there is a local mean of the styled image) and barely sharpen edges; the detail layer
    keeps the working-scale image (0.96-0.99) and gives back most of the edges, 35× as fast
    as full resolution, so it needs no dependency beyond Pillow and numpy.

    Args:
        styled: (h, w, 3) float generator output in [-1, 1] at the working size.
        pixels: (height, width, 3) uint8 photo at full size.
        small: (h, w, 3) uint8 photo at the working size (what the generator was given).
        detail: Weight of the detail layer: 0 is bicubic up-sampling alone, 1 gives back all
            of the luma detail finer than the working scale.

    Returns:
        (height, width, 3) float32 in about [-1, 1] (`finish` clips). Memory: the result and
        one float32 plane at full size; the detail is added in bands of rows.
    """
    import numpy as np

    height, width = pixels.shape[:2]
    size = (width, height)
    result = np.empty((height, width, 3), np.float32)
    for channel in range(3):
        result[..., channel] = _resize_float(styled[..., channel], size)
    if detail <= 0:
        return result
    luma = np.array(_LUMA, np.float32)
    low_luma = _resize_float(small.astype(np.float32) @ luma, size)
    weight = np.float32(detail * 2.0 / 255.0)  # 8-bit luma → the generator's [-1, 1]
    for top in range(0, height, _ROWS_PER_CHUNK):
        rows = slice(top, top + _ROWS_PER_CHUNK)
        layer = pixels[rows].astype(np.float32) @ luma - low_luma[rows]
        result[rows] += (weight * layer)[..., None]
    return result
