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

This module holds the two entry points and the steps they share; their options,
`TransferConfig`, live with every command's in `gan_style.config`. The parts live beside it
and are re-exported here, so ``gan_style.transfer.NAME`` keeps working for every public name:

- `gan_style.data.image_io`: reading an input with its metadata, writing an output with it.
- `gan_style.stylizer`: a loaded style (`Stylizer`), stroke sizes and the pixel maths.
- `gan_style.batch`: which files a transfer reads and where each result goes.

``gan_style.transfer`` is this module however it is imported, and the module is callable:
``from gan_style import transfer`` then ``transfer(...)`` calls the function `transfer`, as the
README shows.

At import time this module needs only the standard library and gan-style's light modules
(``from gan_style import transfer`` must not pull in TensorFlow, numpy or Pillow); the heavy
ones load on first use.
"""

from __future__ import annotations

import os
import sys
import time
import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from gan_style.batch import (
    TransferJob,
    TransferResult,
    collect_inputs,
    plan_jobs,
)
from gan_style.config import (
    MIN_STROKE_SIZE,
    OUTPUT_FORMATS,
    PRECISIONS,
    STROKE_SIZES,
    TransferConfig,
    _require,
    check_name_pattern,
    check_post_processing,
    check_stroke_size,
)
from gan_style.data.image_io import (
    _ALPHA_FORMATS,
    Source,
    _source_from_image,
    read_source,
    write_image,
)
from gan_style.errors import DataError
from gan_style.postprocess import PostProcess, blend, post_process_for
from gan_style.stylizer import (
    STROKE_SIZE_KEY,
    Stylizer,
    bundle_stroke_size,
    finish,
    load_stylizer,
    upsample_styled,
)

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

__all__ = [
    "MIN_STROKE_SIZE",
    "OUTPUT_FORMATS",
    "PRECISIONS",
    "STROKE_SIZES",
    "STROKE_SIZE_KEY",
    "Source",
    "Stylizer",
    "TransferConfig",
    "TransferJob",
    "TransferResult",
    "bundle_stroke_size",
    "check_name_pattern",
    "check_stroke_size",
    "collect_inputs",
    "finish",
    "limit_size",
    "load_stylizer",
    "plan_jobs",
    "read_source",
    "transfer",
    "transfer_files",
    "upsample_styled",
    "write_image",
]


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
    sharpen: float = 0.0,
    match_colors: str = "none",
    contrast: float = 1.0,
    saturation: float = 1.0,
    references: Iterable[str | os.PathLike] = (),
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
        memory_budget: Working memory to aim at, in bytes; None: `MEMORY_BUDGET_MB` MiB.
        progress: Wraps the iterable of tile steps of a tiled image (e.g. ``tqdm``).
        stroke_size: ``auto``, ``full`` or the shorter side in pixels to style at (see
            `TransferConfig.stroke_size`).
        detail: 0-2: photo detail added back after styling at a stroke size.
        sharpen: 0-5: unsharp-mask amount on the styled image.
        match_colors: ``none``, ``style`` (toward the palette of the style's images, which
            training records in the bundle) or ``input`` (back toward the input's colours).
        contrast: 0-3: factor on the styled image's contrast (1 leaves it).
        saturation: 0-3: factor on its saturation (1 leaves it, 0 is grey).
            The post-processing (`gan_style.postprocess`) acts on the styled image at full
            strength; ``strength`` blends with the input last.
        references: For a reference style: image files or folders to paint in the look of
            (their codes averaged); none: the collection's mean look.

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
    check_post_processing(sharpen, match_colors, contrast, saturation)
    source = _as_source(image)
    post = None
    if strength == 0:
        stylizer = None
        if not isinstance(style, Stylizer):
            from gan_style import store

            store.resolve_style(style)  # a wrong name is an error even when nothing is styled
    else:
        stylizer = load_stylizer(style, precision, references)
        options = dict(match_colors=match_colors, contrast=contrast, saturation=saturation)
        post = _post_process(stylizer.bundle, sharpen=sharpen, **options)
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
        post=post,
    )[0]


def _post_process(bundle, **options) -> PostProcess:
    from gan_style import store

    return post_process_for(store.read_style(bundle), bundle, **options)


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
    post: PostProcess | None = None,
) -> tuple[Image.Image, tuple[int, int] | None]:
    """The styled image and the (width, height) the generator ran at (None: it did not).

    With an active ``post``, the image is styled at full strength, post-processed, and then
    blended with the input by ``strength``."""
    image = limit_size(source.image, max_size)
    alpha = None if source.alpha is None else limit_size(source.alpha, max_size)
    styled_at = None
    if stylizer is None:
        result = image.copy()
    else:
        post_processed = post is not None and post.active
        result, styled_at = stylizer.apply_at_working_size(
            image,
            strength=1.0 if post_processed else strength,
            preserve_color=preserve_color,
            tile=tile,
            memory_budget=memory_budget,
            progress=progress,
            stroke_size=stroke_size,
            detail=detail,
        )
        if post_processed:
            import numpy as np
            from PIL import Image

            pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
            styled = post.apply(np.asarray(result), pixels)
            result = Image.fromarray(blend(pixels, styled, strength), "RGB")
    if alpha is not None:
        result.putalpha(alpha)
    return result, styled_at


def limit_size(image: Image.Image, max_size: int | None) -> Image.Image:
    """Shrink so that the longer side is at most ``max_size`` (Lanczos); never enlarges."""
    from PIL import Image

    if max_size is None or max(image.size) <= max_size:
        return image
    scale = max_size / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


# --- Many files -------------------------------------------------------------------------------


def transfer_files(
    config: TransferConfig,
    *,
    progress: Callable[[Iterable], Iterable] | None = None,
    tile_progress: Callable[[Iterable], Iterable] | None = None,
    report: Callable[[str], None] | None = None,
    frame_progress: Callable[[Iterable], Iterable] | None = None,
) -> TransferResult:
    """Style every input of ``config``; a bad input is reported and skipped.

    Images and videos (`gan_style.video`, recognised by content) mix freely; a video is
    styled frame by frame with the same options and written with its sound, subtitles and
    metadata.

    Args:
        config: What to do.
        progress: Wraps the iterable of jobs (a progress bar over files).
        tile_progress: Wraps the iterable of tile steps of each tiled image.
        frame_progress: Wraps the iterable of a video's frames (its length: the expected
            frame count).
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
    style_name = store.style_name(description, bundle)
    result = TransferResult(style_name, bundle)
    note = store.partial_note(description, bundle)
    if note is not None and report is not None:
        report(note)
    inputs, failures = collect_inputs(config.inputs)
    from gan_style.video import input_kind, plan_video_jobs

    kinds = [input_kind(path) if path.is_file() else "image" for path, _ in inputs]
    videos = [item for item, kind in zip(inputs, kinds, strict=True) if kind == "video"]
    inputs = [item for item, kind in zip(inputs, kinds, strict=True) if kind == "image"]
    jobs, result.skipped, planning_failures = plan_jobs(config, inputs, style_name)
    taken = [path for path, _ in inputs] + [job.destination for job in jobs]
    video_jobs, skipped_videos, video_failures = plan_video_jobs(
        config, videos, style_name, images=len(inputs), taken=taken
    )
    result.skipped += skipped_videos
    planning_failures += video_failures

    def fail(source: str, reason: str) -> None:
        result.failed.append((source, reason))
        if report is not None:
            report(f"{source}: failed ({reason})")

    for source, reason in failures + planning_failures:
        fail(source, reason)
    stylizer = None
    post = post_process_for(
        description,
        bundle,
        match_colors=config.match_colors,
        contrast=config.contrast,
        saturation=config.saturation,
        sharpen=config.sharpen,
    )
    if (jobs or video_jobs) and config.strength > 0:
        stylizer = load_stylizer(bundle, config.precision, config.references)
        result.precision = stylizer.precision
    everything = [*jobs, *video_jobs]
    for job in progress(everything) if progress is not None else everything:
        if not isinstance(job, TransferJob):
            _transfer_video_job(job, stylizer, config, post, result, fail, report, frame_progress)
            continue
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
                post=post,
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
        if job.converted_from is not None:
            result.converted.append((job.destination, job.converted_from))
        result.styled_at[job.destination] = (image.size, working)
        result.megapixels += image.width * image.height / 1e6
    result.seconds = time.perf_counter() - started
    return result


def _transfer_video_job(job, stylizer, config, post, result, fail, report, frame_progress):
    """One video of `transfer_files`: styled, written, its problems reported; never raises
    for a bad input (only for a bug, or Ctrl-C, which leaves no partial file)."""
    from gan_style.video import FrameStyler, transfer_video

    styler = FrameStyler(stylizer, config, post)
    try:
        video = transfer_video(
            job.source,
            job.destination,
            styler,
            video_codec=config.video_codec,
            crf=config.crf,
            progress=frame_progress,
        )
    except DataError as error:
        fail(str(job.source), str(error).removeprefix(f"{job.source}: "))
        return
    except OSError as error:
        fail(str(job.source), f"cannot write {job.destination}: {error.strerror or error}")
        return
    for problem in video.problems:
        if report is not None:
            report(f"{job.source}: {problem}")
    result.written.append(job.destination)
    result.styled_at[job.destination] = (video.size, styler.working_size)
    result.videos[job.destination] = video.to_dict()
    result.megapixels += video.frames * video.size[0] * video.size[1] / 1e6


class _CallableModule(types.ModuleType):
    """This module, callable as its function `transfer`.

    ``gan_style.transfer`` names both this module (``gan_style.transfer.transfer_files``, as
    the README shows) and, through ``from gan_style import transfer``, the function the README
    calls as ``transfer(...)``. A package attribute cannot be both, and Python sets it to the
    module whenever the module is imported, so the module forwards calls to the function.
    """

    def __call__(self, *args, **kwargs):
        return transfer(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
