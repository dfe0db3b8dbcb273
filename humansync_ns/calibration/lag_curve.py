"""The lag-cost curve and the distances it is made of, for two videos' features on one clock.

A video's per-frame features (canonical joints or SMPL parameters, `time_alignment`) are held as
`Features`: invalid rows zeroed, squared norms precomputed, padded with empty rows so that windows
of lags can slide past either end without copies. `pair_distances` gives the all-frames distance
matrix (DTW's input), `diagonal_curve` its mean along each lag, `lag_costs` the full-rate curve at a
window of lags (batched dot products), `parabola_vertex` the sub-frame minimum; `motion_rms` and
`person_costs` feed the observability checks (`observability.py`). Pure numpy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided


class Features(NamedTuple):
    """One sequence ready for distances: features with invalid rows zeroed, their squared norms.

    Stored with `margin` empty rows at both ends, so that `lag_costs` can slide a window of up to
    `margin` lags past either end of the sequence without copying."""

    padded_values: np.ndarray
    """(K + 2 margin, P, F)."""
    padded_sqnorm: np.ndarray
    """(K + 2 margin, P)."""
    padded_valid: np.ndarray
    """(K + 2 margin, P), False in the margins."""
    groups: int
    margin: int

    def _inner(self, array: np.ndarray) -> np.ndarray:
        return array[self.margin : len(array) - self.margin]

    @property
    def values(self) -> np.ndarray:
        return self._inner(self.padded_values)

    @property
    def sqnorm(self) -> np.ndarray:
        return self._inner(self.padded_sqnorm)

    @property
    def valid(self) -> np.ndarray:
        return self._inner(self.padded_valid)

    def strided(self, stride: int) -> "Features":
        return Features(self.values[::stride], self.sqnorm[::stride], self.valid[::stride], self.groups, 0)

    def with_margin(self, margin: int) -> "Features":
        return padded_features(self.values, self.valid, self.groups, margin) if margin > self.margin else self


LAG_MARGIN = 64
"""Empty rows around each sequence's features: lag windows up to this wide need no copy."""


def padded_features(values: np.ndarray, valid: np.ndarray, groups: int, margin: int = LAG_MARGIN) -> Features:
    """`Features` of per-frame feature vectors (K, P, F) (anything where `valid` (K, P) is False)."""
    K, P, F = values.shape
    padded = np.zeros((K + 2 * margin, P, F))
    padded_valid = np.zeros((K + 2 * margin, P), dtype=bool)
    padded_valid[margin : margin + K] = valid
    padded[margin : margin + K] = np.where(valid[..., None], np.nan_to_num(values), 0.0)
    return Features(padded, np.einsum("kpf,kpf->kp", padded, padded), padded_valid, groups, margin)


def _windows(rows: np.ndarray, count: int, width: int) -> np.ndarray:
    """(count, width, *rest) view: window k holds rows k … k + width − 1 of `rows` (first axis)."""
    step = rows.strides[0]
    return as_strided(rows, shape=(count, width) + rows.shape[1:], strides=(step, step) + rows.strides[1:], writeable=False)


def pair_distances(a: Features, b: Features) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared feature distance per group (m² per joint for joints) between all frames of a and b.

    Returns (n, m) distances averaged over the people visible in both frames (cells without a
    common person hold arbitrary values), and the (n, m) mask of frame pairs sharing a person.
    """
    people = a.values.shape[1]
    total, count = None, None
    for p in range(people):
        sq = a.values[:, p] @ (-2.0 * b.values[:, p].T)  # |a − b|² = |a|² + |b|² − 2 a·b
        sq += a.sqnorm[:, p, None]
        sq += b.sqnorm[None, :, p]
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
    total /= a.groups
    return total, np.asarray(count > 0)


def lag_costs(a: Features, b: Features, first_lag: int, num_lags: int, cap: float) -> tuple[np.ndarray, np.ndarray]:
    """Lag-cost curve at lags `first_lag … first_lag + num_lags − 1`: at each lag, the mean over the
    overlapping frames of the (capped) distance; frame k of a is compared with frame k + lag of b.

    All lags at once: b's rows are viewed as sliding windows of `num_lags` rows, and the distances
    come from the dot products of a's rows with those windows (one batched matrix product).

    Returns:
        (num_lags,) mean squared distances per group (inf where nothing overlaps) and the overlap counts.
    """
    n, m, W = len(a.values), len(b.values), num_lags
    lo, hi = max(0, -(first_lag + W - 1)), min(n, m - first_lag)  # a's rows that meet b at some lag
    means, counts = np.full(W, np.inf), np.zeros(W, dtype=np.int64)
    if hi <= lo:
        return means, counts
    b = b.with_margin(W)
    L, start = hi - lo, lo + first_lag + b.margin  # padded row of b facing a's row lo at the first lag
    rows = slice(start, start + L + W - 1)
    people = a.values.shape[1]
    total, count = None, None
    for p in range(people):
        # (L, W, F) @ (L, F, 1): one row-major matrix-vector product per row of a (faster than (1, F) @ (F, W)),
        # then lags first: every reduction below runs along contiguous rows (this runs for thousands of pairs)
        dots = np.ascontiguousarray(np.matmul(_windows(b.padded_values[rows, p], L, W), a.values[lo:hi, p, :, None])[..., 0].T)
        both = a.valid[lo:hi, p] & _windows(b.padded_valid[rows, p], L, W).T  # (W, L)
        dots *= -2.0
        dots += a.sqnorm[lo:hi, p]
        dots += _windows(b.padded_sqnorm[rows, p], L, W).T  # |a − b|² = |a|² + |b|² − 2 a·b
        sq = np.maximum(dots, 0.0, out=dots)
        sq /= a.groups
        if people == 1:  # the frame distance is that person's: no average to take
            total, count = sq, both
        else:
            total = np.where(both, sq, 0.0) if total is None else total + np.where(both, sq, 0.0)
            count = both.astype(np.int64) if count is None else count + both
    seen = count if people == 1 else count > 0
    frame = np.minimum(total if people == 1 else total / np.maximum(count, 1), cap)
    counts = np.count_nonzero(seen, axis=1)
    means = np.where(counts > 0, np.where(seen, frame, 0.0).sum(1) / np.maximum(counts, 1), np.inf)
    return means, counts


def parabola_vertex(left: float, centre: float, right: float) -> float:
    """Offset in [−1, 1] of the vertex of the parabola through (−1, left), (0, centre), (1, right)."""
    curvature = left - 2.0 * centre + right
    if not np.isfinite(curvature) or curvature <= 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / curvature, -1.0, 1.0))


def diagonal_curve(sq: np.ndarray, both: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coarse lag-cost curve from a distance matrix: the mean of `sq` over the masked cells of each
    diagonal `j − i = lag`, lags `−(n−1) … m−1`, and the cell counts."""
    n, m = sq.shape
    index = (np.arange(m)[None, :] - np.arange(n)[:, None] + n - 1).ravel()
    sums = np.bincount(index, weights=np.where(both, sq, 0.0).ravel(), minlength=n + m - 1)
    counts = np.bincount(index, weights=both.ravel().astype(np.float64), minlength=n + m - 1).astype(np.int64)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.inf), counts


def motion_rms(a: Features, b: Features, lag: int) -> float:
    """Typical deviation of the features from their mean over the frames a and b share at `lag`, of the
    less moving video: the root of the median per-frame squared deviation per group (the median, so
    that a few garbage frames do not pass for motion)."""
    lo, hi = max(0, -lag), min(len(a.values), len(b.values) - lag)
    rms = []
    for f, rows in ((a, slice(lo, hi)), (b, slice(lo + lag, hi + lag))):
        values, valid = f.values[rows], f.valid[rows]
        if hi <= lo or not valid.any():
            return 0.0
        mean = values.sum(0) / np.maximum(valid.sum(0), 1)[:, None]  # invalid rows are zero
        deviation = np.sum((values - mean) ** 2, axis=-1)[valid] / f.groups
        rms.append(float(np.sqrt(np.median(deviation))))
    return min(rms)


def person_costs(a: Features, b: Features, min_overlap: int) -> np.ndarray:
    """(P, P): the lowest mean (median-capped) distance over well-overlapping lags between person p
    of a and person q of b (inf where they never overlap), to tell whether the people are in the
    same order in both videos."""
    P = a.values.shape[1]
    out = np.full((P, P), np.inf)
    for p in range(P):
        for q in range(P):
            both = np.outer(a.valid[:, p], b.valid[:, q])
            if not both.any():
                continue
            sq = a.values[:, p] @ (-2.0 * b.values[:, q].T) + a.sqnorm[:, p, None] + b.sqnorm[None, :, q]
            np.minimum(sq, np.median(sq[both][::7]), out=sq)
            means, counts = diagonal_curve(sq, both)
            reliable = counts >= max(min_overlap, min(a.valid[:, p].sum(), b.valid[:, q].sum()) // 2)
            if reliable.any():
                out[p, q] = means[reliable].min() / a.groups
    return out
