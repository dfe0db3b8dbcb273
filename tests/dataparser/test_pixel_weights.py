"""Temporal-variance weights in closed form, and sampling proportional to them."""

import numpy as np
import pytest
import torch

from humansync_ns.dataparser.pixel_weights import frame_difference_weights, temporal_median, temporal_variance_weights
from humansync_ns.dataparser.ray_sampling import PixelDistribution, RotatingSubset


def test_weights_closed_form():
    frames = np.zeros((4, 2, 3, 3), dtype=np.uint8)
    frames[::2, 0, 0] = 255  # pixel (0, 0) alternates black / white: variance 0.25 per channel
    weights = temporal_variance_weights(frames, gamma=0.1, floor=0.05)
    assert weights[0, 0] == pytest.approx(0.05 + 0.95 * 0.25 / (0.25 + 0.01))
    assert np.allclose(np.delete(weights.ravel(), 0), 0.05), "static pixels get the floor"
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        temporal_variance_weights(frames[..., :2], 0.1, 0.05)


def test_pixel_distribution_matches_weights():
    rng = np.random.default_rng(0)
    weights = rng.uniform(0, 1, size=(5, 7))
    weights[2, :] = 0.0  # an empty row is never drawn
    weights[0, 3] = 0.0
    distribution = PixelDistribution(weights)
    rows, cols = distribution.sample(200_000, torch.Generator().manual_seed(0))
    counts = np.zeros_like(weights)
    np.add.at(counts, (rows.numpy(), cols.numpy()), 1)
    expected = weights / weights.sum() * 200_000
    assert counts[2].sum() == 0 and counts[0, 3] == 0
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected + 1)), np.abs(counts - expected).max()


def test_rotating_subset_covers_every_frame_once_per_pass():
    subset = RotatingSubset(num_images=10, size=4, repeat=1, seed=0)
    seen = []
    for _ in range(5):  # 20 draws = two passes over 10 frames
        indices, changed = subset.next()
        assert changed and len(indices) == 4 and len(set(indices)) == 4
        seen += indices
    assert set(seen[:12]) == set(range(10)), "three subsets of 4 complete the first pass"
    held = RotatingSubset(num_images=10, size=3, repeat=-1)
    first, _ = held.next()
    assert all(held.next() == (first, False) for _ in range(5))


def test_background_and_frame_difference_weights_closed_form():
    frames = np.zeros((5, 2, 3, 3), dtype=np.uint8)
    frames[1, 0, 0] = 255  # something passes pixel (0, 0) in frame 1 only
    frames[:, 1, 2] = 40  # a static grey pixel
    background = temporal_median(frames)
    np.testing.assert_array_equal(background, frames[0])  # the median sees through the passer-by
    weights = frame_difference_weights(frames[1], background, gamma=0.1, floor=0.05)
    assert weights[0, 0] == pytest.approx(0.05 + 0.95 * 1.0 / (1.0 + 0.01))
    assert np.allclose(np.delete(weights.ravel(), 0), 0.05), "pixels equal to the background get the floor"
    assert np.allclose(frame_difference_weights(frames[2], background, 0.1, 0.05), 0.05)
    with pytest.raises(ValueError, match="differ in shape"):
        frame_difference_weights(frames[1], background[:1], 0.1, 0.05)
