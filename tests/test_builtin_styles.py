"""Built-in styles: shipped bundles that resolve after the user's store, listed and usable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from gan_style import store
from gan_style.cli import cli
from gan_style.errors import StyleError
from tests.conftest import photo_like, save_jpeg

BUILTIN = "painted"


@pytest.fixture(scope="module")
def builtin_folder(tmp_path_factory) -> Path:
    """A built-in styles folder with one tiny translation style, trained on data gone since."""
    from tests.conftest import perturbed_generator

    folder = tmp_path_factory.mktemp("builtin")
    bundle = folder / BUILTIN
    store.save_generator(bundle, perturbed_generator(num_filters=4, num_blocks=1, seed=5))
    gone = folder / "elsewhere"  # the datasets of the machine that trained it
    store.write_style(
        bundle,
        {
            "name": BUILTIN,
            "model": "cyclegan",
            "config": {"num_filters": 4, "num_blocks": 1},
            "training": {"steps": 7},
            "data": {
                "style": {"dataset": str(gone / "paintings")},
                "content": {"dataset": str(gone / "photos")},
            },
        },
    )
    (folder / "README.md").write_text("not a style\n")
    return folder


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch, builtin_folder) -> Path:
    """An empty user store, and `builtin_folder` as the built-in styles."""
    monkeypatch.setenv("GAN_STYLE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(store, "BUILTIN_STYLES", builtin_folder)
    return tmp_path / "home"


def add_user_style(name: str, builtin_folder: Path) -> Path:
    """A user style called ``name``: a copy of the built-in's generator, 3 steps."""
    bundle = store.bundle_folder(name)
    bundle.mkdir(parents=True)
    shutil.copy(builtin_folder / BUILTIN / store.GENERATOR_FILE, bundle)
    store.write_style(bundle, {"name": name, "model": "cyclegan", "training": {"steps": 3}})
    return bundle


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


# --- Resolution -------------------------------------------------------------------------------


def test_a_builtin_resolves_by_name_and_is_listed_as_builtin(builtin_folder):
    assert store.resolve_style(BUILTIN) == builtin_folder / BUILTIN
    assert store.list_styles() == [
        {
            "name": BUILTIN,
            "model": "cyclegan",
            "path": str(builtin_folder / BUILTIN),
            "steps": 7,
            "created": None,
            "builtin": True,
            "shadowed": False,
        }
    ]


def test_a_user_style_shadows_a_builtin_and_a_path_beats_both(
    builtin_folder, tmp_path, monkeypatch
):
    user = add_user_style(BUILTIN, builtin_folder)

    assert store.resolve_style(BUILTIN) == user
    listed = [(entry["path"], entry["builtin"], entry["shadowed"]) for entry in store.list_styles()]
    assert listed == [(str(user), False, False), (str(builtin_folder / BUILTIN), True, True)]
    # A shadowed built-in stays reachable by its path.
    assert store.resolve_style(builtin_folder / BUILTIN) == builtin_folder / BUILTIN

    # A bundle at the relative path "painted" wins over both names.
    monkeypatch.chdir(tmp_path)
    shutil.copytree(user, tmp_path / BUILTIN)
    assert store.resolve_style(BUILTIN) == Path(BUILTIN)


def test_an_unknown_name_lists_the_user_and_builtin_styles(builtin_folder, home):
    with pytest.raises(StyleError) as empty_store:
        store.resolve_style("absent")
    assert str(empty_store.value) == (
        f"no style 'absent'; no styles in {home / 'styles'} yet; train one with "
        f"`gan-style train`; built-in styles: {BUILTIN}"
    )

    add_user_style("mine", builtin_folder)
    add_user_style("yours", builtin_folder)
    with pytest.raises(StyleError) as some:
        store.resolve_style("absent")
    message = str(some.value)
    assert message == (
        f"no style 'absent'; styles in {home / 'styles'}: mine, yours; built-in styles: {BUILTIN}"
    )
    assert "\n" not in message


@pytest.mark.parametrize("kind", ["missing", "empty but for a README"])
def test_no_builtin_styles_is_fine(kind, tmp_path, monkeypatch, builtin_folder):
    folder = tmp_path / "styles"
    if kind != "missing":
        folder.mkdir()
        shutil.copy(builtin_folder / "README.md", folder)
    monkeypatch.setattr(store, "BUILTIN_STYLES", folder)
    add_user_style("mine", builtin_folder)

    assert [(entry["name"], entry["builtin"]) for entry in store.list_styles()] == [("mine", False)]
    with pytest.raises(StyleError, match=r"built-in styles: none$"):
        store.resolve_style(BUILTIN)


def test_the_package_folder_is_the_default():
    folder = Path(store.__file__).resolve().parent / "styles"
    assert (folder / "README.md").is_file()
    assert store.builtin_styles_folder() is store.BUILTIN_STYLES  # read at call time


# --- The command line -------------------------------------------------------------------------


def test_styles_marks_builtin_and_shadowed_styles(builtin_folder, home):
    add_user_style("mine", builtin_folder)
    user = add_user_style(BUILTIN, builtin_folder)

    table = run("styles")
    assert table.exit_code == 0, table.output
    mine, shadowing, builtin = table.output.splitlines()
    assert mine.startswith("mine ") and "built-in" not in mine
    assert shadowing.startswith(BUILTIN) and "built-in" not in shadowing
    assert shadowing.endswith(str(user))
    assert builtin.startswith(BUILTIN) and "built-in, shadowed" in builtin
    assert builtin.endswith(str(builtin_folder / BUILTIN)) and "7 steps" in builtin

    listing = run("styles", "--json")
    assert listing.exit_code == 0, listing.output
    flags = [(e["name"], e["builtin"], e["shadowed"]) for e in json.loads(listing.output)]
    assert flags == [("mine", False, False), (BUILTIN, False, False), (BUILTIN, True, True)]


def test_styles_with_only_builtin_styles(builtin_folder):
    table = run("styles")
    assert table.exit_code == 0, table.output
    line = table.output.strip()
    assert line.split()[:-1] == [BUILTIN, "cyclegan", "7", "steps", "built-in"]
    assert line.endswith(str(builtin_folder / BUILTIN))


def test_transfer_with_a_builtin_style_name(tmp_path):
    source = save_jpeg(tmp_path / "beach.jpg", photo_like(56, 40, seed=21))

    result = run("transfer", str(source), "--style", BUILTIN, "--out", str(tmp_path / "x.png"))

    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "x.png") as output:
        assert (output.format, output.size) == ("PNG", (56, 40))


# --- Evaluation -------------------------------------------------------------------------------


def test_evaluating_a_builtin_whose_datasets_are_elsewhere_says_what_to_do(
    builtin_folder, tmp_path
):
    from gan_style.evaluate import evaluate_style

    with pytest.raises(StyleError) as error:
        evaluate_style(BUILTIN, progress=False)
    message = str(error.value)
    gone = builtin_folder / "elsewhere"
    assert message.startswith(f"style '{BUILTIN}': its training data {gone / 'paintings'} and ")
    assert str(gone / "photos") in message and "not on this machine" in message
    assert f"`gan-style transfer PHOTOS --style {BUILTIN} --out STYLED`" in message
    assert message.endswith("`gan-style evaluate STYLE_IMAGES STYLED`")
    assert "\n" not in message

    weights = tmp_path / "weights.npz"  # never read: the style fails first
    weights.write_bytes(b"")
    result = run("evaluate", "--style", BUILTIN, "--inception-weights", str(weights))
    assert result.exit_code == StyleError.exit_code
    assert result.output.strip() == f"error: {message}"
