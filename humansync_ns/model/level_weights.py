"""Coarse-to-fine weights of the K-Planes resolution levels (paper Eq. 14).

The paper weighs the feature of level ``l`` (1-based, coarse to fine) by

    w_l = 0                                   if alpha < l - 1
    w_l = (1 - cos((alpha - (l - 1)) pi)) / 2  if 0 <= alpha - (l - 1) < 1
    w_l = 1                                   if alpha - (l - 1) >= 1

with ``alpha = L (e^eta - 1) / (e - 1)`` and ``eta in [0, 1]`` the normalised training step (the step
divided by the step at which the coarse-to-fine schedule ends). This is BARF's low-pass window
applied to grid levels instead of positional-encoding frequencies.

Read literally, Eq. 14 gives ``w_1 = 0`` at ``eta = 0``: every feature is switched off at the first
step, and because ``w_1`` grows like ``(pi alpha)^2 / 4`` the coarsest level stays almost off for the
first fifth of the schedule (the MLPs see near-zero features and the planes get near-zero
gradients). ``keep_coarsest_level=True`` (the default) holds ``w_1 = 1`` from the start and leaves
every finer level exactly as in Eq. 14, so level 2 still starts at ``alpha = 1`` as in the paper.
"""

from __future__ import annotations

import math

import torch
from jaxtyping import Float
from torch import Tensor


def coarse_to_fine_alpha(eta: float, num_levels: int) -> float:
    """``alpha = L (e^eta - 1) / (e - 1)`` for ``eta`` clipped to [0, 1]; alpha runs from 0 to L."""
    eta = min(max(float(eta), 0.0), 1.0)
    return num_levels * (math.exp(eta) - 1.0) / (math.e - 1.0)


def coarse_to_fine_weights(
    eta: float, num_levels: int, keep_coarsest_level: bool = True
) -> Float[Tensor, "num_levels"]:
    """Per-level feature weights ``w_1 .. w_L`` of Eq. 14 (coarsest level first).

    Args:
        eta: normalised training step in [0, 1] (values outside are clipped).
        num_levels: number of resolution levels L.
        keep_coarsest_level: hold ``w_1 = 1`` so that training has features from step 0 (see the
            module docstring); False reproduces Eq. 14 literally.

    Returns:
        float32 tensor of shape (num_levels,), values in [0, 1], non-increasing with the level.
    """
    if num_levels < 1:
        raise ValueError(f"num_levels must be >= 1, got {num_levels}")
    alpha = coarse_to_fine_alpha(eta, num_levels)
    # x_l = alpha - (l - 1) for l = 1..L, i.e. alpha - [0, 1, ..., L-1]
    x = alpha - torch.arange(num_levels, dtype=torch.float64)
    ramp = (1.0 - torch.cos(x.clamp(0.0, 1.0) * math.pi)) / 2.0  # 0 below, cosine ramp, 1 above
    if keep_coarsest_level:
        ramp[0] = 1.0
    return ramp.to(torch.float32)


def normalised_step(step: int, end_step: int) -> float:
    """``eta = step / end_step`` clipped to [0, 1]; ``end_step <= 0`` disables the schedule (eta = 1)."""
    if end_step <= 0:
        return 1.0
    return min(max(step / end_step, 0.0), 1.0)
