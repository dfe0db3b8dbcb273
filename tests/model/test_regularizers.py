"""K-Planes regularisers: closed-form values, and the planes the field hands them."""

from __future__ import annotations

import pytest
import torch

from humansync_ns.model.kplanes_field import HumanSyncDensityField, HumanSyncField
from humansync_ns.model.regularizers import plane_tv, time_planes_l1, time_smoothness

AABB = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])


def ramp_along_h(slope: float, channels: int = 2, height: int = 7, width: int = 5) -> torch.Tensor:
    return (slope * torch.arange(height, dtype=torch.float32))[None, :, None].expand(channels, height, width).clone()


def test_constant_plane_has_zero_tv_and_zero_time_curvature():
    plane = torch.full((3, 6, 4), 0.42)
    assert plane_tv([plane]).item() == 0.0
    assert time_smoothness([plane]).item() == 0.0


def test_linear_ramp_has_zero_second_difference_and_known_tv():
    slope = 0.3
    plane = ramp_along_h(slope)
    assert time_smoothness([plane]).item() == pytest.approx(0.0, abs=1e-12)
    # first difference along H is the slope, along W zero: TV = slope^2
    assert plane_tv([plane]).item() == pytest.approx(slope**2, rel=1e-6)


def test_quadratic_in_time_has_known_second_difference():
    a = 0.1
    h = torch.arange(6, dtype=torch.float32)
    plane = (a * h**2)[None, :, None].expand(1, 6, 3)
    assert time_smoothness([plane]).item() == pytest.approx((2 * a) ** 2, rel=1e-5)


def test_l1_time_planes_distance_to_one():
    assert time_planes_l1([torch.full((2, 5, 5), 0.7)]).item() == pytest.approx(0.3, rel=1e-6)
    assert time_planes_l1([torch.ones(2, 5, 5), torch.full((2, 5, 5), 1.5)]).item() == pytest.approx(0.25, rel=1e-6)


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        plane_tv([])
    with pytest.raises(ValueError):
        time_smoothness([torch.zeros(4, 4)])


def test_field_plane_accessors_follow_axis_pairs():
    field = HumanSyncField(
        AABB, num_videos=2, grid_resolution=(4, 5, 6), time_resolution=7, multiscale=(1, 2), num_components=3,
        implementation="torch",
    )
    spatial, temporal = field.spatial_planes(), field.temporal_planes()
    assert len(spatial) == 6 and len(temporal) == 6  # 3 + 3 per level, 2 levels
    # space-time planes: time (7) along H, one spatial axis (scaled by the level) along W
    assert sorted(tuple(p.shape) for p in temporal[:3]) == [(3, 7, 4), (3, 7, 5), (3, 7, 6)]
    assert sorted(tuple(p.shape) for p in temporal[3:]) == [(3, 7, 8), (3, 7, 10), (3, 7, 12)]
    assert all(7 not in p.shape[1:] for p in spatial)
    # time planes start at 1 (static scene): zero L1 and zero time curvature at initialisation
    assert time_planes_l1(temporal).item() == 0.0
    assert time_smoothness(temporal).item() == 0.0
    proposal = HumanSyncDensityField(AABB, resolution=(4, 4, 4, 5), num_components=2, implementation="torch")
    assert [p.shape[1] for p in proposal.temporal_planes()] == [5, 5, 5]
    assert len(proposal.spatial_planes()) == 3
