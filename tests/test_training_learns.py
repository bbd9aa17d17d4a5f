"""Training learns: a small AiOS fine-tuned from random weights on rendered people (slow)."""

from __future__ import annotations

import statistics

import pytest
from training_learns import learning_experiment


@pytest.mark.slow
def test_fine_tuning_lowers_the_loss_and_the_held_out_errors() -> None:
    report = learning_experiment(steps=40, train_images=8, held_out_images=4)
    first = statistics.fmean(report.losses[:5])
    last = statistics.fmean(report.losses[-5:])
    assert last < 0.6 * first, f"training loss {first:.1f} -> {last:.1f}"
    assert report.after.pve_mm < report.before.pve_mm, report.table()
    assert report.after.keypoint_error_px < report.before.keypoint_error_px, report.table()
    assert report.after.recall_at_05 >= report.before.recall_at_05, report.table()
