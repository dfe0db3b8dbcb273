"""DTW: the vectorised wavefront against the obvious double loop, and known lags."""

import numpy as np
import pytest

from humansync_ns.calibration.dtw import DtwWorkspace, dtw, dtw_batch, dtw_reference, most_frequent_lag


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (5, 9), (23, 17), (40, 40)])
def test_matches_reference(shape: tuple[int, int]) -> None:
    cost = np.random.default_rng(sum(shape)).random(shape)
    fast, slow = dtw(cost), dtw_reference(cost)
    assert fast.cost == pytest.approx(slow.cost, rel=1e-12), shape
    assert np.array_equal(fast.path, slow.path), shape
    assert fast.normalized_cost == pytest.approx(slow.cost / len(slow.path)), shape


def test_batch_of_mixed_sizes_matches_reference_and_reuses_workspace() -> None:
    rng = np.random.default_rng(0)
    costs = [rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 30)))) for _ in range(25)]
    workspace = DtwWorkspace()
    for _ in range(2):  # the second pass runs on reused scratch memory
        for cost, result in zip(costs, dtw_batch(costs, chunk=6, workspace=workspace)):
            reference = dtw_reference(cost)
            assert result.cost == pytest.approx(reference.cost, rel=1e-12), cost.shape
            assert np.array_equal(result.path, reference.path), cost.shape


def test_equal_sizes_on_a_workspace_left_dirty_by_a_larger_batch() -> None:
    """Equal-size batches skip clearing the scratch memory: nothing a larger batch left there may leak in."""
    rng = np.random.default_rng(1)
    workspace = DtwWorkspace()
    dtw_batch([rng.random((50, 60)) * 1e3, rng.random((20, 7))], workspace=workspace)
    costs = [rng.random((17, 23)) for _ in range(3)]
    for cost, result in zip(costs, dtw_batch(costs, workspace=workspace)):
        reference = dtw_reference(cost)
        assert result.cost == pytest.approx(reference.cost, rel=1e-12) and np.array_equal(result.path, reference.path)


@pytest.mark.parametrize("lag", [-12, 0, 7, 20])
def test_most_frequent_lag_of_shifted_signal(lag: int) -> None:
    rng = np.random.default_rng(abs(lag))
    signal = np.cumsum(rng.normal(size=(160, 3)), axis=0)
    a = signal[30:130]
    b = signal[30 + lag : 130 + lag]  # frame k of a is frame k − lag of b
    cost = np.linalg.norm(a[:, None] - b[None], axis=-1)
    assert most_frequent_lag(dtw(cost).path) == -lag


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1e-3])
def test_rejects_non_finite_or_negative_costs(bad: float) -> None:
    cost = np.ones((4, 4))
    cost[1, 2] = bad
    with pytest.raises(ValueError, match="cost matrix 1 must be finite and non-negative"):
        dtw_batch([np.ones((3, 5)), cost])
