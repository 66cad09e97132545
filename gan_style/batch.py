"""Many files: which inputs a transfer reads and where each result goes.

`collect_inputs` expands files, folders (recursive) and globs into input files; `plan_jobs`
gives each one its output file and format (`TransferJob`), skipping existing outputs unless
``overwrite`` and refusing to overwrite an input; `TransferResult` is what
`gan_style.transfer.transfer_files` did. Nothing here needs the model.

At import time this module needs only the standard library and gan-style's light modules.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gan_style.config import JPEG_BY_DEFAULT_FORMATS, OUTPUT_FORMATS
from gan_style.data.image_io import _EXTENSIONS, _FORMAT_OF_SUFFIX, _INPUT_FORMAT_OF_SUFFIX
from gan_style.errors import ConfigError

if TYPE_CHECKING:
    from gan_style.config import TransferConfig

_GLOB_CHARACTERS = re.compile(r"[*?[]")


@dataclasses.dataclass(frozen=True)
class TransferJob:
    """One input and where its result goes.

    Attributes:
        source: The input file.
        destination: The output file.
        image_format: Pillow's name of the output format.
    """

    source: Path
    destination: Path
    image_format: str
    converted_from: str | None = None
    """The input's format when it is written as JPEG by default (HEIC, AVIF), else None."""


@dataclasses.dataclass
class TransferResult:
    """What `gan_style.transfer.transfer_files` did.

    Attributes:
        style: The style's name.
        bundle: The style bundle's folder.
        precision: Dtype policy used (None when nothing needed the generator).
        written: Outputs written.
        skipped: Outputs that existed already (``overwrite`` replaces them).
        failed: ``(input, reason)`` for every input that could not be done.
        megapixels: Pixels processed, in millions.
        seconds: Wall time.
        styled_at: For each output written, ``(output size, size the generator ran at)`` as
            (width, height) pairs; the second is None when nothing was styled (strength 0).
        videos: For each video written, `gan_style.video.VideoResult.to_dict`.
        converted: ``(output, input format)`` for each HEIC or AVIF input written as JPEG
            because no format was asked for.
    """

    style: str
    bundle: Path
    precision: str | None = None
    written: list[Path] = dataclasses.field(default_factory=list)
    skipped: list[Path] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    megapixels: float = 0.0
    seconds: float = 0.0
    styled_at: dict[Path, tuple[tuple[int, int], tuple[int, int] | None]] = dataclasses.field(
        default_factory=dict
    )
    videos: dict[Path, dict[str, Any]] = dataclasses.field(default_factory=dict)
    converted: list[tuple[Path, str]] = dataclasses.field(default_factory=list)

    @property
    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "style": self.style,
            "bundle": str(self.bundle),
            "precision": self.precision,
            "written": len(self.written),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "outputs": [str(path) for path in self.written],
            "existing": [str(path) for path in self.skipped],
            "failures": [{"input": source, "reason": reason} for source, reason in self.failed],
            "styled_at": [
                {
                    "output": str(path),
                    "size": list(size),
                    "working_size": None if working is None else list(working),
                    "full_resolution": working == size,
                }
                for path, (size, working) in self.styled_at.items()
            ],
            "videos": [{"output": str(path), **video} for path, video in self.videos.items()],
            "converted": [
                {"output": str(path), "from": source_format, "to": "JPEG"}
                for path, source_format in self.converted
            ],
            "megapixels": round(self.megapixels, 3),
            "seconds": round(self.seconds, 3),
            "megapixels_per_second": (
                round(self.megapixels / self.seconds, 4) if self.written and self.seconds else None
            ),
        }


def collect_inputs(arguments: Iterable[str]) -> tuple[list[tuple[Path, Path]], list[tuple]]:
    """Expand files, folders and globs into input files.

    Returns:
        ``[(file, relative)]`` in argument order without repeats, where ``relative`` is the
        path that a results folder mirrors (relative to the folder, or the glob's fixed
        part); and ``[(argument, reason)]`` for arguments that give nothing.
    """
    from gan_style.data.images import has_image_extension, is_clutter_name
    from gan_style.video import has_video_extension

    found: list[tuple[Path, Path]] = []
    failures: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def add(path: Path, relative: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append((path, relative))

    for argument in arguments:
        path = Path(argument).expanduser()
        if path.is_file():
            add(path, Path(path.name))
        elif path.is_dir():
            files = [
                Path(folder) / name
                for folder, _, names in os.walk(path)
                for name in names
                if (has_image_extension(name) or has_video_extension(name))
                and not is_clutter_name(name)
            ]
            if not files:
                failures.append((argument, "no image or video files in this folder"))
            for file in sorted(files):
                add(file, file.relative_to(path))
        elif _GLOB_CHARACTERS.search(argument):
            base = _glob_base(path)
            files = sorted(
                Path(match)
                for match in glob.glob(os.path.expanduser(argument), recursive=True)
                if os.path.isfile(match) and not is_clutter_name(match)
            )
            if not files:
                failures.append((argument, "matches no file"))
            for file in files:
                add(file, file.relative_to(base) if file.is_relative_to(base) else Path(file.name))
        else:
            failures.append((argument, "no such file or folder"))
    return found, failures


def _glob_base(pattern: Path) -> Path:
    """The leading part of a glob pattern without wildcards."""
    parts = []
    for part in pattern.parts:
        if _GLOB_CHARACTERS.search(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def plan_jobs(
    config: TransferConfig, inputs: list[tuple[Path, Path]], style_name: str
) -> tuple[list[TransferJob], list[Path], list[tuple[str, str]]]:
    """Decide each input's output file and format.

    Returns:
        ``(jobs, skipped, failures)``: the work to do, outputs that exist already (without
        ``overwrite``), and ``(input, reason)`` for inputs whose output would overwrite an
        input or another input's output.

    Raises:
        ConfigError: ``output`` names one file but there are several inputs, or its extension
            is not a format transfer writes, or it contradicts ``output_format``.
    """
    forced = OUTPUT_FORMATS[config.output_format] if config.output_format else None
    output = Path(config.output).expanduser() if config.output else None
    output_file = None
    if output is not None and not output.is_dir() and not config.output.endswith(("/", os.sep)):
        from gan_style.data.images import has_image_extension

        suffix_format = _FORMAT_OF_SUFFIX.get(output.suffix.lower())
        if suffix_format is None and has_image_extension(output):
            raise ConfigError(
                f"--out {config.output}: transfer writes "
                f"{', '.join(sorted(_FORMAT_OF_SUFFIX))} files, not {output.suffix}"
            )
        if suffix_format is not None:
            if len(inputs) > 1:
                raise ConfigError(
                    f"--out {config.output} names one file but there are {len(inputs)} inputs; "
                    "give a folder"
                )
            if forced and forced != suffix_format:
                raise ConfigError(
                    f"--out {config.output} has a {suffix_format} extension but --format is "
                    f"{config.output_format}"
                )
            output_file = output
            forced = suffix_format
    claims = OutputClaims({path.resolve() for path, _ in inputs}, config.overwrite)
    jobs: list[TransferJob] = []
    for path, relative in inputs:
        input_format = _FORMAT_OF_SUFFIX.get(path.suffix.lower())
        image_format = forced or input_format or "PNG"
        converted_from = None
        if forced is None and _INPUT_FORMAT_OF_SUFFIX.get(path.suffix.lower()) in (
            JPEG_BY_DEFAULT_FORMATS
        ):
            converted_from = _INPUT_FORMAT_OF_SUFFIX[path.suffix.lower()]
            image_format, input_format = "JPEG", None
        if output_file is not None:
            destination = output_file
        else:
            extension = path.suffix[1:] if image_format == input_format else None
            name = config.name_pattern.format(
                stem=path.stem, style=style_name, ext=extension or _EXTENSIONS[image_format]
            )
            folder = path.parent if output is None else output / relative.parent
            destination = folder / name
        if claims.claim(path, destination):
            jobs.append(TransferJob(path, destination, image_format, converted_from))
    return jobs, claims.skipped, claims.failures


@dataclasses.dataclass
class OutputClaims:
    """The outputs a transfer plans, each claimed once: never an input, never twice.

    Attributes:
        protected: Resolved paths no output may take (the inputs, and outputs planned before).
        overwrite: Whether an existing output is replaced (else it is skipped).
        planned: Each claimed output's resolved path → the input it is the output of.
        skipped: Outputs that exist already (without ``overwrite``).
        failures: ``(input, reason)`` for inputs whose output could not be claimed.
    """

    protected: set[Path]
    overwrite: bool
    planned: dict[Path, Path] = dataclasses.field(default_factory=dict)
    skipped: list[Path] = dataclasses.field(default_factory=list)
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def claim(self, source: Path, destination: Path) -> bool:
        """Whether ``source`` is to be written to ``destination`` (else recorded why not)."""
        key = destination.resolve()
        if key in self.protected:
            self.failures.append(
                (str(source), f"its output {destination} would overwrite an input")
            )
        elif key in self.planned:
            taken_by = self.planned[key]
            self.failures.append(
                (str(source), f"its output {destination} is also the output of {taken_by}")
            )
        else:
            self.planned[key] = source
            if destination.exists() and not self.overwrite:
                self.skipped.append(destination)
            else:
                return True
        return False
