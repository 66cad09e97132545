"""Versioned JSON documents on disk: dataset manifests and style descriptions.

Each document names its ``format`` and ``format_version``. Reading one checks both, so a
folder of another kind, or one written by a newer gan-style, gets a one-line error that says
what it is instead of a confusing failure later.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_document(
    folder: str | os.PathLike,
    file_name: str,
    *,
    document_format: str,
    max_version: int,
    error: type[Exception],
    missing: str,
    description: str,
) -> dict[str, Any]:
    """Load ``folder/file_name`` and check that it is a document this gan-style reads.

    Args:
        folder: The folder the document describes.
        file_name: The document's file name in it.
        document_format: The expected ``format`` value.
        max_version: The newest ``format_version`` this gan-style reads.
        error: The exception type to raise (a `gan_style.errors.GanStyleError`).
        missing: What the folder is not when the file is absent (``a style bundle``).
        description: What the document is (``gan-style dataset manifest``).

    Raises:
        error: the file is missing, unreadable, of another format, or of a newer version.
    """
    path = Path(folder) / file_name
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as cause:
        raise error(f"{folder}: not {missing} (no {file_name})") from cause
    except (OSError, ValueError) as cause:
        raise error(f"{path}: unreadable {description} ({cause})") from cause
    if not isinstance(document, dict) or document.get("format") != document_format:
        raise error(f"{path}: not a {description}")
    version = document.get("format_version", 0)
    if version > max_version:
        from gan_style import __version__

        raise error(
            f"{path}: {description} format {version} is newer than this gan-style "
            f"({__version__}) reads ({max_version}); upgrade gan-style"
        )
    return document
