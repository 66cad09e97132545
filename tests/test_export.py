"""gan_style.export: ONNX, TFLite and SavedModel exports agree with the Keras generator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gan_style import store
from gan_style.cli import cli
from gan_style.config import EXPORT_TOLERANCE, TFLITE_TOLERANCE
from gan_style.errors import ConfigError
from tests.conftest import perturbed_generator

STYLE = "toy"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A store with one small anti-aliased style (reflection padding, blur, instance norms)."""
    root = tmp_path_factory.mktemp("home")
    bundle = root / "styles" / STYLE
    generator = perturbed_generator(num_filters=4, num_blocks=1, seed=3, antialias=True)
    store.save_generator(bundle, generator)
    store.write_style(bundle, {"name": STYLE, "model": "cut", "stroke_size": 64})
    return root


@pytest.fixture(autouse=True)
def style_home(home, monkeypatch) -> Path:
    monkeypatch.setenv("GAN_STYLE_HOME", str(home))
    return home


def export(output: Path, export_format: str, *extra: str) -> dict:
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "--style",
            STYLE,
            "--format",
            export_format,
            "-o",
            str(output),
            "--json",
            *extra,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def keras_output(image: np.ndarray) -> np.ndarray:
    generator = store.load_generator(store.bundle_folder(STYLE))
    return np.asarray(generator(image, training=False))


def test_onnx_runs_with_onnxruntime_and_equals_keras(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    output = tmp_path / "toy.onnx"

    summary = export(output, "onnx")

    assert summary["tolerance"] == EXPORT_TOLERANCE
    assert [check["shape"] for check in summary["checks"]] == [[1, 64, 96, 3], [1, 92, 68, 3]]
    assert all(check["max_abs_diff"] <= EXPORT_TOLERANCE for check in summary["checks"])
    session = onnxruntime.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["stroke_size"] == "64"
    # A size the export was not checked on: the height and width are dynamic.
    image = np.random.default_rng(1).uniform(-1, 1, (1, 44, 52, 3)).astype(np.float32)
    onnx_result = session.run(None, {session.get_inputs()[0].name: image})[0]
    np.testing.assert_allclose(onnx_result, keras_output(image), atol=EXPORT_TOLERANCE, rtol=0)


def test_saved_model_equals_keras(tmp_path):
    import tensorflow as tf

    output = tmp_path / "toy_saved_model"

    summary = export(output, "saved_model")

    assert all(check["max_abs_diff"] <= EXPORT_TOLERANCE for check in summary["checks"])
    image = np.random.default_rng(2).uniform(-1, 1, (2, 40, 28, 3)).astype(np.float32)
    loaded = tf.saved_model.load(str(output))
    served = loaded.serve(tf.constant(image)).numpy()
    np.testing.assert_allclose(served, keras_output(image), atol=EXPORT_TOLERANCE, rtol=0)


def test_tflite_runs_with_the_tflite_interpreter_and_is_close_to_keras(tmp_path):
    output = tmp_path / "toy.tflite"

    summary = export(output, "tflite")

    assert summary["tolerance"] == TFLITE_TOLERANCE
    assert all(check["max_abs_diff"] <= TFLITE_TOLERANCE for check in summary["checks"])
    assert output.stat().st_size == summary["bytes"] > 0


def test_an_existing_output_needs_force_and_nothing_is_left_behind(tmp_path):
    output = tmp_path / "toy.tflite"
    output.write_bytes(b"old")
    from gan_style.config import ExportConfig
    from gan_style.export import export_style

    with pytest.raises(ConfigError, match="exists; use --force"):
        export_style(ExportConfig(style=STYLE, export_format="tflite", output=str(output)))
    assert output.read_bytes() == b"old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["toy.tflite"]


def test_a_dcgan_style_is_refused(tmp_path, home):
    store.write_style(home / "styles" / "noise", {"name": "noise", "model": "dcgan"})
    result = CliRunner().invoke(
        cli, ["export", "--style", "noise", "--format", "onnx", "-o", str(tmp_path / "n.onnx")]
    )
    assert result.exit_code == 4 and "gan-style generate" in result.output
    assert not (tmp_path / "n.onnx").exists()


def test_importing_the_export_module_does_not_import_tensorflow():
    code = "import sys, gan_style.export, gan_style.package; print('tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def readme_snippet() -> str:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = readme.split("```python\n")
    return next(b.split("```")[0] for b in blocks if "onnxruntime.InferenceSession" in b)


def test_the_readme_snippet_styles_a_photo_with_onnxruntime_alone(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from PIL import Image

    from tests.conftest import photo_like

    model = tmp_path / "toy.onnx"
    export(model, "onnx")
    photo_like(100, 81, seed=4).save(tmp_path / "beach.jpg", quality=95)
    code = readme_snippet()
    assert len(code.strip().splitlines()) <= 13
    code = code.replace('"monet.onnx"', repr(str(model))).replace(
        '"beach.jpg"', repr(str(tmp_path / "beach.jpg"))
    )
    code = code.replace('"beach_monet.jpg"', repr(str(tmp_path / "styled.png")))
    blocker = "import sys; sys.modules['tensorflow'] = None; sys.modules['gan_style'] = None\n"

    subprocess.run([sys.executable, "-c", blocker + code], check=True, cwd=tmp_path)

    with Image.open(tmp_path / "styled.png") as styled:
        assert styled.size == (79, 64)  # shrunk to the style's stroke size, 64
        result = np.asarray(styled.convert("RGB"), np.float32)
    # The same pixels as the Keras generator on the same input (8-bit rounding apart).
    with Image.open(tmp_path / "beach.jpg") as photo:
        small = photo.convert("RGB").resize((79, 64), Image.Resampling.LANCZOS)
    image = np.asarray(small, np.float32)[None] / 127.5 - 1
    padded = np.pad(image, ((0, 0), (0, 0), (0, 1), (0, 0)), mode="reflect")
    expected = (keras_output(padded)[0, :, :79] + 1) * 127.5
    assert np.abs(result - expected).max() <= 1.0


def test_the_command_mirrors_its_config():
    import click

    from gan_style.config import EXPORT_FORMATS, ExportConfig, defaults

    command = cli.commands["export"]
    context = click.Context(command)
    options = {p.name: p for p in command.params if p.name != "as_json"}
    assert set(options) == {"style", "export_format", "output", *defaults(ExportConfig)}
    assert tuple(options["export_format"].type.choices) == EXPORT_FORMATS
    for name, default in defaults(ExportConfig).items():
        assert options[name].get_default(context) == default, name
