"""The observability measures on closed-form inputs: lag-cost curves, DTW paths, rates, bodies."""

import numpy as np
import pytest

from humansync_ns.calibration.observability import (
    ObservabilityChecks,
    body_scale,
    curve_evidence,
    path_rate,
    person_order,
    principal_spread,
    speed_factors,
)
from humansync_ns.motion.joints import rest_joints

LAGS = np.arange(-60, 61, dtype=np.float64)
COUNTS = np.full(len(LAGS), 100)


def _dip(centre: float, depth: float, width: float = 3.0) -> np.ndarray:
    return depth * np.exp(-0.5 * ((LAGS - centre) / width) ** 2)


def test_single_dip_is_sharp_and_unique() -> None:
    curve = 1.0 - _dip(7, 0.9)
    contrast, separation, second_lag, best = curve_evidence(curve, COUNTS, LAGS, 7.0, min_count=50)
    assert contrast == pytest.approx(1.0 - curve[LAGS == 7][0] / np.median(curve))
    assert contrast > 0.85 and separation == 1.0 and np.isnan(second_lag) and best == pytest.approx(0.1)


def test_equal_second_dip_is_ambiguous_and_shallow_one_is_not() -> None:
    twin = 1.0 - _dip(-20, 0.9) - _dip(10, 0.9)
    contrast, separation, second_lag, _ = curve_evidence(twin, COUNTS, LAGS, 10.0, min_count=50)
    assert separation == pytest.approx(0.0, abs=1e-9) and second_lag == -30.0 and contrast > 0.85
    # A second dip half as deep: separation (second − best) / (typical − best) = 0.45 / 0.9.
    half = 1.0 - _dip(-20, 0.45) - _dip(10, 0.9)
    _, separation, second_lag, _ = curve_evidence(half, COUNTS, LAGS, 10.0, min_count=50)
    assert separation == pytest.approx(0.5, abs=0.01) and second_lag == -30.0


def test_flat_curve_has_no_contrast_and_wiggles_on_a_flank_are_not_minima() -> None:
    flat = np.full(len(LAGS), 2.0)
    assert curve_evidence(flat, COUNTS, LAGS, 0.0, min_count=50)[0] == 0.0
    flank = 1.0 - _dip(0, 0.9, width=8.0) + 0.002 * np.sin(LAGS * 2.0)  # ripples on the dip's sides
    assert curve_evidence(flank, COUNTS, LAGS, 0.0, min_count=50)[1] == 1.0


def test_unreliable_lags_do_not_count() -> None:
    curve = 1.0 - _dip(-20, 0.95) - _dip(10, 0.9)
    counts = np.where(LAGS < -10, 10, 100)  # the deeper dip overlaps only 10 frames: a noisy corner
    contrast, separation, _, _ = curve_evidence(curve, counts, LAGS, 10.0, min_count=50)
    assert separation == 1.0 and contrast > 0.85


@pytest.mark.parametrize("slope", [1.0, 1.2, 0.8])
def test_path_rate_is_the_slope_away_from_the_borders(slope: float) -> None:
    i = np.arange(200)
    j = np.round(30 + slope * i).astype(int)
    # The path runs along the borders first (i = 0) and last (j = end), as DTW paths do.
    path = np.concatenate([np.stack([np.zeros(30, int), np.arange(30)], 1), np.stack([i, j], 1), [[199, j[-1] + 5]]])
    assert path_rate(path) == pytest.approx(slope, abs=0.005)
    assert np.isnan(path_rate(path[:5]))


def test_speed_factors_single_out_the_video_with_a_wrong_fps() -> None:
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    speed = np.array([1.0, 1.0, 1.0, 25.0 / 30.0])  # video 3 labelled 25 fps, filmed at 30
    rates = np.array([speed[i] / speed[j] for i, j in pairs])
    np.testing.assert_allclose(speed_factors(pairs, rates, 4), speed, atol=1e-9)
    assert np.isnan(speed_factors([(0, 1)], np.array([np.nan]), 3)).all()


def test_body_scale_measures_units() -> None:
    bodies = np.broadcast_to(rest_joints(), (5, 2, 24, 3))
    valid = np.ones((5, 2), dtype=bool)
    assert body_scale(bodies, valid) == pytest.approx(1.0)
    assert body_scale(1000.0 * bodies, valid) == pytest.approx(1000.0)
    assert np.isnan(body_scale(bodies, np.zeros_like(valid)))


def test_person_order_needs_a_clearly_better_permutation() -> None:
    assert person_order(np.array([[1.0, 9.0], [8.0, 1.0]]), 0.5) is None
    assert person_order(np.array([[9.0, 1.0], [1.0, 8.0]]), 0.5) == (1, 0)
    assert person_order(np.array([[2.0, 1.5], [1.5, 2.0]]), 0.5) is None  # better, but not by half
    costs = np.full((3, 3), 5.0)
    costs[0, 2] = costs[1, 0] = costs[2, 1] = 0.1
    assert person_order(costs, 0.5) == (2, 0, 1)


def test_principal_spread_and_check_validation() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(20000, 3)) * [0.5, 0.2, 0.01]
    np.testing.assert_allclose(principal_spread(points), [0.5, 0.2, 0.01], rtol=0.05)
    with pytest.raises(ValueError, match="checks.max-rate-mismatch"):
        ObservabilityChecks(max_rate_mismatch=0.0).validate()
