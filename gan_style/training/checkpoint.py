"""Crash-safe checkpoints of a whole training state.

A checkpoint is a folder ``step-00001234/`` holding:

- ``state.*``: a `tf.train.Checkpoint` of the models and optimizers (weights, Adam slots,
  iteration counters, loss scale);
- ``arrays.npz``: numpy state (the fake-image pools and their random generators);
- ``trainer.json``: the step, the config, recent losses: written last.

It is written under a temporary name and renamed into place in one `os.rename`, so a folder
called ``step-*`` is always complete: a ``kill -9`` at any moment loses at most the steps since
the last checkpoint, and leaves only a temporary folder that the next run removes.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from gan_style.atomic import write_json_atomic

_STEP_FOLDER = re.compile(r"^step-(\d{8})$")
STATE_PREFIX = "state"
ARRAYS_FILE = "arrays.npz"
TRAINER_FILE = "trainer.json"


class CheckpointManager:
    """Saves, finds and prunes checkpoints in one folder.

    Args:
        folder: Where the ``step-*`` folders live (created when needed).
        keep: How many of the newest checkpoints to keep.
    """

    def __init__(self, folder: str | os.PathLike, keep: int = 3):
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.folder = Path(folder)
        self.keep = keep

    def checkpoints(self) -> list[tuple[int, Path]]:
        """Complete checkpoints as ``(step, folder)``, oldest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            match = _STEP_FOLDER.match(path.name)
            if match and (path / TRAINER_FILE).is_file():
                found.append((int(match.group(1)), path))
        return sorted(found)

    def latest(self) -> Path | None:
        """The newest complete checkpoint, or None."""
        found = self.checkpoints()
        return found[-1][1] if found else None

    def save(
        self,
        step: int,
        checkpoint,
        *,
        arrays: dict[str, np.ndarray],
        state: dict[str, Any],
    ) -> Path:
        """Write a checkpoint for ``step`` atomically and prune old ones.

        Args:
            step: The number of completed training steps.
            checkpoint: A `tf.train.Checkpoint` of the models and optimizers.
            arrays: Numpy state to keep beside it.
            state: JSON-compatible facts (``step`` is added).

        Returns:
            The checkpoint's folder.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        self._remove_temporaries()
        final = self.folder / f"step-{step:08d}"
        temporary = self.folder / f".tmp-step-{step:08d}-{secrets.token_hex(3)}"
        temporary.mkdir()
        try:
            checkpoint.write(str(temporary / STATE_PREFIX))
            with open(temporary / ARRAYS_FILE, "wb") as handle:
                np.savez(handle, **arrays)
            write_json_atomic(temporary / TRAINER_FILE, {**state, "step": step})
            for path in temporary.iterdir():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
            if final.exists():  # the same step saved twice (e.g. a signal right after a save)
                shutil.rmtree(final)
            os.rename(temporary, final)
            _fsync_folder(self.folder)
        finally:
            if temporary.exists():
                shutil.rmtree(temporary, ignore_errors=True)
        self._prune()
        return final

    def restore(self, path: str | os.PathLike, checkpoint) -> tuple[dict[str, Any], dict]:
        """Load a checkpoint into ``checkpoint``'s objects (built beforehand).

        Returns:
            ``(state, arrays)`` as saved.
        """
        path = Path(path)
        checkpoint.read(str(path / STATE_PREFIX)).assert_existing_objects_matched()
        with np.load(path / ARRAYS_FILE, allow_pickle=False) as loaded:
            arrays = {key: loaded[key] for key in loaded.files}
        state = json.loads((path / TRAINER_FILE).read_text(encoding="utf-8"))
        return state, arrays

    def _prune(self) -> None:
        for _, path in self.checkpoints()[: -self.keep]:
            shutil.rmtree(path, ignore_errors=True)

    def _remove_temporaries(self) -> None:
        for path in self.folder.glob(".tmp-step-*"):
            shutil.rmtree(path, ignore_errors=True)


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
