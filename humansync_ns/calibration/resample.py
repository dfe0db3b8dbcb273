"""Joints onto a common clock by linear interpolation, aware of which rows are valid.

Videos at different frame rates (24 and 30 fps) are compared on one clock: every video is
resampled at `local_time = t_first + k / clock_fps`. A resampled row is valid only where both
neighbouring source rows are valid (or a source row is hit exactly), so a missing frame never
leaks into its neighbours' interpolation.
"""

from __future__ import annotations

import numpy as np

_EXACT = 1e-6
"""Fraction of a frame interval under which a query counts as hitting a source row exactly."""


def interpolate_rows(
    times: np.ndarray, values: np.ndarray, valid: np.ndarray, query_times: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of `values` (T, *rest) sampled at increasing `times` (T,).

    Args:
        times: (T,) strictly increasing sample times.
        values: (T, *rest) samples; invalid rows may hold anything (NaN included).
        valid: (T,) or (T, P) with `values.shape[:2] == (T, P)`: per-row (per-person) validity.
        query_times: (Q,) times to evaluate at.

    Returns:
        (Q, *rest) interpolated values (NaN where invalid) and the (Q,) or (Q, P) validity.
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    query = np.asarray(query_times, dtype=np.float64)
    if times.ndim != 1 or values.shape[0] != len(times) or valid.shape != values.shape[: valid.ndim]:
        raise ValueError(f"interpolate_rows: times {times.shape}, values {values.shape}, valid {valid.shape} do not agree")
    T = len(times)
    lo = np.clip(np.searchsorted(times, query, side="right") - 1, 0, max(T - 2, 0))
    hi = np.minimum(lo + 1, T - 1)
    span = np.where(hi > lo, times[hi] - times[lo], 1.0)
    w = (query - times[lo]) / span
    inside = (query >= times[0] - _EXACT * span) & (query <= times[-1] + _EXACT * span)
    at_lo = np.abs(w) <= _EXACT
    at_hi = (np.abs(w - 1.0) <= _EXACT) | (hi == lo)
    extra = (slice(None),) + (None,) * (valid.ndim - 1)
    if T >= 2 and np.all(at_lo | at_hi):  # every query on a source row (a video already on the clock): no blend
        out = np.nan_to_num(values[np.where(at_lo, lo, hi)], copy=False)
        out_valid = valid[np.where(at_lo, lo, hi)] & inside[extra]
        out[~out_valid] = np.nan
        return out, out_valid
    w = np.where(at_lo, 0.0, np.where(at_hi, 1.0, w))
    ok_lo = valid[lo] | at_hi[extra]
    ok_hi = valid[hi] | at_lo[extra]
    out_valid = ok_lo & ok_hi & inside[extra]
    w_b = w.reshape((-1,) + (1,) * (values.ndim - 1))
    v_lo = np.where(at_hi.reshape(w_b.shape), 0.0, np.nan_to_num(values[lo]))
    v_hi = np.where(at_lo.reshape(w_b.shape), 0.0, np.nan_to_num(values[hi]))
    out = (1.0 - w_b) * v_lo + w_b * v_hi
    mask = out_valid.reshape(out_valid.shape + (1,) * (values.ndim - valid.ndim))
    out = np.where(mask, out, np.nan)
    return out, out_valid


def clock_times(times: np.ndarray, clock_fps: float) -> np.ndarray:
    """Local times `t_first + k / clock_fps` covering `times` (the video's own span)."""
    times = np.asarray(times, dtype=np.float64)
    count = int(np.floor((times[-1] - times[0]) * clock_fps + 1e-6)) + 1
    return times[0] + np.arange(count) / clock_fps


def resample_to_clock(
    times: np.ndarray, values: np.ndarray, valid: np.ndarray, clock_fps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`values` resampled onto the clock: returns (clock local times (K,), values (K, ...), valid)."""
    query = clock_times(times, clock_fps)
    out, out_valid = interpolate_rows(times, values, valid, query)
    return query, out, out_valid
