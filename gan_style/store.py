"""The style store: named, shareable style bundles on disk.

A style bundle is a folder::

    styles/<name>/
        style.json        what the bundle is: name, model, full config, data summary, metrics,
                          versions (written last: a folder without it is not a finished style)
        generator.keras   the generator that transfer (or generate) needs, nothing else
        style_encoder.keras, style_codes.json
                          a reference style's encoder and its collection's codes (only
                          ``"model": "reference"``, see `gan_style.reference`)
        samples.png       a grid of held-out inputs and outputs
        run/              checkpoints and logs of the training run that made it

The store lives in ``$GAN_STYLE_HOME`` (default: the platform's user data folder + ``gan-style``,
e.g. ``~/.local/share/gan-style``). Built-in styles ship inside the package, in
``gan_style/styles/<name>/`` (the same layout, without ``run/``); that folder may be empty or
absent. ``--style`` takes the path of a bundle, else a name in the store, else the name of a
built-in style: a style of the user's with a built-in's name shadows the built-in (which
`list_styles` still lists, marked ``shadowed``); a ``.gsp`` file (`gan_style.package`) works
as a bundle's path. Loading never executes code from a bundle:
generators load with ``safe_mode=True`` and only gan-style's registered layers.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from gan_style.atomic import atomic_path, write_json_atomic
from gan_style.config import TRANSLATION_MODELS
from gan_style.errors import StyleError

STYLE_FORMAT = "gan-style-style"
STYLE_FORMAT_VERSION = 1
STYLE_JSON = "style.json"
GENERATOR_FILE = "generator.keras"
#: A reference style's encoder (image → style code) and its collection's codes.
STYLE_ENCODER_FILE = "style_encoder.keras"
STYLE_CODES_FILE = "style_codes.json"
SAMPLES_FILE = "samples.png"
RUN_FOLDER = "run"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: The styles shipped with gan-style. Read it through `builtin_styles_folder` (tests replace it).
BUILTIN_STYLES = Path(__file__).resolve().parent / "styles"


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


def builtin_styles_folder() -> Path:
    """Where the built-in styles live (inside the package; it may be empty or absent)."""
    return BUILTIN_STYLES


def check_name(name: str) -> str:
    """Validate a style name (letters, digits, ``._-``, at most 64 characters)."""
    if not _NAME_PATTERN.match(name or ""):
        raise StyleError(
            f"invalid style name {name!r}: use letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit, at most 64 characters)"
        )
    return name


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid style name (see `check_name`)."""
    return isinstance(name, str) and bool(_NAME_PATTERN.match(name))


def bundle_folder(name: str) -> Path:
    """The folder of the style called ``name`` in the store (it need not exist)."""
    return styles_folder() / check_name(name)


def is_bundle(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a finished style bundle."""
    return (Path(folder) / STYLE_JSON).is_file()


def is_complete(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a bundle whose training finished.

    Every checkpoint of a run refreshes its bundle with ``"complete": false``, so an interrupted
    run leaves a usable, partial style; bundles from before that field are complete.
    """
    if not is_bundle(folder):
        return False
    try:
        return read_style(folder).get("complete", True) is not False
    except StyleError:
        return False


def partial_note(description: dict[str, Any], bundle: Path) -> str | None:
    """One line saying that a bundle is partial (its training stopped early), else None."""
    if description.get("complete", True) is not False:
        return None
    name = style_name(description, bundle)
    step = description.get("training", {}).get("steps", "?")
    return (
        f"note: style {name!r} is partial: its training stopped at step {step}; run the same "
        "`gan-style train` command to finish it"
    )


def resolve_style(style: str | os.PathLike) -> Path:
    """The bundle folder that ``--style`` means.

    In order: a path to a bundle, a ``.gsp`` style package (checked and unpacked into a cache,
    `gan_style.package.unpacked_style`), a name in the user's store, the name of a built-in
    style (so a user's style shadows a built-in of the same name).

    Raises:
        StyleError: there is no such style; the message lists the user's and built-in styles.
    """
    path = Path(style).expanduser()
    if is_bundle(path):
        return path
    from gan_style.package import is_package, unpacked_style

    if is_package(path):
        return unpacked_style(path)
    text = os.fspath(style)
    if _NAME_PATTERN.match(text):
        for folder in (styles_folder(), builtin_styles_folder()):
            if is_bundle(folder / text):
                return folder / text
    styles = list_styles()
    user = [entry["name"] for entry in styles if not entry["builtin"]]
    builtin = [entry["name"] for entry in styles if entry["builtin"]]
    known = (
        f"styles in {styles_folder()}: {', '.join(user)}"
        if user
        else f"no styles in {styles_folder()} yet; train one with `gan-style train`"
    )
    known += f"; built-in styles: {', '.join(builtin) if builtin else 'none'}"
    if path.is_dir():
        raise StyleError(f"{path}: not a style bundle (no {STYLE_JSON}); {known}")
    raise StyleError(f"no style {text!r}; {known}")


@dataclasses.dataclass(frozen=True)
class OpenedStyle:
    """A style found and checked for a command (`open_style`).

    Attributes:
        bundle: The bundle folder.
        description: Its ``style.json``.
        name: The style's name (the folder's name where ``style.json`` has none).
        model: Its model (``cyclegan`` for bundles older than the field).
    """

    bundle: Path
    description: dict[str, Any]
    name: str
    model: str


#: What each command can run: (the models it takes, the hint for a style of another model).
_COMMAND_MODELS = {
    "transfer": (
        TRANSLATION_MODELS,
        "which makes new images from noise: use `gan-style generate --style {name}`; transfer "
        f"needs a photo → style model ({', '.join(TRANSLATION_MODELS)})",
    ),
    "generate": (
        ("dcgan",),
        "which translates photos: use `gan-style transfer PHOTO... --style {name}`; generate "
        "needs a 'dcgan' style (`gan-style train STYLE --model dcgan`)",
    ),
    "evaluate": ((*TRANSLATION_MODELS, "dcgan"), "which evaluate --style does not know"),
}


def style_name(description: dict[str, Any], bundle: Path) -> str:
    """The name of the style in ``bundle`` (the folder's name where ``style.json`` has none)."""
    name = description.get("name")
    return name if isinstance(name, str) and name else Path(bundle).name


def open_style(style: str | os.PathLike, command: str) -> OpenedStyle:
    """Finds ``--style`` (`resolve_style`), reads it and checks that ``command`` can use it.

    Args:
        style: A bundle's path, a style name in the store, or a built-in style's name.
        command: ``transfer``, ``generate`` or ``evaluate``.

    Raises:
        StyleError: No such style, an unreadable ``style.json``, or a model the command cannot
            run (the message names the command that fits it).
    """
    models, hint = _COMMAND_MODELS[command]
    bundle = resolve_style(style)
    description = read_style(bundle)
    name = style_name(description, bundle)
    model = description.get("model", "cyclegan")
    if model not in models:
        raise StyleError(
            f"{bundle}: style {name!r} is a {model!r} model, " + hint.format(name=name)
        )
    return OpenedStyle(bundle, description, name, model)


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
    import gan_style.models.conditional
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
    """Every finished style, the user's and the built-in ones, sorted by name.

    Each entry holds ``name`` (the folder's name: what ``--style`` takes), ``model``, ``path``,
    ``steps``, ``created``, ``builtin`` and ``shadowed``. A built-in style whose name is also a
    user style's is listed with ``shadowed: True``: ``--style NAME`` means the user's, and the
    built-in stays reachable by its path. A user style comes before a built-in of the same name.
    """
    user = _bundles(styles_folder(), builtin=False)
    user_names = {entry["name"] for entry in user}
    builtin = _bundles(builtin_styles_folder(), builtin=True)
    for entry in builtin:
        entry["shadowed"] = entry["name"] in user_names
    return sorted(user + builtin, key=lambda entry: (entry["name"], entry["builtin"]))


def _bundles(folder: Path, *, builtin: bool) -> list[dict[str, Any]]:
    """The finished, readable bundles directly in ``folder`` (none if it does not exist)."""
    if not folder.is_dir():
        return []
    styles = []
    for bundle in sorted(folder.iterdir()):
        if not _NAME_PATTERN.match(bundle.name) or not is_bundle(bundle):
            continue
        try:
            style = read_style(bundle)
        except StyleError:
            continue
        styles.append(
            {
                "name": bundle.name,
                "model": style.get("model"),
                "path": str(bundle),
                "steps": style.get("training", {}).get("steps"),
                "created": style.get("created"),
                "builtin": builtin,
                "shadowed": False,
            }
        )
    return styles


# --- Reference styles: the style encoder and the collection's codes ---------------------------


def save_style_encoder(bundle: str | os.PathLike, encoder) -> Path:
    """Save a reference style's encoder into the bundle atomically; returns the file's path."""
    path = Path(bundle) / STYLE_ENCODER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        encoder.save(temporary)
    return path


def load_style_encoder(bundle: str | os.PathLike):
    """Load a reference style's encoder safely (``safe_mode=True``, built-in layers only).

    Raises:
        StyleError: the file is missing or cannot be loaded.
    """
    import keras

    path = Path(bundle) / STYLE_ENCODER_FILE
    if not path.is_file():
        raise StyleError(f"{path}: missing; the reference style is incomplete (train it again)")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file; all mean the same here
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise StyleError(f"{path}: cannot load the style encoder ({first_line[:160]})") from error


def write_style_codes(bundle: str | os.PathLike, codes: dict[str, Any]) -> Path:
    """Write ``style_codes.json``: ``code_dim``, ``crop``, ``shorter_side``, ``images`` and
    their ``codes`` (one list of ``code_dim`` numbers per image), atomically."""
    path = Path(bundle) / STYLE_CODES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, codes)
    return path


def read_style_codes(bundle: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``style_codes.json`` (see `write_style_codes`).

    Raises:
        StyleError: the file is missing, unreadable or inconsistent; the message names it.
    """
    import json

    path = Path(bundle) / STYLE_CODES_FILE
    if not path.is_file():
        raise StyleError(f"{path}: missing; the reference style is incomplete (train it again)")
    try:
        codes = json.loads(path.read_text(encoding="utf-8"))
        code_dim = int(codes["code_dim"])
        rows = codes["codes"]
        int(codes["crop"]), int(codes["shorter_side"])
        valid = (
            bool(rows)
            and len(rows) == len(codes["images"])
            and all(len(row) == code_dim for row in rows)
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StyleError(f"{path}: not a readable style-code file ({error})") from error
    if not valid:
        raise StyleError(
            f"{path}: expected one code of {code_dim} numbers per image, and at least one image"
        )
    return codes
