"""Apply a learned style to photos: any size, seamless, bounded memory.

Two entry points over the same code:

- `transfer(image_or_path, style=...)` → a `PIL.Image`, for Python callers.
- `transfer_files(TransferConfig(...))` for ``gan-style transfer``: files, folders (recursive)
  and globs in, one output file per input, a summary out. A bad input is reported and skipped;
  existing outputs are skipped unless ``overwrite``; an input is never overwritten; every
  output is written atomically.

What happens to one image: decode exactly as training does (`gan_style.data.images`: EXIF
orientation applied, ICC → sRGB, any mode → 8-bit RGB, transparency composited on white),
optionally shrink to ``max_size``, run the style's generator (`gan_style.tiling`: whole-image
instance norms, tiles only when the image is large, so the result does not depend on the
tiling) either at full resolution or, with a ``stroke_size``, at the scale the style was
trained at and then back to full size with the photo's own edges (`upsample_styled`),
optionally keep the input's colours (``preserve_color``:
the output's luma with the input's chroma, BT.601 YCbCr as in JPEG) and blend with the input
(``strength``), then write with the input's ICC profile (the pixels converted back into it),
EXIF (orientation cleared: the pixels are upright), XMP, resolution and transparency where the
output format can hold them.

At import time this module needs only the standard library and gan-style's light modules
(``from gan_style import transfer`` must not pull in TensorFlow, numpy or Pillow); the heavy
ones load on first use.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import io
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gan_style.atomic import atomic_path
from gan_style.config import PRECISIONS, TRANSLATION_MODELS, _Config, _require
from gan_style.errors import ConfigError, DataError, StyleError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from gan_style.tiling import TiledGenerator

OUTPUT_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF"}
"""``--format`` names → Pillow format names of the formats transfer writes."""

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tif"}
_FORMAT_OF_SUFFIX = {
    **dict.fromkeys((".jpg", ".jpeg", ".jpe", ".jfif"), "JPEG"),
    ".png": "PNG",
    ".webp": "WEBP",
    **dict.fromkeys((".tif", ".tiff"), "TIFF"),
}
_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
_PATTERN_FIELDS = {"stem": "photo", "style": "style", "ext": "jpg"}
_GLOB_CHARACTERS = re.compile(r"[*?[]")
_EXIF_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_EXIF_PIXEL_WIDTH, _EXIF_PIXEL_HEIGHT = 0xA002, 0xA003
_XMP_ORIENTATION = (
    re.compile(rb'\s*tiff:Orientation="[0-9]"'),
    re.compile(rb"\s*<tiff:Orientation>[0-9]</tiff:Orientation>"),
)
_ROWS_PER_CHUNK = 512

STROKE_SIZES = ("auto", "full")
"""The named ``stroke_size`` values; any other is a shorter side in pixels of at least
`MIN_STROKE_SIZE`."""

MIN_STROKE_SIZE = 32
"""Smallest working shorter side (pixels): below it the generator sees mostly padding."""

STROKE_SIZE_KEY = "stroke_size"
"""The ``style.json`` key with the shorter side (pixels) of the images the generator trained on."""


def check_stroke_size(value: int | str) -> int | str:
    """Validate a ``stroke_size``: ``auto``, ``full`` or an int of at least `MIN_STROKE_SIZE`.

    Raises:
        ConfigError: Anything else; the message says what was received.
    """
    valid = value in STROKE_SIZES or (
        isinstance(value, int) and not isinstance(value, bool) and value >= MIN_STROKE_SIZE
    )
    _require(
        valid,
        f"stroke_size must be 'auto', 'full' or a shorter side of at least {MIN_STROKE_SIZE} "
        f"pixels; got {value!r}",
    )
    return value


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


@dataclasses.dataclass(frozen=True)
class TransferConfig(_Config):
    """Options of ``gan-style transfer``.

    Args:
        inputs: Files, folders (walked recursively for image files) and glob patterns.
        style: Name of a style in the store, or the path of a style bundle.
        output: None writes each result beside its input. A file name (with an image
            extension) when there is exactly one input. Otherwise a folder, created if needed,
            where the results keep the sub-folders of their input folder or glob.
        name_pattern: File name of each result when ``output`` is not a file: ``{stem}`` (the
            input's name without extension), ``{style}`` (the style's name), ``{ext}`` (the
            output format's extension; the input's own when the format is unchanged).
        overwrite: Replace results that exist already (they are skipped otherwise). Inputs are
            never overwritten.
        strength: 0-1: blend of the styled image with the input (0 returns the input).
        preserve_color: Keep the input's colours (chroma) and take only the style's luminance.
        max_size: Shrink images whose longer side exceeds this many pixels first.
        tile: Tile side in pixels; 0 runs each image in one pass; None chooses from the image
            size and ``memory_budget_mb``. The result does not depend on it.
        output_format: ``jpeg``, ``png``, ``webp`` or ``tiff``; None keeps the input's format
            when it is one of those (else PNG), or follows ``output``'s extension.
        quality: JPEG and WebP quality, 1-100 (100 writes lossless WebP).
        precision: ``auto`` (as in training: ``mixed_bfloat16`` on a CPU with native
            bfloat16, where it measured 1.4-1.8× as fast as float32 with outputs 44-58 dB
            PSNR from float32's; ``mixed_float16`` on a GPU; else ``float32``), or one of
            those three.
        memory_budget_mb: Working memory to aim at, in MiB, beside TensorFlow's own (~650 MiB).
        stroke_size: Shorter side (pixels) to run the generator at, so that its brush strokes
            have the size they had in training: ``auto`` takes the bundle's ``stroke_size``
            (``full`` for bundles without one), ``full`` runs at full resolution (exact,
            tiled), an int (at least 32) that many pixels. Images already that small or
            smaller are styled at their own size; the output always has the input's size.
        detail: 0-2: how much of the photo's luma detail finer than the working scale is
            added back to the up-sampled styled image (`upsample_styled`); unused at full
            resolution.
    """

    inputs: tuple[str, ...]
    style: str
    output: str | None = None
    name_pattern: str = "{stem}_{style}.{ext}"
    overwrite: bool = False
    strength: float = 1.0
    preserve_color: bool = False
    max_size: int | None = None
    tile: int | None = None
    output_format: str | None = None
    quality: int = 95
    precision: str = "auto"
    memory_budget_mb: int = 1152
    stroke_size: int | str = "auto"
    detail: float = 1.0

    def __post_init__(self) -> None:
        inputs = (self.inputs,) if isinstance(self.inputs, str | os.PathLike) else self.inputs
        object.__setattr__(self, "inputs", tuple(os.fspath(item) for item in inputs))
        _require(len(self.inputs) > 0, "give at least one input file, folder or glob")
        _require(bool(self.style), "give a style: a name in the store or a bundle's path")
        _require(0.0 <= self.strength <= 1.0, f"strength must be in [0, 1], got {self.strength}")
        _require(
            self.max_size is None or self.max_size >= 1,
            f"max_size must be at least 1 pixel, got {self.max_size}",
        )
        _require(
            self.tile is None or self.tile == 0 or self.tile >= 32,
            f"tile must be 0 (one pass) or at least 32 pixels, got {self.tile}",
        )
        _require(
            self.output_format is None or self.output_format in OUTPUT_FORMATS,
            f"output_format must be one of {', '.join(OUTPUT_FORMATS)}; got {self.output_format!r}",
        )
        _require(1 <= self.quality <= 100, f"quality must be in 1-100, got {self.quality}")
        _require(
            self.precision in PRECISIONS,
            f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}",
        )
        _require(
            self.memory_budget_mb >= 64,
            f"memory_budget_mb must be at least 64, got {self.memory_budget_mb}",
        )
        check_stroke_size(self.stroke_size)
        _require(0.0 <= self.detail <= 2.0, f"detail must be in [0, 2], got {self.detail}")
        check_name_pattern(self.name_pattern)


def check_name_pattern(pattern: str) -> str:
    """Validate an output name pattern (see `TransferConfig.name_pattern`).

    Raises:
        ConfigError: The pattern uses an unknown field, is malformed, or is not a file name.
    """
    try:
        sample = pattern.format(**_PATTERN_FIELDS)
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"name pattern {pattern!r} is invalid ({error}); use the fields "
            "{stem}, {style} and {ext}, e.g. '{stem}_{style}.{ext}'"
        ) from None
    _require(
        bool(sample) and "/" not in sample and "\\" not in sample and sample not in (".", ".."),
        f"name pattern {pattern!r} must give a file name without folders, "
        "e.g. '{stem}_{style}.{ext}'",
    )
    return pattern


# --- A loaded style ---------------------------------------------------------------------------


class Stylizer:
    """A style bundle's generator, loaded once and applied to any number of images.

    Use `Stylizer.load`; `transfer` keeps the last two loaded styles in a cache.

    Attributes:
        name: The style's name.
        bundle: The bundle's folder.
        precision: The dtype policy its convolutions run in (``auto`` resolved).
        generator: The `gan_style.tiling.TiledGenerator` that runs it at any size.
        stroke_size: The shorter side (pixels) of the images it trained on, from the bundle's
            ``style.json``; None for bundles that do not record it.
    """

    def __init__(
        self,
        name: str,
        bundle: Path,
        generator: TiledGenerator,
        stroke_size: int | None = None,
    ):
        self.name = name
        self.bundle = bundle
        self.generator = generator
        self.precision = generator.precision
        self.stroke_size = stroke_size

    @classmethod
    def load(cls, style: str | os.PathLike, precision: str = "auto") -> Stylizer:
        """Loads a style by name or bundle path (`gan_style.store.resolve_style`).

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
        bundle = store.resolve_style(style)
        description = store.read_style(bundle)
        name = _style_name(description, bundle)
        model = description.get("model", "cyclegan")
        if model not in TRANSLATION_MODELS:
            raise StyleError(
                f"{bundle}: style {name!r} is a {model!r} model, which makes new images from "
                f"noise: use `gan-style generate --style {name}`; transfer needs a photo → "
                f"style model ({', '.join(TRANSLATION_MODELS)})"
            )
        stroke_size = bundle_stroke_size(description, bundle)
        # Importing tiling first also registers gan-style's layers, which loading needs.
        from gan_style.tiling import TiledGenerator

        generator = store.load_generator(bundle)
        try:
            tiled = TiledGenerator(generator, resolve_precision(precision))
        except ValueError as error:
            raise StyleError(
                f"{bundle / store.GENERATOR_FILE}: not a generator transfer can run ({error})"
            ) from error
        return cls(name, bundle, tiled, stroke_size)

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
            tile: See `TransferConfig.tile`.
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

    def apply(
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
    ) -> Image.Image:
        """Styles an upright 8-bit RGB image of any size; returns an RGB image of its size.

        ``stroke_size`` and ``detail`` are as in `TransferConfig`; `working_size` says what
        size the generator runs at.
        """
        return self.apply_at_working_size(
            image,
            strength=strength,
            preserve_color=preserve_color,
            tile=tile,
            memory_budget=memory_budget,
            progress=progress,
            stroke_size=stroke_size,
            detail=detail,
        )[0]

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


def _style_name(description: dict[str, Any], bundle: Path) -> str:
    name = description.get("name")
    return name if isinstance(name, str) and name else bundle.name


@functools.lru_cache(maxsize=2)
def _cached_stylizer(bundle: str, modified: int, precision: str) -> Stylizer:
    return Stylizer.load(bundle, precision)


def load_stylizer(style: str | os.PathLike | Stylizer, precision: str = "auto") -> Stylizer:
    """A `Stylizer` for ``style`` (returned as is when it is one), cached per bundle file."""
    if isinstance(style, Stylizer):
        return style
    from gan_style import store

    bundle = store.resolve_style(style)
    generator_file = bundle / store.GENERATOR_FILE
    modified = generator_file.stat().st_mtime_ns if generator_file.is_file() else 0
    return _cached_stylizer(str(bundle.resolve()), modified, precision)


# --- Pixels -----------------------------------------------------------------------------------

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


def limit_size(image: Image.Image, max_size: int | None) -> Image.Image:
    """Shrink so that the longer side is at most ``max_size`` (Lanczos); never enlarges."""
    from PIL import Image

    if max_size is None or max(image.size) <= max_size:
        return image
    scale = max_size / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


# --- Reading inputs and writing outputs -------------------------------------------------------


@dataclasses.dataclass
class Source:
    """A decoded input and what its output should carry over.

    Attributes:
        image: Upright 8-bit sRGB RGB image.
        alpha: Upright transparency (mode ``L``) when the input has any, else None.
        icc_profile: The input's embedded ICC profile, if any.
        exif: The input's EXIF (a `PIL.Image.Exif`), if any.
        xmp: The input's XMP packet, if any.
        dpi: The input's resolution, if recorded.
        source_format: Pillow's name of the input's format.
    """

    image: Image.Image
    alpha: Image.Image | None = None
    icc_profile: bytes | None = None
    exif: Any = None
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None
    source_format: str = "unknown"


def read_source(path: str | os.PathLike) -> Source:
    """Decode an image file for transfer, with its metadata.

    Raises:
        DataError: The file is unreadable or not a usable image; the message names it.
    """
    from gan_style.data.images import ImageRejected, load_image, read_bytes

    try:
        data = read_bytes(path)
        loaded = load_image(data)
    except ImageRejected as error:
        raise DataError(f"{path}: {error.reason}") from error
    source = Source(loaded.image, source_format=loaded.source_format)
    _read_metadata(data, source)
    return source


def _read_metadata(data: bytes, source: Source) -> None:
    """Fills in the alpha and metadata of `source` from the file (best effort: a broken block
    only loses that block)."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as opened:
            info = opened.info
            source.icc_profile = info.get("icc_profile") or None
            source.dpi = _dpi(info.get("dpi"))
            xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
            if isinstance(xmp, str):
                xmp = xmp.encode("utf-8")
            source.xmp = xmp or None
            try:
                exif = opened.getexif()
            except (SyntaxError, ValueError, TypeError, KeyError, OSError):
                exif = None
            source.exif = exif if exif else None
            if _has_alpha(opened):
                alpha = ImageOps.exif_transpose(opened).convert("RGBA").getchannel("A")
                if alpha.getextrema() != (255, 255) and alpha.size == source.image.size:
                    source.alpha = alpha
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, EOFError):
        pass


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _dpi(value) -> tuple[float, float] | None:
    try:
        horizontal, vertical = (float(part) for part in value)
    except (TypeError, ValueError):
        return None
    return (horizontal, vertical) if horizontal > 0 and vertical > 0 else None


def _source_from_image(image: Image.Image) -> Source:
    """A `Source` from an image in memory: orientation applied, alpha split, sRGB RGB."""
    from PIL import ImageOps

    from gan_style.data.images import to_srgb_rgb

    upright = ImageOps.exif_transpose(image)
    alpha = None
    if _has_alpha(upright):
        alpha = upright.convert("RGBA").getchannel("A")
        if alpha.getextrema() == (255, 255):
            alpha = None
    icc_profile = image.info.get("icc_profile") or None
    rgb = to_srgb_rgb(upright, icc_profile=icc_profile, background=(255, 255, 255))
    return Source(rgb, alpha=alpha, icc_profile=icc_profile, source_format=image.format or "")


def write_image(
    image: Image.Image,
    path: str | os.PathLike,
    image_format: str,
    *,
    quality: int = 95,
    source: Source | None = None,
) -> None:
    """Write an RGB(A) sRGB image atomically with the metadata `source` carries.

    The input's RGB ICC profile is kept: the pixels are converted from sRGB back into it and
    it is embedded (another kind of profile gets sRGB's). EXIF is kept without its
    orientation tag and with the new pixel size; XMP without its orientation; the DPI. TIFF is
    written uncompressed: Pillow's libtiff encoder, which compresses, cannot write EXIF.

    Raises:
        OSError: The file cannot be written.
    """
    from PIL import PngImagePlugin

    options: dict[str, Any] = {}
    if source is not None:
        image, icc_profile = _to_source_profile(image, source.icc_profile)
        if icc_profile:
            options["icc_profile"] = icc_profile
        exif = _output_exif(source.exif, image.size)
        if exif:
            options["exif"] = exif
        if source.dpi and image_format != "WEBP":
            options["dpi"] = source.dpi
        xmp = _output_xmp(source.xmp)
        if xmp:
            if image_format == "PNG":
                info = PngImagePlugin.PngInfo()
                info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"))
                options["pnginfo"] = info
            elif image_format == "TIFF":
                options["exif"] = _tiff_tags(options.get("exif"), xmp)
            elif image_format == "WEBP" or len(xmp) < 65000:
                options["xmp"] = xmp
    if image_format == "JPEG":
        image = image if image.mode == "RGB" else image.convert("RGB")
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif image_format == "WEBP":
        options.update(quality=quality, lossless=quality == 100)
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(final) as temporary:
        image.save(temporary, format=image_format, **options)


def _to_source_profile(image: Image.Image, icc_profile: bytes | None):
    """(image in the input's RGB profile, that profile) or (image, sRGB profile or None)."""
    if not icc_profile:
        return image, None
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if profile.profile.xcolor_space.strip() == "RGB":
            alpha = image.getchannel("A") if image.mode == "RGBA" else None
            converted = ImageCms.profileToProfile(
                image.convert("RGB"),
                srgb,
                profile,
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
            if alpha is not None:
                converted.putalpha(alpha)
            return converted, icc_profile
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, AttributeError):
        pass
    return image, srgb.tobytes()


def _output_exif(exif, size: tuple[int, int]) -> bytes | None:
    if not exif:
        return None
    try:
        exif.pop(_EXIF_ORIENTATION, None)
        sub = exif.get_ifd(_EXIF_IFD)
        if _EXIF_PIXEL_WIDTH in sub:
            sub[_EXIF_PIXEL_WIDTH] = size[0]
        if _EXIF_PIXEL_HEIGHT in sub:
            sub[_EXIF_PIXEL_HEIGHT] = size[1]
        return exif.tobytes()
    except (SyntaxError, ValueError, TypeError, KeyError, OSError, AttributeError):
        return None


def _tiff_tags(exif: bytes | None, xmp: bytes):
    """TIFF keeps EXIF and XMP as tags of one directory: the EXIF with the XMP tag (700)."""
    from PIL import Image

    tags = Image.Exif()
    if exif:
        tags.load(exif)
    tags[700] = xmp
    return tags


def _output_xmp(xmp: bytes | None) -> bytes | None:
    if not xmp:
        return None
    for pattern in _XMP_ORIENTATION:
        xmp = pattern.sub(b"", xmp)
    return xmp


# --- The Python API ---------------------------------------------------------------------------


def transfer(
    image: str | os.PathLike | Image.Image | np.ndarray,
    style: str | os.PathLike | Stylizer,
    *,
    strength: float = 1.0,
    preserve_color: bool = False,
    max_size: int | None = None,
    tile: int | None = None,
    precision: str = "auto",
    memory_budget: int | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
    stroke_size: int | str = "auto",
    detail: float = 1.0,
) -> Image.Image:
    """Apply a style to one image and return the result, the size of the (upright) input.

    Example::

        from gan_style import transfer

        transfer("beach.jpg", style="watercolour").save("beach_watercolour.jpg")

    Args:
        image: A file path, a `PIL.Image` (its EXIF orientation is applied) or an RGB uint8
            array.
        style: A style name in the store, a bundle path, or a loaded `Stylizer`. Loaded styles
            are cached, so calling this in a loop loads the generator once.
        strength: 0-1 blend of the styled image with the input; 0 returns the input exactly.
        preserve_color: Keep the input's chroma, take only the style's luminance.
        max_size: Shrink first so that the longer side is at most this many pixels.
        tile: Tile side in pixels; 0 one pass; None automatic. The result does not depend on it.
        precision: ``auto`` (see `TransferConfig.precision`), ``float32``,
            ``mixed_bfloat16`` or ``mixed_float16``.
        memory_budget: Working memory to aim at, in bytes; None: 1152 MiB.
        progress: Wraps the iterable of tile steps of a tiled image (e.g. ``tqdm``).
        stroke_size: ``auto``, ``full`` or the shorter side in pixels to style at (see
            `TransferConfig.stroke_size`).
        detail: 0-2: photo detail added back after styling at a stroke size.

    Returns:
        An RGB `PIL.Image` in sRGB (RGBA when the input has transparency, which is kept).

    Raises:
        DataError: The file is not a usable image.
        StyleError: The style does not exist or cannot be loaded.
        ConfigError: An option is out of range.
    """
    _require(0.0 <= strength <= 1.0, f"strength must be in [0, 1], got {strength}")
    _require(max_size is None or max_size >= 1, f"max_size must be >= 1, got {max_size}")
    _require(tile is None or tile == 0 or tile >= 32, f"tile must be 0 or at least 32, got {tile}")
    check_stroke_size(stroke_size)
    _require(0.0 <= detail <= 2.0, f"detail must be in [0, 2], got {detail}")
    source = _as_source(image)
    if strength == 0:
        stylizer = None
        if not isinstance(style, Stylizer):
            from gan_style import store

            store.resolve_style(style)  # a wrong name is an error even when nothing is styled
    else:
        stylizer = load_stylizer(style, precision)
    return _style_source(
        source,
        stylizer,
        strength=strength,
        preserve_color=preserve_color,
        max_size=max_size,
        tile=tile,
        memory_budget=memory_budget,
        progress=progress,
        stroke_size=stroke_size,
        detail=detail,
    )[0]


def _as_source(image) -> Source:
    from PIL import Image

    if isinstance(image, str | os.PathLike):
        return read_source(image)
    if isinstance(image, Image.Image):
        return _source_from_image(image)
    import numpy as np

    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise DataError(
            f"expected a path, a PIL image or a uint8 (height, width[, channels]) array; "
            f"got an array of {array.dtype} with shape {array.shape}"
        )
    return _source_from_image(Image.fromarray(array))


def _style_source(
    source: Source,
    stylizer: Stylizer | None,
    *,
    strength: float,
    preserve_color: bool,
    max_size: int | None,
    tile: int | None,
    memory_budget: int | None,
    progress: Callable[[Iterable], Iterable] | None,
    stroke_size: int | str,
    detail: float,
) -> tuple[Image.Image, tuple[int, int] | None]:
    """The styled image and the (width, height) the generator ran at (None: it did not)."""
    image = limit_size(source.image, max_size)
    alpha = None if source.alpha is None else limit_size(source.alpha, max_size)
    styled_at = None
    if stylizer is None:
        result = image.copy()
    else:
        result, styled_at = stylizer.apply_at_working_size(
            image,
            strength=strength,
            preserve_color=preserve_color,
            tile=tile,
            memory_budget=memory_budget,
            progress=progress,
            stroke_size=stroke_size,
            detail=detail,
        )
    if alpha is not None:
        result.putalpha(alpha)
    return result, styled_at


# --- Many files -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TransferJob:
    """One input and where its result goes.

    Attributes:
        source: The input file.
        destination: The output file.
        image_format: Pillow's name of the output format.
    """

    source: Path
    destination: Path
    image_format: str


@dataclasses.dataclass
class TransferResult:
    """What `transfer_files` did.

    Attributes:
        style: The style's name.
        bundle: The style bundle's folder.
        precision: Dtype policy used (None when nothing needed the generator).
        written: Outputs written.
        skipped: Outputs that existed already (``overwrite`` replaces them).
        failed: ``(input, reason)`` for every input that could not be done.
        megapixels: Pixels processed, in millions.
        seconds: Wall time.
        styled_at: For each output written, ``(output size, size the generator ran at)`` as
            (width, height) pairs; the second is None when nothing was styled (strength 0).
    """

    style: str
    bundle: Path
    precision: str | None = None
    written: list[Path] = dataclasses.field(default_factory=list)
    skipped: list[Path] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    megapixels: float = 0.0
    seconds: float = 0.0
    styled_at: dict[Path, tuple[tuple[int, int], tuple[int, int] | None]] = dataclasses.field(
        default_factory=dict
    )

    @property
    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "style": self.style,
            "bundle": str(self.bundle),
            "precision": self.precision,
            "written": len(self.written),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "outputs": [str(path) for path in self.written],
            "existing": [str(path) for path in self.skipped],
            "failures": [{"input": source, "reason": reason} for source, reason in self.failed],
            "styled_at": [
                {
                    "output": str(path),
                    "size": list(size),
                    "working_size": None if working is None else list(working),
                    "full_resolution": working == size,
                }
                for path, (size, working) in self.styled_at.items()
            ],
            "megapixels": round(self.megapixels, 3),
            "seconds": round(self.seconds, 3),
            "megapixels_per_second": (
                round(self.megapixels / self.seconds, 4) if self.written and self.seconds else None
            ),
        }


def collect_inputs(arguments: Iterable[str]) -> tuple[list[tuple[Path, Path]], list[tuple]]:
    """Expand files, folders and globs into input files.

    Returns:
        ``[(file, relative)]`` in argument order without repeats, where ``relative`` is the
        path that a results folder mirrors (relative to the folder, or the glob's fixed
        part); and ``[(argument, reason)]`` for arguments that give nothing.
    """
    from gan_style.data.images import has_image_extension, is_clutter_name

    found: list[tuple[Path, Path]] = []
    failures: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def add(path: Path, relative: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append((path, relative))

    for argument in arguments:
        path = Path(argument).expanduser()
        if path.is_file():
            add(path, Path(path.name))
        elif path.is_dir():
            files = [
                Path(folder) / name
                for folder, _, names in os.walk(path)
                for name in names
                if has_image_extension(name) and not is_clutter_name(name)
            ]
            if not files:
                failures.append((argument, "no image files in this folder"))
            for file in sorted(files):
                add(file, file.relative_to(path))
        elif _GLOB_CHARACTERS.search(argument):
            base = _glob_base(path)
            files = sorted(
                Path(match)
                for match in glob.glob(os.path.expanduser(argument), recursive=True)
                if os.path.isfile(match) and not is_clutter_name(match)
            )
            if not files:
                failures.append((argument, "matches no file"))
            for file in files:
                add(file, file.relative_to(base) if file.is_relative_to(base) else Path(file.name))
        else:
            failures.append((argument, "no such file or folder"))
    return found, failures


def _glob_base(pattern: Path) -> Path:
    """The leading part of a glob pattern without wildcards."""
    parts = []
    for part in pattern.parts:
        if _GLOB_CHARACTERS.search(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def plan_jobs(
    config: TransferConfig, inputs: list[tuple[Path, Path]], style_name: str
) -> tuple[list[TransferJob], list[Path], list[tuple[str, str]]]:
    """Decide each input's output file and format.

    Returns:
        ``(jobs, skipped, failures)``: the work to do, outputs that exist already (without
        ``overwrite``), and ``(input, reason)`` for inputs whose output would overwrite an
        input or another input's output.

    Raises:
        ConfigError: ``output`` names one file but there are several inputs, or its extension
            is not a format transfer writes, or it contradicts ``output_format``.
    """
    forced = OUTPUT_FORMATS[config.output_format] if config.output_format else None
    output = Path(config.output).expanduser() if config.output else None
    output_file = None
    if output is not None and not output.is_dir() and not config.output.endswith(("/", os.sep)):
        from gan_style.data.images import has_image_extension

        suffix_format = _FORMAT_OF_SUFFIX.get(output.suffix.lower())
        if suffix_format is None and has_image_extension(output):
            raise ConfigError(
                f"--out {config.output}: transfer writes "
                f"{', '.join(sorted(_FORMAT_OF_SUFFIX))} files, not {output.suffix}"
            )
        if suffix_format is not None:
            if len(inputs) > 1:
                raise ConfigError(
                    f"--out {config.output} names one file but there are {len(inputs)} inputs; "
                    "give a folder"
                )
            if forced and forced != suffix_format:
                raise ConfigError(
                    f"--out {config.output} has a {suffix_format} extension but --format is "
                    f"{config.output_format}"
                )
            output_file = output
            forced = suffix_format
    input_keys = {path.resolve() for path, _ in inputs}
    planned: dict[Path, Path] = {}
    jobs: list[TransferJob] = []
    skipped: list[Path] = []
    failures: list[tuple[str, str]] = []
    for path, relative in inputs:
        input_format = _FORMAT_OF_SUFFIX.get(path.suffix.lower())
        image_format = forced or input_format or "PNG"
        if output_file is not None:
            destination = output_file
        else:
            extension = path.suffix[1:] if image_format == input_format else None
            name = config.name_pattern.format(
                stem=path.stem, style=style_name, ext=extension or _EXTENSIONS[image_format]
            )
            folder = path.parent if output is None else output / relative.parent
            destination = folder / name
        key = destination.resolve()
        if key in input_keys:
            failures.append((str(path), f"its output {destination} would overwrite an input"))
        elif key in planned:
            failures.append(
                (str(path), f"its output {destination} is also the output of {planned[key]}")
            )
        else:
            planned[key] = path
            if destination.exists() and not config.overwrite:
                skipped.append(destination)
            else:
                jobs.append(TransferJob(path, destination, image_format))
    return jobs, skipped, failures


def transfer_files(
    config: TransferConfig,
    *,
    progress: Callable[[Iterable], Iterable] | None = None,
    tile_progress: Callable[[Iterable], Iterable] | None = None,
    report: Callable[[str], None] | None = None,
) -> TransferResult:
    """Style every input of ``config``; a bad input is reported and skipped.

    Args:
        config: What to do.
        progress: Wraps the iterable of jobs (a progress bar over files).
        tile_progress: Wraps the iterable of tile steps of each tiled image.
        report: Called with one line for each input that fails, when it fails.

    Returns:
        A `TransferResult`; its ``failed`` list is empty when everything went well.

    Raises:
        StyleError: The style does not exist or cannot be loaded (nothing is written).
        ConfigError: The options contradict each other (see `plan_jobs`).
    """
    from gan_style import store

    started = time.perf_counter()
    bundle = store.resolve_style(config.style)
    description = store.read_style(bundle)
    style_name = _style_name(description, bundle)
    result = TransferResult(style_name, bundle)
    note = store.partial_note(description, bundle)
    if note is not None and report is not None:
        report(note)
    inputs, failures = collect_inputs(config.inputs)
    jobs, result.skipped, planning_failures = plan_jobs(config, inputs, style_name)

    def fail(source: str, reason: str) -> None:
        result.failed.append((source, reason))
        if report is not None:
            report(f"{source}: failed ({reason})")

    for source, reason in failures + planning_failures:
        fail(source, reason)
    stylizer = None
    if jobs and config.strength > 0:
        stylizer = load_stylizer(bundle, config.precision)
        result.precision = stylizer.precision
    for job in progress(jobs) if progress is not None else jobs:
        try:
            source = read_source(job.source)
            image, working = _style_source(
                source,
                stylizer,
                strength=config.strength,
                preserve_color=config.preserve_color,
                max_size=config.max_size,
                tile=config.tile,
                memory_budget=config.memory_budget_mb * 2**20,
                progress=tile_progress,
                stroke_size=config.stroke_size,
                detail=config.detail,
            )
            if job.image_format not in _ALPHA_FORMATS and image.mode == "RGBA":
                image = image.convert("RGB")
            write_image(
                image, job.destination, job.image_format, quality=config.quality, source=source
            )
        except DataError as error:
            fail(str(job.source), str(error).removeprefix(f"{job.source}: "))
            continue
        except OSError as error:
            fail(str(job.source), f"cannot write {job.destination}: {error.strerror or error}")
            continue
        except Exception as error:
            # TensorFlow reports an allocation failure as ResourceExhaustedError.
            if (
                not isinstance(error, MemoryError)
                and "ResourceExhausted" not in type(error).__name__
            ):
                raise
            fail(str(job.source), "out of memory; try a smaller --tile, --memory or --max-size")
            continue
        result.written.append(job.destination)
        result.styled_at[job.destination] = (image.size, working)
        result.megapixels += image.width * image.height / 1e6
    result.seconds = time.perf_counter() - started
    return result
