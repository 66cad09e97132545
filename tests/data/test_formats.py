"""Every photo a person has: HEIC and AVIF read everywhere, unreadable formats refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, TiffImagePlugin, features

from gan_style import store
from gan_style.cli import cli
from gan_style.data import images
from tests.conftest import perturbed_generator, photo_like, swapped_primaries_profile

#: Stored 64 wide × 32 high, red left and blue right; EXIF orientation 6 shows it 32 × 64 with
#: the red half on top.
STORED = np.zeros((32, 64, 3), np.uint8)
STORED[:, :32] = (220, 30, 30)
STORED[:, 32:] = (30, 30, 220)


def rotated_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "gan-style test phone"
    return exif


def assert_upright(image: Image.Image) -> None:
    pixels = np.asarray(image.convert("RGB"), np.int16)
    assert pixels.shape == (64, 32, 3)
    assert pixels[:24, :, 0].mean() > 170 and pixels[:24, :, 2].mean() < 90
    assert pixels[40:, :, 2].mean() > 170 and pixels[40:, :, 0].mean() < 90


@pytest.mark.parametrize("extension", ["heic", "avif"])
def test_a_rotated_phone_photo_comes_back_upright_and_full_size(tmp_path, extension):
    if extension == "avif" and not features.check("avif"):
        pytest.skip("this Pillow was built without AVIF (Pillow >= 11.3 wheels have it)")
    path = tmp_path / f"phone.{extension}"
    Image.fromarray(STORED).save(path, exif=rotated_exif(), quality=95)

    loaded = images.load_image_file(path)

    assert loaded.original_size == (32, 64)
    assert_upright(loaded.image)


def test_a_heic_icc_profile_is_converted_to_srgb_as_for_jpeg(tmp_path):
    path = tmp_path / "profiled.heic"
    Image.new("RGB", (16, 16), (255, 0, 0)).save(
        path, icc_profile=swapped_primaries_profile(), quality=95
    )

    loaded = images.load_image_file(path)

    pixel = np.asarray(loaded.image)[8, 8]
    assert loaded.source_format == "HEIF"
    assert pixel[2] > 180 and pixel[0] < 80, pixel  # shown as blue, as the profile says


#: (file name, bytes, the words the reason must hold)
_SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'


def _tiff_with(tags: dict[int, tuple[int, object]]) -> bytes:
    """A small real TIFF with extra tags ``{tag: (type, value)}``."""
    import io

    directory = TiffImagePlugin.ImageFileDirectory_v2()
    for tag, (tag_type, value) in tags.items():
        directory[tag] = value
        directory.tagtype[tag] = tag_type
    buffer = io.BytesIO()
    Image.fromarray(STORED).save(buffer, format="TIFF", tiffinfo=directory)
    return buffer.getvalue()


UNSUPPORTED = [
    ("drawing.svg", _SVG, "SVG vector image: not supported, export it as PNG"),
    ("no_extension", _SVG, "SVG vector image"),
    ("logo.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9 9\n", "EPS/PostScript vector"),
    ("IMG_0001.CR2", b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64), "Canon CR2 camera RAW"),
    ("DSCF0001.RAF", b"FUJIFILMCCD-RAW 0201FF383501" + bytes(64), "Fujifilm RAF camera RAW"),
    ("raw.dng", _tiff_with({50706: (1, b"\x01\x04\x00\x00")}), "DNG camera RAW: not supported"),
    ("DSC_0001.NEF", _tiff_with({}), "camera RAW (NEF): not supported, develop"),
    ("layers.xcf", b"gimp xcf v011\x00" + bytes(64), "GIMP XCF layered image"),
    ("render.exr", b"v/1\x01\x02\x00\x00\x00" + bytes(64), "OpenEXR HDR image"),
    ("art.ai", b"%PDF-1.6\n%\xe2\xe3\xcf\xd3\n", "Adobe Illustrator vector image"),
]


@pytest.mark.parametrize(("name", "data", "reason"), UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_images_we_cannot_decode_are_refused_with_the_format_and_what_to_do(name, data, reason):
    with pytest.raises(images.ImageRejected) as refused:
        images.load_image(data, name=name)
    assert reason in refused.value.reason
    assert "not supported" in refused.value.reason


def test_a_plain_tiff_and_a_pdf_document_are_not_taken_for_raw_or_vector_images():
    assert images.load_image(_tiff_with({}), name="scan.tif").image.size == (64, 32)
    with pytest.raises(images.ImageRejected, match=r"^not an image$"):
        images.load_image(b"%PDF-1.6\n", name="manual.pdf")


def test_prepare_data_rejects_them_by_name_instead_of_ignoring_them(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for index in range(4):
        photo_like(300, 280, seed=index).save(source / f"photo{index}.jpg", quality=92)
    (source / "drawing.svg").write_bytes(_SVG)
    (source / "no_extension").write_bytes(_SVG)
    (source / "notes.txt").write_text("a shopping list", encoding="utf-8")
    Image.fromarray(np.asarray(photo_like(300, 280, seed=9))).save(
        source / "phone.heic", quality=90
    )

    result = CliRunner().invoke(
        cli, ["prepare-data", str(source), "--out", str(tmp_path / "out"), "--json"]
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    outcome = {record["source"]: record for record in manifest["files"]}
    assert outcome["drawing.svg"]["reason"].startswith("SVG vector image: not supported")
    assert outcome["no_extension"]["reason"].startswith("SVG vector image")
    assert outcome["phone.heic"]["status"] == "ok"
    assert summary["kept"] == 5 and summary["ignored"] == 1  # notes.txt


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "home"
    monkeypatch.setenv("GAN_STYLE_HOME", str(root))
    bundle = root / "styles" / "toy"
    store.save_generator(bundle, perturbed_generator(num_filters=4, num_blocks=1, seed=3))
    store.write_style(bundle, {"name": "toy", "model": "cyclegan"})
    return root


def test_transfer_writes_a_heic_input_as_jpeg_by_default_and_says_so(home, tmp_path):
    source = tmp_path / "phone.heic"
    Image.fromarray(STORED).save(source, exif=rotated_exif(), quality=95)

    result = CliRunner().invoke(
        cli, ["transfer", str(source), "--style", "toy", "--strength", "0", "--out", str(tmp_path)]
    )

    assert result.exit_code == 0, result.output
    assert "1   HEIC inputs written as JPEG (--format heic writes HEIC)" in result.output
    with Image.open(tmp_path / "phone_toy.jpg") as output:
        assert output.format == "JPEG"
        assert output.getexif().get(0x010F) == "gan-style test phone"
        assert_upright(output)


def test_transfer_writes_heic_when_asked(home, tmp_path):
    source = tmp_path / "phone.heic"
    Image.fromarray(STORED).save(source, exif=rotated_exif(), quality=95)

    result = CliRunner().invoke(
        cli,
        [
            "transfer",
            str(source),
            "--style",
            "toy",
            "--format",
            "heic",
            "--out",
            str(tmp_path / "o"),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "as JPEG" not in result.output
    with Image.open(tmp_path / "o" / "phone_toy.heic") as output:
        assert output.format == "HEIF"
        assert output.getexif().get(0x0112) in (None, 1)
        assert output.size == (32, 64)


def test_transfer_refuses_an_svg_in_a_folder_by_name(home, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "drawing.svg").write_bytes(_SVG)

    result = CliRunner().invoke(cli, ["transfer", str(folder), "--style", "toy"])

    assert result.exit_code == 3
    assert "drawing.svg: failed (SVG vector image: not supported, export it as PNG)" in (
        result.output
    )


def test_evaluate_reads_heic_folders_and_names_what_it_skips(tmp_path):
    from gan_style.data.folders import list_images

    Image.fromarray(STORED).save(tmp_path / "phone.heic", quality=90)
    (tmp_path / "drawing.svg").write_bytes(_SVG)

    with pytest.warns(UserWarning, match="drawing.svg: SVG vector image: not supported"):
        found = list_images(tmp_path)

    assert [path.name for path in found] == ["phone.heic"]
