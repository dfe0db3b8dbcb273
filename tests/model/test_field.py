"""HumanSyncField: coordinate ranges, outside-box density, appearance codes for eval rays."""

from __future__ import annotations

import pytest
import torch

from nerfstudio.cameras.rays import Frustums, RaySamples
from nerfstudio.field_components.encodings import KPlanesEncoding
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.field_components.spatial_distortions import SceneContraction

from humansync_ns.model.kplanes_field import HumanSyncField, kplanes_features, spacetime_grid_coords

from model_testkit import make_model, tiny_config, two_static_one_moving_metadata

AABB = torch.tensor([[-2.0, -2.0, -2.0], [2.0, 2.0, 2.0]])


def samples(positions: torch.Tensor, times: torch.Tensor, video_index=None) -> RaySamples:
    n = positions.shape[0]
    return RaySamples(
        frustums=Frustums(
            origins=positions[:, None], directions=torch.tensor([[[0.0, 0.0, 1.0]]]).expand(n, 1, 3),
            starts=torch.zeros(n, 1, 1), ends=torch.zeros(n, 1, 1), pixel_area=torch.ones(n, 1, 1),
        ),
        times=times.reshape(n, 1, 1),
        metadata={} if video_index is None else {"video_index": video_index.reshape(n, 1, 1)},
    )


def test_aabb_and_time_ranges_map_to_grid_range():
    positions = torch.tensor([[-2.0, 0.0, 2.0], [1.0, -1.0, 0.0], [3.0, 0.0, 0.0]])
    times = torch.tensor([[0.0], [0.5], [1.0]])
    coords, inside = spacetime_grid_coords(positions, times, AABB, None)
    torch.testing.assert_close(coords[:2], torch.tensor([[-1.0, 0.0, 1.0, -1.0], [0.5, -0.5, 0.0, 0.0]]))
    assert coords[2, 3] == 1.0  # t = 1 -> +1
    assert inside.tolist() == [True, True, False]


def test_contraction_maps_space_into_grid_range():
    positions = torch.tensor([[0.5, 0.0, 0.0], [10.0, 0.0, 0.0]])
    coords, inside = spacetime_grid_coords(positions, None, AABB, SceneContraction(order=float("inf")))
    # inside the unit cube unchanged then halved; 10 -> 2 - 1/10 = 1.9 -> 0.95; no times -> t = 0 -> -1
    torch.testing.assert_close(coords, torch.tensor([[0.25, 0.0, 0.0, -1.0], [0.95, 0.0, 0.0, -1.0]]))
    assert inside.all()


def test_outside_box_density_is_zero_not_nan_even_when_huge():
    # Regression: density * mask gave inf * 0 = NaN outside the box once densities grew (step ~230
    # of the overfit test), which then poisoned every plane through the regularisers.
    field = HumanSyncField(AABB, num_videos=1, grid_resolution=(4, 4, 4), time_resolution=3, multiscale=(1,),
                           num_components=2, hidden_dim=8, implementation="torch")
    with torch.no_grad():
        field.mlp_base.layers[-1].bias.fill_(500.0)  # exp(499) = inf in float32
    density, _ = field.get_density(samples(torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]]), torch.zeros(2)))
    assert torch.isinf(density[0]).all() and density[1].item() == 0.0


def test_eval_rays_use_mean_code_of_training_videos():
    field = HumanSyncField(AABB, num_videos=3, train_videos=[0, 2], grid_resolution=(4, 4, 4), time_resolution=3,
                           multiscale=(1,), num_components=2, appearance_embedding_dim=2, implementation="torch")
    with torch.no_grad():
        field.embedding_appearance.embedding.weight.copy_(torch.tensor([[1.0, 0.0], [50.0, 50.0], [3.0, 2.0]]))
    rs = samples(torch.zeros(2, 3), torch.zeros(2), video_index=torch.tensor([1, 2]))
    field.train()
    torch.testing.assert_close(field._appearance(rs, torch.Size([2, 1])), torch.tensor([[[50.0, 50.0]], [[3.0, 2.0]]]))
    field.eval()  # held-out video 1 never trained: eval uses the mean of videos 0 and 2
    torch.testing.assert_close(field._appearance(rs, torch.Size([2, 1])), torch.tensor([[2.0, 1.0]]).expand(2, 1, 2))
    outputs = field(rs)
    assert outputs[FieldHeadNames.RGB].shape == (2, 1, 3)


def test_level_weight_zero_removes_a_level_from_the_features():
    field = HumanSyncField(AABB, num_videos=1, grid_resolution=(4, 4, 4), time_resolution=3, multiscale=(1, 2),
                           num_components=2, implementation="torch")
    field.set_level_weights(torch.tensor([1.0, 0.0]))
    rs = samples(torch.rand(5, 3), torch.rand(5))
    density, _ = field.get_density(rs)
    density.sum().backward()
    fine = [p for p in field.grids[1].plane_coefs]
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in fine)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in field.grids[0].plane_coefs)
    with pytest.raises(ValueError):
        field.set_level_weights(torch.ones(3))


def test_kplanes_features_match_the_encoding_and_leave_time_out_where_static():
    encoding = KPlanesEncoding(resolution=[5, 6, 7, 4], num_components=3)
    with torch.no_grad():
        for plane in encoding.plane_coefs:
            plane.uniform_(0.2, 1.8, generator=torch.Generator().manual_seed(0))
    coords = torch.rand(9, 4, generator=torch.Generator().manual_seed(1)) * 2 - 1
    torch.testing.assert_close(kplanes_features(encoding, coords), encoding(coords))
    dynamic = torch.tensor([True, False] * 4 + [True])
    mixed = kplanes_features(encoding, coords, dynamic)
    torch.testing.assert_close(mixed[dynamic], encoding(coords)[dynamic])
    static = kplanes_features(encoding, torch.cat([coords[:, :3], torch.ones(9, 1)], dim=1), dynamic)
    torch.testing.assert_close(static[~dynamic], mixed[~dynamic])  # no dependence on time where static


def test_scene_box_dynamic_region_keeps_the_outside_static():
    """With dynamic_region="scene_box", a sample outside the scene box has the same density at every
    time and sends no gradient into the space-time planes; inside it depends on time."""
    field = HumanSyncField(AABB, num_videos=1, grid_resolution=(4, 4, 4), time_resolution=5, multiscale=(1, 2),
                           num_components=2, hidden_dim=8, spatial_distortion=SceneContraction(order=float("inf")),
                           dynamic_region="scene_box", implementation="torch")
    with torch.no_grad():
        for plane in field.temporal_planes():
            plane.uniform_(0.2, 1.8, generator=torch.Generator().manual_seed(0))
    outside, inside = torch.tensor([[3.0, 0.5, 0.0]]), torch.tensor([[0.3, -0.2, 0.1]])
    early, late = (field.get_density(samples(p, torch.tensor([t])))[0] for p, t in ((outside, 0.1), (outside, 0.9)))
    torch.testing.assert_close(early, late)
    density, _ = field.get_density(samples(outside, torch.tensor([0.5])))
    density.sum().backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in field.temporal_planes())
    first, second = (field.get_density(samples(inside, torch.tensor([t])))[0] for t in (0.1, 0.9))
    assert (first - second).abs().item() > 1e-4


@pytest.mark.parametrize("coarse_to_fine_time, expected", [(False, [8, 8, 8]), (True, [2, 4, 8])])
def test_coarse_to_fine_time_gives_coarse_levels_coarse_time(coarse_to_fine_time, expected):
    field = HumanSyncField(AABB, num_videos=1, grid_resolution=(4, 4, 4), time_resolution=8, multiscale=(1, 2, 4),
                           num_components=2, coarse_to_fine_time=coarse_to_fine_time, implementation="torch")
    assert field.time_resolutions == expected
    for grid, cells in zip(field.grids, expected):
        time_planes = [p for p, pair in zip(grid.plane_coefs, grid.coo_combs) if 3 in pair]
        assert all(p.shape[1] == cells for p in time_planes), [p.shape for p in time_planes]


@pytest.mark.parametrize("sh_levels, view_dependent", [(4, True), (1, False)])
def test_sh_levels_reach_the_field_and_one_level_makes_colour_view_independent(sh_levels, view_dependent):
    """The refinement benchmark's no-absorbers lever: with one SH level no camera can explain its pose
    error by a colour of its own viewing direction."""
    model = make_model(two_static_one_moving_metadata(), tiny_config(sh_levels=sh_levels, appearance_embedding_dim=0))
    field = model.field
    assert field.direction_encoding.get_out_dim() == sh_levels**2
    torch.manual_seed(0)
    for p in field.mlp_head.parameters():
        torch.nn.init.normal_(p, std=1.0)  # make any view dependence large
    rs = samples(torch.zeros(2, 3), torch.zeros(2))  # the same point and time twice: only the direction differs
    rs.frustums.directions = torch.tensor([[[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]]])
    with torch.no_grad():
        _, geo = field.get_density(rs)
        rgb = field.get_outputs(rs, density_embedding=geo)[FieldHeadNames.RGB]
    difference = (rgb[0] - rgb[1]).abs().max().item()
    assert (difference > 1e-3) if view_dependent else (difference < 1e-6)
