"""Atomic file writes: a reader sees the old file or the new one, never a half-written one.

Everything gan-style writes for later (manifests, style bundles, checkpoints, transferred images)
goes through a temporary name in the destination folder and `os.replace`, which is atomic on
POSIX and Windows within one file system.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The temporary file is removed if the block raises, so nothing is left half-written.
    """
    final = Path(path)
    temporary = final.with_name(f".tmp-{secrets.token_hex(4)}-{final.name}")
    try:
        yield temporary
        if temporary.is_file():
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(temporary, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def write_json_atomic(path: str | os.PathLike, value: Any) -> None:
    """Write ``value`` as indented UTF-8 JSON to ``path`` atomically."""
    text = json.dumps(value, indent=1, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))
