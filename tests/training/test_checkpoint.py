"""gan_style.training.checkpoint: atomic checkpoints, the newest kept, exact restores."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from gan_style.training.checkpoint import CheckpointManager


def test_save_restore_keeps_the_newest_and_restores_exactly(tmp_path):
    variable = tf.Variable([1.0, 2.0])
    manager = CheckpointManager(tmp_path / "checkpoints", keep=2)
    for step in (1, 2, 3):
        variable.assign([float(step), -float(step)])
        manager.save(
            step,
            tf.train.Checkpoint(v=variable),
            arrays={"pool": np.full(3, step)},
            state={"seed": 7},
        )
    assert [step for step, _ in manager.checkpoints()] == [2, 3]
    assert manager.latest().name == "step-00000003"

    variable.assign([0.0, 0.0])
    state, arrays = manager.restore(manager.checkpoints()[0][1], tf.train.Checkpoint(v=variable))
    assert state == {"seed": 7, "step": 2}
    np.testing.assert_array_equal(variable.numpy(), [2.0, -2.0])
    np.testing.assert_array_equal(arrays["pool"], [2, 2, 2])


def test_half_written_checkpoints_are_ignored_and_cleared(tmp_path):
    folder = tmp_path / "checkpoints"
    (folder / "step-00000009").mkdir(parents=True)  # no trainer.json: a crash mid-rename
    (folder / ".tmp-step-00000010-abc").mkdir()
    manager = CheckpointManager(folder)
    assert manager.latest() is None
    manager.save(1, tf.train.Checkpoint(v=tf.Variable(1.0)), arrays={}, state={})
    assert not (folder / ".tmp-step-00000010-abc").exists()
    assert [step for step, _ in manager.checkpoints()] == [1]
    saved = json.loads((manager.latest() / "trainer.json").read_text())
    assert saved == {"step": 1}


def test_keep_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="keep must be at least 1"):
        CheckpointManager(tmp_path, keep=0)
