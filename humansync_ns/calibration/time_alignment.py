"""Time offsets from human motion (paper Sec. 3.2, Eq. 2, 4, 5; seed 002 for cycle consistency).

Pairwise step: pairs of videos, on one common clock, get a frame-distance matrix (Eq. 2 on
canonical joints, or Eq. 15 on SMPL parameters), a DTW path, and a lag = the most frequent
`j − i` along the path. Two flavours:

- "paper": plain distance, the DTW lag as is (integer frames), cost = DTW cost / path length.
- "robust": invalid cells masked, per-frame squared distance truncated at the median (a garbage
  frame costs at most the cap); DTW on every `dtw_stride`-th sample (coarse to fine; long videos
  get a larger stride so the DTW never exceeds `max_dtw_samples`); two candidate lags, the DTW lag
  and the minimum of the coarse lag-cost curve (mean truncated squared distance over the frames
  overlapping at each lag, at least half the shorter video), each re-checked at full rate on that
  curve within a few frames; the cheaper wins, and the pair's cost is the curve at its minimum.
  The second candidate matters under heavy pose noise (SMPL σ = 0.2), where the DTW path's most
  frequent lag can be many frames off. With `subframe`, a parabola through the curve at the best
  lag and its neighbours gives the fractional part (squared distances are locally quadratic in
  the lag, so the vertex is unbiased).

Every DTW pair also gets its observability (`observability.PairEvidence`: contrast and uniqueness
of the lag-cost minimum, motion, overlap, DTW path slope); a pair that fails a check gets weight 0
and its reason in `PairwiseTiming.problems`, so it can neither place a video nor pull on it.

Which pairs (`align_times`): all of them, or (`pairs_per_video` set) DTW on a circulant graph of
that many pairs per video (`pair_graph`), more partners for videos whose pairs failed, a first
global solve, and then `refine_pairs_per_video` further pairs per video aligned without DTW, only
on the full-rate lag-cost curve within a frame of the lag the first solve predicts (cheap): the
final solve averages over about as many pairs as the all-pairs version would.

Global step: the paper's greedy alignment from the cheapest pair (Eq. 5), or a cycle-consistent
weighted least-squares solve of `o_j − o_i = offset_s[i, j]` over the pairs (started from the
greedy solution and from the plain least-squares solution), with pairs whose residual is far off
rejected and the solve repeated.

Sign convention (docs/formats.md): `offset_s[i, j] ≈ time_offset_s[j] − time_offset_s[i]`, and
`global_time = local_time + time_offset_s`.
"""

from __future__ import annotations

import heapq
import math
import threading
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Optional

import numpy as np
from typing_extensions import assert_never

from humansync_ns.calibration.dtw import DtwResult, DtwWorkspace, dtw_batch, most_frequent_lag
from humansync_ns.calibration.observability import (
    ObservabilityChecks,
    PairEvidence,
    curve_evidence,
    pair_problem,
    path_rate,
    person_order,
    time_problem,
)
from humansync_ns.calibration.lag_curve import (
    Features,
    diagonal_curve,
    lag_costs,
    motion_rms,
    padded_features,
    pair_distances,
    parabola_vertex,
    person_costs,
)
from humansync_ns.calibration.pair_graph import all_pairs, circulant_pairs, more_partners
from humansync_ns.calibration.workers import progress, thread_map

TimeMethod = Literal["paper", "robust"]
_DTW_MEMORY_BYTES = 64 * 2**20
"""Scratch memory of one batch of DTWs (pairs per batch shrink as the videos grow)."""
_PARTNER_ROUNDS = 3
"""Sparse graph: rounds of extra partners for videos whose pairs failed."""
_PREDICTED_RADIUS = 1
"""Pairs refined without DTW: frames searched around the predicted lag (the first global solve is
accurate to a small fraction of a frame; a pair whose minimum lies further is an outlier anyway)."""
_REFINE_BLOCK = 64
"""Pairs refined without DTW per task of the thread pool."""


@dataclass
class ClockedSequence:
    """One video's per-frame features on the common clock."""

    name: str
    start_s: float
    """Local time of clock sample 0 (the video's first frame)."""
    features: Features
    """(K, P, F) per-person feature vectors (flattened canonical joints or SMPL parameters) with their
    (K, P) validity, held only in the padded form the distances use (one copy: hundreds of videos)."""

    @staticmethod
    def of(name: str, start_s: float, values: np.ndarray, valid: np.ndarray, feature_groups: int = 1) -> "ClockedSequence":
        """From features (K, P, F) (anything where `valid` (K, P) is False); `feature_groups`: the number of
        sub-vectors F is made of (24 joints), to report distances per joint."""
        return ClockedSequence(name, start_s, padded_features(values, valid, feature_groups))


@dataclass
class PairwiseTiming:
    """The N×N evidence of the pairwise step (NaN where a pair was not aligned or is unusable)."""

    names: list[str]
    cost: np.ndarray
    """(N, N) symmetric alignment cost (lower is better)."""
    offset_s: np.ndarray
    """(N, N) antisymmetric: offset_s[i, j] ≈ time_offset_s[j] − time_offset_s[i]."""
    overlap: np.ndarray
    """(N, N) number of clock samples where both videos see a common person at the chosen lag."""
    weight: np.ndarray
    """(N, N) symmetric confidence weight of the pair for the global solve (0 if unusable)."""
    evidence: dict[tuple[int, int], PairEvidence] = field(default_factory=dict)
    """Observability of every pair aligned with DTW, keyed (i, j) with i < j."""
    problems: dict[tuple[int, int], str] = field(default_factory=dict)
    """Pairs aligned but not used (weight 0), and why."""
    unobservable: dict[int, str] = field(default_factory=dict)
    """Videos whose offset the pairs cannot determine (their pairs get weight 0), and why."""
    cap: Optional[np.ndarray] = None
    """(N, N) robust cost cap of each DTW pair (reused for pairs refined without DTW)."""

    @staticmethod
    def empty(names: list[str]) -> "PairwiseTiming":
        N = len(names)
        nan = np.full((N, N), np.nan)
        np.fill_diagonal(nan, 0.0)
        return PairwiseTiming(list(names), nan.copy(), nan.copy(), np.zeros((N, N), dtype=np.int64), np.zeros((N, N)), cap=np.full((N, N), np.nan))

    def set_pair(self, i: int, j: int, offset_s: float, cost: float, overlap: int) -> None:
        self.offset_s[i, j], self.offset_s[j, i] = offset_s, -offset_s
        self.cost[i, j] = self.cost[j, i] = cost
        self.overlap[i, j] = self.overlap[j, i] = overlap

    def usable_pairs(self, video: int) -> int:
        """Pairs of `video` with an offset that passed the observability checks."""
        partners = np.isfinite(self.offset_s[video])
        partners[video] = False
        return int(np.count_nonzero(partners)) - sum(1 for pair in self.problems if video in pair)

    def update_weights(self) -> None:
        """Weights from cost and overlap (`_pair_weights`), 0 for the pairs with a problem and for
        every pair of an unobservable video."""
        cost = self.cost.copy()
        for i, j in self.problems:
            cost[i, j] = cost[j, i] = np.nan
        for v in self.unobservable:
            cost[v, :] = cost[:, v] = np.nan
            cost[v, v] = 0.0
        self.weight = _pair_weights(cost, self.overlap)

    def best_pair(self, video: int) -> Optional[tuple[tuple[int, int], PairEvidence]]:
        """The video's DTW pair whose lag-cost minimum is sharpest and most unique, among those with
        no problem and no unobservable partner."""
        own = [(pair, e) for pair, e in self.evidence.items()
               if video in pair and pair not in self.problems and not any(u != video and u in self.unobservable for u in pair)]
        return max(own, key=lambda item: item[1].quality) if own else None

    def judge_videos(self, checks: ObservabilityChecks) -> None:
        """Marks the videos whose offset is unobservable (`observability.time_problem` on their best
        pair; with three or more videos, against the median contrast of the others' pairs)."""
        self.unobservable = {}
        verdicts = {}
        for v in range(len(self.names)):
            best = self.best_pair(v)
            if best is None:
                continue
            others = [e.contrast for pair, e in self.evidence.items() if v not in pair and pair not in self.problems]
            problem = time_problem(best[1], float(np.median(others)) if others else None, checks)
            if problem is not None:
                other = self.names[best[0][1] if best[0][0] == v else best[0][0]]
                verdicts[v] = f"with {other}, {problem}"
        self.unobservable = verdicts


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
    max_dtw_samples: int = 450
    """Longer videos get a larger stride so the coarse DTW has at most this many samples per video."""
    pairs_per_video: Optional[int] = None
    """DTW pairs per video (circulant graph); None: all pairs."""
    refine_pairs_per_video: int = 0
    """Sparse graph, robust method: further pairs per video refined around the predicted lag without DTW."""
    outlier_pair_frames: float = 2.0
    """Robust global solve: pairs disagreeing with the offsets by more than this are rejected."""
    chunk: int = 32
    """At most this many pairs' DTWs run together (fewer for long videos: see `_DTW_MEMORY_BYTES`)."""
    checks: ObservabilityChecks = field(default_factory=ObservabilityChecks)
    workers: int = 1
    """Threads aligning pairs side by side (results do not depend on it)."""
    show_progress: bool = False


def _refine_lag(a: Features, b: Features, lag: int, cap: float, radius: int, options: TimingOptions) -> tuple[float, float, int]:
    """(fractional lag, lag cost at it, overlap) from the full-rate lag-cost curve within `radius` of `lag`."""
    curve, counts = lag_costs(a, b, lag - radius - 1, 2 * radius + 3, cap)
    usable = counts >= options.min_overlap
    inner = np.arange(1, len(curve) - 1)
    candidates = inner[usable[inner]]
    if len(candidates) == 0:
        return float(lag), np.inf, int(counts[radius + 1])
    best = int(candidates[np.argmin(curve[candidates])])
    frac = 0.0
    if options.subframe and usable[best - 1] and usable[best + 1]:
        frac = parabola_vertex(curve[best - 1], curve[best], curve[best + 1])
    return float(lag - radius - 1 + best) + frac, float(curve[best]), int(counts[best])


def _dtw_cost_matrix(sq: np.ndarray, both: np.ndarray, options: TimingOptions) -> tuple[np.ndarray, float]:
    """DTW local costs (distances, not squared) and the cap on squared distances (inf for "paper").

    Robust: `sq` is clipped at the cap in place."""
    if options.method == "paper":
        dist = np.sqrt(sq)
        fill = dist[both].max() if both.any() else 1.0
        return np.where(both, dist, fill), np.inf
    # The median of a regular subsample is plenty for a cap, at a fraction of the cost.
    everywhere = bool(both.all())  # (the usual case: no copies through the mask)
    cap = float(options.cap_factor * np.median((sq.ravel() if everywhere else sq[both])[::7])) if both.any() else 1.0
    np.minimum(sq, cap, out=sq)
    return np.sqrt(sq if everywhere else np.where(both, sq, cap)), cap


class _DtwJob(NamedTuple):
    i: int
    j: int
    stride: int
    local: np.ndarray
    cap: float
    curve: tuple[np.ndarray, np.ndarray]
    min_count: int
    person_costs: Optional[np.ndarray]


def _stride(a: Features, b: Features, options: TimingOptions) -> int:
    return max(1, options.dtw_stride, math.ceil(max(len(a.values), len(b.values)) / options.max_dtw_samples))


def _dtw_job(i: int, j: int, a: Features, b: Features, options: TimingOptions) -> Optional[_DtwJob]:
    stride = _stride(a, b, options)
    ca, cb = a.strided(stride), b.strided(stride)
    sq, both = pair_distances(ca, cb)
    if np.count_nonzero(both) < options.min_overlap // stride:
        return None
    local, cap = _dtw_cost_matrix(sq, both, options)
    # Observability is judged on capped distances whatever the method (garbage frames would
    # otherwise dominate the curve); "robust" has capped `sq` already.
    evidence_sq = sq if options.method == "robust" else np.minimum(sq, np.median(sq[both][::7]))
    # Reliable lags overlap at least half of the shorter video: short corner diagonals have noisy means.
    min_count = max(options.min_overlap // stride, min(sq.shape) // 2)
    people = person_costs(ca, cb, options.min_overlap // stride) if a.values.shape[1] > 1 else None
    return _DtwJob(i, j, stride, local, cap, diagonal_curve(evidence_sq, both), min_count, people)


class _PairResult(NamedTuple):
    """What one pair's alignment gives (written into `PairwiseTiming` by `_record`, in pair order)."""

    i: int
    j: int
    offset_s: float
    cost: float
    overlap: int
    evidence: Optional[PairEvidence] = None
    """DTW pairs only."""
    cap: float = np.nan


def _finish_dtw_job(job: _DtwJob, result: DtwResult, a: ClockedSequence, b: ClockedSequence, fa: Features, fb: Features,
                    options: TimingOptions) -> Optional[_PairResult]:
    """Lag candidates refined at full rate: the pair's offset, cost and observability (None: too little overlap)."""
    means, counts = job.curve
    path = result.path
    lags = np.arange(-(len(fa.values[:: job.stride]) - 1), len(fb.values[:: job.stride])) * job.stride
    candidates = {most_frequent_lag(path) * job.stride}
    if options.method == "robust":
        # The coarse lag-cost curve's minimum is a second candidate next to the DTW lag
        # (a noisy DTW path can put its most frequent lag several frames off).
        reliable = np.where(counts >= job.min_count, means, np.inf)
        if np.isfinite(reliable).any():
            candidates.add(int(lags[np.argmin(reliable)]))
    radius = (options.search_radius if options.method == "robust" else 0) + job.stride - 1
    refined = [_refine_lag(fa, fb, lag, job.cap, radius, options) for lag in sorted(candidates)]
    frac_lag, curve_cost, shared = min(refined, key=lambda r: (r[2] < options.min_overlap, r[1]))
    if shared < options.min_overlap:
        return None
    contrast, separation, second_lag, best = curve_evidence(means, counts, lags.astype(np.float64), frac_lag, job.min_count)
    evidence = PairEvidence(
        contrast=contrast,
        separation=separation,
        second_lag_s=second_lag / options.clock_fps,
        motion_rms=motion_rms(fa.strided(job.stride), fb.strided(job.stride), int(round(frac_lag / job.stride))),
        residual_rms=float(np.sqrt(best)) if np.isfinite(best) else np.nan,
        overlap_s=shared / options.clock_fps,
        rate=path_rate(path),
        person_order=None if job.person_costs is None else person_order(job.person_costs, options.checks.person_order_ratio),
    )
    # Sample k of a matches sample k + lag of b: o_b − o_a = t_a − t_b.
    offset = a.start_s - b.start_s - frac_lag / options.clock_fps
    return _PairResult(job.i, job.j, offset, result.normalized_cost if options.method == "paper" else curve_cost, shared, evidence, job.cap)


def _record(timing: PairwiseTiming, result: Optional[_PairResult], checks: ObservabilityChecks) -> None:
    if result is None:
        return
    i, j = result.i, result.j
    timing.set_pair(i, j, result.offset_s, result.cost, result.overlap)
    if result.evidence is not None:
        timing.evidence[(i, j)] = result.evidence
        timing.cap[i, j] = timing.cap[j, i] = result.cap
        problem = pair_problem(result.evidence, checks)
        if problem is not None:
            timing.problems[(i, j)] = problem


def _batches(pairs: list[tuple[int, int]], features: list[Features], options: TimingOptions) -> list[list[tuple[int, int]]]:
    """Pairs in batches whose DTW scratch memory (≈ 16 · 2L · L bytes per pair) stays within `_DTW_MEMORY_BYTES`."""
    if not pairs:
        return []
    longest = max(math.ceil(len(f.values) / _stride(f, f, options)) for f in features)
    size = int(max(1, min(options.chunk, _DTW_MEMORY_BYTES // (32 * longest * longest))))
    return [pairs[k : k + size] for k in range(0, len(pairs), size)]


def _align_pairs(
    sequences: list[ClockedSequence], features: list[Features], pairs: list[tuple[int, int]], options: TimingOptions, timing: PairwiseTiming
) -> None:
    """DTW, lag refinement and observability of `pairs`, written into `timing` (batches on `workers` threads)."""
    scratch = threading.local()  # one DTW workspace per thread

    def run(batch: list[tuple[int, int]]) -> list[Optional[_PairResult]]:
        if not hasattr(scratch, "workspace"):
            scratch.workspace = DtwWorkspace()
        jobs = [job for job in (_dtw_job(i, j, features[i], features[j], options) for i, j in batch) if job is not None]
        results = dtw_batch([job.local for job in jobs], chunk=len(jobs) or 1, workspace=scratch.workspace)
        return [_finish_dtw_job(job, r, sequences[job.i], sequences[job.j], features[job.i], features[job.j], options) for job, r in zip(jobs, results)]

    batches = _batches(pairs, features, options)
    for results in progress(thread_map(run, batches, options.workers), len(batches), "time alignment (DTW)", options.show_progress):
        for result in results:
            _record(timing, result, options.checks)


def pairwise_time_alignment(sequences: list[ClockedSequence], options: TimingOptions, pairs: Optional[list[tuple[int, int]]] = None) -> PairwiseTiming:
    """DTW (Eq. 4) on `pairs` (i < j; all pairs when None): the N×N cost, offset, overlap and weight
    matrices and each pair's observability.

    With a stride > 1 the DTW runs on every stride-th clock sample (coarse) and the lag is then
    searched at full rate on the lag-cost curve within `search_radius + stride − 1` samples.
    """
    timing = PairwiseTiming.empty([s.name for s in sequences])
    features = [s.features for s in sequences]
    _align_pairs(sequences, features, all_pairs(len(sequences)) if pairs is None else pairs, options, timing)
    timing.judge_videos(options.checks)
    timing.update_weights()
    return timing


def _refine_predicted_pairs(
    sequences: list[ClockedSequence], features: list[Features], timing: PairwiseTiming, offsets_s: np.ndarray,
    pairs: list[tuple[int, int]], options: TimingOptions,
) -> None:
    """Pairs aligned without DTW: the full-rate lag-cost curve within `_PREDICTED_RADIUS` of the lag
    that the global offsets predict, with the robust cap of the two videos' DTW pairs."""
    caps = np.array([np.nanmedian(row) if np.isfinite(row).any() else np.nan for row in timing.cap])

    def run(block: list[tuple[int, int]]) -> list[Optional[_PairResult]]:
        out = []
        for i, j in block:
            a, b = sequences[i], sequences[j]
            cap = float(np.sqrt(caps[i] * caps[j]))
            lag = int(round((a.start_s - b.start_s - (offsets_s[j] - offsets_s[i])) * options.clock_fps))
            frac_lag, cost, shared = _refine_lag(features[i], features[j], lag, cap, _PREDICTED_RADIUS, options) if np.isfinite(cap) else (0.0, np.inf, 0)
            ok = shared >= options.min_overlap and np.isfinite(cost)
            out.append(_PairResult(i, j, a.start_s - b.start_s - frac_lag / options.clock_fps, cost, shared) if ok else None)
        return out

    blocks = [pairs[k : k + _REFINE_BLOCK] for k in range(0, len(pairs), _REFINE_BLOCK)]
    for results in progress(thread_map(run, blocks, options.workers), len(blocks), "time alignment (refine)", options.show_progress):
        for result in results:
            _record(timing, result, options.checks)


class TimeAlignment(NamedTuple):
    """`align_times`' result: the pairwise evidence and the global offsets solved from it."""

    pairwise: PairwiseTiming
    timing: "GlobalTiming"


def align_times(sequences: list[ClockedSequence], options: TimingOptions) -> TimeAlignment:
    """Pairwise DTW on all pairs or a sparse graph (see the module docstring), then global offsets."""
    N = len(sequences)
    features = [s.features for s in sequences]
    pairwise = PairwiseTiming.empty([s.name for s in sequences])
    per_video = options.pairs_per_video
    sparse = per_video is not None and per_video < N - 1
    pairs = circulant_pairs(N, per_video) if sparse else all_pairs(N)
    tried: set[tuple[int, int]] = set()
    for _ in range(_PARTNER_ROUNDS if sparse else 1):
        _align_pairs(sequences, features, pairs, options, pairwise)
        tried.update(pairs)
        pairwise.judge_videos(options.checks)
        if not sparse:
            break
        # Videos judged unobservable, or left with few usable pairs, try partners further away.
        wanted = min(N - 1, max(2, per_video // 2))
        pairs = more_partners(N, [v for v in range(N) if v in pairwise.unobservable or pairwise.usable_pairs(v) < wanted], tried, per_video)
        if not pairs:
            break
    pairwise.update_weights()
    timing = global_time_alignment(pairwise, options.method, options.clock_fps, options.outlier_pair_frames, options.checks)
    if sparse and options.method == "robust" and options.refine_pairs_per_video > 0:
        placed = np.isfinite(timing.offsets_s)
        extra = [p for p in more_partners(N, list(np.flatnonzero(placed)), tried, options.refine_pairs_per_video) if placed[p[0]] and placed[p[1]]]
        _refine_predicted_pairs(sequences, features, pairwise, timing.offsets_s, extra, options)
        pairwise.update_weights()
        timing = global_time_alignment(pairwise, options.method, options.clock_fps, options.outlier_pair_frames, options.checks)
    return TimeAlignment(pairwise, timing)


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

    The first video of the cheapest pair gets offset 0; then the cheapest pair with exactly one
    placed video places the other (Prim's order, with a heap). Videos never reached are NaN.
    """
    N = len(cost)
    offsets = np.full(N, np.nan)
    I, J = np.nonzero(np.triu(np.isfinite(cost), 1))
    if len(I) == 0:
        return offsets
    first = min(zip(cost[I, J], I, J))
    neighbours: list[list[tuple[float, int, int]]] = [[] for _ in range(N)]
    for c, i, j in zip(cost[I, J], I, J):
        neighbours[i].append((float(c), int(i), int(j)))
        neighbours[j].append((float(c), int(i), int(j)))
    heap: list[tuple[float, int, int]] = []
    _, i0, j0 = first
    offsets[i0], offsets[j0] = 0.0, offset_s[i0, j0]
    for v in (i0, j0):
        for edge in neighbours[v]:
            heapq.heappush(heap, edge)
    while heap:
        _, i, j = heapq.heappop(heap)
        placed_i, placed_j = np.isfinite(offsets[i]), np.isfinite(offsets[j])
        if placed_i == placed_j:
            continue
        new = j if placed_i else i
        offsets[new] = offsets[i] + offset_s[i, j] if placed_i else offsets[j] - offset_s[i, j]
        for edge in neighbours[new]:
            heapq.heappush(heap, edge)
    return offsets


class GlobalTiming(NamedTuple):
    offsets_s: np.ndarray
    """(N,) offsets (NaN for videos that could not be placed), arbitrary common shift."""
    inlier: np.ndarray
    """(N, N) pairs consistent with the solution."""
    confidence: np.ndarray
    """(N,) in [0, 1]: `timing_confidence`."""


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
    I, J = np.nonzero(np.triu(weight > 0, 1) & placed[:, None] & placed[None, :])
    if len(I) == 0:
        return init_s.copy(), np.zeros((N, N), dtype=bool)
    target, w = offset_s[I, J], weight[I, J]
    everything = np.ones(len(I), dtype=bool)
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
    # Never orphan a video: one that lost all its pairs keeps its most trusted one.
    kept_pairs = np.bincount(I[keep], minlength=len(placed)) + np.bincount(J[keep], minlength=len(placed))
    for v in np.flatnonzero(placed & (kept_pairs == 0)):
        touching = (I == v) | (J == v)
        if touching.any() and not (keep & touching).any():
            keep[np.flatnonzero(touching)[np.argmax(w[touching])]] = True
    return keep


def _solve_offsets(
    I: np.ndarray, J: np.ndarray, target: np.ndarray, w: np.ndarray, keep: np.ndarray, placed: np.ndarray, previous: np.ndarray
) -> np.ndarray:
    """Weighted least squares `o_J − o_I = target` over the kept pairs; the common shift follows `previous`.

    Solved through its normal equations (the pair graph's weighted Laplacian plus the gauge), N × N
    whatever the number of pairs."""
    N = len(placed)
    sw = w[keep] / w[keep].max()
    Ik, Jk, tk = I[keep], J[keep], target[keep]
    normal = np.zeros((N, N))
    np.add.at(normal, (Ik, Ik), sw)
    np.add.at(normal, (Jk, Jk), sw)
    np.add.at(normal, (Ik, Jk), -sw)
    np.add.at(normal, (Jk, Ik), -sw)
    rhs = np.bincount(Jk, weights=sw * tk, minlength=N) - np.bincount(Ik, weights=sw * tk, minlength=N)
    anchor = int(np.flatnonzero(placed)[0])
    normal[anchor, anchor] += 1.0  # gauge: the common shift is arbitrary
    rhs[anchor] += previous[anchor]
    offsets = previous.copy()
    offsets[placed] = np.linalg.lstsq(normal[np.ix_(placed, placed)], rhs[placed], rcond=None)[0]
    return offsets


def timing_confidence(
    offsets_s: np.ndarray, offset_s: np.ndarray, weight: np.ndarray, clock_fps: float, quality: Optional[np.ndarray] = None
) -> np.ndarray:
    """Per video, in [0, 1]: how well its pairs pin its offset down.

    Agreement `Σ_u w_vu · exp(−½ (r_vu / 1 frame)²) / Σ_u w_vu` with `r_vu` the pair's residual in
    clock frames (1 when every pair agrees to a fraction of a frame, near 0 when none does; always 1
    with a single pair), times the quality of its pairs: the weighted mean over its pairs with a
    known `quality` (N, N) in [0, 1], e.g. how sharp and unique each pair's lag-cost minimum is
    (`_pair_quality`; 1 when None).
    """
    N = len(offsets_s)
    residual = (offsets_s[None, :] - offsets_s[:, None] - offset_s) * clock_fps
    usable = (weight > 0) & np.isfinite(residual) & ~np.eye(N, dtype=bool)
    agree = np.where(usable, np.exp(-0.5 * np.nan_to_num(residual) ** 2), 0.0)
    w = np.where(usable, weight, 0.0)
    total = w.sum(1)
    conf = (w * agree).sum(1) / np.maximum(total, 1e-300)
    if quality is not None:
        known = usable & np.isfinite(quality)
        qw = np.where(known, w, 0.0)
        conf = conf * np.where(qw.sum(1) > 0, (qw * np.nan_to_num(quality)).sum(1) / np.maximum(qw.sum(1), 1e-300), 0.0)
    return np.where(np.isfinite(offsets_s) & (total > 0), conf, 0.0)


def _pair_quality(pairwise: PairwiseTiming, checks: ObservabilityChecks) -> np.ndarray:
    """(N, N) quality of each DTW pair's lag-cost minimum: its contrast, times its separation relative
    to the warning threshold (capped at 1: a second minimum well above the best costs nothing);
    NaN for the pairs aligned without DTW."""
    quality = np.full(pairwise.cost.shape, np.nan)
    for (i, j), evidence in pairwise.evidence.items():
        quality[i, j] = quality[j, i] = evidence.contrast * min(1.0, evidence.separation / max(checks.weak_time_separation, 1e-9))
    return quality


def global_time_alignment(
    pairwise: PairwiseTiming, method: TimeMethod, clock_fps: float, outlier_frames: float = 2.0, checks: Optional[ObservabilityChecks] = None
) -> GlobalTiming:
    """Eq. 5 (greedy, "paper") or greedy + cycle-consistent least squares ("robust"), over the pairs
    with a positive weight (pairs that failed an observability check have none)."""
    greedy = greedy_global_alignment(np.where(pairwise.weight > 0, pairwise.cost, np.nan), pairwise.offset_s)
    if method == "paper":
        offsets = greedy
        residual = (offsets[None, :] - offsets[:, None] - pairwise.offset_s) * clock_fps
        inlier = (pairwise.weight > 0) & (np.abs(np.nan_to_num(residual, nan=np.inf)) <= outlier_frames)
    elif method == "robust":
        offsets, inlier = cycle_consistent_alignment(pairwise.offset_s, pairwise.weight, greedy, outlier_frames / clock_fps)
    else:
        assert_never(method)
    confidence = timing_confidence(offsets, pairwise.offset_s, pairwise.weight, clock_fps, _pair_quality(pairwise, checks or ObservabilityChecks()))
    return GlobalTiming(offsets, inlier, confidence)
