"""`TimeNormalization` against closed forms: normalised 0..1 is the common span (no clamping
outside it), the grid spans the training frames plus the margin, and every map round-trips."""

import numpy as np
import pytest
import torch

from humansync_ns.dataparser.normalization import TimeNormalization

FRAMES_S = np.linspace(1.0, 9.0, 17)
"""Global times of a capture's training frames: 1 s to 9 s."""


def test_normalised_time_is_the_common_span_and_the_grid_covers_every_frame() -> None:
    norm = TimeNormalization.from_spans(FRAMES_S, (3.0, 7.0), margin=0.1)
    assert (norm.t0_s, norm.span_s) == (3.0, 4.0)
    assert (norm.grid_t0_s, norm.grid_span_s) == pytest.approx((0.0, 10.0))  # 8 s of frames / 0.8, 1 s each side
    np.testing.assert_allclose(norm.to_normalized(np.array([3.0, 7.0, 1.0, 9.0])), [0.0, 1.0, -0.5, 1.5])
    # grid time: the first and last training frames sit at ±(1 - 2·margin), the common span inside
    grid = norm.grid_scale * norm.to_normalized(np.array([1.0, 9.0, 3.0, 7.0])) + norm.grid_shift
    np.testing.assert_allclose(grid, [-0.8, 0.8, -0.4, 0.4], atol=1e-12)


@pytest.mark.parametrize("margin", [0.0, 0.15])
def test_grid_time_of_every_frame_is_the_former_normalised_time_doubled(margin: float) -> None:
    """Before normalised time became the common span, the grid was `2·t_norm − 1` with
    `t_norm = margin + (1 − 2·margin)(t − first)/(last − first)`; training numerics keep it."""
    norm = TimeNormalization.from_spans(FRAMES_S, (2.5, 6.0), margin)
    former = 2.0 * (margin + (1 - 2 * margin) * (FRAMES_S - 1.0) / 8.0) - 1.0
    np.testing.assert_allclose(norm.grid_scale * norm.to_normalized(FRAMES_S) + norm.grid_shift, former, atol=1e-12)


@pytest.mark.parametrize("seconds", [2.0, 3.7, -4.0, 11.5])
def test_seconds_normalised_seconds_round_trip(seconds: float) -> None:
    norm = TimeNormalization.from_spans(FRAMES_S, (3.0, 7.0), margin=0.1)
    assert norm.to_seconds(norm.to_normalized(seconds)) == pytest.approx(seconds, abs=1e-12)
    as_tensor = norm.to_seconds(norm.to_normalized(torch.tensor([seconds], dtype=torch.float64)))
    assert float(as_tensor) == pytest.approx(seconds, abs=1e-12)
    assert TimeNormalization.from_dict(norm.as_dict()) == norm
    shifted = norm.shifted(-1.25)  # the same capture with every global time 1.25 s earlier
    assert shifted.to_normalized(seconds - 1.25) == pytest.approx(norm.to_normalized(seconds), abs=1e-12)


def test_without_a_common_span_normalised_time_covers_all_frames() -> None:
    apart = TimeNormalization.from_spans(FRAMES_S, (7.0, 3.0), margin=0.1)  # videos that never overlap
    assert (apart.t0_s, apart.span_s) == (1.0, 8.0)
    instant = TimeNormalization.from_spans(np.array([2.0, 2.0]), (2.0, 2.0), margin=0.0)
    assert (instant.t0_s, instant.span_s, instant.grid_t0_s, instant.grid_span_s) == (2.0, 1.0, 2.0, 1.0)


def test_invalid_margin_and_spans_raise() -> None:
    with pytest.raises(ValueError, match="time_margin"):
        TimeNormalization.from_spans(FRAMES_S, (3.0, 7.0), margin=0.5)
    with pytest.raises(ValueError, match="spans must be > 0"):
        TimeNormalization.from_dict({"t0_s": 0.0, "span_s": 0.0, "grid_t0_s": 0.0, "grid_span_s": 1.0})
