"""A style's generator for other programs: ONNX, TFLite or a TensorFlow SavedModel.

`export_style` writes the photo → style generator network itself, in float32, with a dynamic
batch, height and width (``(None, None, None, 3)``), then runs the written file on two check
images of different sizes and compares it with the Keras model; ONNX and SavedModel must agree
to `gan_style.config.EXPORT_TOLERANCE` (TFLite, whose kernels differ in the last bits, to
`TFLITE_TOLERANCE`), or nothing is kept. One kept library per format:

- ``saved_model``: Keras 3's own ``Model.export`` (``tf.saved_model.load(path).serve``).
- ``onnx``: ``tf2onnx`` (opset 17), checked with ``onnxruntime``; the model's metadata records
  the value range, the size multiple and the style's stroke size.
- ``tflite``: TensorFlow's ``TFLiteConverter`` (built-in ops only, so no TensorFlow runtime is
  needed on a phone), checked with its interpreter (`_static_channels_function` says why the
  up-samplings are written as TFLite's resize).

What a caller must do around the network (``gan-style transfer`` does all of it): RGB scaled to
[-1, 1]; height and width padded by reflection to multiples of 4 (and the output cropped
back); for a style with a ``stroke_size``, the photo shrunk to that shorter side first, as
training saw it (transfer then up-samples with the photo's own detail, which the export does
not include). Instance normalisation uses whole-image statistics, so an image must run in one
piece: tiles styled separately differ at their seams (transfer's exact tiling accumulates the
statistics over the tiles instead).

At import time this module needs only the standard library; TensorFlow loads on first use.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import secrets
import shutil
import warnings
from pathlib import Path
from typing import Any

from gan_style.config import EXPORT_TOLERANCE, TFLITE_TOLERANCE, ExportConfig
from gan_style.errors import ConfigError, DependencyError, StyleError

ONNX_OPSET = 17
"""The ONNX opset of exports (onnxruntime ≥ 1.12 runs it)."""

CHECK_SHAPES = ((1, 64, 96, 3), (1, 92, 68, 3))
"""The check images' shapes: two sizes, both orientations, to exercise the dynamic sizes."""

_NEEDS = {"onnx": ("tf2onnx", "onnxruntime"), "tflite": (), "saved_model": ()}


def export_style(config: ExportConfig) -> dict[str, Any]:
    """Export a style's generator and check the export against the Keras model.

    Returns:
        A summary: ``style``, ``format``, ``output``, ``bytes``, ``checks`` (per check image
        its ``shape`` and the ``max_abs_diff`` and ``mean_abs_diff`` from Keras'), the
        ``tolerance`` that was enforced (None for TFLite), ``stroke_size`` and ``usage``.

    Raises:
        StyleError: No such style, not a photo → style model, or an export that disagrees with
            the Keras model beyond the tolerance (nothing is kept).
        ConfigError: ``output`` exists (without ``force``) or is of the wrong kind.
        DependencyError: The format's library is not installed (``pip install
            "gan-style[export]"``).
    """
    from gan_style import store
    from gan_style.stylizer import bundle_stroke_size

    opened = store.open_style(config.style, "transfer")
    stroke_size = bundle_stroke_size(opened.description, opened.bundle)
    output = Path(config.output).expanduser()
    folder_format = config.export_format == "saved_model"
    if output.exists():
        if not config.force:
            raise ConfigError(f"{output}: exists; use --force to replace it")
        if output.is_dir() != folder_format:
            kind = "a file" if output.is_file() else "a folder"
            raise ConfigError(
                f"{output}: is {kind}; a {config.export_format} export is "
                f"{'a folder' if folder_format else 'one file'}"
            )
    missing = [name for name in _NEEDS[config.export_format] if not _installed(name)]
    if missing:
        raise DependencyError(
            f"{config.export_format} export needs {', '.join(missing)}: "
            'pip install "gan-style[export]"'
        )
    generator = store.load_generator(opened.bundle)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".tmp-{secrets.token_hex(4)}-{output.name}")
    metadata = {
        "gan_style_style": opened.name,
        "value_range": "[-1, 1]",
        "input_multiple": "4",
        "stroke_size": "" if stroke_size is None else str(stroke_size),
    }
    try:
        _WRITERS[config.export_format](generator, temporary, metadata)
        run = _RUNNERS[config.export_format](temporary)
        checks = compare_with_keras(generator, run)
        tolerance = TFLITE_TOLERANCE if config.export_format == "tflite" else EXPORT_TOLERANCE
        worst = max(check["max_abs_diff"] for check in checks)
        if not worst <= tolerance:  # NaN fails too
            raise StyleError(
                f"{output}: the {config.export_format} export differs from the Keras generator "
                f"by up to {worst:.2e} (> {tolerance:.0e}); not written"
            )
        _replace(temporary, output)
    finally:
        _remove(temporary)
    return {
        "style": opened.name,
        "bundle": str(opened.bundle),
        "format": config.export_format,
        "output": str(output),
        "bytes": _size(output),
        "checks": checks,
        "tolerance": tolerance,
        "stroke_size": stroke_size,
        "usage": _usage(stroke_size),
    }


def _usage(stroke_size: int | None) -> str:
    scale = (
        f"shrink the photo to a shorter side of {stroke_size} px (the style's stroke size), "
        if stroke_size
        else ""
    )
    return (
        f"to use it: {scale}scale RGB to [-1, 1] (x / 127.5 - 1), pad height and width by "
        "reflection to multiples of 4, run, crop, and map back with (y + 1) * 127.5"
    )


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def check_images() -> list:
    """The images exports are checked on: smooth random colours with fine noise, in [-1, 1]."""
    import numpy as np
    from PIL import Image

    images = []
    for index, (batch, height, width, channels) in enumerate(CHECK_SHAPES):
        rng = np.random.default_rng(index)
        coarse = rng.integers(0, 256, size=(5, 7, channels), dtype=np.uint8)
        smooth = np.asarray(
            Image.fromarray(coarse, "RGB").resize((width, height), Image.Resampling.BICUBIC),
            np.float32,
        )
        noisy = np.clip(smooth + rng.normal(0, 8, smooth.shape), 0, 255)
        images.append((noisy / 127.5 - 1.0).astype(np.float32).reshape(batch, height, width, 3))
    return images


def compare_with_keras(generator, run) -> list[dict[str, Any]]:
    """Run ``run`` (an export's inference) and the Keras generator on `check_images`."""
    import numpy as np

    checks = []
    for image in check_images():
        expected = np.asarray(generator(image, training=False), np.float32)
        actual = np.asarray(run(image), np.float32)
        if actual.shape != expected.shape:
            raise StyleError(
                f"the export gives shape {actual.shape} for an input of {image.shape}, "
                f"Keras {expected.shape}"
            )
        difference = np.abs(actual.astype(np.float64) - expected)
        checks.append(
            {
                "shape": list(image.shape),
                "max_abs_diff": float(difference.max()),
                "mean_abs_diff": float(difference.mean()),
            }
        )
    return checks


def _signature():
    import tensorflow as tf

    return tf.TensorSpec([None, None, None, 3], tf.float32, name="image")


def _serving_function(generator):
    import tensorflow as tf

    @tf.function(input_signature=[_signature()])
    def serve(image):
        return generator(image, training=False)

    return serve


# --- Writers: (generator, path, metadata) → the export at path ----------------------------------


def _write_saved_model(generator, path: Path, metadata: dict[str, str]) -> None:
    generator.export(
        str(path), format="tf_saved_model", input_signature=[_signature()], verbose=False
    )


def _write_onnx(generator, path: Path, metadata: dict[str, str]) -> None:
    import onnx
    import tf2onnx

    model, _ = tf2onnx.convert.from_function(
        _serving_function(generator), input_signature=[_signature()], opset=ONNX_OPSET
    )
    onnx.helper.set_model_props(model, metadata)
    onnx.save(model, str(path))


def _static_channels_function(generator):
    """The generator layer by layer, its nearest up-samplings as TFLite's own resize.

    Keras' nearest ×2 up-sampling repeats rows and columns through reshapes of the traced
    (dynamic) shape, so the converter no longer knows the channel count after it, and TFLite's
    depthwise convolution (the anti-aliasing blur) needs it. ``tf.image.resize`` with
    ``nearest`` keeps the channel count and computes the same values (output pixel ``i`` reads
    input pixel ``floor((i + 0.5) / 2) = floor(i / 2)``); the check against Keras confirms it.
    """
    import keras
    import tensorflow as tf

    @tf.function(input_signature=[_signature()])
    def serve(image):
        values = image
        for layer in generator.layers:
            if (
                isinstance(layer, keras.layers.UpSampling2D)
                and layer.interpolation == "nearest"
                and layer.data_format == "channels_last"
            ):
                shape = tf.shape(values)
                size = [shape[1] * layer.size[0], shape[2] * layer.size[1]]
                values = tf.image.resize(values, size, method="nearest")
            else:
                values = layer(values)
        return values

    return serve


def _write_tflite(generator, path: Path, metadata: dict[str, str]) -> None:
    import tensorflow as tf

    concrete = _static_channels_function(generator).get_concrete_function()
    # Without the model as `trackable_obj` the converter freezes the weights into constants;
    # with it, it keeps them as resource variables that the interpreter reads uninitialised.
    # It logs that this path is deprecated: it is the one that gives a working file.
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        path.write_bytes(converter.convert())
    finally:
        absl.setLevel(level)


_WRITERS = {"saved_model": _write_saved_model, "onnx": _write_onnx, "tflite": _write_tflite}


# --- Runners: path → a function from a (1, h, w, 3) float32 array to the output -----------------


def _run_saved_model(path: Path):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))  # kept: its variables live as long as it does
    return lambda image: loaded.serve(tf.constant(image)).numpy()


def _run_onnx(path: Path):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda image: session.run(None, {name: image})[0]


def _run_tflite(path: Path):
    import tensorflow as tf

    with warnings.catch_warnings():  # its move to the ai_edge_litert package: not the user's
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(model_path=str(path))
    source = interpreter.get_input_details()[0]["index"]

    def run(image):
        interpreter.resize_tensor_input(source, image.shape, strict=False)
        interpreter.allocate_tensors()
        interpreter.set_tensor(source, image)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    return run


_RUNNERS = {"saved_model": _run_saved_model, "onnx": _run_onnx, "tflite": _run_tflite}


# --- Files ------------------------------------------------------------------------------------


def _replace(temporary: Path, output: Path) -> None:
    """Move the checked export into place; an existing folder is removed only after."""
    if temporary.is_dir() and output.exists():
        aside = output.with_name(f".tmp-old-{secrets.token_hex(4)}-{output.name}")
        os.rename(output, aside)
        os.rename(temporary, output)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(temporary, output)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
