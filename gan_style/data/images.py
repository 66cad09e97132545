"""Robust image decoding: any file a user has → an 8-bit sRGB RGB `PIL.Image`, or a reason why not.

Everything that reads a user's image goes through `load_image`, so training, transfer and
evaluation agree on what an image looks like:

- EXIF orientation is applied (the pixels come back upright, as a viewer shows them).
- Embedded ICC profiles are converted to sRGB (Adobe RGB, Display P3, CMYK press profiles...).
- Every mode becomes 8-bit RGB: 1-bit, L, P (with or without transparency), LA/PA/RGBA
  (composited over a background colour, so colour hidden under transparent pixels never shows),
  CMYK, YCbCr, LAB, 16-bit integer and float images (scaled, not clipped).
- Animated files (GIF, APNG, WebP, multi-page TIFF) give their first frame.
- Phone photos in HEIC/HEIF are read through ``pillow-heif`` (registered with Pillow on import),
  AVIF through Pillow itself; their orientation and ICC profile are handled as for JPEG.
- Decompression bombs are refused from the header, before any pixel is decoded.
- A file that is recognisably an image in a format Pillow cannot decode (SVG and other vector
  graphics, camera RAW, layered editor documents, OpenEXR...) is refused with a reason that
  names the format and what to do (`unsupported_format`), never taken for non-image clutter.

Failures raise `ImageRejected` with a short human reason (``truncated``, ``not an image``,
``too many pixels (20000×20000 > 100,000,000)``...) that the data preparation report prints.
This module imports only Pillow and numpy, so decoding workers start fast.
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

#: Default limit on width × height, checked from the header before decoding.
DEFAULT_MAX_PIXELS = 100_000_000

#: Extensions that announce an image. A file with one of these that is not an image is rejected
#: (the user meant it as an image); any other non-image file is ignored as clutter.
IMAGE_EXTENSIONS = frozenset(
    {
        *(".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".gif", ".bmp", ".dib", ".tif"),
        *(".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".ico", ".tga", ".jp2", ".j2k"),
        *(".jpx", ".heic", ".heif", ".hif", ".avif", ".psd"),
    }
)

#: Extensions of camera RAW files (``develop`` them first).
RAW_EXTENSIONS = frozenset(
    {
        *(".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf"),
        *(".orf", ".rw2", ".pef", ".srw", ".x3f", ".3fr", ".erf", ".kdc", ".mrw", ".rwl"),
        ".iiq",
    }
)

#: Extensions of images in formats gan-style cannot decode: vector graphics, camera RAW,
#: layered editor documents, HDR and JPEG XL. Files with them are read (and refused with a
#: reason naming the format) rather than skipped as clutter.
UNSUPPORTED_IMAGE_EXTENSIONS = frozenset(
    {
        *(".svg", ".svgz", ".eps", ".ai", ".wmf", ".emf", ".xcf", ".kra", ".ora", ".psb"),
        *(".procreate", ".afphoto", ".exr", ".hdr", ".jxl"),
        *RAW_EXTENSIONS,
    }
)
IMAGE_EXTENSIONS = IMAGE_EXTENSIONS | UNSUPPORTED_IMAGE_EXTENSIONS

#: Names of operating-system clutter that are skipped without even being opened.
CLUTTER_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db", ".directory"})

_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _register_heif() -> bool:
    """Let Pillow open HEIC/HEIF through ``pillow-heif`` (a dependency); False without it."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


#: Whether HEIC/HEIF files can be decoded (``pillow-heif`` is installed).
HEIF_SUPPORT = _register_heif()
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
    name: str | os.PathLike | None = None,
) -> LoadedImage:
    """Decode encoded image bytes into an upright 8-bit sRGB RGB image.

    Args:
        data: The encoded file contents.
        max_pixels: Largest accepted width × height, checked from the header before decoding.
        background: RGB colour that transparent pixels are composited onto.
        reduce_to: If given, the decoder may return a smaller image whose shorter side is still
            at least this many pixels (JPEG decodes at 1/2, 1/4 or 1/8 scale for free). The
            caller still resizes to its exact target.
        name: The file's name, if known: its extension tells camera RAW files that are TIFF
            inside (NEF, ARW...) from TIFF photos, and names a format content cannot.

    Returns:
        A `LoadedImage`.

    Raises:
        ImageRejected: the bytes are empty, not an image, truncated, corrupt or too large, or
            an image in a format gan-style cannot decode (the reason names it and what to do).
    """
    if not data:
        raise ImageRejected("empty file")
    unsupported = unsupported_format(data, name, before_decoding=True)
    if unsupported:
        raise ImageRejected(unsupported)
    with warnings.catch_warnings():
        # Our own max_pixels check replaces Pillow's bomb warning; its error still counts.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as error:
            raise ImageRejected(f"too many pixels (> {max_pixels:,})") from error
        except UnidentifiedImageError as error:
            raise ImageRejected(unsupported_format(data, name) or "not an image") from error
        except (OSError, SyntaxError, ValueError) as error:
            reason = unsupported_format(data, name) or _describe_decode_error(error)
            raise ImageRejected(reason) from error
        raw = _raw_tiff(image, name)
        if raw:
            raise ImageRejected(raw)
        try:
            return _decode(
                image, data, max_pixels=max_pixels, background=background, reduce_to=reduce_to
            )
        except ImageRejected:
            raise
        except Image.DecompressionBombError as error:
            raise ImageRejected(f"too many pixels (> {max_pixels:,})") from error
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as error:
            reason = unsupported_format(data, name) or _describe_decode_error(error)
            raise ImageRejected(reason) from error


def load_image_file(path: str | os.PathLike, **options) -> LoadedImage:
    """`load_image` on a file path; unreadable files raise `ImageRejected` too."""
    return load_image(read_bytes(path), name=path, **options)


# --- Images in formats we cannot decode -------------------------------------------------------

_VECTOR = "not supported, export it as PNG"
_RAW = (
    "not supported, develop it to JPEG or 16-bit TIFF first (darktable, RawTherapee, Lightroom...)"
)
_LAYERED = "not supported, export the flattened image as PNG"
_HDR = "not supported, export it as a 16-bit PNG or TIFF"
#: (signature test on the first bytes, format, what to do, whether Pillow must not try first).
_SIGNATURES = (
    (
        lambda head: head.startswith(b"II*\x00") and head[8:10] == b"CR",
        "Canon CR2 camera RAW",
        _RAW,
        True,
    ),
    (
        lambda head: head[4:8] == b"ftyp" and head[8:12] == b"crx ",
        "Canon CR3 camera RAW",
        _RAW,
        True,
    ),
    (lambda head: head.startswith(b"FUJIFILMCCD-RAW"), "Fujifilm RAF camera RAW", _RAW, True),
    (lambda head: head[:4] in (b"IIRO", b"IIRS", b"MMOR"), "Olympus ORF camera RAW", _RAW, True),
    (lambda head: head.startswith(b"IIU\x00"), "Panasonic RW2 camera RAW", _RAW, True),
    (
        lambda head: head.startswith(b"%!PS") or head.startswith(b"\xc5\xd0\xd3\xc6"),
        "EPS/PostScript vector image",
        _VECTOR,
        True,
    ),
    (
        lambda head: head.startswith(b"\xd7\xcd\xc6\x9a") or head[40:44] == b" EMF",
        "WMF/EMF vector image",
        _VECTOR,
        True,
    ),
    (lambda head: head.startswith(b"gimp xcf"), "GIMP XCF layered image", _LAYERED, True),
    (lambda head: head.startswith(b"8BPS\x00\x02"), "Photoshop PSB large document", _LAYERED, True),
    (
        lambda head: head.startswith(b"PK\x03\x04") and b"application/x-krita" in head[:100],
        "Krita document",
        _LAYERED,
        True,
    ),
    (
        lambda head: head.startswith(b"PK\x03\x04") and b"image/openraster" in head[:100],
        "OpenRaster layered image",
        _LAYERED,
        True,
    ),
    (lambda head: head.startswith(b"v/1\x01"), "OpenEXR HDR image", _HDR, True),
    (lambda head: head.startswith((b"#?RADIANCE", b"#?RGBE")), "Radiance HDR image", _HDR, True),
    (
        lambda head: head.startswith(b"\xff\x0a") or head[4:12] == b"JXL \r\n\x87\n",
        "JPEG XL image",
        "not supported by this Pillow, convert it to PNG or JPEG",
        False,
    ),
    (
        lambda head: head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"),
        "AVIF image",
        "not supported by this Pillow (it needs AVIF support: pip install -U pillow)",
        False,
    ),
    (
        lambda head: (
            head[4:8] == b"ftyp"
            and head[8:12]
            in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
        ),
        "HEIC/HEIF image",
        "not supported without pillow-heif: pip install pillow-heif",
        False,
    ),
)
#: What files of an unsupported extension are, when their content says nothing more.
_EXTENSION_FORMATS = {
    **dict.fromkeys((".svg", ".svgz"), ("SVG vector image", _VECTOR)),
    ".ai": ("Adobe Illustrator vector image", _VECTOR),
    ".eps": ("EPS/PostScript vector image", _VECTOR),
    **dict.fromkeys((".wmf", ".emf"), ("WMF/EMF vector image", _VECTOR)),
    ".xcf": ("GIMP XCF layered image", _LAYERED),
    ".kra": ("Krita document", _LAYERED),
    ".ora": ("OpenRaster layered image", _LAYERED),
    ".psb": ("Photoshop PSB large document", _LAYERED),
    ".procreate": ("Procreate document", _LAYERED),
    ".afphoto": ("Affinity Photo document", _LAYERED),
    ".exr": ("OpenEXR HDR image", _HDR),
    ".hdr": ("Radiance HDR image", _HDR),
    ".jxl": ("JPEG XL image", "not supported by this Pillow, convert it to PNG or JPEG"),
}
_SVG_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!DOCTYPE svg|<svg)",
    re.DOTALL | re.IGNORECASE,
)


def unsupported_format(
    data: bytes, name: str | os.PathLike | None = None, *, before_decoding: bool = False
) -> str | None:
    """The reason to refuse an image in a format gan-style cannot decode, else None.

    The content decides (SVG text, a RAW or editor file's signature); the file's extension
    only names what the content cannot (an Illustrator file is a PDF inside, a Sigma X3F has
    no signature we check), and only for a name that announces such a format.

    Args:
        data: The file's bytes.
        name: The file's name, if known.
        before_decoding: Only the formats that Pillow must not even try (it would misread a
            Canon CR2 as the TIFF thumbnail inside, or needs Ghostscript for EPS); the others
            are checked once Pillow has failed.

    Returns:
        ``"<format>: not supported, <what to do>"``, or None.
    """
    head = data[:4096]
    for matches, kind, advice, early in _SIGNATURES:
        if (early or not before_decoding) and matches(head):
            return f"{kind}: {advice}"
    if _SVG_START.match(head):
        return f"SVG vector image: {_VECTOR}"
    if before_decoding:
        return None
    suffix = Path(os.fspath(name)).suffix.lower() if name is not None else ""
    if suffix in _EXTENSION_FORMATS:
        kind, advice = _EXTENSION_FORMATS[suffix]
        if suffix == ".svgz" and not head.startswith(b"\x1f\x8b"):
            return None
        return f"{kind}: {advice}"
    if suffix in RAW_EXTENSIONS:
        return f"camera RAW ({suffix[1:].upper()}): {_RAW}"
    return None


_DNG_VERSION, _NEW_SUBFILE_TYPE, _SUB_IFDS, _PHOTOMETRIC = 50706, 254, 330, 262
#: PhotometricInterpretation values of sensor data: colour filter array, linear raw.
_RAW_PHOTOMETRIC = frozenset({32803, 34892})


def _raw_tiff(image: Image.Image, name: str | os.PathLike | None) -> str | None:
    """The refusal of a camera RAW file that Pillow opened as a TIFF, else None.

    DNG, NEF, ARW, PEF and most RAW formats are TIFF files whose first directory is a small
    preview and whose sensor data sits in sub-directories; Pillow would decode the preview.
    """
    if image.format != "TIFF":
        return None
    tags = getattr(image, "tag_v2", {})
    suffix = Path(os.fspath(name)).suffix.lower() if name is not None else ""
    if _DNG_VERSION in tags:
        return f"DNG camera RAW: {_RAW}"
    if tags.get(_PHOTOMETRIC) in _RAW_PHOTOMETRIC or (
        tags.get(_NEW_SUBFILE_TYPE) == 1 and _SUB_IFDS in tags
    ):
        return f"camera RAW{f' ({suffix[1:].upper()})' if suffix in RAW_EXTENSIONS else ''}: {_RAW}"
    if suffix in RAW_EXTENSIONS:
        return f"camera RAW ({suffix[1:].upper()}): {_RAW}"
    return None


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
    data: bytes,
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

    orientation = pending_orientation(image, data)
    swapped = orientation in _SWAPPING_ORIENTATIONS
    original_size = (height, width) if swapped else (width, height)

    if reduce_to and image.format == "JPEG" and image.mode in ("RGB", "L", "CMYK", "YCbCr"):
        # Both sides stay >= reduce_to, whatever the EXIF rotation does afterwards.
        image.draft(image.mode, (reduce_to, reduce_to))
    image.load()  # decode now: truncation and corruption surface here

    image = upright(image, orientation)
    image = to_srgb_rgb(image, icc_profile=icc_profile, background=background)
    return LoadedImage(image=image, original_size=original_size, source_format=source_format)


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except _EXIF_ERRORS:
        return 1


#: The transposition that shows an image stored with each EXIF orientation upright.
_TRANSPOSITIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def pending_orientation(image: Image.Image, data: bytes) -> int:
    """The EXIF orientation (1-8) still to apply to an opened image to show it upright.

    For JPEG, PNG, TIFF, WebP, AVIF... it is the EXIF tag. A HEIF file's rotation and mirror
    boxes (``irot``, ``imir``, what phones write) are applied by libheif while decoding, and
    pillow-heif then sets the EXIF tag to 1 so that nothing rotates twice; a HEIF file without
    such boxes (some converters write EXIF only) keeps the EXIF orientation it was written
    with, which is then applied as for a JPEG.
    """
    if image.format == "HEIF":
        if _heif_has_transform(data):
            return 1
        try:
            return int(image.info.get("original_orientation") or 1)
        except (TypeError, ValueError):
            return 1
    return _orientation(image)


def upright(image: Image.Image, orientation: int) -> Image.Image:
    """``image`` transposed as its EXIF ``orientation`` (from `pending_orientation`) says."""
    method = _TRANSPOSITIONS.get(orientation)
    return image if method is None else image.transpose(method)


def _heif_has_transform(data: bytes) -> bool:
    """Whether a HEIF file's item properties (``meta/iprp/ipco``) hold ``irot`` or ``imir``."""

    def boxes(start: int, end: int):
        while start + 8 <= end:
            size, kind = struct.unpack(">I4s", data[start : start + 8])
            header = 8
            if size == 1 and start + 16 <= end:
                (size,) = struct.unpack(">Q", data[start + 8 : start + 16])
                header = 16
            elif size == 0:
                size = end - start
            if size < header:
                return
            yield kind, start + header, min(start + size, end)
            start += size

    for kind, start, end in boxes(0, len(data)):
        if kind != b"meta":
            continue
        for inner, inner_start, inner_end in boxes(start + 4, end):  # meta is a full box
            if inner != b"iprp":
                continue
            for group, group_start, group_end in boxes(inner_start, inner_end):
                if group == b"ipco":
                    kinds = {name for name, _, _ in boxes(group_start, group_end)}
                    return bool(kinds & {b"irot", b"imir"})
    return False


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
