"""Shared fixtures: small synthetic images and the optional ../shared folder."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


#: The same tiny networks as the trainer tests' `TINY`, as command-line options.
TINY_CLI = ("--image-size", "32", "--ngf", "4", "--blocks", "1", "--ndf", "4")
TINY_CLI += ("--discriminator", "patch")  # the default adds a projected one: tested on its own

TINY_NETWORKS = dict(
    image_size=32,
    num_filters=4,
    num_blocks=1,
    disc_filters=4,
    disc_layers=2,
    pool_size=4,
    discriminator="patch",
)
"""The smallest networks the trainers build (the config fields of TINY_CLI too): a PatchGAN
alone, so that only the tests of the projected discriminator pay for its EfficientNet."""


def styled(image: Image.Image) -> Image.Image:
    """The synthetic 'style': a strong warm cast and horizontal stripes."""
    array = np.asarray(image).astype(np.float32)
    array = array * [1.0, 0.55, 0.35] + [70, 10, 0]
    array[::4] *= 0.6
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def quiet(line: str) -> None:
    """An ``echo`` that prints nothing."""


def photo_like(width: int, height: int, seed: int) -> Image.Image:
    """A smooth random RGB image: distinct per seed, with structure a perceptual hash sees."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    image = Image.fromarray(coarse, "RGB").resize((width, height), Image.Resampling.BICUBIC)
    noise = rng.normal(0, 4, size=(height, width, 3))
    return Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8), "RGB")


def save_jpeg(path: Path, image: Image.Image, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="JPEG", quality=92, **options)
    return path


@pytest.fixture(autouse=True)
def no_builtin_styles(monkeypatch, tmp_path_factory) -> Path:
    """Hide the styles shipped in ``gan_style/styles`` so that tests see only their own.

    Tests of built-in styles point ``store.BUILTIN_STYLES`` at a folder of their own instead.
    """
    from gan_style import store

    folder = tmp_path_factory.getbasetemp() / "no-builtin-styles"  # never created
    monkeypatch.setattr(store, "BUILTIN_STYLES", folder)
    return folder


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repository; skips the test when it is absent."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"{data} is absent (a fresh clone has no ../shared)")
    return data


def synthetic_efficientnet(seed: int = 0, blocks: int | None = None) -> dict[str, np.ndarray]:
    """Random EfficientNet-Lite0 tensors with the real names and shapes (PyTorch layouts).

    A stand-in for the ImageNet weights (`gan_style.models.projected`), which tests need not
    download: ``blocks`` limits the MBConv blocks (None: all 16).
    """
    from gan_style.models import projected

    rng = np.random.default_rng(seed)

    def bn(prefix, channels):
        return {
            f"{prefix}.weight": rng.uniform(0.5, 1.5, channels).astype("f4"),
            f"{prefix}.bias": rng.normal(0, 0.1, channels).astype("f4"),
            f"{prefix}.running_mean": rng.normal(0, 0.1, channels).astype("f4"),
            f"{prefix}.running_var": rng.uniform(0.5, 1.5, channels).astype("f4"),
            f"{prefix}.num_batches_tracked": np.array(7, np.int64),
        }

    def conv(shape):
        fan_in = np.prod(shape[1:])
        return rng.normal(0, 1 / np.sqrt(fan_in), shape).astype("f4")

    arrays = {"_conv_stem.weight": conv((32, 3, 3, 3)), **bn("_bn0", 32)}
    for index, (kernel, _stride, expand, cin, cout) in enumerate(projected._blocks()[:blocks]):
        prefix, hidden = f"_blocks.{index}.", cin * expand
        if expand != 1:
            arrays[prefix + "_expand_conv.weight"] = conv((hidden, cin, 1, 1))
            arrays.update(bn(prefix + "_bn0", hidden))
        arrays[prefix + "_depthwise_conv.weight"] = conv((hidden, 1, kernel, kernel))
        arrays.update(bn(prefix + "_bn1", hidden))
        arrays[prefix + "_project_conv.weight"] = conv((cout, hidden, 1, 1))
        arrays.update(bn(prefix + "_bn2", cout))
    return arrays


def perturbed_generator(num_filters: int, num_blocks: int, seed: int = 0, antialias: bool = False):
    """A ResNet generator with random but far from trivial weights.

    He-scaled kernels and random norm scales and offsets give outputs that span tanh's range,
    so a normalisation that used the wrong statistics shows in every pixel.
    """
    from gan_style.models.generators import build_resnet_generator

    generator = build_resnet_generator(
        num_filters=num_filters, num_blocks=num_blocks, antialias=antialias
    )
    rng = np.random.default_rng(seed)
    for weight in generator.weights:
        shape = tuple(weight.shape)
        if weight.path.endswith("gamma"):
            weight.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif weight.path.endswith("beta"):
            weight.assign(rng.normal(0.0, 0.3, shape).astype("float32"))
        elif weight.path.endswith("kernel"):
            scale = np.sqrt(2.0 / np.prod(shape[:-1]))
            weight.assign(rng.normal(0.0, scale, shape).astype("float32"))
        elif weight.path.endswith("bias"):
            weight.assign(rng.normal(0.0, 0.1, shape).astype("float32"))
    return generator


def run_cli(*args: str):
    """``gan-style ARGS`` in click's test runner; an exception the CLI does not handle is raised."""
    from click.testing import CliRunner

    from gan_style.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


TOY_STYLE = "toy"


@pytest.fixture(scope="module")
def toy_home(tmp_path_factory) -> Path:
    """A module's style store holding the toy style (`toy_store`)."""
    return toy_store(tmp_path_factory.mktemp("home"))


def toy_store(root: Path) -> Path:
    """A style store at ``root`` with one small, non-trivial cyclegan style, ``TOY_STYLE``."""
    from gan_style import store

    bundle = root / "styles" / TOY_STYLE
    store.save_generator(bundle, perturbed_generator(num_filters=4, num_blocks=1, seed=3))
    store.write_style(
        bundle,
        {"name": TOY_STYLE, "model": "cyclegan", "config": {"num_filters": 4, "num_blocks": 1}},
    )
    return root


def psnr(first: np.ndarray, second: np.ndarray) -> float:
    error = np.mean((first.astype(np.float64) - second.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


@pytest.fixture(scope="module")
def random_weights():
    """He-initialised kernels and unit batch-norm statistics in the weights file's layout."""
    from gan_style.metrics.inception import build_inception_network

    rng = np.random.default_rng(0)
    weights = {}
    for layer in build_inception_network().layers:
        if layer.name.endswith(".conv2d"):
            unit = "net.layers." + layer.name[: -len(".conv2d")]
            height, width, inputs, outputs = layer.kernel.shape
            kernel = rng.normal(
                0, np.sqrt(2 / (height * width * inputs)), (outputs, inputs, height, width)
            )
            weights[unit + ".weight"] = kernel.astype(np.float32)
            weights[unit + ".beta"] = np.zeros(outputs, np.float32)
            weights[unit + ".mean"] = np.zeros(outputs, np.float32)
            weights[unit + ".var"] = np.ones(outputs, np.float32)
    return weights


def moving_pattern(width: int, height: int, index: int) -> np.ndarray:
    """Frame ``index`` of a smooth colour pattern panning 2 px a frame (uint8 RGB)."""
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    x = columns + 2 * index
    red = 128 + 100 * np.sin(x / 9.0)
    green = 128 + 100 * np.sin(rows / 7.0 + x / 23.0)
    blue = 128 + 90 * np.cos((x + rows) / 13.0)
    return np.clip(np.stack([red, green, blue], axis=-1), 0, 255).astype(np.uint8)


def make_clip(
    path: Path,
    *,
    frames: int = 24,
    width: int = 64,
    height: int = 48,
    fps: int = 24,
    audio: bool = True,
    rotation: int = 0,
    pixel_format: str = "yuv420p",
    times: list[float] | None = None,
    metadata: dict[str, str] | None = None,
    frame_source=moving_pattern,
    pixel_aspect: tuple[int, int] | None = None,
) -> Path:
    """Encodes a short H.264 clip of `moving_pattern` with PyAV, with a 440 Hz AAC tone.

    Args:
        times: Presentation times in seconds, one per frame (a variable frame rate); None:
            ``fps`` exactly.
        rotation: Display rotation in degrees (as a phone records portrait video).
        pixel_aspect: The sample aspect ratio (anamorphic video); None: square pixels.
        frame_source: ``(width, height, index) → frame``.
    """
    from fractions import Fraction

    import av

    times = [index / fps for index in range(frames)] if times is None else times
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=None if path.suffix else "mp4") as output:
        output.metadata.update(metadata or {})
        video = output.add_stream("libx264", rate=fps, options={"crf": "18"})
        video.width, video.height, video.pix_fmt = width, height, pixel_format
        video.codec_context.time_base = video.time_base = Fraction(1, 1000)
        if rotation:
            video.set_display_rotation(rotation)
        if pixel_aspect:
            video.codec_context.sample_aspect_ratio = Fraction(*pixel_aspect)
        sound = None
        if audio:
            sound = output.add_stream("aac", rate=16000)
            sound.layout = "mono"
        for index, seconds in enumerate(times):
            frame = av.VideoFrame.from_ndarray(frame_source(width, height, index), format="rgb24")
            frame.pts = round(seconds * 1000)
            output.mux(video.encode(frame.reformat(format=pixel_format)))
        output.mux(video.encode())
        if sound is not None:
            samples = round(16000 * (times[-1] + 1 / fps))
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 16000)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(
                    tone[None, start : start + 1024], format="fltp", layout="mono"
                )
                chunk.sample_rate, chunk.pts = 16000, start
                output.mux(sound.encode(chunk))
            output.mux(sound.encode())
    return path


def swapped_primaries_profile() -> bytes:
    """sRGB's ICC profile with the red and blue primaries exchanged: a valid RGB profile in
    which stored (255, 0, 0) means sRGB blue."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", profile[128:132])
    tags = {}
    for index in range(count):
        signature, offset, size = struct.unpack(
            ">4sII", profile[132 + 12 * index : 144 + 12 * index]
        )
        tags[signature] = (offset, size)
    (red_offset, size), (blue_offset, _) = tags[b"rXYZ"], tags[b"bXYZ"]
    red = profile[red_offset : red_offset + size]
    profile[red_offset : red_offset + size] = profile[blue_offset : blue_offset + size]
    profile[blue_offset : blue_offset + size] = red
    profile[84:100] = bytes(16)  # the profile ID (an MD5) no longer applies
    return bytes(profile)
