"""Smooth random signals that never repeat: sums of sinusoids with random, incommensurate periods.

Motion built from these is band-limited (smooth at any frame rate), can be evaluated at any
time (each video samples its own frame times), and has no period, so time alignment of two videos
is well posed. The integral is closed-form, which gives gait phases and headings without
numerical drift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SmoothSignal:
    """`value(t) = Σ_k a_k sin(2π f_k t + φ_k)` per channel, with unit standard deviation."""

    frequencies: np.ndarray
    """(K, C) Hz."""
    phases: np.ndarray
    """(K, C) radians."""
    amplitudes: np.ndarray
    """(K, C)."""

    @property
    def num_channels(self) -> int:
        return int(self.frequencies.shape[1])

    def __call__(self, times: np.ndarray) -> np.ndarray:
        """(S,) seconds → (S, C)."""
        arg = 2.0 * np.pi * np.asarray(times, dtype=np.float64)[:, None, None] * self.frequencies + self.phases
        return np.sum(self.amplitudes * np.sin(arg), axis=1)

    def integral(self, times: np.ndarray) -> np.ndarray:
        """(S,) → (S, C): ∫_0^t value(τ) dτ."""
        times = np.asarray(times, dtype=np.float64)[:, None, None]
        omega = 2.0 * np.pi * self.frequencies
        return np.sum(self.amplitudes / omega * (np.cos(self.phases) - np.cos(omega * times + self.phases)), axis=1)


def smooth_signal(
    rng: np.random.Generator, num_channels: int, min_period_s: float, max_period_s: float, num_terms: int = 6
) -> SmoothSignal:
    """A random `SmoothSignal` whose periods are log-uniform in [min_period_s, max_period_s]."""
    periods = np.exp(rng.uniform(np.log(min_period_s), np.log(max_period_s), size=(num_terms, num_channels)))
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(num_terms, num_channels))
    weights = rng.uniform(0.5, 1.0, size=(num_terms, num_channels))
    # Variance of Σ a_k sin(...) with independent phases is Σ a_k² / 2: scale it to 1.
    amplitudes = weights * np.sqrt(2.0 / np.sum(weights**2, axis=0, keepdims=True))
    return SmoothSignal(frequencies=1.0 / periods, phases=phases, amplitudes=amplitudes)
