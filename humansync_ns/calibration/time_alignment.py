"""Time offsets from human motion (paper Sec. 3.2, Eq. 2, 4, 5; seed 002 for cycle consistency).

Pairwise step: every pair of videos, on one common clock, gets a frame-distance matrix (Eq. 2 on
canonical joints, or Eq. 15 on SMPL parameters), a DTW path, and a lag = the most frequent
`j − i` along the path. Two flavours:

- "paper": plain distance, the DTW lag as is (integer frames), cost = DTW cost / path length.
- "robust": invalid cells masked, per-frame squared distance truncated at the median (a garbage
  frame costs at most the cap); DTW optionally on every `dtw_stride`-th sample (coarse to fine);
  two candidate lags, the DTW lag and the minimum of the coarse lag-cost curve (mean truncated
  squared distance over the frames overlapping at each lag, at least half the shorter video),
  each re-checked at full rate on that curve within a few frames; the cheaper wins, and the
  pair's cost is the curve at its minimum. The second candidate matters under heavy pose noise
  (SMPL σ = 0.2), where the DTW path's most frequent lag can be many frames off.
  With `subframe`, a parabola through the curve at the best lag and its neighbours gives the
  fractional part (squared distances are locally quadratic in the lag, so the vertex is unbiased).

Global step: the paper's greedy alignment from the cheapest pair (Eq. 5), or a cycle-consistent
weighted least-squares solve of `o_j − o_i = offset_s[i, j]` over all pairs (started from the
greedy solution and from the plain all-pairs solution), with pairs whose residual is far off
rejected and the solve repeated.

Sign convention (docs/formats.md): `offset_s[i, j] ≈ time_offset_s[j] − time_offset_s[i]`, and
`global_time = local_time + time_offset_s`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, NamedTuple, Optional

import numpy as np
from typing_extensions import assert_never

from humansync_ns.calibration.dtw import DtwWorkspace, dtw_batch, most_frequent_lag

TimeMethod = Literal["paper", "robust"]


@dataclass
class ClockedSequence:
    """One video's per-frame features on the common clock."""

    name: str
    start_s: float
    """Local time of clock sample 0 (the video's first frame)."""
    features: np.ndarray
    """(K, P, F) per-person feature vectors (flattened canonical joints or SMPL parameters)."""
    valid: np.ndarray
    """(K, P) bool."""
    feature_groups: int = 1
    """Number of sub-vectors F is made of (24 joints), to report distances per joint."""


class PairwiseTiming(NamedTuple):
    """The N×N evidence of the pairwise step (NaN where a pair is unusable)."""

    names: list[str]
    cost: np.ndarray
    """(N, N) symmetric alignment cost (lower is better)."""
    offset_s: np.ndarray
    """(N, N) antisymmetric: offset_s[i, j] ≈ time_offset_s[j] − time_offset_s[i]."""
    overlap: np.ndarray
    """(N, N) number of clock samples where both videos see a common person at the chosen lag."""
    weight: np.ndarray
    """(N, N) symmetric confidence weight of the pair for the global solve (0 if unusable)."""


@dataclass
class TimingOptions:
    """Settings of the pairwise step (`CalibrationConfig` documents each for users)."""

    method: TimeMethod = "robust"
    subframe: bool = True
    """Fractional lag from a parabola through the lag-cost curve."""
    clock_fps: float = 30.0
    """Rate of the common clock the sequences are sampled on."""
    min_overlap: int = 15
    """Clock samples both videos must share at the chosen lag for the pair to count."""
    cap_factor: float = 1.0
    """Robust truncation: per-frame squared distances above cap_factor × median are clipped."""
    search_radius: int = 3
    """Robust: the lag-cost minimum is looked for within this many frames of the DTW lag."""
    dtw_stride: int = 1
    """DTW on every n-th clock sample, the lag then refined at full rate (coarse to fine)."""
    chunk: int = 32
    """Pairs whose DTW runs together (memory ≈ chunk × 2 × n × m × 8 bytes)."""
    show_progress: bool = False


def _prepared_features(sequence: ClockedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Features with invalid rows zeroed (K, P, F) and their squared norms (K, P), computed once."""
    features = np.where(sequence.valid[..., None], np.nan_to_num(sequence.features), 0.0)
    return features, np.einsum("kpf,kpf->kp", features, features)


def pair_distances(a: ClockedSequence, b: ClockedSequence, prepared: Optional[tuple] = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared feature distance per group (m² per joint for joints) between all frames of a and b.

    Returns (n, m) distances averaged over the people visible in both frames (cells without a
    common person hold arbitrary values), and the (n, m) mask of frame pairs sharing a person.
    `prepared` optionally passes `(_prepared_features(a), _prepared_features(b))`.
    """
    (fa, na), (fb, nb) = prepared or (_prepared_features(a), _prepared_features(b))
    people = fa.shape[1]
    total, count = None, None
    for p in range(people):
        sq = fa[:, p] @ (-2.0 * fb[:, p].T)  # |a − b|² = |a|² + |b|² − 2 a·b
        sq += na[:, p, None]
        sq += nb[None, :, p]
        np.maximum(sq, 0.0, out=sq)
        both = np.outer(a.valid[:, p], b.valid[:, p])
        if people == 1:
            total, count = sq, both
        else:
            sq *= both
            total = sq if total is None else total + sq
            count = both.astype(np.int32) if count is None else count + both
    if people > 1:
        total /= np.maximum(count, 1)
    total /= a.feature_groups
    return total, np.asarray(count > 0)


def lag_costs(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], lags: np.ndarray, cap: float, groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lag-cost curve: at each lag, the mean over overlapping frames of the (capped) distance.

    Args:
        a, b: (features (K, P, F) with invalid rows zeroed, valid (K, P)) of the two videos.
        lags: integer lags; frame k of a is compared with frame k + lag of b.
        cap: per-frame squared distances are clipped at this (inf: no clipping).
        groups: sub-vectors per feature (24 joints) so the distance is per joint.

    Returns:
        (len(lags),) mean squared distances (inf where nothing overlaps) and the overlap counts.
    """
    (fa, va), (fb, vb) = a, b
    n, m = len(fa), len(fb)
    means = np.full(len(lags), np.inf)
    counts = np.zeros(len(lags), dtype=np.int64)
    for k, lag in enumerate(lags):
        lo, hi = max(0, -lag), min(n, m - lag)
        if hi <= lo:
            continue
        both = va[lo:hi] & vb[lo + lag : hi + lag]  # (L, P)
        sq = np.sum((fa[lo:hi] - fb[lo + lag : hi + lag]) ** 2, axis=-1) / groups
        people = both.sum(1)
        frame = np.where(both, sq, 0.0).sum(1) / np.maximum(people, 1)
        seen = people > 0
        counts[k] = np.count_nonzero(seen)
        if counts[k]:
            means[k] = np.minimum(frame[seen], cap).mean()
    return means, counts


def parabola_vertex(left: float, centre: float, right: float) -> float:
    """Offset in [−1, 1] of the vertex of the parabola through (−1, left), (0, centre), (1, right)."""
    curvature = left - 2.0 * centre + right
    if not np.isfinite(curvature) or curvature <= 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / curvature, -1.0, 1.0))


def _refine_lag(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], lag: int, cap: float, groups: int, options: TimingOptions
) -> tuple[float, float, int]:
    """(fractional lag, lag cost at it, overlap) from the lag-cost curve around the DTW lag."""
    radius = options.search_radius if options.method == "robust" else 0
    lags = np.arange(lag - radius - 1, lag + radius + 2)
    curve, counts = lag_costs(a, b, lags, cap, groups)
    usable = counts >= options.min_overlap
    inner = np.arange(1, len(lags) - 1)
    candidates = inner[usable[inner]]
    if len(candidates) == 0:
        return float(lag), np.inf, int(counts[radius + 1])
    best = int(candidates[np.argmin(curve[candidates])])
    frac = 0.0
    if options.subframe and usable[best - 1] and usable[best + 1]:
        frac = parabola_vertex(curve[best - 1], curve[best], curve[best + 1])
    return float(lags[best]) + frac, float(curve[best]), int(counts[best])


def _curve_minimum(sq: np.ndarray, both: np.ndarray, min_count: int) -> int:
    """Lag `j − i` minimising the mean of `sq` over the masked cells of its diagonal (≥ min_count cells)."""
    n, m = sq.shape
    index = (np.arange(m)[None, :] - np.arange(n)[:, None] + n - 1).ravel()
    sums = np.bincount(index, weights=np.where(both, sq, 0.0).ravel(), minlength=n + m - 1)
    counts = np.bincount(index, weights=both.ravel().astype(np.float64), minlength=n + m - 1)
    means = np.where(counts >= min_count, sums / np.maximum(counts, 1), np.inf)
    return int(np.argmin(means)) - (n - 1)


def _dtw_cost_matrix(sq: np.ndarray, both: np.ndarray, options: TimingOptions) -> tuple[np.ndarray, float]:
    """DTW local costs (distances, not squared) and the cap on squared distances (inf for "paper")."""
    if options.method == "paper":
        dist = np.sqrt(sq)
        fill = dist[both].max() if both.any() else 1.0
        return np.where(both, dist, fill), np.inf
    # The median of a regular subsample is plenty for a cap, at a fraction of the cost.
    cap = float(options.cap_factor * np.median(sq[both][::7])) if both.any() else 1.0
    np.minimum(sq, cap, out=sq)
    return np.sqrt(np.where(both, sq, cap)), cap


def pairwise_time_alignment(sequences: list[ClockedSequence], options: TimingOptions) -> PairwiseTiming:
    """All-pairs DTW (Eq. 4): the N×N cost, offset, overlap and weight matrices.

    With `dtw_stride` > 1 the DTW runs on every stride-th clock sample (coarse) and the lag is then
    searched at full rate on the lag-cost curve within `search_radius + dtw_stride` samples.
    """
    N = len(sequences)
    cost = np.full((N, N), np.nan)
    offset = np.full((N, N), np.nan)
    overlap = np.zeros((N, N), dtype=np.int64)
    np.fill_diagonal(cost, 0.0)
    np.fill_diagonal(offset, 0.0)
    stride = max(1, options.dtw_stride)
    full = [_prepared_features(s) for s in sequences]
    coarse_seq = [
        ClockedSequence(s.name, s.start_s, s.features[::stride], s.valid[::stride], s.feature_groups) for s in sequences
    ]
    coarse = [(f[::stride], n[::stride]) for f, n in full]
    refine_options = dataclasses.replace(options, search_radius=options.search_radius + stride - 1) if stride > 1 else options
    pairs = [(i, j) for i in range(N) for j in range(i + 1, N)]
    workspace = DtwWorkspace()
    chunks = [pairs[k : k + options.chunk] for k in range(0, len(pairs), options.chunk)]
    for chunk in _progress(chunks, "time alignment (DTW)", options.show_progress):
        prepared = []
        for i, j in chunk:
            sq, both = pair_distances(coarse_seq[i], coarse_seq[j], (coarse[i], coarse[j]))
            if np.count_nonzero(both) < options.min_overlap // stride:
                continue
            local, cap = _dtw_cost_matrix(sq, both, options)
            # Robust: the coarse lag-cost curve's minimum is a second candidate next to the DTW lag
            # (a noisy DTW path can put its most frequent lag several frames off).
            # It must overlap at least half of the shorter video: short corner diagonals have noisy means.
            min_count = max(options.min_overlap // stride, min(sq.shape) // 2)
            extra = [_curve_minimum(sq, both, min_count) * stride] if options.method == "robust" else []
            prepared.append((i, j, local, cap, extra))
        results = dtw_batch([p[2] for p in prepared], chunk=len(prepared) or 1, workspace=workspace)
        for (i, j, _, cap, extra), result in zip(prepared, results):
            a, b = sequences[i], sequences[j]
            candidates = {most_frequent_lag(result.path) * stride, *extra}
            refined = [
                _refine_lag((full[i][0], a.valid), (full[j][0], b.valid), lag, cap, a.feature_groups, refine_options) for lag in candidates
            ]
            frac_lag, curve_cost, shared = min(refined, key=lambda r: (r[2] < options.min_overlap, r[1]))
            if shared < options.min_overlap:
                continue
            # Sample k of a matches sample k + lag of b: o_b − o_a = t_a − t_b.
            delta = a.start_s - b.start_s - frac_lag / options.clock_fps
            offset[i, j], offset[j, i] = delta, -delta
            cost[i, j] = cost[j, i] = result.normalized_cost if options.method == "paper" else curve_cost
            overlap[i, j] = overlap[j, i] = shared
    weight = _pair_weights(cost, overlap)
    return PairwiseTiming([s.name for s in sequences], cost, offset, overlap, weight)


def _pair_weights(cost: np.ndarray, overlap: np.ndarray) -> np.ndarray:
    """Overlap / cost, relative to the median cost so the numbers stay readable; 0 if unusable."""
    off_diag = ~np.eye(len(cost), dtype=bool)
    usable = off_diag & np.isfinite(cost)
    if not usable.any():
        return np.zeros_like(cost)
    scale = np.median(cost[usable])
    floor = max(scale * 1e-3, 1e-12)
    return np.where(usable, overlap / np.maximum(cost, floor) * max(scale, floor), 0.0)


def greedy_global_alignment(cost: np.ndarray, offset_s: np.ndarray) -> np.ndarray:
    """Eq. 5: offsets (N,) placed pair by pair in increasing cost order from the cheapest pair.

    The first video of the cheapest pair gets offset 0; a pair is used when exactly one of its
    videos is placed. Videos never reached are NaN.
    """
    N = len(cost)
    pairs = sorted(((cost[i, j], i, j) for i in range(N) for j in range(i + 1, N) if np.isfinite(cost[i, j])))
    offsets = np.full(N, np.nan)
    if not pairs:
        return offsets
    _, i0, j0 = pairs[0]
    offsets[i0], offsets[j0] = 0.0, offset_s[i0, j0]
    changed = True
    while changed:
        changed = False
        for _, i, j in pairs:
            placed_i, placed_j = np.isfinite(offsets[i]), np.isfinite(offsets[j])
            if placed_i != placed_j:
                if placed_i:
                    offsets[j] = offsets[i] + offset_s[i, j]
                else:
                    offsets[i] = offsets[j] - offset_s[i, j]
                changed = True
                break
    return offsets


class GlobalTiming(NamedTuple):
    offsets_s: np.ndarray
    """(N,) offsets (NaN for videos that could not be placed), arbitrary common shift."""
    inlier: np.ndarray
    """(N, N) pairs consistent with the solution."""
    confidence: np.ndarray
    """(N,) in [0, 1]."""


def cycle_consistent_alignment(
    offset_s: np.ndarray, weight: np.ndarray, init_s: np.ndarray, threshold_s: float, iterations: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares over all pairs, `o_j − o_i ≈ offset_s[i, j]`, with outlier pairs dropped.

    Two starts, kept apart: `init_s` (e.g. the greedy solution, which a wrong cheap pair can
    mislead) and the least-squares solution over all pairs (which one wrong pair only smears).
    From each, pairs whose residual is below `max(threshold_s, 3 × robust std of the residuals)`
    are kept and the solve repeated; the start whose result keeps the most pair weight wins.
    Each video keeps at least its most trusted pair. Returns offsets (N,) and the (N, N) inliers.
    """
    N = len(offset_s)
    placed = np.isfinite(init_s)
    edges = [(i, j) for i in range(N) for j in range(i + 1, N) if placed[i] and placed[j] and weight[i, j] > 0]
    if not edges:
        return init_s.copy(), np.zeros((N, N), dtype=bool)
    I, J = np.array(edges).T
    target, w = offset_s[I, J], weight[I, J]
    everything = np.ones(len(edges), dtype=bool)
    starts = [init_s.copy(), _solve_offsets(I, J, target, w, everything, placed, init_s)]
    best = None
    for offsets in starts:
        keep = everything
        for _ in range(iterations):
            keep_new = _consistent_pairs(offsets[J] - offsets[I] - target, threshold_s, I, J, w, placed)
            if np.array_equal(keep_new, keep) and _ > 0:
                break
            keep = keep_new
            offsets = _solve_offsets(I, J, target, w, keep, placed, offsets)
        score = (w[keep].sum(), -np.sum(w[keep] * (offsets[J] - offsets[I] - target)[keep] ** 2))
        if best is None or score > best[0]:
            best = (score, offsets, keep)
    _, offsets, keep = best
    inlier = np.zeros((N, N), dtype=bool)
    inlier[I[keep], J[keep]] = True
    return offsets, inlier | inlier.T


def _consistent_pairs(residual: np.ndarray, threshold_s: float, I: np.ndarray, J: np.ndarray, w: np.ndarray, placed: np.ndarray) -> np.ndarray:
    spread = 1.4826 * np.median(np.abs(residual - np.median(residual)))
    keep = np.abs(residual) <= max(threshold_s, 3.0 * spread)
    for v in np.flatnonzero(placed):  # never orphan a video: keep its most trusted pair
        touching = (I == v) | (J == v)
        if touching.any() and not (keep & touching).any():
            keep[np.flatnonzero(touching)[np.argmax(w[touching])]] = True
    return keep


def _solve_offsets(
    I: np.ndarray, J: np.ndarray, target: np.ndarray, w: np.ndarray, keep: np.ndarray, placed: np.ndarray, previous: np.ndarray
) -> np.ndarray:
    """Weighted least squares `o_J − o_I = target` over the kept pairs; the common shift follows `previous`."""
    N = len(placed)
    rows = int(keep.sum())
    A = np.zeros((rows + 1, N))
    A[np.arange(rows), J[keep]], A[np.arange(rows), I[keep]] = 1.0, -1.0
    sw = np.sqrt(w[keep] / w[keep].max())
    A[:rows] *= sw[:, None]
    anchor = int(np.flatnonzero(placed)[0])
    A[-1, anchor] = 1.0  # gauge: the common shift is arbitrary
    rhs = np.concatenate([target[keep] * sw, [previous[anchor]]])
    offsets = previous.copy()
    offsets[placed] = np.linalg.lstsq(A[:, placed], rhs, rcond=None)[0]
    return offsets


def timing_confidence(offsets_s: np.ndarray, offset_s: np.ndarray, weight: np.ndarray, clock_fps: float) -> np.ndarray:
    """Per video: weighted agreement of its pairs with the global offsets.

    `Σ_u w_vu · exp(−½ (r_vu / 1 frame)²) / Σ_u w_vu` with `r_vu` the pair's residual in clock
    frames: 1 when every pair agrees to a fraction of a frame, near 0 when none does.
    """
    N = len(offsets_s)
    residual = (offsets_s[None, :] - offsets_s[:, None] - offset_s) * clock_fps
    usable = (weight > 0) & np.isfinite(residual) & ~np.eye(N, dtype=bool)
    agree = np.where(usable, np.exp(-0.5 * np.nan_to_num(residual) ** 2), 0.0)
    total = np.where(usable, weight, 0.0).sum(1)
    conf = (weight * agree).sum(1) / np.maximum(total, 1e-300)
    return np.where(np.isfinite(offsets_s) & (total > 0), conf, 0.0)


def global_time_alignment(pairwise: PairwiseTiming, method: TimeMethod, clock_fps: float, outlier_frames: float = 2.0) -> GlobalTiming:
    """Eq. 5 (greedy, "paper") or greedy + cycle-consistent least squares ("robust")."""
    greedy = greedy_global_alignment(pairwise.cost, pairwise.offset_s)
    if method == "paper":
        offsets = greedy
        residual = (offsets[None, :] - offsets[:, None] - pairwise.offset_s) * clock_fps
        inlier = (pairwise.weight > 0) & (np.abs(np.nan_to_num(residual, nan=np.inf)) <= outlier_frames)
    elif method == "robust":
        offsets, inlier = cycle_consistent_alignment(pairwise.offset_s, pairwise.weight, greedy, outlier_frames / clock_fps)
    else:
        assert_never(method)
    confidence = timing_confidence(offsets, pairwise.offset_s, pairwise.weight, clock_fps)
    return GlobalTiming(offsets, inlier, confidence)


def _progress(items: list, description: str, show: bool):
    if not show or len(items) < 2:
        return items
    from rich.progress import track

    return track(items, description=description)
