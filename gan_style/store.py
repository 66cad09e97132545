"""The style store: named, shareable style bundles on disk.

A style bundle is a folder::

    styles/<name>/
        style.json        what the bundle is: name, model, full config, data summary, metrics,
                          versions (written last: a folder without it is not a finished style)
        generator.keras   the generator that transfer (or generate) needs, nothing else
        samples.png       a grid of held-out inputs and outputs
        run/              checkpoints and logs of the training run that made it

The store lives in ``$GAN_STYLE_HOME`` (default: the platform's user data folder + ``gan-style``,
e.g. ``~/.local/share/gan-style``). ``--style`` takes a name in the store or the path of a
bundle. Loading never executes code from a bundle: generators load with ``safe_mode=True`` and
only gan-style's registered layers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gan_style.atomic import atomic_path, write_json_atomic
from gan_style.errors import StyleError

STYLE_FORMAT = "gan-style-style"
STYLE_FORMAT_VERSION = 1
STYLE_JSON = "style.json"
GENERATOR_FILE = "generator.keras"
SAMPLES_FILE = "samples.png"
RUN_FOLDER = "run"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def home() -> Path:
    """The gan-style data folder: ``$GAN_STYLE_HOME`` or the platform's user data folder."""
    override = os.environ.get("GAN_STYLE_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("gan-style", appauthor=False))


def styles_folder() -> Path:
    """Where named styles live."""
    return home() / "styles"


def check_name(name: str) -> str:
    """Validate a style name (letters, digits, ``._-``, at most 64 characters)."""
    if not _NAME_PATTERN.match(name or ""):
        raise StyleError(
            f"invalid style name {name!r}: use letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit, at most 64 characters)"
        )
    return name


def bundle_folder(name: str) -> Path:
    """The folder of the style called ``name`` in the store (it need not exist)."""
    return styles_folder() / check_name(name)


def is_bundle(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a finished style bundle."""
    return (Path(folder) / STYLE_JSON).is_file()


def resolve_style(style: str | os.PathLike) -> Path:
    """The bundle folder that ``--style`` means: a path to a bundle, or a name in the store.

    Raises:
        StyleError: there is no such style; the message lists the styles that exist.
    """
    path = Path(style).expanduser()
    if is_bundle(path):
        return path
    text = os.fspath(style)
    if _NAME_PATTERN.match(text) and is_bundle(styles_folder() / text):
        return styles_folder() / text
    names = [entry["name"] for entry in list_styles()]
    known = (
        f"styles in {styles_folder()}: {', '.join(names)}"
        if names
        else (f"no styles in {styles_folder()} yet; train one with `gan-style train`")
    )
    if path.is_dir():
        raise StyleError(f"{path}: not a style bundle (no {STYLE_JSON}); {known}")
    raise StyleError(f"no style {text!r}; {known}")


def read_style(bundle: str | os.PathLike) -> dict[str, Any]:
    """Load and check a bundle's ``style.json``.

    Raises:
        StyleError: the file is missing, unreadable, not a style, or of a newer format.
    """
    from gan_style.documents import read_document

    return read_document(
        bundle,
        STYLE_JSON,
        document_format=STYLE_FORMAT,
        max_version=STYLE_FORMAT_VERSION,
        error=StyleError,
        missing="a style bundle",
        description="gan-style style description",
    )


def load_generator(bundle: str | os.PathLike):
    """Load a bundle's generator safely (no code from the bundle runs).

    Raises:
        StyleError: the generator file is missing or cannot be loaded.
    """
    import keras

    # Registers gan-style's serialisable layers; `gan_style.models` alone does not import them.
    import gan_style.models.layers  # noqa: F401

    path = Path(bundle) / GENERATOR_FILE
    if not path.is_file():
        raise StyleError(f"{path}: missing; the bundle is incomplete (train it again)")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file; all mean the same here
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise StyleError(f"{path}: cannot load the generator ({first_line[:160]})") from error


def save_generator(bundle: str | os.PathLike, generator) -> Path:
    """Save ``generator`` into the bundle atomically; returns the file's path."""
    path = Path(bundle) / GENERATOR_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:  # the temporary name keeps the .keras suffix
        generator.save(temporary)
    return path


def write_style(bundle: str | os.PathLike, style: dict[str, Any]) -> Path:
    """Write ``style.json`` (atomically, with the format fields); this finishes a bundle."""
    path = Path(bundle) / STYLE_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        path, {"format": STYLE_FORMAT, "format_version": STYLE_FORMAT_VERSION, **style}
    )
    return path


def list_styles() -> list[dict[str, Any]]:
    """Every finished style in the store, sorted by name, with a few facts each."""
    folder = styles_folder()
    if not folder.is_dir():
        return []
    styles = []
    for bundle in sorted(folder.iterdir()):
        if not is_bundle(bundle):
            continue
        try:
            style = read_style(bundle)
        except StyleError:
            continue
        styles.append(
            {
                "name": style.get("name", bundle.name),
                "model": style.get("model"),
                "path": str(bundle),
                "steps": style.get("training", {}).get("steps"),
                "created": style.get("created"),
            }
        )
    return styles
