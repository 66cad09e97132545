"""Robust decoding: every mode to 8-bit sRGB, orientation, and a reason for every failure."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from gan_style.data import images
from tests.conftest import photo_like, swapped_primaries_profile


def encode(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def reject_reason(data: bytes, **options) -> str:
    with pytest.raises(images.ImageRejected) as caught:
        images.load_image(data, **options)
    return caught.value.reason


def test_truncated_jpeg_is_rejected_as_truncated():
    data = encode(photo_like(64, 64, 1), "JPEG", quality=90)
    assert reject_reason(data[: len(data) // 2]) == "truncated"


def test_truncated_png_is_rejected_as_truncated():
    data = encode(photo_like(64, 64, 2), "PNG")
    assert reject_reason(data[: len(data) // 2]) == "truncated"


def test_empty_random_and_text_bytes_are_rejected_with_reasons():
    assert reject_reason(b"") == "empty file"
    assert reject_reason(np.random.default_rng(0).bytes(4096)) == "not an image"
    assert reject_reason(b"shopping list: eggs, milk\n" * 10) == "not an image"


def test_huge_pixel_count_is_rejected_from_the_header():
    # A PNG whose header claims 20000×20000 pixels, with almost no data behind it.
    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
    assert reject_reason(data).startswith("too many pixels")
    small_limit = encode(photo_like(100, 100, 3), "PNG")
    assert reject_reason(small_limit, max_pixels=5000) == "too many pixels (100×100 > 5,000)"


def test_cmyk_jpeg_becomes_rgb_with_the_right_colour():
    cyan = Image.new("CMYK", (16, 16), (255, 0, 0, 0))
    loaded = images.load_image(encode(cyan, "JPEG", quality=95))
    pixel = np.asarray(loaded.image)[8, 8]
    assert loaded.image.mode == "RGB"
    assert pixel[0] < 40 and pixel[1] > 215 and pixel[2] > 215


def test_sixteen_bit_png_is_scaled_not_clipped():
    grey = Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16))
    loaded = images.load_image(encode(grey, "PNG"))
    assert loaded.image.mode == "RGB"
    assert np.all(np.abs(np.asarray(loaded.image).astype(int) - 128) <= 1)


def test_palette_transparency_is_composited_on_the_background():
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([255, 0, 0] + [0, 255, 0] * 255)  # index 0 is red, and transparent
    palette.putpixel((0, 0), 1)
    data = encode(palette, "PNG", transparency=0)
    loaded = np.asarray(images.load_image(data, background=(10, 20, 30)).image)
    assert tuple(loaded[4, 4]) == (10, 20, 30)  # never the hidden red
    assert tuple(loaded[0, 0]) == (0, 255, 0)


def test_rgba_hidden_pixels_never_show():
    array = np.zeros((8, 8, 4), dtype=np.uint8)
    array[..., 0] = 255  # red under full transparency
    array[:4, :, 1:] = [0, 255, 255]
    array[:4, :, 0] = 0
    loaded = np.asarray(images.load_image(encode(Image.fromarray(array, "RGBA"), "PNG")).image)
    assert tuple(loaded[6, 6]) == (255, 255, 255)
    assert tuple(loaded[1, 1]) == (0, 0, 255)


def test_la_and_one_bit_images_become_rgb():
    one_bit = Image.new("1", (8, 8), 1)
    assert tuple(np.asarray(images.load_image(encode(one_bit, "PNG")).image)[0, 0]) == (
        255,
        255,
        255,
    )
    grey_alpha = Image.new("LA", (8, 8), (0, 0))
    assert tuple(np.asarray(images.load_image(encode(grey_alpha, "PNG")).image)[0, 0]) == (
        255,
        255,
        255,
    )


def test_exif_orientation_is_applied():
    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 10, 10))  # red in the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    loaded = images.load_image(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert loaded.image.size == (20, 40)
    assert loaded.original_size == (20, 40)
    top_right = np.asarray(loaded.image)[3, 16]
    assert top_right[0] > 200 and top_right[2] < 60


def test_embedded_icc_profile_is_converted_to_srgb():
    stored_red = Image.new("RGB", (8, 8), (255, 0, 0))
    data = encode(stored_red, "PNG", icc_profile=swapped_primaries_profile())
    pixel = np.asarray(images.load_image(data).image)[4, 4]
    assert pixel[2] > 200 and pixel[0] < 60, pixel  # shown as blue, as the profile says
    untagged = np.asarray(images.load_image(encode(stored_red, "PNG")).image)[4, 4]
    assert tuple(untagged) == (255, 0, 0)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    pixel = np.asarray(images.load_image(buffer.getvalue()).image)[4, 4]
    assert pixel[0] > 200 and pixel[2] < 60


def test_jpeg_draft_keeps_the_original_size_and_enough_pixels():
    data = encode(photo_like(1200, 800, 5), "JPEG", quality=90)
    loaded = images.load_image(data, reduce_to=256)
    assert loaded.original_size == (1200, 800)
    assert min(loaded.image.size) >= 256 and loaded.image.size[0] < 1200


def test_unreadable_file_reports_permission_denied(tmp_path, monkeypatch):
    path = tmp_path / "secret.jpg"
    path.write_bytes(b"x")

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(images.ImageRejected) as caught:
        images.read_bytes(path)
    assert caught.value.reason == "unreadable: permission denied"


@pytest.mark.parametrize(
    ("size", "target", "upscale", "expected"),
    [
        ((400, 300), 200, False, (267, 200)),
        ((300, 400), 200, False, (200, 267)),
        ((100, 80), 200, False, (100, 80)),
        ((100, 80), 200, True, (250, 200)),
    ],
)
def test_resize_shorter_side(size, target, upscale, expected):
    resized = images.resize_shorter_side(Image.new("RGB", size), target, upscale=upscale)
    assert resized.size == expected


def test_clutter_names():
    assert images.is_clutter_name("a/.DS_Store")
    assert images.is_clutter_name("Thumbs.db")
    assert images.is_clutter_name("._photo.jpg")
    assert not images.is_clutter_name("photo.jpg")
