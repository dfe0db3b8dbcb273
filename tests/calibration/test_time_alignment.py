"""Time alignment on sequences with known offsets: pairwise lags, greedy Eq. 5, cycle consistency."""

import numpy as np
import pytest

from humansync_ns.calibration.lag_curve import parabola_vertex
from humansync_ns.calibration.time_alignment import (
    ClockedSequence,
    TimingOptions,
    cycle_consistent_alignment,
    global_time_alignment,
    greedy_global_alignment,
    pairwise_time_alignment,
    timing_confidence,
)

FPS = 30.0


def _smooth_motion(rng: np.random.Generator, duration_s: float) -> callable:
    """A smooth random 72-D signal of time (sum of sinusoids), like canonical joints."""
    freqs = rng.uniform(0.2, 1.5, size=(8, 1))
    phases = rng.uniform(0, 2 * np.pi, size=(8, 72))
    amps = rng.normal(size=(8, 72)) * 0.05
    return lambda t: np.sum(amps[None] * np.sin(2 * np.pi * freqs[None] * t[:, None, None] + phases[None]), axis=1)


def _sequences(offsets_s: np.ndarray, seed: int = 0, noise: float = 0.0, garbage: float = 0.0) -> list[ClockedSequence]:
    """Video v sees the motion at global time local + offset_v (docs/conventions.md), for 8 s."""
    rng = np.random.default_rng(seed)
    motion = _smooth_motion(rng, 12.0)
    out = []
    for v, offset in enumerate(offsets_s):
        local = np.arange(240) / FPS
        features = motion(local + offset + 2.0) + rng.normal(size=(240, 72)) * noise
        bad = rng.random(240) < garbage
        features[bad] += rng.normal(size=(int(bad.sum()), 72)) * 0.5
        out.append(ClockedSequence.of(f"cam{v:02d}", 0.0, features[:, None, :], np.ones((240, 1), dtype=bool), 24))
    return out


@pytest.mark.parametrize("method", ["paper", "robust"])
def test_pairwise_offsets_integer_frames(method: str) -> None:
    offsets = np.array([0.0, 10.0, -23.0, 35.0]) / FPS
    timing = pairwise_time_alignment(_sequences(offsets), TimingOptions(method=method, subframe=False, clock_fps=FPS))
    expected = offsets[None, :] - offsets[:, None]
    assert np.allclose(timing.offset_s, expected, atol=1e-9), method
    assert np.allclose(timing.offset_s, -timing.offset_s.T)
    assert np.allclose(timing.cost, timing.cost.T)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_subframe_offsets_within_a_tenth_of_a_frame(stride: int) -> None:
    offsets = np.array([0.0, 10.37, -4.71, 17.5]) / FPS
    options = TimingOptions(method="robust", subframe=True, clock_fps=FPS, dtw_stride=stride)
    timing = pairwise_time_alignment(_sequences(offsets), options)
    error_frames = np.abs(timing.offset_s - (offsets[None, :] - offsets[:, None])) * FPS
    assert error_frames.max() < 0.1, (stride, error_frames.max())


def test_robust_cost_survives_garbage_frames() -> None:
    offsets = np.array([0.0, 12.0, -7.0]) / FPS
    sequences = _sequences(offsets, seed=3, noise=0.005, garbage=0.15)
    timing = pairwise_time_alignment(sequences, TimingOptions(method="robust", clock_fps=FPS))
    error_frames = np.abs(timing.offset_s - (offsets[None, :] - offsets[:, None])) * FPS
    assert error_frames.max() < 0.5, error_frames


def test_parabola_vertex() -> None:
    f = lambda x: 3.0 * (x - 0.3) ** 2 + 1.0  # noqa: E731
    assert parabola_vertex(f(-1), f(0), f(1)) == pytest.approx(0.3)
    assert parabola_vertex(1.0, 2.0, 1.0) == 0.0  # a maximum is not a vertex to trust


def _pair_matrices(offsets: np.ndarray, rng: np.random.Generator, noise_s: float) -> tuple[np.ndarray, np.ndarray]:
    N = len(offsets)
    pair = offsets[None, :] - offsets[:, None] + np.triu(rng.normal(size=(N, N)) * noise_s, 1)
    pair = np.triu(pair, 1) - np.triu(pair, 1).T
    cost = np.abs(rng.normal(size=(N, N))) + 1.0
    return pair, (cost + cost.T) / 2


def test_greedy_places_every_video_from_the_cheapest_pair() -> None:
    offsets = np.array([0.0, 0.4, -1.2, 2.0, 0.7])
    pair, cost = _pair_matrices(offsets, np.random.default_rng(0), 0.0)
    result = greedy_global_alignment(cost, pair)
    assert np.allclose(result - result[0], offsets - offsets[0])


def test_cycle_consistency_rejects_a_wrong_pair_and_averages_noise() -> None:
    rng = np.random.default_rng(1)
    offsets = rng.uniform(-1, 1, size=8)
    pair, cost = _pair_matrices(offsets, rng, 0.3 / FPS)
    # The cheapest pair is badly wrong: the greedy solution inherits the error, the cycle solve doesn't.
    pair[2, 5], pair[5, 2] = pair[2, 5] + 0.5, pair[5, 2] - 0.5
    cost[2, 5] = cost[5, 2] = 0.01
    weight = np.where(np.eye(8, dtype=bool), 0.0, 1.0)
    greedy = greedy_global_alignment(cost, pair)
    solved, inlier = cycle_consistent_alignment(pair, weight, greedy, threshold_s=2.0 / FPS)
    err = lambda o: np.abs((o - o.mean()) - (offsets - offsets.mean())).max() * FPS  # noqa: E731
    assert not inlier[2, 5] and not inlier[5, 2]
    assert err(greedy) > 10.0
    assert err(solved) < 0.3
    confidence = timing_confidence(solved, pair, weight, FPS)
    assert confidence[2] < confidence[0] and confidence[5] < confidence[0]
    assert 0.0 <= confidence.min() and confidence.max() <= 1.0


def test_unreachable_video_stays_nan() -> None:
    cost = np.full((3, 3), np.nan)
    np.fill_diagonal(cost, 0.0)
    cost[0, 1] = cost[1, 0] = 1.0
    pair = np.zeros((3, 3))
    assert np.isnan(greedy_global_alignment(cost, pair)[2])


def test_global_alignment_end_to_end() -> None:
    offsets = np.array([0.0, 6.25, -13.5, 20.75, 3.0]) / FPS
    sequences = _sequences(offsets, seed=5, noise=0.003)
    for method in ("paper", "robust"):
        options = TimingOptions(method=method, subframe=method == "robust", clock_fps=FPS)
        timing = global_time_alignment(pairwise_time_alignment(sequences, options), method, FPS)
        result = timing.offsets_s - timing.offsets_s[0]
        bound = 1.0 if method == "paper" else 0.1  # paper: integer lags, rounding chains
        assert np.abs(result - offsets).max() * FPS < bound, (method, (result - offsets) * FPS)
