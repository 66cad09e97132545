"""`gan-style transfer` and `gan_style.transfer.transfer`: sizes, colours, metadata, files, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms

from gan_style import store
from gan_style.batch import collect_inputs
from gan_style.cli import cli
from gan_style.config import OUTPUT_FORMATS, PRECISIONS, TransferConfig, defaults
from gan_style.errors import ConfigError, DataError, StyleError
from gan_style.stylizer import Stylizer, finish
from gan_style.transfer import transfer
from tests.conftest import TOY_STYLE, photo_like, psnr, save_jpeg
from tests.conftest import run_cli as run

STYLE = TOY_STYLE


@pytest.fixture(autouse=True)
def home(toy_home, monkeypatch) -> Path:
    """Every test here runs with the toy style's store as GAN_STYLE_HOME."""
    monkeypatch.setenv("GAN_STYLE_HOME", str(toy_home))
    return toy_home


def pixels_of(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def chroma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 Cb and Cr (JPEG's YCbCr) of an RGB array."""
    rgb = rgb.astype(np.float64)
    cb = -0.168736 * rgb[..., 0] - 0.331264 * rgb[..., 1] + 0.5 * rgb[..., 2]
    cr = 0.5 * rgb[..., 0] - 0.418688 * rgb[..., 1] - 0.081312 * rgb[..., 2]
    return np.stack([cb, cr], axis=-1)


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


# --- The Python API ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "width, height",
    [(1, 1), (3, 500), (500, 3), (37, 53), (53, 37), (64, 96), (96, 64)],
)
def test_any_size_comes_back_at_its_size(width, height):
    image = photo_like(width, height, seed=width * height)
    result = transfer(image, style=STYLE)

    assert result.size == (width, height)
    assert result.mode == "RGB"
    if width * height > 100:
        assert np.abs(pixels_of(result) - pixels_of(image)).mean() > 5  # the style was applied


def test_a_path_and_a_loaded_stylizer_give_the_same_result(tmp_path):
    path = save_jpeg(tmp_path / "photo.jpg", photo_like(80, 60, seed=1))
    stylizer = Stylizer.load(STYLE, precision="float32")

    assert np.array_equal(
        pixels_of(transfer(path, style=STYLE, precision="float32")),
        pixels_of(transfer(path, style=stylizer)),
    )
    assert stylizer.name == STYLE and stylizer.precision == "float32"


def test_tiles_do_not_change_the_result():
    image = photo_like(200, 136, seed=2)
    whole = transfer(image, style=STYLE, tile=0, precision="float32")
    calls = []

    def progress(steps):
        calls.append(len(steps))
        return steps

    tiled = transfer(image, style=STYLE, tile=64, precision="float32", progress=progress)

    assert calls and calls[0] > 10  # the tiled path ran, step by step
    assert psnr(pixels_of(tiled), pixels_of(whole)) >= 50


def test_strength_zero_returns_the_input_exactly_and_half_is_the_midpoint(tmp_path):
    image = photo_like(64, 48, seed=3)
    path = tmp_path / "photo.png"
    image.save(path)
    full = pixels_of(transfer(image, style=STYLE))

    assert np.array_equal(pixels_of(transfer(image, style=STYLE, strength=0)), pixels_of(image))
    assert np.array_equal(pixels_of(transfer(path, style=STYLE, strength=0)), pixels_of(image))
    half = pixels_of(transfer(image, style=STYLE, strength=0.5))
    assert np.abs(half - (full + pixels_of(image)) / 2).max() <= 1.0


def test_preserve_color_keeps_the_chroma_and_takes_the_styles_luma():
    # Mid-range colours, so that keeping the chroma never leaves the RGB cube.
    image = Image.fromarray((np.asarray(photo_like(96, 64, seed=4)) // 2 + 64).astype(np.uint8))
    source = pixels_of(image)
    styled = pixels_of(transfer(image, style=STYLE))
    kept = pixels_of(transfer(image, style=STYLE, preserve_color=True))

    assert np.percentile(np.abs(chroma(kept) - chroma(source)), 99) <= 1.0
    assert np.abs(chroma(styled) - chroma(source)).mean() > 3.0  # the style alone recolours
    assert np.abs(luma(kept) - luma(styled)).mean() < 1.5
    assert np.abs(luma(kept) - luma(source)).mean() > 5.0


def test_finish_blends_and_clips():
    pixels = np.array([[[0, 128, 255]]], np.uint8)
    styled = np.array([[[1.0, -1.0, 0.0]]], np.float32)  # 255, 0, 127.5

    assert finish(pixels, styled, 1.0, False).tolist() == [[[255, 0, 128]]]
    assert finish(pixels, styled, 0.5, False).tolist() == [[[128, 64, 191]]]


def test_grayscale_and_transparent_inputs():
    gray = photo_like(40, 30, seed=5).convert("L")
    rgba = photo_like(40, 30, seed=6).convert("RGBA")
    alpha = np.zeros((30, 40), np.uint8)
    alpha[:, 20:] = 255
    rgba.putalpha(Image.fromarray(alpha))

    from_gray = transfer(gray, style=STYLE)
    from_rgba = transfer(rgba, style=STYLE)

    assert (from_gray.mode, from_gray.size) == ("RGB", (40, 30))
    assert (from_rgba.mode, from_rgba.size) == ("RGBA", (40, 30))
    assert np.array_equal(np.asarray(from_rgba.getchannel("A")), alpha)


def test_max_size_shrinks_first():
    result = transfer(photo_like(300, 200, seed=7), style=STYLE, max_size=60)
    assert result.size == (60, 40)


def test_errors_are_one_line_gan_style_errors(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really")

    with pytest.raises(DataError, match=r"broken\.jpg: "):
        transfer(broken, style=STYLE)
    with pytest.raises(StyleError, match="no style 'nope'"):
        transfer(photo_like(8, 8, seed=0), style="nope", strength=0)
    with pytest.raises(ConfigError, match="strength"):
        transfer(photo_like(8, 8, seed=0), style=STYLE, strength=1.5)


def test_importing_the_api_does_not_import_tensorflow():
    code = (
        "import sys; from gan_style.transfer import transfer, TransferConfig\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'numpy', 'PIL') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def test_gan_style_transfer_is_the_module_and_calls_the_function():
    import gan_style
    import gan_style.transfer as imported
    from gan_style import transfer as from_package

    module = sys.modules["gan_style.transfer"]
    assert imported is module and from_package is module and gan_style.transfer is module
    image = photo_like(12, 8, seed=4)
    assert np.array_equal(
        pixels_of(from_package(image, style=STYLE)), pixels_of(transfer(image, style=STYLE))
    )


# --- Inputs, outputs and metadata -------------------------------------------------------------


def test_collect_inputs_walks_folders_and_globs(tmp_path):
    for name in ("a.jpg", "sub/b.png", "sub/deeper/c.jpeg", "notes.txt", "sub/.DS_Store"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")

    found, failures = collect_inputs(
        [str(tmp_path), str(tmp_path / "sub" / "*.png"), str(tmp_path / "missing.jpg")]
    )

    assert [relative.as_posix() for _, relative in found] == [
        "a.jpg",
        "sub/b.png",
        "sub/deeper/c.jpeg",
    ]
    assert failures == [(str(tmp_path / "missing.jpg"), "no such file or folder")]


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6" tiff:Make="cam"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


@pytest.mark.parametrize("extension", ["jpg", "png", "webp", "tif"])
def test_exif_rotated_input_comes_back_upright_with_its_metadata(tmp_path, extension):
    # Stored 64 wide × 32 high, displayed rotated 90° (EXIF orientation 6): 32 wide × 64 high.
    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:, :32] = (220, 30, 30)
    stored[:, 32:] = (30, 30, 220)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "gan-style test camera"
    exif.get_ifd(0x8769)[0xA002] = 64  # PixelXDimension, as stored
    source = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(source, quality=95, exif=exif, dpi=(300, 300), xmp=XMP)
    output_path = tmp_path / f"out.{extension}"

    result = run(
        "transfer", str(source), "--style", STYLE, "--strength", "0", "--out", str(output_path)
    )

    assert result.exit_code == 0, result.output
    with Image.open(output_path) as output:
        upright = np.asarray(output.convert("RGB"), np.int16)
        output_exif = output.getexif()
        info = dict(output.info)
    assert upright.shape == (64, 32, 3)
    # Orientation 6 turns the stored left (red) half into the displayed top.
    assert upright[:24, :, 0].mean() > 180 and upright[40:, :, 2].mean() > 180
    assert output_exif.get(0x0112) in (None, 1)
    assert output_exif.get(0x010F) == "gan-style test camera"
    assert output_exif.get_ifd(0x8769).get(0xA002) == 32  # the new width
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp") or output_exif.get(700)
    xmp = xmp.encode() if isinstance(xmp, str) else bytes(xmp)
    assert b'tiff:Make="cam"' in xmp and b"Orientation" not in xmp
    if extension != "webp":  # WebP has no resolution field
        assert round(info["dpi"][0]) == 300


def test_icc_profile_and_transparency_are_kept(tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = photo_like(48, 40, seed=8).convert("RGBA")
    alpha = np.full((40, 48), 255, np.uint8)
    alpha[:10] = 0
    image.putalpha(Image.fromarray(alpha))
    source = tmp_path / "logo.png"
    image.save(source, icc_profile=profile)

    result = run("transfer", str(source), "--style", STYLE, "--out", str(tmp_path / "out"))

    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / f"logo_{STYLE}.png") as output:
        assert output.mode == "RGBA"
        assert output.info.get("icc_profile") == profile
        assert np.array_equal(np.asarray(output.getchannel("A")), alpha)


# --- The command line -------------------------------------------------------------------------


def make_photos(root: Path) -> Path:
    save_jpeg(root / "a.jpg", photo_like(64, 48, seed=10))
    save_jpeg(root / "trip" / "b.jpg", photo_like(48, 64, seed=11))
    photo_like(40, 40, seed=12).save(root / "trip" / "c.png")
    return root


def test_one_input_to_one_file(tmp_path):
    source = save_jpeg(tmp_path / "beach.jpg", photo_like(70, 50, seed=13))

    result = run("transfer", str(source), "--style", STYLE, "--out", str(tmp_path / "x.png"))

    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "x.png") as output:
        assert (output.format, output.size) == ("PNG", (70, 50))
    assert "written        1" in result.output


def test_folders_mirror_sub_folders_skip_existing_and_overwrite(tmp_path):
    source = make_photos(tmp_path / "photos")
    output = tmp_path / "styled"
    args = ("transfer", str(source), "--style", STYLE, "--out", str(output))

    first = run(*args, "--json")
    expected = {
        output / f"a_{STYLE}.jpg",
        output / "trip" / f"b_{STYLE}.jpg",
        output / "trip" / f"c_{STYLE}.png",
    }
    assert first.exit_code == 0, first.output
    assert {Path(path) for path in json.loads(first.output)["outputs"]} == expected
    assert {path for path in output.rglob("*") if path.is_file()} == expected

    again = json.loads(run(*args, "--json").output)
    assert (again["written"], again["skipped"]) == (0, 3)

    (output / f"a_{STYLE}.jpg").write_bytes(b"old")
    replaced = json.loads(run(*args, "--json", "--overwrite", "--format", "webp").output)
    assert replaced["written"] == 3
    assert (output / f"a_{STYLE}.webp").is_file()


def test_a_glob_and_the_name_pattern(tmp_path):
    source = make_photos(tmp_path / "photos")
    output = tmp_path / "out"
    pattern = str(source / "**" / "*.jpg")

    result = run(
        "transfer",
        pattern,
        "--style",
        STYLE,
        "--out",
        str(output),
        "--name-pattern",
        "{style}-{stem}.{ext}",
    )

    assert result.exit_code == 0, result.output
    written = sorted(path.relative_to(output).as_posix() for path in output.rglob("*.jpg"))
    assert written == sorted([f"{STYLE}-a.jpg", f"trip/{STYLE}-b.jpg"])


def test_a_bad_input_is_reported_and_skipped_and_the_exit_code_says_so(tmp_path):
    source = make_photos(tmp_path / "photos")
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")

    result = CliRunner().invoke(
        cli, ["transfer", str(source), "--style", STYLE, "--out", str(tmp_path / "o")]
    )

    assert result.exit_code == DataError.exit_code
    assert f"{source / 'broken.jpg'}: failed (" in result.output
    assert "error: 1 of 4 inputs failed" in result.output
    assert "Traceback" not in result.output
    assert len(list((tmp_path / "o").rglob("*.*"))) == 3


def test_an_input_is_never_overwritten(tmp_path):
    source = save_jpeg(tmp_path / "photo.jpg", photo_like(40, 30, seed=14))
    before = source.read_bytes()

    result = CliRunner().invoke(
        cli,
        [
            "transfer",
            str(source),
            "--style",
            STYLE,
            "--name-pattern",
            "{stem}.{ext}",
            "--overwrite",
        ],
    )

    assert result.exit_code == DataError.exit_code
    assert "would overwrite an input" in result.output
    assert source.read_bytes() == before


def test_the_installed_command_in_a_fresh_process(tmp_path, home):
    """Nothing imported beforehand: loading a bundle must register gan-style's layers itself."""
    source = save_jpeg(tmp_path / "in" / "photo.jpg", photo_like(50, 40, seed=17))
    bundle = home / "styles" / STYLE
    command = [sys.executable, "-m", "gan_style", "transfer", str(source), "--style", str(bundle)]

    completed = subprocess.run(
        [*command, "--out", str(tmp_path / "out"), "--json"], capture_output=True, text=True
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["written"] == 1
    with Image.open(tmp_path / "out" / f"photo_{STYLE}.jpg") as output:
        assert output.size == (50, 40)


def test_beside_the_input_by_default(tmp_path):
    source = save_jpeg(tmp_path / "photo.jpg", photo_like(40, 30, seed=15))
    result = run("transfer", str(source), "--style", STYLE)
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"photo_{STYLE}.jpg").is_file()


@pytest.mark.parametrize(
    "problem, message",
    [
        ("missing", "no style 'absent'"),
        ("no generator", "generator.keras: missing"),
        ("bad generator", "cannot load the generator"),
        ("newer", "is newer than this gan-style"),
        ("dcgan", "transfer needs a photo → style model (cyclegan, cut, fastcut, reference)"),
    ],
)
def test_style_problems_are_one_line_errors(tmp_path, home, problem, message):
    source = save_jpeg(tmp_path / "photo.jpg", photo_like(40, 30, seed=16))
    bundle = tmp_path / "bundle"
    style = {"name": "broken", "model": "cyclegan", "config": {}}
    if problem != "missing":
        bundle.mkdir()
        if problem == "bad generator":
            (bundle / store.GENERATOR_FILE).write_bytes(b"not a zip file")
        elif problem in ("newer", "dcgan"):
            (bundle / store.GENERATOR_FILE).write_bytes(
                (home / "styles" / STYLE / store.GENERATOR_FILE).read_bytes()
            )
        if problem == "dcgan":
            style["model"] = "dcgan"
        store.write_style(bundle, style)
        if problem == "newer":
            description = json.loads((bundle / store.STYLE_JSON).read_text())
            description["format_version"] = store.STYLE_FORMAT_VERSION + 1
            (bundle / store.STYLE_JSON).write_text(json.dumps(description))
    name = "absent" if problem == "missing" else str(bundle)

    result = CliRunner().invoke(cli, ["transfer", str(source), "--style", name])

    assert result.exit_code == StyleError.exit_code, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: ") and message in lines[-1]
    assert "Traceback" not in result.output
    assert not (tmp_path / f"photo_{STYLE}.jpg").exists()


def test_option_problems_are_one_line_errors(tmp_path):
    make_photos(tmp_path / "photos")
    result = CliRunner().invoke(
        cli,
        ["transfer", str(tmp_path / "photos"), "--style", STYLE, "--out", str(tmp_path / "x.jpg")],
    )
    assert result.exit_code == ConfigError.exit_code
    assert "names one file but there are 3 inputs" in result.output


def test_the_command_mirrors_the_config():
    """The CLI's choices and defaults are the library's (click cannot import them lazily)."""
    command = cli.commands["transfer"]
    context = click.Context(command)
    options = {
        parameter.name: parameter
        for parameter in command.params
        if parameter.name not in ("inputs", "as_json")
    }
    config_defaults = defaults(TransferConfig)

    assert set(options) == set(config_defaults) | {"style"}
    for name, default in config_defaults.items():
        assert options[name].get_default(context) == default, name
    assert sorted(options["output_format"].type.choices) == sorted(OUTPUT_FORMATS)
    assert sorted(options["precision"].type.choices) == sorted(PRECISIONS)


def test_config_validation():
    with pytest.raises(ConfigError, match="name pattern"):
        TransferConfig(inputs=("a.jpg",), style=STYLE, name_pattern="{stem}_{colour}.{ext}")
    with pytest.raises(ConfigError, match="tile"):
        TransferConfig(inputs=("a.jpg",), style=STYLE, tile=8)
    config = TransferConfig(inputs=("a.jpg",), style=STYLE, tile=0, strength=0.25)
    assert TransferConfig.from_dict(config.to_dict()) == config
    assert TransferConfig(inputs=Path("a.jpg"), style=STYLE).inputs == ("a.jpg",)
