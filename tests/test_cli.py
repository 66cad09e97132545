"""The real commands, run through click's CliRunner and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from gan_style import __version__
from gan_style.cli import cli
from tests.conftest import photo_like, save_jpeg
from tests.conftest import run_cli as run


def prepare_args(source, output, *extra: str) -> list[str]:
    return [
        "prepare-data",
        str(source),
        "--out",
        str(output),
        "--size",
        "48",
        "--min-size",
        "32",
        *extra,
    ]


def make_folder(root, count=4):
    for index in range(count):
        save_jpeg(root / f"p{index}.jpg", photo_like(64, 48, seed=200 + index))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 nope")
    return root


def test_help_and_version_do_not_import_tensorflow():
    code = (
        "import sys; from gan_style.cli import cli\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert "prepare-data" in completed.stdout
    assert run("--version").output.strip() == f"gan-style, version {__version__}"


def test_prepare_data_prints_a_summary_table(tmp_path):
    source = make_folder(tmp_path / "src")
    result = run(*prepare_args(source, tmp_path / "out", "--workers", "1"))
    assert result.exit_code == 0, result.output
    assert "kept             4   train 4, held out 0" in result.output
    assert "truncated" in result.output or "corrupt" in result.output
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_prepare_data_json(tmp_path):
    source = make_folder(tmp_path / "src", count=10)
    result = run(*prepare_args(source, tmp_path / "out", "--workers", "1", "--json"))
    assert result.exit_code == 0
    summary = json.loads(result.output)
    assert (summary["kept"], summary["train"], summary["holdout"], summary["rejected"]) == (
        10,
        9,
        1,
        1,
    )
    assert summary["images_per_second"] > 0


def test_no_usable_image_is_one_line_and_non_zero(tmp_path):
    source = tmp_path / "empty"
    source.mkdir()
    (source / "x.png").write_bytes(b"")
    result = CliRunner().invoke(cli, ["prepare-data", str(source), "--out", str(tmp_path / "o")])
    assert result.exit_code == 3
    assert result.output.strip() == f"error: {source}: no usable image (1 empty file)"


def test_bad_option_values_are_one_line_errors(tmp_path):
    result = CliRunner().invoke(
        cli, ["prepare-data", str(tmp_path), "--out", str(tmp_path / "o"), "--holdout", "2"]
    )
    assert result.exit_code == 2
    assert result.output.strip() == "error: holdout must be in [0, 1), got 2.0"
    result = CliRunner().invoke(
        cli, ["prepare-data", str(tmp_path), "--out", str(tmp_path / "o"), "--background", "red"]
    )
    assert result.exit_code == 2 and "expected R,G,B" in result.output


def test_console_script_runs(tmp_path):
    source = make_folder(tmp_path / "src")
    completed = subprocess.run(
        # default --workers: the real parallel decoding path
        [sys.executable, "-m", "gan_style", *prepare_args(source, tmp_path / "out", "--json")],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["kept"] == 4
