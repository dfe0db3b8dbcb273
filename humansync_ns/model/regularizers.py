"""K-Planes regularisers as pure functions of plane lists.

Every function takes planes shaped ``(C, H, W)`` (nerfstudio's ``KPlanesEncoding.plane_coefs``
layout: features, then the second axis of the pair along H and the first along W). For a space-time
plane the pair is ``(spatial axis, time)``, so time runs along H. Callers select planes through
``HumanSyncField.spatial_planes()`` / ``temporal_planes()``; nothing here knows plane indices.
"""

from __future__ import annotations

from typing import Sequence

from jaxtyping import Float
from torch import Tensor


def _check_planes(planes: Sequence[Tensor], name: str) -> None:
    if len(planes) == 0:
        raise ValueError(f"{name}: got an empty plane list")
    for plane in planes:
        if plane.dim() != 3:
            raise ValueError(f"{name}: planes must be (C, H, W), got shape {tuple(plane.shape)}")


def plane_tv(planes: Sequence[Float[Tensor, "C H W"]]) -> Float[Tensor, ""]:
    """Total variation of spatial planes: mean squared first difference along both plane axes,
    averaged over planes (K-Planes' "plane TV", which smooths the space-only grids)."""
    _check_planes(planes, "plane_tv")
    total = planes[0].new_zeros(())
    for plane in planes:
        d_h = plane[:, 1:, :] - plane[:, :-1, :]  # [C, H-1, W]
        d_w = plane[:, :, 1:] - plane[:, :, :-1]  # [C, H, W-1]
        total = total + d_h.square().mean() + d_w.square().mean()
    return total / len(planes)


def time_smoothness(planes: Sequence[Float[Tensor, "C T W"]]) -> Float[Tensor, ""]:
    """Mean squared second difference along time (axis H) of space-time planes, averaged over planes.

    Zero for any plane that is affine in time (constant or linear motion of the features)."""
    _check_planes(planes, "time_smoothness")
    total = planes[0].new_zeros(())
    for plane in planes:
        d2 = plane[:, 2:, :] - 2.0 * plane[:, 1:-1, :] + plane[:, :-2, :]  # [C, T-2, W]
        total = total + d2.square().mean()
    return total / len(planes)


def time_planes_l1(planes: Sequence[Float[Tensor, "C T W"]]) -> Float[Tensor, ""]:
    """Mean absolute distance of space-time planes to 1, averaged over planes.

    Space-time planes start at 1 (the identity of the Hadamard product, i.e. a static scene); this
    keeps them there unless the data needs motion."""
    _check_planes(planes, "time_planes_l1")
    total = planes[0].new_zeros(())
    for plane in planes:
        total = total + (1.0 - plane).abs().mean()
    return total / len(planes)


__all__ = ["plane_tv", "time_smoothness", "time_planes_l1"]
