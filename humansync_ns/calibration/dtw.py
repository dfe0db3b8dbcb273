"""Dynamic time warping, vectorised over anti-diagonals and over a batch of sequence pairs.

The recursion (steps (1,1), (1,0), (0,1), path from (0, 0) to (n−1, m−1)):

    A[i, j] = C[i, j] + min(A[i−1, j−1], A[i−1, j], A[i, j−1])

Cells on one anti-diagonal `i + j = d` depend only on diagonals d−1 and d−2, so each diagonal is
one numpy operation; stacking many pairs (padded with +inf) makes each operation large enough that
Python overhead vanishes. `dtw_reference` is the slow, obvious double loop the tests compare to.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

class DtwResult(NamedTuple):
    """Total accumulated cost, the warping path (L, 2) of (i, j) index pairs, and cost / L."""

    cost: float
    path: np.ndarray
    normalized_cost: float


def dtw_reference(cost: np.ndarray) -> DtwResult:
    """O(n·m) pure-Python DTW on a cost matrix (n, m); slow, for tests only."""
    cost = np.asarray(cost, dtype=np.float64)
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(n):
        for j in range(m):
            acc[i + 1, j + 1] = cost[i, j] + min(acc[i, j], acc[i, j + 1], acc[i + 1, j])
    i, j = n - 1, m - 1
    path = [(i, j)]
    while (i, j) != (0, 0):
        options = [(acc[i, j], i - 1, j - 1), (acc[i, j + 1], i - 1, j), (acc[i + 1, j], i, j - 1)]
        _, i, j = min(options, key=lambda o: o[0])
        path.append((i, j))
    path_arr = np.array(path[::-1])
    return DtwResult(float(acc[n, m]), path_arr, float(acc[n, m]) / len(path_arr))


def dtw(cost: np.ndarray) -> DtwResult:
    """DTW of one cost matrix (n, m); the vectorised implementation."""
    cost = np.asarray(cost, dtype=np.float64)
    return dtw_batch([cost])[0]


class DtwWorkspace:
    """Reusable scratch memory for `dtw_batch` (fresh large arrays cost page faults on every call)."""

    def __init__(self) -> None:
        self._memory = np.empty(0)

    def array(self, offset: int, shape: tuple[int, ...]) -> np.ndarray:
        """A view of `shape` starting `offset` floats into the scratch memory (grown as needed)."""
        size = int(np.prod(shape))
        if self._memory.size < offset + size:
            self._memory = np.empty(max(offset + size, 2 * self._memory.size))
        return self._memory[offset : offset + size].reshape(shape)


def dtw_batch(costs: Sequence[np.ndarray], chunk: int = 32, workspace: Optional[DtwWorkspace] = None) -> list[DtwResult]:
    """DTW of many cost matrices of any sizes at once (anti-diagonal wavefront over the batch).

    Args:
        costs: B matrices (n_b, m_b) of finite, non-negative local costs.
        chunk: pairs processed together (bounds memory to about chunk · n · m · 16 bytes).
        workspace: scratch memory to reuse across calls; a fresh one when None.
    """
    workspace = workspace or DtwWorkspace()
    results: list[DtwResult] = []
    for start in range(0, len(costs), chunk):
        results.extend(_dtw_chunk(costs[start : start + chunk], workspace))
    return results


def _dtw_chunk(costs: Sequence[np.ndarray], workspace: DtwWorkspace) -> list[DtwResult]:
    shapes = np.array([np.shape(c) for c in costs])
    if shapes.ndim != 2 or shapes.shape[1] != 2 or np.any(shapes == 0):
        raise ValueError(f"dtw_batch: every cost matrix must be 2-D and non-empty, got shapes {shapes.tolist()}")
    B, (n, m) = len(costs), shapes.max(axis=0)
    # Skewed layout: row d holds anti-diagonal i + j = d, column i its cell (i, d − i), so every
    # predecessor of a diagonal is a contiguous slice of the previous two rows.
    skewed = workspace.array(0, (B, n + m - 1, n))
    if np.any(shapes != (n, m)):  # a smaller matrix leaves cells of the largest one's band, which the wavefront reads
        skewed.fill(np.inf)
    for b, c in enumerate(costs):
        c = np.asarray(c, dtype=np.float64)
        if not (c.min() >= 0.0 and np.isfinite(c.max())):  # NaN fails both; two passes, no temporaries
            raise ValueError(f"dtw_batch: cost matrix {b} must be finite and non-negative")
        # Cell (i, j) sits at flat position (i + j)·n + i = i·(n + 1) + j·n of pair b's block.
        step = skewed.itemsize
        as_strided(skewed[b], shape=c.shape, strides=((n + 1) * step, n * step), writeable=True)[...] = c
    # acc(i, j) lives at D[i + j + 2, i + 1]; row 0 / column 0 are sentinels with acc(−1, −1) = 0.
    D = workspace.array(skewed.size, (n + m + 1, n + 1, B))
    D[:2] = np.inf
    D[:, 0] = np.inf
    D[0, 0] = 0.0
    for d in range(n + m - 1):
        # Only the cells (i, d − i) inside the largest matrix; the cell (hi + 1, −1) just past them is
        # set to inf, the one outside cell that the next two diagonals (and the backtrack) read.
        lo, hi = max(0, d - m + 1), min(d, n - 1)
        best = np.minimum(np.minimum(D[d + 1, lo : hi + 1], D[d + 1, lo + 1 : hi + 2]), D[d, lo : hi + 1])
        np.add(skewed[:, d, lo : hi + 1].T, best, out=D[d + 2, lo + 1 : hi + 2])
        D[d + 2, hi + 2 : hi + 3] = np.inf
    return _backtrack_batch(D, shapes)


def _backtrack_batch(D: np.ndarray, shapes: np.ndarray) -> list[DtwResult]:
    """Follows the cheapest predecessor (diagonal first on ties) from every pair's last cell."""
    rows, B = D.shape[1], D.shape[2]
    flat = D.reshape(-1)
    batch = np.arange(B)
    i, j = shapes[:, 0] - 1, shapes[:, 1] - 1
    total = D[i + j + 2, i + 1, batch]
    paths = np.zeros((int(shapes.sum(1).max()) - 1, B, 2), dtype=np.int64)
    lengths = np.zeros(B, dtype=np.int64)
    active = np.ones(B, dtype=bool)
    # acc(i−1, j−1) = D[i+j, i], acc(i−1, j) = D[i+j+1, i], acc(i, j−1) = D[i+j+1, i+1]: flat offsets
    # of (diagonal, up, left) from the first; argmin takes the first of equal costs, in that order.
    offsets = np.array([0, rows * B, rows * B + B])
    k = 0
    while active.any():
        paths[k, :, 0], paths[k, :, 1] = i, j
        lengths += active
        active &= (i > 0) | (j > 0)
        step = np.argmin(flat[(((i + j) * rows + i) * B + batch)[:, None] + offsets], axis=1)
        i = i - (active & (step != 2))
        j = j - (active & (step != 1))
        k += 1
    results = []
    for b in range(B):
        path = paths[: lengths[b], b][::-1].copy()
        results.append(DtwResult(float(total[b]), path, float(total[b]) / len(path)))
    return results


def most_frequent_lag(path: np.ndarray) -> int:
    """The most frequent `j − i` along a warping path (the paper's time offset, in frames)."""
    diffs = path[:, 1] - path[:, 0]
    values, counts = np.unique(diffs, return_counts=True)
    best = values[counts == counts.max()]
    return int(best[np.argmin(np.abs(best - np.median(diffs)))])
