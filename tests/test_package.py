"""gan_style.package: `styles export`, `styles import` and ``--style FILE.gsp``, and refusals."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gan_style import package, store
from gan_style.cli import cli
from gan_style.errors import StyleError
from tests.conftest import perturbed_generator, photo_like

STYLE = "toy"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A store with one small, non-trivial style ``toy`` whose training folder has credits."""
    root = tmp_path / "home"
    monkeypatch.setenv("GAN_STYLE_HOME", str(root))
    paintings = tmp_path / "paintings"
    paintings.mkdir()
    (paintings / "SOURCES.tsv").write_text("file\tlicence\na.jpg\tCC0-1.0\n", encoding="utf-8")
    bundle = store.bundle_folder(STYLE)
    store.save_generator(bundle, perturbed_generator(num_filters=4, num_blocks=1, seed=3))
    (bundle / store.SAMPLES_FILE).write_bytes(b"\x89PNG not really")
    checkpoint = bundle / "run" / "checkpoints" / "step-00000010"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer.json").write_text('{"step": 10}', encoding="utf-8")
    (checkpoint / "state.index").write_bytes(b"index")
    store.write_style(
        bundle,
        {
            "name": STYLE,
            "model": "cyclegan",
            "data": {"style": {"source": str(paintings), "train_images": 4}},
        },
    )
    return root


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def export(tmp_path: Path, *extra: str) -> Path:
    output = tmp_path / "toy.gsp"
    result = run("styles", "export", STYLE, "-o", str(output), *extra)
    assert result.exit_code == 0, result.output
    return output


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def repack(path: Path, out: Path, files: dict[str, bytes], *, fix_manifest: bool = True) -> Path:
    """A package holding ``files``, with a manifest whose sha256s match them when asked."""
    files = dict(files)
    if fix_manifest:
        manifest = json.loads(files[package.MANIFEST_FILE])
        manifest["files"] = {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in files.items()
            if name != package.MANIFEST_FILE
        }
        files[package.MANIFEST_FILE] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out


def store_listing(home: Path) -> list[str]:
    return sorted(path.name for path in (home / "styles").iterdir())


def styled_pixels(style: str) -> np.ndarray:
    from gan_style.transfer import transfer

    image = photo_like(40, 28, seed=5)
    return np.asarray(transfer(image, style=style, stroke_size="full"))


def test_export_writes_one_file_with_a_manifest_of_sha256s(home, tmp_path):
    output = export(tmp_path)

    files = entries(output)
    assert set(files) == {
        "manifest.json",
        "style.json",
        "generator.keras",
        "samples.png",
        "ATTRIBUTION.md",
    }
    manifest = json.loads(files["manifest.json"])
    assert manifest["format"] == package.PACKAGE_FORMAT and manifest["name"] == STYLE
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest(), name
    attribution = files["ATTRIBUTION.md"].decode()
    assert "a.jpg\tCC0-1.0" in attribution and "4 train" in attribution


def test_checkpoints_only_with_the_option(home, tmp_path):
    output = export(tmp_path, "--with-checkpoints", "--force")
    assert {
        "run/checkpoints/step-00000010/trainer.json",
        "run/checkpoints/step-00000010/state.index",
    } <= set(entries(output))


def test_round_trip_gives_identical_transfers(home, tmp_path):
    output = export(tmp_path)
    before = styled_pixels(STYLE)

    result = run("styles", "import", str(output), "--name", "travelled")

    assert result.exit_code == 0, result.output
    assert "installed style travelled" in result.output
    assert store.read_style(store.bundle_folder("travelled"))["name"] == "travelled"
    np.testing.assert_array_equal(styled_pixels("travelled"), before)
    np.testing.assert_array_equal(styled_pixels(str(output)), before)  # --style FILE.gsp


def test_transfer_takes_a_package_as_style(home, tmp_path):
    output = export(tmp_path)
    photo = tmp_path / "photo.png"
    photo_like(36, 24, seed=2).save(photo)

    result = run("transfer", str(photo), "--style", str(output), "--out", str(tmp_path / "o.png"))

    assert result.exit_code == 0, result.output
    assert (tmp_path / "o.png").is_file()
    assert store_listing(home) == [STYLE]  # the store is unchanged: the package is cached


def test_an_existing_style_is_kept_unless_force(home, tmp_path):
    output = export(tmp_path)
    generator = store.bundle_folder(STYLE) / store.GENERATOR_FILE
    marker = generator.stat().st_mtime_ns

    refused = run("styles", "import", str(output))

    assert refused.exit_code == StyleError.exit_code
    assert "already in the store" in refused.output and "--force" in refused.output
    assert generator.stat().st_mtime_ns == marker
    assert store_listing(home) == [STYLE]
    replaced = run("styles", "import", str(output), "--force")
    assert replaced.exit_code == 0, replaced.output
    assert "replaced style toy" in replaced.output
    assert store_listing(home) == [STYLE]


def lambda_generator(folder: Path) -> bytes:
    """A generator.keras holding a Lambda layer: code that safe_mode must refuse to load."""
    import keras

    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Lambda(lambda x: x * 2)])
    path = folder / "lambda.keras"
    model.save(path)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("dotdot", "unsafe entry name '../evil.txt'"),
        ("absolute", "unsafe entry name '/etc/evil'"),
        ("unknown", "unexpected entry 'payload.py'"),
        ("sha256", "entry 'generator.keras': sha256 does not match the manifest"),
        ("lambda", "generator.keras: refused: it holds code (a Lambda layer"),
        ("oversized", "entry 'style.json' is 5,242,880 bytes, over its limit of 4,194,304"),
        ("truncated", "not a gan-style package: not a zip file, or truncated"),
        ("newer", "newer than this gan-style"),
        ("unlisted", "the entries do not match manifest.json"),
    ],
)
def test_tampered_packages_are_refused_with_their_reason(home, tmp_path, tamper, reason):
    good = export(tmp_path)
    files = entries(good)
    bad = tmp_path / "bad.gsp"
    if tamper == "dotdot":
        repack(good, bad, {**files, "../evil.txt": b"x"})
    elif tamper == "absolute":
        repack(good, bad, {**files, "/etc/evil": b"x"})
    elif tamper == "unknown":
        repack(good, bad, {**files, "payload.py": b"import os"})
    elif tamper == "sha256":
        generator = bytearray(files["generator.keras"])
        generator[len(generator) // 2] ^= 0xFF
        repack(good, bad, {**files, "generator.keras": bytes(generator)}, fix_manifest=False)
    elif tamper == "lambda":
        repack(good, bad, {**files, "generator.keras": lambda_generator(tmp_path)})
    elif tamper == "oversized":  # 5 MiB of blanks: a few kilobytes compressed, a zip bomb
        repack(good, bad, {**files, "style.json": files["style.json"].ljust(5 * 2**20)})
    elif tamper == "truncated":
        data = good.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif tamper == "newer":
        style = json.loads(files["style.json"])
        style["format_version"] = store.STYLE_FORMAT_VERSION + 1
        repack(good, bad, {**files, "style.json": json.dumps(style).encode()})
    elif tamper == "unlisted":
        manifest = json.loads(files["manifest.json"])
        del manifest["files"]["samples.png"]
        repack(
            good, bad, {**files, "manifest.json": json.dumps(manifest).encode()}, fix_manifest=False
        )

    result = run("styles", "import", str(bad), "--name", "intruder")

    assert result.exit_code == StyleError.exit_code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: "), result.output
    assert reason in lines[0]
    assert store_listing(home) == [STYLE]  # nothing installed, no temporary folder left
    transfer = run("transfer", str(tmp_path / "x.png"), "--style", str(bad))
    assert transfer.exit_code == StyleError.exit_code and reason in transfer.output
    assert not (home / "cache" / "packages").exists()


def test_exporting_over_a_file_needs_force(home, tmp_path):
    output = export(tmp_path)
    result = run("styles", "export", STYLE, "-o", str(output))
    assert result.exit_code != 0 and "exists; use --force" in result.output


def test_the_commands_mirror_their_configs():
    import click

    from gan_style.config import PackageExportConfig, PackageImportConfig, defaults

    group = cli.commands["styles"]
    for command, config, positional in (
        (group.commands["export"], PackageExportConfig, "style"),
        (group.commands["import"], PackageImportConfig, "package"),
    ):
        context = click.Context(command)
        options = {p.name: p for p in command.params if p.name not in ("as_json", positional)}
        assert set(options) == set(defaults(config)), command.name
        for name, default in defaults(config).items():
            assert options[name].get_default(context) == default, (command.name, name)


@pytest.mark.parametrize("command", ["transfer", "evaluate"])
def test_every_command_that_takes_a_style_takes_a_package(home, tmp_path, command):
    output = export(tmp_path)

    opened = store.open_style(str(output), command)

    assert opened.name == STYLE and opened.bundle.parent.parent.name == "packages"
    assert (opened.bundle / store.GENERATOR_FILE).read_bytes() == entries(output)["generator.keras"]


def test_a_refusal_into_a_fresh_store_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STYLE_HOME", str(tmp_path / "fresh"))
    (tmp_path / "junk.gsp").write_bytes(b"not a zip")

    result = run("styles", "import", str(tmp_path / "junk.gsp"))

    assert result.exit_code == StyleError.exit_code
    assert "not a zip file, or truncated" in result.output
    assert not (tmp_path / "fresh" / "styles").exists()
