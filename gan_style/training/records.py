"""The per-step loss record every trainer's ``train_step`` returns."""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class LossRecord:
    """Base of the trainers' step records: frozen dataclasses of float losses (batch means).

    A subclass only lists its fields; the training loop reads every record through these two
    methods (the progress bar, TensorBoard, and the stop on a non-finite loss).
    """

    def as_dict(self) -> dict[str, float]:
        """The losses by field name."""
        return dataclasses.asdict(self)

    def all_finite(self) -> bool:
        """Whether no loss is NaN or infinite."""
        return all(math.isfinite(value) for value in self.as_dict().values())
