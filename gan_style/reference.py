"""Reference styles: which style code a transfer uses, G(photo, E(reference)).

A ``--model reference`` bundle (`gan_style.training.reference`) carries, beside its generator,
the style encoder E (``style_encoder.keras``) and the codes of its collection's training images
(``style_codes.json``). A transfer paints in the look of

- the given references: each an image file (one of the collection, or any other picture) or a
  folder of them; several are averaged, code by code;
- without references, the collection's mean code (the mean of the stored codes), so that the
  style also works as a plain one. Passing every training image of the collection as
  references gives that same code: both are computed by
  `gan_style.models.conditional.encode_style_files`, at the scale the style trained at.

`style_code` returns the code; `gan_style.stylizer` folds it into the generator
(`gan_style.models.conditional.bake_style_code`), which then runs like any style's, exact and
tiled. At import time this module needs only the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from gan_style.config import REFERENCE_MODELS
from gan_style.errors import DataError, StyleError

if TYPE_CHECKING:
    import numpy as np


def reference_files(references: Iterable[str | os.PathLike]) -> list[Path]:
    """The image files that ``--reference`` values name: files as they are, folders' images.

    Raises:
        DataError: A value is neither a file nor a folder, or a folder holds no image.
    """
    from gan_style.data.folders import list_images

    files: list[Path] = []
    for reference in references:
        path = Path(reference).expanduser()
        if path.is_dir():
            files += list_images(path)
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(f"{path}: no such reference image or folder (--reference)")
    return files


def check_reference_model(model: str, name: str, bundle: Path) -> None:
    """Raises `StyleError` unless a style of ``model`` can take references."""
    if model not in REFERENCE_MODELS:
        raise StyleError(
            f"{bundle}: style {name!r} is a {model!r} model without a style encoder, so it "
            "cannot take --reference; leave --reference out, or train a reference style with "
            f"`gan-style train STYLE_IMAGES --model reference --name {name}-reference`"
        )


def style_code(
    bundle: str | os.PathLike, references: Iterable[str | os.PathLike] = (), encoder=None
) -> np.ndarray:
    """The style code a transfer with ``references`` uses (the collection's mean without).

    Args:
        bundle: A reference style's bundle.
        references: Image files or folders of them; their codes are averaged.
        encoder: The bundle's loaded style encoder (loaded here when None and needed).

    Returns:
        (code_dim,) float32.

    Raises:
        StyleError: The bundle's encoder or codes are missing or unreadable.
        DataError: A reference is missing or not an image; the message names it.
    """
    import numpy as np

    from gan_style import store

    codes = store.read_style_codes(bundle)
    files = reference_files(references)
    if not files:
        return np.asarray(codes["codes"], np.float32).mean(axis=0)
    from gan_style.models.conditional import encode_style_files

    if encoder is None:
        encoder = store.load_style_encoder(bundle)
    encoded = encode_style_files(encoder, files, int(codes["crop"]), int(codes["shorter_side"]))
    return encoded.mean(axis=0)


def reference_grid(
    style: str | os.PathLike,
    photos: Iterable[str | os.PathLike],
    references: Iterable[str | os.PathLike],
    *,
    max_size: int = 384,
    caption: str | None = None,
) -> bytes:
    """A PNG grid: one column per reference with the reference image on top, one row per photo
    painted in the look of each reference (the photo itself in the first column).

    Args:
        style: A reference style (name or bundle path).
        photos: The photos (rows).
        references: Reference images (columns).
        max_size: Longer side every image is shrunk to first.
        caption: A line under the grid.
    """
    import numpy as np

    from gan_style.data.image_io import read_source
    from gan_style.report import sample_grid
    from gan_style.transfer import limit_size, load_stylizer, transfer

    photos, references = list(photos), list(references)

    def values(image) -> np.ndarray:
        return np.asarray(limit_size(image.convert("RGB"), max_size), np.float32) / 127.5 - 1

    photo_images = [values(read_source(path).image) for path in photos]
    blank = np.ones_like(photo_images[0])
    columns = [[blank, *photo_images]]
    titles = ["photo"]
    for index, reference in enumerate(references, start=1):
        stylizer = load_stylizer(style, references=(reference,))
        column = [values(read_source(reference).image)]
        column += [values(transfer(path, stylizer, max_size=max_size)) for path in photos]
        columns.append(column)
        titles.append(f"reference {index}: {Path(reference).stem[:24]}")
    return sample_grid(columns, titles, caption=caption)
