"""Robust image decoding: any file a user has → an 8-bit sRGB RGB `PIL.Image`, or a reason why not.

Everything that reads a user's image goes through `load_image`, so training, transfer and
evaluation agree on what an image looks like:

- EXIF orientation is applied (the pixels come back upright, as a viewer shows them).
- Embedded ICC profiles are converted to sRGB (Adobe RGB, Display P3, CMYK press profiles...).
- Every mode becomes 8-bit RGB: 1-bit, L, P (with or without transparency), LA/PA/RGBA
  (composited over a background colour, so colour hidden under transparent pixels never shows),
  CMYK, YCbCr, LAB, 16-bit integer and float images (scaled, not clipped).
- Animated files (GIF, APNG, WebP, multi-page TIFF) give their first frame.
- Decompression bombs are refused from the header, before any pixel is decoded.

Failures raise `ImageRejected` with a short human reason (``truncated``, ``not an image``,
``too many pixels (20000×20000 > 100,000,000)``...) that the data preparation report prints.
This module imports only Pillow and numpy, so decoding workers start fast.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

#: Default limit on width × height, checked from the header before decoding.
DEFAULT_MAX_PIXELS = 100_000_000

#: Extensions that announce an image. A file with one of these that is not an image is rejected
#: (the user meant it as an image); any other non-image file is ignored as clutter.
IMAGE_EXTENSIONS = frozenset(
    {
        *(".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".gif", ".bmp", ".dib", ".tif"),
        *(".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".ico", ".tga", ".jp2", ".j2k"),
        *(".jpx", ".heic", ".heif", ".avif", ".psd"),
    }
)

#: Names of operating-system clutter that are skipped without even being opened.
CLUTTER_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db", ".directory"})

_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
#: EXIF orientations that rotate by 90° and so swap width and height.
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_EXIF_ERRORS = (SyntaxError, ValueError, TypeError, KeyError, struct.error)


class ImageRejected(Exception):
    """A file could not be used as an image; ``reason`` says why in a few words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image and the facts about its source that a report needs.

    Attributes:
        image: 8-bit sRGB image in mode ``RGB``, upright.
        original_size: ``(width, height)`` of the source as displayed (after EXIF rotation),
            before any reduction.
        source_format: Pillow's format name (``JPEG``, ``PNG``...).
    """

    image: Image.Image
    original_size: tuple[int, int]
    source_format: str


def is_clutter_name(path: str | os.PathLike) -> bool:
    """Whether a file name is operating-system clutter (``.DS_Store``, ``Thumbs.db``, ``._x``)."""
    name = os.path.basename(os.fspath(path))
    return name.lower() in CLUTTER_NAMES or name.startswith("._")


def has_image_extension(path: str | os.PathLike) -> bool:
    """Whether a file's extension announces an image."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def read_bytes(path: str | os.PathLike) -> bytes:
    """Read a whole file, turning OS errors into `ImageRejected` reasons."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except PermissionError as error:
        raise ImageRejected("unreadable: permission denied") from error
    except IsADirectoryError as error:
        raise ImageRejected("unreadable: is a directory") from error
    except OSError as error:
        raise ImageRejected(f"unreadable: {error.strerror or error}") from error


def load_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    background: tuple[int, int, int] = (255, 255, 255),
    reduce_to: int | None = None,
) -> LoadedImage:
    """Decode encoded image bytes into an upright 8-bit sRGB RGB image.

    Args:
        data: The encoded file contents.
        max_pixels: Largest accepted width × height, checked from the header before decoding.
        background: RGB colour that transparent pixels are composited onto.
        reduce_to: If given, the decoder may return a smaller image whose shorter side is still
            at least this many pixels (JPEG decodes at 1/2, 1/4 or 1/8 scale for free). The
            caller still resizes to its exact target.

    Returns:
        A `LoadedImage`.

    Raises:
        ImageRejected: the bytes are empty, not an image, truncated, corrupt or too large.
    """
    if not data:
        raise ImageRejected("empty file")
    with warnings.catch_warnings():
        # Our own max_pixels check replaces Pillow's bomb warning; its error still counts.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as error:
            raise ImageRejected(f"too many pixels (> {max_pixels:,})") from error
        except UnidentifiedImageError as error:
            raise ImageRejected("not an image") from error
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageRejected(_describe_decode_error(error)) from error
        try:
            return _decode(image, max_pixels=max_pixels, background=background, reduce_to=reduce_to)
        except ImageRejected:
            raise
        except Image.DecompressionBombError as error:
            raise ImageRejected(f"too many pixels (> {max_pixels:,})") from error
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as error:
            raise ImageRejected(_describe_decode_error(error)) from error


def load_image_file(path: str | os.PathLike, **options) -> LoadedImage:
    """`load_image` on a file path; unreadable files raise `ImageRejected` too."""
    return load_image(read_bytes(path), **options)


def _describe_decode_error(error: BaseException) -> str:
    message = str(error).strip()
    lowered = message.lower()
    if "truncated" in lowered or "premature end" in lowered or isinstance(error, EOFError):
        return "truncated"
    if not message:
        return f"corrupt ({type(error).__name__})"
    return f"corrupt ({message.splitlines()[0][:80]})"


def _decode(
    image: Image.Image,
    *,
    max_pixels: int,
    background: tuple[int, int, int],
    reduce_to: int | None,
) -> LoadedImage:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected(f"too many pixels ({width}×{height} > {max_pixels:,})")
    if width < 1 or height < 1:
        raise ImageRejected(f"empty image ({width}×{height})")
    source_format = image.format or "unknown"
    icc_profile = image.info.get("icc_profile")

    swapped = _orientation(image) in _SWAPPING_ORIENTATIONS
    original_size = (height, width) if swapped else (width, height)

    if reduce_to and image.format == "JPEG" and image.mode in ("RGB", "L", "CMYK", "YCbCr"):
        # Both sides stay >= reduce_to, whatever the EXIF rotation does afterwards.
        image.draft(image.mode, (reduce_to, reduce_to))
    image.load()  # decode now: truncation and corruption surface here

    # A broken EXIF block must not cost the image: its orientation then stays as stored.
    with contextlib.suppress(*_EXIF_ERRORS):
        image = ImageOps.exif_transpose(image)

    image = to_srgb_rgb(image, icc_profile=icc_profile, background=background)
    return LoadedImage(image=image, original_size=original_size, source_format=source_format)


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except _EXIF_ERRORS:
        return 1


def to_srgb_rgb(
    image: Image.Image, *, icc_profile: bytes | None, background: tuple[int, int, int]
) -> Image.Image:
    """Convert a decoded, upright image of any Pillow mode to 8-bit sRGB RGB.

    Args:
        image: The image (EXIF orientation already applied).
        icc_profile: Its embedded ICC profile, converted from when usable.
        background: RGB colour that transparent pixels are composited onto.
    """
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode == "1":
        image = image.convert("L")
    elif mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = _high_depth_to_l(image)
    elif mode == "RGBa":
        image = image.convert("RGBA")
    elif mode == "La":
        image = image.convert("LA")

    if image.mode in ("RGBA", "LA"):
        image = _composite(image, background)

    if icc_profile and image.mode in ("RGB", "CMYK", "L"):
        converted = _apply_icc(image, icc_profile)
        if converted is not None:
            return converted
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """16-bit or 32-bit grey → 8-bit grey, scaling the full range instead of clipping it."""
    array = np.asarray(image)
    if image.mode == "F":
        array = array.astype(np.float64)
        peak = 1.0 if np.nanmax(array, initial=0.0) <= 1.0 else 255.0
        scaled = np.nan_to_num(array / peak) * 255.0
    else:
        array = array.astype(np.float64)
        peak = 65535.0 if image.mode != "I" or array.max(initial=0) > 255 else 255.0
        scaled = array * (255.0 / peak)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def _composite(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    rgba = image.convert("RGBA")
    base = Image.new("RGBA", rgba.size, (*background, 255))
    return Image.alpha_composite(base, rgba).convert("RGB")


def _apply_icc(image: Image.Image, icc_profile: bytes) -> Image.Image | None:
    """Convert from an embedded profile to sRGB; None when the profile is unusable."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.profileToProfile(
            image,
            source,
            _SRGB_PROFILE,
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode="RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def resize_shorter_side(image: Image.Image, size: int, *, upscale: bool = False) -> Image.Image:
    """Resize so the shorter side is ``size``, keeping the aspect ratio (Lanczos).

    Args:
        image: The image to resize.
        size: Target length of the shorter side, in pixels.
        upscale: Whether a smaller image may be enlarged; otherwise it is returned as it is.
    """
    width, height = image.size
    shorter = min(width, height)
    if shorter == size or (shorter < size and not upscale):
        return image
    scale = size / shorter
    if width <= height:
        new_size = (size, max(size, round(height * scale)))
    else:
        new_size = (max(size, round(width * scale)), size)
    return image.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
