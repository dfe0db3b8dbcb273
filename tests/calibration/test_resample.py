"""Validity-aware linear resampling onto a common clock."""

import numpy as np
import pytest

from humansync_ns.calibration.resample import clock_times, interpolate_rows, resample_to_clock


def test_linear_signal_is_reproduced_exactly_from_24_to_30_fps() -> None:
    times = np.arange(48) / 24.0
    values = np.stack([2.0 * times + 1.0, -times], axis=-1)[:, None, :]  # (T, 1, 2)
    valid = np.ones((48, 1), dtype=bool)
    query, out, out_valid = resample_to_clock(times, values, valid, 30.0)
    assert np.allclose(np.diff(query), 1 / 30)
    assert out_valid.all()
    assert np.allclose(out[:, 0, 0], 2.0 * query + 1.0)
    assert np.allclose(out[:, 0, 1], -query)


def test_invalid_row_invalidates_only_its_neighbourhood() -> None:
    times = np.arange(10) / 10.0
    values = np.arange(10.0)[:, None]
    valid = np.ones(10, dtype=bool)
    valid[4] = False
    values[4] = np.nan
    query = np.array([0.30, 0.35, 0.40, 0.45, 0.50, 0.55])
    out, out_valid = interpolate_rows(times, values, valid, query)
    assert out_valid.tolist() == [True, False, False, False, True, True]
    assert out[0, 0] == pytest.approx(3.0) and out[5, 0] == pytest.approx(5.5)
    assert np.isnan(out[1, 0])


def test_exact_hits_and_range() -> None:
    times = np.array([0.0, 0.1, 0.2])
    values = np.array([[1.0], [np.nan], [3.0]])
    valid = np.array([True, False, True])
    out, out_valid = interpolate_rows(times, values, valid, np.array([-0.05, 0.0, 0.2, 0.25]))
    assert out_valid.tolist() == [False, True, True, False]
    assert out[1, 0] == 1.0 and out[2, 0] == 3.0


def test_video_already_on_the_clock_comes_back_row_for_row() -> None:
    """Every query on a source row: the rows themselves (no blend), invalid ones NaN, per person."""
    rng = np.random.default_rng(3)
    times = 0.25 + np.arange(40) / 30.0
    values = rng.normal(size=(40, 2, 24, 3))
    valid = rng.random((40, 2)) > 0.2
    values[~valid] = np.where(rng.random() < 0.5, np.nan, 1e300)  # anything where invalid
    query, out, out_valid = resample_to_clock(times, values, valid, 30.0)
    assert np.allclose(query, times) and np.array_equal(out_valid, valid)
    assert np.array_equal(out[valid], values[valid]) and np.isnan(out[~valid]).all()


def test_per_person_validity() -> None:
    times = np.arange(4) / 2.0
    values = np.zeros((4, 2, 24, 3))
    valid = np.array([[True, True], [True, False], [True, True], [True, True]])
    _, out_valid = interpolate_rows(times, values, valid, np.array([0.25, 1.25]))
    assert out_valid.tolist() == [[True, False], [True, True]]


def test_clock_times_cover_the_video() -> None:
    t = clock_times(np.arange(25) / 24.0 + 0.5, 30.0)
    assert t[0] == 0.5 and t[-1] <= 0.5 + 1.0 + 1e-9 and len(t) == 31
