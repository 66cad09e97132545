"""One-file style packages (``.gsp``): a style bundle that travels, and is checked on arrival.

A package is a zip file holding::

    manifest.json     format, version, the style's name, and the sha256 and size of every
                      other entry (written last)
    style.json        the bundle's description (`gan_style.store`)
    generator.keras   the generator that transfer (or generate) needs
    samples.png       the training run's samples, when the bundle has them
    ATTRIBUTION.md    where the training images came from and under which licences
    run/...           the training run's checkpoints and config, only ``with_checkpoints``

`export_package` writes one atomically. `import_package` installs one into the store only after
`unpack` has checked everything an untrusted file could get wrong: only the names above (no
absolute or ``..`` paths, no links, no encrypted or duplicate entries), a size limit per entry
and in total that holds while inflating (a zip bomb stops at the limit), every sha256 against
the manifest, a ``style.json`` of a format this gan-style reads and of a model it knows, and a
generator that loads with ``safe_mode=True`` (a ``Lambda`` layer or any other code is refused).
A package is unpacked into a temporary folder beside its destination and renamed into place, so
a refusal leaves nothing behind and a style of the same name is replaced only with ``force``.
`unpacked_style` does the same into a cache keyed by the file's sha256, which is how
``--style FILE.gsp`` works in every command that takes a style.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

from gan_style import store
from gan_style.atomic import atomic_path, write_json_atomic
from gan_style.config import (
    MODELS,
    PACKAGE_SUFFIX,
    PackageExportConfig,
    PackageImportConfig,
)
from gan_style.errors import ConfigError, StyleError

PACKAGE_FORMAT = "gan-style-package"
PACKAGE_FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
ATTRIBUTION_FILE = "ATTRIBUTION.md"

_MIB = 2**20
#: The largest size of each known entry, in bytes (checked on the header and while inflating).
ENTRY_LIMITS = {
    MANIFEST_FILE: 4 * _MIB,
    store.STYLE_JSON: 4 * _MIB,
    store.GENERATOR_FILE: 1024 * _MIB,
    store.SAMPLES_FILE: 64 * _MIB,
    ATTRIBUTION_FILE: 4 * _MIB,
}
#: The largest checkpoint file (``run/...``), in bytes.
CHECKPOINT_LIMIT = 4096 * _MIB
#: The most that a whole package may inflate to, in bytes.
TOTAL_LIMIT = 16384 * _MIB
#: The most entries a package may hold (the bundle's files and a few checkpoints).
MAX_ENTRIES = 256
#: The training run's files a package may carry (``with_checkpoints``).
_RUN_ENTRY = re.compile(
    r"^run/(?:config\.json|checkpoints/step-\d{8}/"
    r"(?:state\.index|state\.data-\d{5}-of-\d{5}|arrays\.npz|trainer\.json))$"
)
#: The bundle files a package carries when the bundle has them (in this order).
_BUNDLE_FILES = (store.STYLE_JSON, store.GENERATOR_FILE, store.SAMPLES_FILE)
#: Files in a training folder whose text goes into ``ATTRIBUTION.md``.
_CREDIT_FILE = re.compile(
    r"^(?:SOURCES|CREDITS|ATTRIBUTION|LICEN[CS]E|COPYING|NOTICE)(?:\.(?:tsv|csv|txt|md))?$",
    re.IGNORECASE,
)
_CREDIT_LIMIT = 256 * 1024
_CHUNK = _MIB


# --- Export -----------------------------------------------------------------------------------


def export_package(config: PackageExportConfig) -> dict[str, Any]:
    """Write a style as one ``.gsp`` file (atomically).

    Returns:
        A summary: ``style``, ``output``, ``entries`` (name → bytes), ``bytes`` (the file's).

    Raises:
        StyleError: No such style, or it has no generator.
        ConfigError: ``output`` exists (without ``force``) or is a folder.
    """
    bundle = store.resolve_style(config.style)
    description = store.read_style(bundle)
    name = Path(bundle).name
    if not store.is_valid_name(name):
        name = store.style_name(description, bundle)
    if not (bundle / store.GENERATOR_FILE).is_file():
        raise StyleError(
            f"{bundle / store.GENERATOR_FILE}: missing; the bundle is incomplete (train it again)"
        )
    output = Path(config.output or f"{name}{PACKAGE_SUFFIX}").expanduser()
    if output.is_dir():
        raise ConfigError(f"{output}: is a folder; give the package's file name (-o NAME.gsp)")
    if output.exists() and not config.force:
        raise ConfigError(f"{output}: exists; use --force to replace it")
    files = [(entry, bundle / entry) for entry in _BUNDLE_FILES if (bundle / entry).is_file()]
    if config.with_checkpoints:
        files += _run_files(bundle)
    attribution = attribution_text(name, description).encode("utf-8")
    entries: dict[str, dict[str, Any]] = {}
    output.parent.mkdir(parents=True, exist_ok=True)
    with (
        atomic_path(output) as temporary,
        zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for entry, path in files:
            entries[entry] = {"sha256": _file_sha256(path), "size": path.stat().st_size}
            archive.write(path, entry)
        archive.writestr(ATTRIBUTION_FILE, attribution)
        entries[ATTRIBUTION_FILE] = {
            "sha256": hashlib.sha256(attribution).hexdigest(),
            "size": len(attribution),
        }
        from gan_style import __version__

        manifest = {
            "format": PACKAGE_FORMAT,
            "format_version": PACKAGE_FORMAT_VERSION,
            "name": name,
            "model": description.get("model", "cyclegan"),
            "gan_style": __version__,
            "files": entries,
        }
        archive.writestr(MANIFEST_FILE, json.dumps(manifest, indent=1, ensure_ascii=False))
    return {
        "style": name,
        "bundle": str(bundle),
        "output": str(output),
        "entries": {entry: value["size"] for entry, value in entries.items()},
        "bytes": output.stat().st_size,
    }


def _run_files(bundle: Path) -> list[tuple[str, Path]]:
    """The training run's config and checkpoint files, as (entry, path), in sorted order."""
    run = bundle / store.RUN_FOLDER
    found = []
    if run.is_dir():
        for path in sorted(run.rglob("*")):
            entry = path.relative_to(bundle).as_posix()
            if path.is_file() and not path.is_symlink() and _RUN_ENTRY.match(entry):
                found.append((entry, path))
    return found


def attribution_text(name: str, description: dict[str, Any]) -> str:
    """``ATTRIBUTION.md``: what the style learned from, with the training folders' credits.

    It holds the bundle's ``provenance`` (sources and licence counts, where the bundle records
    them), the folders it was trained on, and the text of the ``SOURCES.tsv``, ``LICENSE``,
    ``CREDITS``... files found at the top of those folders when they are still on this machine.
    """
    lines = [f"# Attribution: the style {name!r}", ""]
    lines += [
        "This style was learned from the images below. A style's outputs may be derivative",
        "works of its training images: respect their licences when sharing transfers.",
        "",
    ]
    provenance = description.get("provenance")
    if isinstance(provenance, dict) and provenance:
        lines += ["## Provenance (from style.json)", "", "```json"]
        lines += [json.dumps(provenance, indent=1, ensure_ascii=False), "```", ""]
    data = description.get("data") if isinstance(description.get("data"), dict) else {}
    for side in ("style", "content"):
        entry = data.get(side) if isinstance(data.get(side), dict) else {}
        source = entry.get("source")
        if not isinstance(source, str):
            continue
        counts = ", ".join(
            f"{entry[key]} {key.removesuffix('_images')}"
            for key in ("train_images", "holdout_images")
            if isinstance(entry.get(key), int)
        )
        lines += [f"## {side} images: `{source}`" + (f" ({counts})" if counts else ""), ""]
        credits = _credit_files(Path(source))
        if not credits:
            lines += ["No SOURCES/LICENSE/CREDITS file was found beside these images.", ""]
        for path, text in credits:
            lines += [f"### {path.name}", "", "```", text.rstrip("\n"), "```", ""]
    if len(lines) == 5:
        lines += ["This style records no sources for its training images.", ""]
    return "\n".join(lines)


def _credit_files(folder: Path) -> list[tuple[Path, str]]:
    """(path, text) of the credit files at the top of ``folder`` (none if it is not here)."""
    if not folder.is_dir():
        return []
    credits = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and _CREDIT_FILE.match(path.name):
            with contextlib.suppress(OSError):
                with open(path, "rb") as handle:
                    data = handle.read(_CREDIT_LIMIT + 1)
                text = data[:_CREDIT_LIMIT].decode("utf-8", "replace")
                if len(data) > _CREDIT_LIMIT:
                    text += "\n[... cut at 256 KiB]"
                credits.append((path, text))
    return credits


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


# --- Checking and unpacking -------------------------------------------------------------------


def unpack(package: str | os.PathLike, destination: Path) -> dict[str, Any]:
    """Check a package and unpack it into the new folder ``destination``.

    Nothing from the package runs and nothing is written outside ``destination``. On any
    refusal the caller removes ``destination``.

    Returns:
        The package's manifest.

    Raises:
        StyleError: One line naming the package and the reason: not a zip or truncated, an
            unsafe or unknown entry name, an entry over its size limit (or inflating past it), a
            sha256 that does not match, a manifest or ``style.json`` of another format or a
            newer version, an unknown model, a generator that does not load with
            ``safe_mode=True``.
    """
    path = Path(package)

    def refuse(reason: str) -> StyleError:
        return StyleError(f"{path}: {reason}")

    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise refuse("no such file") from None
    except IsADirectoryError:
        raise refuse("is a folder, not a style package") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise refuse(
            f"not a gan-style package: not a zip file, or truncated ({_first_line(error)})"
        ) from None
    with archive:
        infos = _checked_entries(archive, refuse)
        manifest = _read_manifest(archive, infos, refuse)
        destination.mkdir(parents=True)
        for name, info in infos.items():
            if name == MANIFEST_FILE:
                continue
            _extract(archive, info, destination, manifest["files"][name], refuse)
    _check_bundle(destination, refuse)
    return manifest


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:160] if text else type(error).__name__


def _entry_limit(name: str) -> int | None:
    """The size limit of an entry, None when a package may not hold that name."""
    if name in ENTRY_LIMITS:
        return ENTRY_LIMITS[name]
    if _RUN_ENTRY.match(name):
        return CHECKPOINT_LIMIT
    return None


def _checked_entries(archive: zipfile.ZipFile, refuse) -> dict[str, zipfile.ZipInfo]:
    """The entries by name, after refusing unsafe, unknown, duplicate or oversized ones."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise refuse(f"holds {len(infos)} entries, over the limit of {MAX_ENTRIES}")
    entries: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if (
            name.startswith(("/", "\\"))
            or re.match(r"^[A-Za-z]:", name)
            or any(part in ("", ".", "..") for part in parts)
            or "\\" in name
            or "\0" in name
        ):
            raise refuse(f"unsafe entry name {name!r} (absolute, '..' or not a plain path)")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise refuse(f"entry {name!r} is a symbolic link")
        limit = _entry_limit(name)
        if limit is None:
            known = ", ".join([*ENTRY_LIMITS, "run/... (checkpoints)"])
            raise refuse(f"unexpected entry {name!r} (a style package holds only {known})")
        if name in entries:
            raise refuse(f"entry {name!r} appears twice")
        if info.flag_bits & 0x1:
            raise refuse(f"entry {name!r} is encrypted")
        if info.file_size > limit:
            raise refuse(f"entry {name!r} is {info.file_size:,} bytes, over its limit of {limit:,}")
        total += info.file_size
        if total > TOTAL_LIMIT:
            raise refuse(f"unpacks to more than {TOTAL_LIMIT:,} bytes, over the limit")
        entries[name] = info
    for required in (MANIFEST_FILE, store.STYLE_JSON, store.GENERATOR_FILE):
        if required not in entries:
            raise refuse(f"not a complete style package: no {required}")
    return entries


def _read_limited(archive: zipfile.ZipFile, info: zipfile.ZipInfo, refuse):
    """Yield the inflated blocks of an entry, refusing one that inflates past its limit."""
    limit = _entry_limit(info.filename)
    size = 0
    try:
        with archive.open(info) as handle:
            while block := handle.read(_CHUNK):
                size += len(block)
                if size > limit or size > info.file_size:
                    raise refuse(
                        f"entry {info.filename!r} inflates past its declared size or its limit "
                        f"of {limit:,} bytes (a zip bomb?)"
                    )
                yield block
    except StyleError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as error:
        raise refuse(f"entry {info.filename!r} is damaged ({_first_line(error)})") from None


def _read_manifest(archive: zipfile.ZipFile, infos, refuse) -> dict[str, Any]:
    data = b"".join(_read_limited(archive, infos[MANIFEST_FILE], refuse))
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise refuse(f"{MANIFEST_FILE} is not valid JSON ({_first_line(error)})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
        raise refuse(f"{MANIFEST_FILE} is not a gan-style package manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > PACKAGE_FORMAT_VERSION:
        from gan_style import __version__

        raise refuse(
            f"package format {version!r} is newer than this gan-style ({__version__}) reads "
            f"({PACKAGE_FORMAT_VERSION}); upgrade gan-style"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(value, dict) and isinstance(value.get("sha256"), str) for value in files.values()
    ):
        raise refuse(f"{MANIFEST_FILE} has no valid 'files' table")
    entries = set(infos) - {MANIFEST_FILE}
    if set(files) != entries:
        extra = sorted(entries - set(files))
        missing = sorted(set(files) - entries)
        detail = f"not listed in it: {', '.join(extra)}" if extra else ""
        if missing:
            detail += ("; " if detail else "") + f"listed but absent: {', '.join(missing)}"
        raise refuse(f"the entries do not match {MANIFEST_FILE} ({detail})")
    return manifest


def _extract(archive, info, destination: Path, expected: dict[str, Any], refuse) -> None:
    target = destination / info.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(target, "xb") as handle:
        for block in _read_limited(archive, info, refuse):
            digest.update(block)
            handle.write(block)
    if digest.hexdigest() != expected["sha256"].lower():
        raise refuse(
            f"entry {info.filename!r}: sha256 does not match the manifest (damaged or altered)"
        )


def _check_bundle(folder: Path, refuse) -> None:
    """The unpacked bundle's ``style.json`` and generator, with the package's name in errors."""

    def reworded(error: StyleError) -> StyleError:
        return refuse(str(error).replace(f"{folder}{os.sep}", "").replace(str(folder), "package"))

    try:
        description = store.read_style(folder)
    except StyleError as error:
        raise reworded(error) from None
    model = description.get("model", "cyclegan")
    if model not in MODELS:
        raise refuse(
            f"{store.STYLE_JSON}: unknown model {model!r} (this gan-style knows "
            f"{', '.join(MODELS)}); upgrade gan-style"
        )
    try:
        store.load_generator(folder)
    except StyleError as error:
        cause = str(error.__cause__ or "")
        if "Lambda" in cause or "safe_mode" in cause:
            raise refuse(
                f"{store.GENERATOR_FILE}: refused: it holds code (a Lambda layer or another "
                "Python function), which gan-style never runs (it loads with safe_mode=True)"
            ) from None
        raise reworded(error) from None


# --- Installing -------------------------------------------------------------------------------


def import_package(config: PackageImportConfig) -> dict[str, Any]:
    """Check a package and install it into the store, atomically.

    Returns:
        ``name``, ``bundle`` (the installed folder), ``replaced`` (whether a style of that name
        was replaced), ``package``.

    Raises:
        StyleError: The package is refused (see `unpack`), or a style of that name exists and
            ``force`` is not set; the store is then unchanged.
        ConfigError: An invalid ``name``.
    """
    if config.name is not None:
        store.check_name(config.name)
    folder = store.styles_folder()
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".tmp-import-{secrets.token_hex(4)}"
    try:
        manifest = unpack(config.package, temporary)
        name = config.name or manifest.get("name")
        if not isinstance(name, str) or not store.is_valid_name(name):
            raise StyleError(
                f"{config.package}: the package's name {name!r} is not a valid style name; "
                "give one with --name"
            )
        target = store.bundle_folder(name)
        exists = target.exists()
        if exists and not config.force:
            raise StyleError(
                f"{config.package}: a style called {name!r} is already in the store ({target}); "
                "use --force to replace it or --name to install it under another name"
            )
        description = store.read_style(temporary)
        if description.get("name") != name:
            write_json_atomic(temporary / store.STYLE_JSON, {**description, "name": name})
        _install(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        if created:  # a refusal into an empty store leaves no store behind
            with contextlib.suppress(OSError):
                folder.rmdir()
    return {
        "name": name,
        "bundle": str(target),
        "replaced": exists,
        "package": str(config.package),
    }


def _install(unpacked: Path, target: Path) -> None:
    """Rename ``unpacked`` to ``target``, replacing an existing folder only once it is ready."""
    if not target.exists():
        os.rename(unpacked, target)
        return
    aside = target.with_name(f".tmp-replaced-{secrets.token_hex(4)}-{target.name}")
    os.rename(target, aside)
    try:
        os.rename(unpacked, target)
    except OSError:
        os.rename(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def is_package(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file that ``--style`` should treat as a style package."""
    path = Path(path)
    return path.suffix.lower() == PACKAGE_SUFFIX and path.is_file()


def unpacked_style(package: str | os.PathLike) -> Path:
    """The bundle folder of a ``.gsp`` used directly as ``--style``, checked and cached.

    The package is checked exactly as `import_package` checks it and unpacked once into
    ``$GAN_STYLE_HOME/cache/packages/<sha256>/<name>``; the store itself is not changed.

    Raises:
        StyleError: The package is refused (see `unpack`).
    """
    path = Path(package).expanduser()
    try:
        digest = _file_sha256(path)
    except OSError as error:
        raise StyleError(f"{path}: unreadable ({error.strerror or error})") from None
    cache = store.home() / "cache" / "packages" / digest[:32]
    for candidate in sorted(cache.iterdir()) if cache.is_dir() else []:
        if not candidate.name.startswith(".") and store.is_bundle(candidate):
            return candidate
    cache.mkdir(parents=True, exist_ok=True)
    temporary = cache / f".tmp-{secrets.token_hex(4)}"
    try:
        manifest = unpack(path, temporary)
        name = manifest.get("name")
        if not isinstance(name, str) or not store.is_valid_name(name):
            name = "style"
        target = cache / name
        if not target.exists():
            os.rename(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        for folder in (cache, cache.parent):  # a refused package leaves no empty folder
            with contextlib.suppress(OSError):
                folder.rmdir()
    return target
