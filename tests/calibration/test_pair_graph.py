"""Which pairs get DTW (issue 19 §3): a sparse, well-connected graph instead of all N² pairs, with
the same accuracy once the remaining pairs are refined around the predicted lag."""

import dataclasses

import numpy as np
import pytest
from degenerate_captures import capture

from humansync_ns.calibration import calibrate as calibrate_module
from humansync_ns.calibration.calibrate import CalibrationConfig, calibrate
from humansync_ns.calibration.errors import calibration_errors
from humansync_ns.calibration.pair_graph import all_pairs, circulant_pairs, more_partners
from humansync_ns.calibration.time_alignment import align_times


def _degrees(pairs, n):
    return np.bincount(np.array(pairs).ravel(), minlength=n)


def _connected(pairs, n) -> bool:
    reached, frontier = {0}, [0]
    while frontier:
        v = frontier.pop()
        for i, j in pairs:
            for a, b in ((i, j), (j, i)):
                if a == v and b not in reached:
                    reached.add(b)
                    frontier.append(b)
    return len(reached) == n


@pytest.mark.parametrize("n, per_video", [(100, 8), (37, 6), (500, 8), (12, 4)])
def test_circulant_graph_is_sparse_regular_connected_and_short(n: int, per_video: int) -> None:
    pairs = circulant_pairs(n, per_video)
    degrees = _degrees(pairs, n)
    assert len(set(pairs)) == len(pairs) and all(i < j for i, j in pairs)
    assert degrees.min() >= per_video - 1 and degrees.max() <= per_video and len(pairs) <= n * per_video // 2
    assert _connected(pairs, n)
    assert len(pairs) - n + 1 >= n  # independent cycles for the consistency check: at least one per video


def test_small_captures_align_all_pairs_and_extra_partners_are_new_and_near() -> None:
    assert circulant_pairs(9, 8) == all_pairs(9)
    tried = set(circulant_pairs(20, 4))
    extra = more_partners(20, [5], tried, 3)
    assert len(extra) == 3 and not set(extra) & tried and all(5 in p for p in extra)
    assert sorted(abs(i - j) for i, j in extra) == [2, 2, 3]  # the nearest untried partners (jump 1 is taken)


def _timing(tracks, config):
    clock = max(t.fps for t in tracks)
    prepared, _ = calibrate_module._prepare(tracks, config, None, clock)
    return align_times([p.sequence for p in prepared], calibrate_module._timing_options(config, clock, len(prepared)))


def test_sparse_graph_matches_all_pairs_accuracy_with_fewer_dtws() -> None:
    c = capture(seed=23, num_cameras=14, duration_s=6.0, start_spread_s=1.0)
    truth = np.array([v.time_offset_s for v in c.ground_truth.videos]) * 30.0
    errors, dtws = {}, {}
    for name, config in {"all": CalibrationConfig(), "sparse": CalibrationConfig(all_pairs_up_to=5, pairs_per_video=4, refine_pairs_per_video=16)}.items():
        pairwise, timing = _timing(c.tracks, config)
        estimate = (timing.offsets_s - timing.offsets_s[0]) * 30.0
        errors[name] = np.mean(np.abs(estimate - truth - np.mean(estimate - truth)))
        dtws[name] = len(pairwise.evidence)
        assert np.isfinite(pairwise.offset_s).all(), name  # every pair has an offset in the end (DTW or refined)
    assert dtws["all"] == 91 and dtws["sparse"] <= 14 * 4 // 2
    assert errors["sparse"] <= 1.1 * errors["all"] + 0.005, errors


def test_sparse_graph_still_excludes_a_bad_video_after_trying_more_partners() -> None:
    c = capture(seed=23, num_cameras=14, duration_s=6.0, start_spread_s=1.0)
    other = capture(seed=8, num_cameras=14, duration_s=6.0, start_spread_s=1.0)
    tracks = list(c.tracks)
    tracks[6] = dataclasses.replace(other.tracks[6], name="cam06")
    config = CalibrationConfig(all_pairs_up_to=5, pairs_per_video=4, refine_pairs_per_video=16)
    pairwise, _ = _timing(tracks, config)
    assert sum(6 in pair for pair in pairwise.evidence) > 4  # its failed pairs brought more partners
    calibration = calibrate(tracks, config)
    assert [e["name"] for e in calibration.excluded] == ["cam06"] and calibration.excluded[0]["check"] == "time"
    assert calibration_errors(calibration, c.ground_truth).mean_time_frames < 0.5


def test_results_do_not_depend_on_the_number_of_threads() -> None:
    tracks = capture(seed=24, num_cameras=6, duration_s=5.0, start_spread_s=1.0).tracks
    one, two = (calibrate(tracks, CalibrationConfig(workers=w, all_pairs_up_to=3, pairs_per_video=2, refine_pairs_per_video=2)) for w in (1, 2))
    assert [v.time_offset_s for v in one.videos] == [v.time_offset_s for v in two.videos]
    assert all(np.array_equal(a.camera_to_world, b.camera_to_world) for a, b in zip(one.videos, two.videos))
    assert np.array_equal(one.pairwise_offset_s, two.pairwise_offset_s, equal_nan=True)
