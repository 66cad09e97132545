"""Transfer's image files: decode an input with its metadata, write an output that keeps it.

`read_source` decodes exactly as training does (`gan_style.data.images.load_image`: EXIF
orientation applied, ICC → sRGB, any mode → 8-bit RGB, transparency composited on white) and
keeps what the output should carry over in a `Source`: the transparency, ICC profile, EXIF,
XMP and resolution. `write_image` writes a result atomically with the input's ICC profile (the
pixels converted back into it), EXIF (orientation cleared: the pixels are upright), XMP,
resolution and transparency where the output format can hold them.

At import time this module needs only the standard library; Pillow loads on first use.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gan_style.atomic import atomic_path
from gan_style.errors import DataError

if TYPE_CHECKING:
    from PIL import Image

"""``--format`` names → Pillow format names of the formats transfer writes."""

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tif", "HEIF": "heic"}
_FORMAT_OF_SUFFIX = {
    **dict.fromkeys((".jpg", ".jpeg", ".jpe", ".jfif"), "JPEG"),
    ".png": "PNG",
    ".webp": "WEBP",
    **dict.fromkeys((".tif", ".tiff"), "TIFF"),
    **dict.fromkeys((".heic", ".heif", ".hif"), "HEIF"),
}
#: The input formats (by extension) written as JPEG unless asked otherwise
#: (`gan_style.config.JPEG_BY_DEFAULT_FORMATS`).
_INPUT_FORMAT_OF_SUFFIX = {**_FORMAT_OF_SUFFIX, ".avif": "AVIF"}
_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF", "HEIF"})
_EXIF_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_EXIF_PIXEL_WIDTH, _EXIF_PIXEL_HEIGHT = 0xA002, 0xA003
_XMP_ORIENTATION = (
    re.compile(rb'\s*tiff:Orientation="[0-9]"'),
    re.compile(rb"\s*<tiff:Orientation>[0-9]</tiff:Orientation>"),
)


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
        loaded = load_image(data, name=path)
    except ImageRejected as error:
        raise DataError(f"{path}: {error.reason}") from error
    source = Source(loaded.image, source_format=loaded.source_format)
    _read_metadata(data, source)
    return source


def _read_metadata(data: bytes, source: Source) -> None:
    """Fills in the alpha and metadata of `source` from the file (best effort: a broken block
    only loses that block)."""
    from PIL import Image

    from gan_style.data.images import pending_orientation, upright

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
                orientation = pending_orientation(opened, data)
                alpha = upright(opened.convert("RGBA"), orientation).getchannel("A")
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
    written uncompressed: Pillow's libtiff encoder, which compresses, cannot write EXIF. HEIF
    (HEIC, through pillow-heif) keeps the ICC profile, EXIF and XMP but not the DPI.

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
    elif image_format == "HEIF":  # written by pillow-heif, which has no resolution field
        options.pop("dpi", None)
        options.update(quality=quality)
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
