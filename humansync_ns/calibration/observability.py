"""What the human motion can and cannot tell the calibration (issue 18 §1). Pure numpy.

A calibration that always returns numbers is dangerous: a person standing still, a motion that
repeats, two videos that never overlap, a walk from another take, a file in millimetres or with a
wrong fps label all give offsets and poses, and nothing in the numbers says they are wrong. The
checks here turn each of those into a measured quantity with a threshold:

- **Time offset of a pair** (from its lag-cost curve: the mean frame distance at each lag):
  *contrast* `1 − best / typical` (no distinct minimum when the person barely moves or the two
  motions match nowhere), *separation* of the deepest other minimum `(second − best) / (typical −
  best)` (a motion that repeats has several equally good lags), the *motion* in the overlap (RMS
  change of the features about their mean), the overlap's length, and the *rate*: the slope of the
  DTW path, 1 when both videos' fps labels are right (a 25 fps label on a 30 fps video gives 1.2).
- **Pose of a video** (from the bodies it shares with the others at synchronized instants): the
  spread of the people's pelvis positions (with all of them in one spot, a camera's position along
  its viewing ray rests on the monocular depth alone) and of the root-relative joints (a body
  collapsed to a plane or a line leaves its rotation undetermined).
- **Physical sanity**: body size from bone lengths against an adult skeleton (joints in
  millimetres are 1000× too large), motion speed per video from the pairwise rates (which video's
  fps label is off and what would fit). Rotations are checked where they are read
  (`motion.format.validate_track`, `calibration_io`).

`docs/checks.md` §6 explains the checks to users; `docs/formats.md` the recorded fields.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

from humansync_ns.motion.joints import SMPL_PARENTS, rest_joints

_PARENTS = np.array(SMPL_PARENTS[1:])
"""The parent of joints 1…23: bone j − 1 runs from it to joint j."""
_SECOND_MINIMUM_PROMINENCE = 0.1
"""A local minimum of the lag-cost curve counts as a second minimum when the curve rises between it
and the best lag by at least this fraction of (typical − best): wiggles on the flank of the best
lag's dip are not second minima."""


@dataclass
class ObservabilityChecks:
    """Thresholds of the observability and sanity checks. The defaults raise no alarm on the synthetic
    captures of the test suite and the benchmarks (up to SMPL noise σ = 0.2 with 8 videos) and catch
    every input of issue 18's table (docs/checks.md §6)."""

    min_time_contrast: float = 0.1
    """A video's offset is unobservable when even its best pair's lag-cost minimum is shallower than
    this (contrast = 1 − best cost / typical cost; a person standing still gives about 0.05)."""
    min_time_separation: float = 0.05
    """... or when its best pair has another lag fitting about as well (separation below this; a
    motion that repeats exactly gives 0)."""
    relative_time_contrast: float = 0.75
    """With three or more videos: a video whose best pair's contrast is below this × the median
    contrast of the other videos' pairs does not fit them (another take, no shared time)."""
    weak_time_contrast: float = 0.6
    """A calibrated video whose best pair's contrast is below this gets a warning (weakly determined offset)."""
    weak_time_separation: float = 0.2
    """... and likewise when its best pair's separation is below this (a motion close to repeating)."""
    max_rate_mismatch: float = 0.1
    """Largest relative difference of the motion's speed between two videos (DTW path slope − 1);
    beyond it one of their fps labels is wrong and the pair is not used."""
    person_order_ratio: float = 0.5
    """Several people: when matching them in another order costs less than this × matching them in
    the given order, the pair's person indices disagree and it is not used."""
    body_size_range: tuple[float, float] = (0.5, 2.0)
    """Median bone length relative to an average adult; outside this range the video is excluded
    (joints not in metres)."""
    min_position_spread_m: float = 0.1
    """Below this spread of the people's pelvis positions a video's camera position rests on the
    monocular depth estimate alone (warning)."""
    min_rotation_spread_m: float = 0.02
    """Below this thickness of the root-relative joint cloud a video's rotation is not determined (excluded)."""

    def validate(self) -> None:
        """Raises `ValueError` naming the field of an impossible threshold."""
        low, high = self.body_size_range
        for name, ok in (
            ("min_time_contrast", 0.0 <= self.min_time_contrast < 1.0),
            ("min_time_separation", 0.0 <= self.min_time_separation <= 1.0),
            ("relative_time_contrast", 0.0 <= self.relative_time_contrast <= 1.0),
            ("weak_time_contrast", 0.0 <= self.weak_time_contrast <= 1.0),
            ("weak_time_separation", 0.0 <= self.weak_time_separation <= 1.0),
            ("max_rate_mismatch", 0.0 < self.max_rate_mismatch < 1.0),
            ("person_order_ratio", 0.0 <= self.person_order_ratio <= 1.0),
            ("body_size_range", 0.0 < low < 1.0 < high),
            ("min_position_spread_m", self.min_position_spread_m >= 0.0),
            ("min_rotation_spread_m", self.min_rotation_spread_m >= 0.0),
        ):
            if not ok:
                raise ValueError(f"--calib.checks.{name.replace('_', '-')} {getattr(self, name)}: out of range")


class PairEvidence(NamedTuple):
    """How well one pair of videos determines its time offset."""

    contrast: float
    """1 − (cost at the best lag) / (median cost over lags): 0 for a flat lag-cost curve."""
    separation: float
    """(second minimum − best) / (typical − best) in [0, 1]; 1 when the curve has no other minimum."""
    second_lag_s: float
    """Lag of that second minimum relative to the best one (NaN when there is none)."""
    motion_rms: float
    """Typical change of the features about their mean in the overlap (metres per joint for joints;
    root of the median squared deviation), of the less moving of the two videos."""
    residual_rms: float
    """RMS feature distance at the best lag (same units): what the motions disagree by when aligned."""
    overlap_s: float
    """Time both videos see a common person at the chosen lag."""
    rate: float
    """DTW path slope: samples of the second video per sample of the first (1 when both fps are right)."""
    person_order: Optional[tuple[int, ...]] = None
    """Several people: the order of the second video's people that matches the first's much better
    than the given one (None when the given order fits)."""

    @property
    def quality(self) -> float:
        """contrast × separation: how sharp and unique the minimum is (best pair of a video = max)."""
        return self.contrast * self.separation


def curve_evidence(means: np.ndarray, counts: np.ndarray, lags: np.ndarray, best_lag: float, min_count: int) -> tuple[float, float, float, float]:
    """(contrast, separation, second lag, cost at the best lag) of a lag-cost curve; see `PairEvidence`.

    Args:
        means: (L,) mean (capped) frame distance at each lag, `inf` where nothing overlaps.
        counts: (L,) frames overlapping at each lag; lags with fewer than `min_count` are unreliable
            (a short corner of the two videos) and do not count as a typical or second minimum.
        lags: (L,) the lags, increasing, in any unit (`best_lag` and the result in the same unit).
        best_lag: the lag the alignment chose.
    """
    reliable = (counts >= min_count) & np.isfinite(means)
    if np.count_nonzero(reliable) < 3:
        return 0.0, 0.0, np.nan, np.nan
    typical = float(np.median(means[reliable]))
    b = int(np.argmin(np.abs(lags - best_lag)))
    near = slice(max(b - 1, 0), b + 2)
    best = float(np.min(np.where(np.isfinite(means[near]), means[near], np.inf)))
    if not np.isfinite(best) or typical <= 0.0:
        return 0.0, 0.0, np.nan, best
    depth = typical - best
    contrast = float(np.clip(depth / typical, 0.0, 1.0))
    if depth <= 0.0:
        return contrast, 0.0, np.nan, best
    curve = np.concatenate([[np.inf], np.where(reliable, means, np.inf), [np.inf]])
    inner = curve[1:-1]
    minima = np.flatnonzero(np.isfinite(inner) & (inner <= curve[:-2]) & (inner <= curve[2:]))
    # Highest point of the curve between the best lag and each lag (the barrier a minimum must clear).
    right = np.maximum.accumulate(inner[b:])
    left = np.maximum.accumulate(inner[: b + 1][::-1])[::-1]
    barrier = np.concatenate([left[:-1], right])
    prominent = minima[(np.abs(minima - b) > 1) & (barrier[minima] - inner[minima] >= _SECOND_MINIMUM_PROMINENCE * depth)]
    if prominent.size == 0:
        return contrast, 1.0, np.nan, best
    second = prominent[np.argmin(inner[prominent])]
    separation = float(np.clip((inner[second] - best) / depth, 0.0, 1.0))
    return contrast, separation, float(lags[second] - best_lag), best


def path_rate(path: np.ndarray) -> float:
    """Slope of a DTW path (L, 2) of (i, j) away from the borders, where it runs along an edge of the
    cost matrix because the videos start or end at different times; NaN when too little is left."""
    i, j = path[:, 0], path[:, 1]
    inner = (i > 0) & (j > 0) & (i < i[-1]) & (j < j[-1])
    if np.count_nonzero(inner) < 10 or np.ptp(i[inner]) < 10:
        return np.nan
    x, y = i[inner] - i[inner].mean(), j[inner] - j[inner].mean()
    return float(np.sum(x * y) / np.sum(x * x))


def person_order(costs: np.ndarray, ratio: float) -> Optional[tuple[int, ...]]:
    """The order `π` of the second video's people with `Σ_p costs[p, π(p)]` below `ratio` × the cost
    of the given order, if any (the cheapest such); `costs` (P, P) is the matching cost of person p
    of the first video with person q of the second."""
    P = len(costs)
    identity = float(np.trace(costs))
    best = min(itertools.permutations(range(P)), key=lambda order: costs[np.arange(P), list(order)].sum())
    if list(best) == list(range(P)) or not costs[np.arange(P), list(best)].sum() < ratio * identity:
        return None
    return tuple(int(q) for q in best)


def pair_problem(evidence: PairEvidence, checks: ObservabilityChecks) -> Optional[str]:
    """Why a pair must not be used at all (wrong fps label, people in another order), or None."""
    if np.isfinite(evidence.rate) and abs(np.log(evidence.rate)) > np.log1p(checks.max_rate_mismatch):
        return (f"the motion runs {evidence.rate:.2f}× as fast in one video as in the other (DTW path slope): one of the two "
                "fps labels is wrong, or the videos share no motion")
    if evidence.person_order is not None:
        return (f"the people are in another order: person p of the first video matches person {list(evidence.person_order)}[p] "
                "of the second (fix the person indices, e.g. with a person mapping when importing)")
    return None


def time_problem(best: PairEvidence, others_contrast: Optional[float], checks: ObservabilityChecks) -> Optional[str]:
    """Why a video's offset is unobservable, judged on its best pair, or None.

    Args:
        best: the evidence of the video's best usable pair (highest `quality`).
        others_contrast: median contrast of the pairs among the other videos (None with two videos).
    """
    if best.contrast < checks.min_time_contrast:
        moving = "the person barely moves" if best.motion_rms <= 2.0 * best.residual_rms else "the motions match at no lag"
        return (f"no distinct best lag (contrast {best.contrast:.2f} < {checks.min_time_contrast:g}): {moving} "
                f"(motion {best.motion_rms:.3f}, residual {best.residual_rms:.3f} per joint)")
    if best.separation < checks.min_time_separation:
        return (f"ambiguous: a lag {best.second_lag_s:+.2f} s away fits as well as the best (separation {best.separation:.2f} "
                f"< {checks.min_time_separation:g}): the motion repeats")
    if others_contrast is not None and best.contrast < checks.relative_time_contrast * others_contrast:
        return (f"its motion fits the other videos' much worse than they fit each other (contrast {best.contrast:.2f} against "
                f"{others_contrast:.2f}): another take or person, no shared time, or a different person order")
    return None


def time_warning(best: PairEvidence, checks: ObservabilityChecks) -> Optional[str]:
    """A warning for a calibrated video whose best pair's minimum is shallow or nearly repeated, or None."""
    if best.contrast >= checks.weak_time_contrast and best.separation >= checks.weak_time_separation:
        return None
    second = f", a lag {best.second_lag_s:+.2f} s away fits nearly as well" if np.isfinite(best.second_lag_s) else ""
    return (f"time offset weakly determined: its best pair's lag-cost minimum has contrast {best.contrast:.2f} and separation "
            f"{best.separation:.2f}{second} (noisy, nearly repeating or non-overlapping motion?)")


def speed_factors(pairs: list[tuple[int, int]], rates: np.ndarray, num_videos: int) -> np.ndarray:
    """(N,) speed of each video's motion relative to the typical video (1 = consistent fps), NaN without rates.

    From `log rate_ij = log speed_i − log speed_j` (a pair's DTW slope is the second video's
    samples per sample of the first) in least squares, then shifted so the median video is 1:
    one video with a wrong fps label stands out, the others stay at 1.
    """
    ok = np.isfinite(rates) & (rates > 0)
    if not ok.any():
        return np.full(num_videos, np.nan)
    I, J = np.array(pairs)[ok].T
    A = np.zeros((int(ok.sum()), num_videos))
    A[np.arange(len(I)), I], A[np.arange(len(I)), J] = 1.0, -1.0
    seen = np.zeros(num_videos, dtype=bool)
    seen[I], seen[J] = True, True
    log_speed = np.full(num_videos, np.nan)
    log_speed[seen] = np.linalg.lstsq(A[:, seen], np.log(rates[ok]), rcond=None)[0]
    return np.exp(log_speed - np.nanmedian(log_speed))


def body_scale(joints: np.ndarray, valid: np.ndarray) -> float:
    """Median bone length of the bodies (T, P, 24, 3) relative to the built-in adult skeleton (NaN if none valid)."""
    if not valid.any():
        return np.nan
    bodies = joints[valid]  # (n, 24, 3)
    bones = bodies[:, 1:] - bodies[:, _PARENTS]
    lengths = np.sqrt(bones[..., 0] ** 2 + bones[..., 1] ** 2 + bones[..., 2] ** 2)  # (norm() over 3 values is slow)
    rest = rest_joints()
    rest_lengths = np.linalg.norm(rest[1:] - rest[_PARENTS], axis=-1)
    return float(np.median(np.median(lengths, axis=0) / rest_lengths))


def principal_spread(points: np.ndarray) -> np.ndarray:
    """(3,) standard deviations of points (n, 3) along their principal axes, largest first (zeros if n < 2)."""
    if len(points) < 2:
        return np.zeros(3)
    eigenvalues = np.linalg.eigvalsh(np.cov(points.T))
    return np.sqrt(np.clip(eigenvalues[::-1], 0.0, None))
