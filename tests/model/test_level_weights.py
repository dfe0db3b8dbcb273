"""Eq. 14 coarse-to-fine weights against their closed form."""

from __future__ import annotations

import math

import pytest
import torch

from humansync_ns.model.level_weights import coarse_to_fine_alpha, coarse_to_fine_weights, normalised_step

from model_testkit import capture_metadata, make_model, tiny_config


def eta_for_alpha(alpha: float, num_levels: int) -> float:
    """Invert alpha = L (e^eta - 1) / (e - 1)."""
    return math.log(1.0 + alpha * (math.e - 1.0) / num_levels)


@pytest.mark.parametrize(
    "alpha, expected",
    [
        (0.0, [0.0, 0.0, 0.0, 0.0]),
        (0.5, [0.5, 0.0, 0.0, 0.0]),  # (1 - cos(pi/2)) / 2
        (1.5, [1.0, 0.5, 0.0, 0.0]),
        (2.25, [1.0, 1.0, (1 - math.cos(math.pi / 4)) / 2, 0.0]),
        (4.0, [1.0, 1.0, 1.0, 1.0]),
    ],
)
def test_eq14_literal(alpha, expected):
    eta = eta_for_alpha(alpha, 4)
    assert coarse_to_fine_alpha(eta, 4) == pytest.approx(alpha, abs=1e-12)
    weights = coarse_to_fine_weights(eta, 4, keep_coarsest_level=False)
    torch.testing.assert_close(weights, torch.tensor(expected), atol=1e-6, rtol=0, msg=f"alpha={alpha}")


def test_keep_coarsest_level_changes_only_level_one():
    eta = eta_for_alpha(1.5, 4)
    literal = coarse_to_fine_weights(eta, 4, keep_coarsest_level=False)
    kept = coarse_to_fine_weights(eta, 4, keep_coarsest_level=True)
    assert kept[0] == 1.0
    torch.testing.assert_close(kept[1:], literal[1:])
    # At step 0 Eq. 14 switches every level off; the default keeps the coarsest one on.
    assert coarse_to_fine_weights(0.0, 5).tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert coarse_to_fine_weights(0.0, 5, keep_coarsest_level=False).sum() == 0.0


def test_eta_is_clipped_and_weights_monotone_in_eta():
    assert coarse_to_fine_weights(-3.0, 3, keep_coarsest_level=False).tolist() == [0.0, 0.0, 0.0]
    assert coarse_to_fine_weights(7.0, 3, keep_coarsest_level=False).tolist() == [1.0, 1.0, 1.0]
    previous = coarse_to_fine_weights(0.0, 4, keep_coarsest_level=False)
    for eta in torch.linspace(0.05, 1.0, 20).tolist():
        current = coarse_to_fine_weights(eta, 4, keep_coarsest_level=False)
        assert (current >= previous - 1e-7).all(), f"eta={eta}"
        assert (current[:-1] >= current[1:]).all(), "coarser levels never weigh less than finer ones"
        previous = current


def test_normalised_step():
    assert normalised_step(50, 200) == 0.25
    assert normalised_step(500, 200) == 1.0
    assert normalised_step(3, 0) == 1.0  # schedule disabled: every level on


def test_model_schedule_sets_field_weights_at_chosen_steps():
    meta = capture_metadata([0, 1], [0, 0], num_videos=2)
    model = make_model(meta, tiny_config(multiscale_res=(1, 2, 4), coarse_to_fine_end_step=1000))
    for step in (0, 300, 600, 1000, 5000):
        model.apply_schedule(step)
        expected = coarse_to_fine_weights(min(step / 1000, 1.0), 3, keep_coarsest_level=True)
        torch.testing.assert_close(model.field.level_weights, expected, msg=f"step {step}")
