"""K-Planes fields of the humansync method (paper Sec. 3.3, Eq. 8-11).

``HumanSyncField`` is the radiance field: one nerfstudio ``KPlanesEncoding`` per resolution level
(6 planes each: xy, xz, yz in space and xt, yt, zt in space-time), the Hadamard product across the
planes of a level (Eq. 8), the level features scaled by the coarse-to-fine weights of Eq. 14 and
concatenated (Eq. 9), a density MLP (Eq. 10) and a colour MLP fed with a spherical-harmonics
encoding of the view direction (Eq. 11), plus an optional per-video appearance embedding.
``HumanSyncDensityField`` is a single-level K-Planes proposal field that sees time but has no colour.

Positions: with a spatial distortion (nerfstudio's ``SceneContraction``, the default of the model)
the whole space is contracted into [-2, 2]^3, the scene box being the unit cube [-1, 1]^3 inside it;
without one, positions are normalised by the scene box's AABB and density is zero outside it.
Both end up in [-1, 1], the range ``grid_sample`` expects. Times arrive as the dataparser's
normalised global time (0..1 over the training videos' common span, below 0 or above 1 for frames
outside it; shifted by the learned offsets) and ``TimeToGrid``, an affine map from the dataparser's
``time_normalization``, takes them to the grid's time axis [-1, 1], which covers every training
frame plus a margin for the offsets; times pushed outside it read the border of the time axis
(``padding_mode="border"``).

``dynamic_region="scene_box"`` (an option; the paper's field is "everywhere") keeps the space-time
planes to the scene box: outside it their product is taken as 1, so the contracted shell (room,
cameras' surroundings) is static, and with the dataparser's ``scene_box_from="people"`` only the
people's region can change over time. The background then cannot flicker, nor absorb a video's
calibration error by changing over time, and the time offsets learn from where people move.

Structure follows nerfstudio's fields (plain keyword arguments, no config) so the field can be
built and tested without the config system.
"""

from __future__ import annotations

from typing import Dict, List, Literal, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn
from typing_extensions import assert_never

from nerfstudio.cameras.rays import Frustums, RaySamples
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.field_components.activations import trunc_exp
from nerfstudio.field_components.embedding import Embedding
from nerfstudio.field_components.encodings import KPlanesEncoding, SHEncoding
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.field_components.mlp import MLP
from nerfstudio.field_components.spatial_distortions import SpatialDistortion
from nerfstudio.fields.base_field import Field

TIME_AXIS = 3
"""Index of time in the 4D coordinates (x, y, z, t) given to ``KPlanesEncoding``."""


class TimeToGrid(NamedTuple):
    """Normalised time to the grid's time coordinate: ``grid = scale * t + shift`` (the dataparser's
    ``TimeNormalization.grid_scale`` / ``grid_shift``). The default maps [0, 1] onto [-1, 1]."""

    scale: float = 2.0
    shift: float = -1.0


def spacetime_grid_coords(
    positions: Float[Tensor, "*bs 3"],
    times: Optional[Float[Tensor, "*bs 1"]],
    aabb: Float[Tensor, "2 3"],
    spatial_distortion: Optional[SpatialDistortion],
    time_to_grid: TimeToGrid = TimeToGrid(),
) -> Tuple[Float[Tensor, "*bs 4"], Float[Tensor, "*bs"]]:
    """Map world positions and normalised times to K-Planes grid coordinates in [-1, 1]^4 (the one
    place where normalised time becomes grid time).

    Returns the coordinates and a boolean mask of samples inside the represented volume (always
    true with a spatial distortion, since the contraction covers all of space).
    """
    if spatial_distortion is not None:
        xyz = spatial_distortion(positions)  # contracted: [-2, 2]
        xyz = xyz / 2.0  # [-2, 2] -> [-1, 1]
        inside = torch.ones_like(xyz[..., 0], dtype=torch.bool)
    else:
        xyz = SceneBox.get_normalized_positions(positions, aabb)  # box -> [0, 1]
        inside = ((xyz >= 0.0) & (xyz <= 1.0)).all(dim=-1)
        xyz = xyz * 2.0 - 1.0  # [0, 1] -> [-1, 1]
    if times is None:
        # Samples without time see normalised 0 (the model gives time-less eval rays a time before this).
        times = torch.zeros_like(xyz[..., :1])
    t = times.to(xyz) * time_to_grid.scale + time_to_grid.shift  # normalised -> grid [-1, 1]
    return torch.cat([xyz, t.expand(*xyz.shape[:-1], 1)], dim=-1), inside


DynamicRegion = Literal["everywhere", "scene_box"]


def in_scene_box(positions: Float[Tensor, "*bs 3"], aabb: Float[Tensor, "2 3"]) -> Bool[Tensor, "*bs"]:
    """Whether each position lies inside the scene box (before any contraction)."""
    return ((positions >= aabb[0]) & (positions <= aabb[1])).all(dim=-1)


def kplanes_features(
    encoding: KPlanesEncoding, coords: Float[Tensor, "N 4"], dynamic: Optional[Bool[Tensor, "N"]] = None
) -> Float[Tensor, "N C"]:
    """The product of an encoding's plane features at ``coords`` (what ``encoding(coords)`` gives);
    where ``dynamic`` is False the space-time planes are left out of the product (as if they were
    at their initial value 1): the scene is static there and those planes get no gradient from it."""
    if dynamic is None:
        return encoding(coords)
    spatial: Tensor | float = 1.0
    temporal: Tensor | float = 1.0
    for plane, pair in zip(encoding.plane_coefs, encoding.coo_combs):
        grid_coords = coords[..., pair].view(1, 1, -1, 2)  # [1, 1, N, 2]
        features = F.grid_sample(plane[None], grid_coords, align_corners=True, padding_mode="border")  # [1, C, 1, N]
        features = features.view(encoding.num_components, -1).T  # [N, C]
        if TIME_AXIS in pair:
            temporal = temporal * features
        else:
            spatial = spatial * features
    assert isinstance(spatial, Tensor) and isinstance(temporal, Tensor)
    return spatial * torch.where(dynamic[:, None], temporal, torch.ones_like(temporal))


def _split_planes(encoding: KPlanesEncoding) -> Tuple[List[nn.Parameter], List[nn.Parameter]]:
    """Planes of one encoding split by whether their axis pair includes time (from ``coo_combs``)."""
    spatial, temporal = [], []
    for plane, pair in zip(encoding.plane_coefs, encoding.coo_combs):
        (temporal if TIME_AXIS in pair else spatial).append(plane)
    return spatial, temporal


def _dynamic_mask(positions: Float[Tensor, "*bs 3"], aabb: Float[Tensor, "2 3"], region: DynamicRegion) -> Optional[Tensor]:
    """Flat (N,) mask of the samples that may change over time; None when all may."""
    if region == "everywhere":
        return None
    if region == "scene_box":
        return in_scene_box(positions, aabb).reshape(-1)
    assert_never(region)


class HumanSyncField(Field):
    """Multiscale K-Planes radiance field with coarse-to-fine level weights.

    Args:
        aabb: scene box (2, 3), used when ``spatial_distortion`` is None.
        num_videos: number of videos of the capture (size of the appearance embedding table).
        train_videos: videos whose embeddings are trained; their mean is used for other rays.
        grid_resolution: spatial resolution (x, y, z) of the coarsest level.
        time_resolution: resolution of the time axis (of the finest level with ``coarse_to_fine_time``).
        multiscale: multipliers of the spatial resolution, one level each, coarse to fine.
        num_components: features per plane (and per level).
        geo_feat_dim: features passed from the density MLP to the colour MLP.
        hidden_dim: width of the density MLP.
        num_layers: layers of the density MLP.
        hidden_dim_color: width of the colour MLP.
        num_layers_color: layers of the colour MLP.
        appearance_embedding_dim: per-video appearance code size (0 disables it).
        sh_levels: spherical-harmonics levels of the view-direction encoding.
        spatial_distortion: contraction of unbounded scenes, or None to use the AABB.
        dynamic_region: where the scene may change over time: everywhere (the paper's K-Planes) or
            only inside the scene box (see the module docstring).
        coarse_to_fine_time: give each level a time axis as coarse as its space (time cells scale with
            the level's multiplier), so the Eq. 14 schedule also runs coarse-to-fine in time; False
            (the paper) gives every level ``time_resolution`` cells.
        time_to_grid: normalised time to the grid's time axis.
        implementation: "tcnn" when available (falls back to "torch" with a warning), or "torch".
    """

    def __init__(
        self,
        aabb: Float[Tensor, "2 3"],
        num_videos: int,
        train_videos: Optional[Sequence[int]] = None,
        grid_resolution: Sequence[int] = (64, 64, 64),
        time_resolution: int = 25,
        multiscale: Sequence[int] = (1, 2, 4),
        num_components: int = 32,
        geo_feat_dim: int = 15,
        hidden_dim: int = 64,
        num_layers: int = 2,
        hidden_dim_color: int = 64,
        num_layers_color: int = 3,
        appearance_embedding_dim: int = 16,
        sh_levels: int = 4,
        spatial_distortion: Optional[SpatialDistortion] = None,
        dynamic_region: DynamicRegion = "everywhere",
        coarse_to_fine_time: bool = False,
        time_to_grid: TimeToGrid = TimeToGrid(),
        implementation: str = "tcnn",
    ) -> None:
        super().__init__()
        if len(grid_resolution) != 3:
            raise ValueError(f"grid_resolution must have 3 entries (x, y, z), got {tuple(grid_resolution)}")
        if len(multiscale) < 1:
            raise ValueError("multiscale needs at least one level")
        self.register_buffer("aabb", aabb)
        self.spatial_distortion = spatial_distortion
        self.dynamic_region = dynamic_region
        self.time_to_grid = time_to_grid
        self.geo_feat_dim = geo_feat_dim
        self.num_levels = len(multiscale)
        finest = max(multiscale)
        self.time_resolutions = [
            max(2, round(time_resolution * scale / finest)) if coarse_to_fine_time else time_resolution for scale in multiscale
        ]
        self.grids = nn.ModuleList(
            KPlanesEncoding(
                resolution=[r * scale for r in grid_resolution] + [cells],
                num_components=num_components,
                reduce="product",
            )
            for scale, cells in zip(multiscale, self.time_resolutions)
        )
        # Eq. 14 weights, set by the model's training callback; a buffer so checkpoints keep them.
        self.register_buffer("level_weights", torch.ones(self.num_levels))

        self.mlp_base = MLP(
            in_dim=num_components * self.num_levels,
            num_layers=num_layers,
            layer_width=hidden_dim,
            out_dim=1 + geo_feat_dim,
            activation=nn.ReLU(),
            out_activation=None,
            implementation=implementation,  # type: ignore[arg-type]
        )
        self.direction_encoding = SHEncoding(levels=sh_levels, implementation=implementation)  # type: ignore
        self.appearance_embedding_dim = appearance_embedding_dim
        self.embedding_appearance: Optional[Embedding] = None
        if appearance_embedding_dim > 0:
            self.embedding_appearance = Embedding(num_videos, appearance_embedding_dim)
        train = list(range(num_videos)) if train_videos is None else list(train_videos)
        self.register_buffer("train_videos", torch.tensor(train, dtype=torch.long), persistent=False)
        self.mlp_head = MLP(
            in_dim=self.direction_encoding.get_out_dim() + geo_feat_dim + max(appearance_embedding_dim, 0),
            num_layers=num_layers_color,
            layer_width=hidden_dim_color,
            out_dim=3,
            activation=nn.ReLU(),
            out_activation=nn.Sigmoid(),
            implementation=implementation,  # type: ignore[arg-type]
        )

    # ----- structure accessors (regularisers use these, never plane indices) -----
    def spatial_planes(self) -> List[nn.Parameter]:
        """The space-only planes (xy, xz, yz) of every level."""
        return [p for grid in self.grids for p in _split_planes(grid)[0]]

    def temporal_planes(self) -> List[nn.Parameter]:
        """The space-time planes (xt, yt, zt) of every level."""
        return [p for grid in self.grids for p in _split_planes(grid)[1]]

    @torch.no_grad()
    def set_level_weights(self, weights: Float[Tensor, "num_levels"]) -> None:
        """Set the coarse-to-fine weights (Eq. 14) used from the next forward on."""
        if weights.shape != (self.num_levels,):
            raise ValueError(f"expected {self.num_levels} level weights, got shape {tuple(weights.shape)}")
        self.level_weights.copy_(weights.to(self.level_weights))

    # ----- Field interface -----
    def get_density(self, ray_samples: RaySamples) -> Tuple[Float[Tensor, "*bs 1"], Float[Tensor, "*bs geo"]]:
        positions = ray_samples.frustums.get_positions()
        coords, inside = spacetime_grid_coords(positions, ray_samples.times, self.aabb, self.spatial_distortion, self.time_to_grid)
        coords_flat = coords.view(-1, 4)  # [N, 4]
        dynamic = _dynamic_mask(positions, self.aabb, self.dynamic_region)
        # Eq. 9: concatenation of the level features, each scaled by its Eq. 14 weight.
        features = torch.cat(
            [self.level_weights[i] * kplanes_features(grid, coords_flat, dynamic) for i, grid in enumerate(self.grids)], dim=-1
        )  # [N, L * C]
        h = self.mlp_base(features).view(*positions.shape[:-1], -1)
        density_before_activation, geo_features = torch.split(h, [1, self.geo_feat_dim], dim=-1)
        # trunc_exp as in nerfacto: an exponential reaches large densities from small MLP outputs;
        # the -1 bias starts the scene mostly empty, which the proposal sampler prefers.
        density = trunc_exp(density_before_activation.to(positions) - 1.0)
        # where, not a product: an infinite density outside the box times 0 would be NaN.
        density = torch.where(inside[..., None], density, torch.zeros_like(density))
        return density, geo_features

    def _appearance(self, ray_samples: RaySamples, outputs_shape: torch.Size) -> Optional[Tensor]:
        """Per-video code for training rays with a video index; the train videos' mean otherwise."""
        if self.embedding_appearance is None:
            return None
        video_index: Optional[Int[Tensor, "*bs 1"]] = ray_samples.metadata.get("video_index")
        if self.training and video_index is not None:
            code = self.embedding_appearance(video_index[..., 0].long())  # [*bs, E]
        else:
            code = self.embedding_appearance.embedding.weight[self.train_videos].mean(dim=0)  # [E]
        return code.expand(*outputs_shape, self.appearance_embedding_dim)

    def get_outputs(
        self, ray_samples: RaySamples, density_embedding: Optional[Tensor] = None
    ) -> Dict[FieldHeadNames, Tensor]:
        if density_embedding is None:
            raise ValueError("HumanSyncField.get_outputs needs the density MLP features")
        directions = ray_samples.frustums.directions
        outputs_shape = directions.shape[:-1]
        if self.direction_encoding.tcnn_encoding is not None:
            directions = (directions + 1.0) / 2.0  # tcnn's SH expects [0, 1]; the torch path wants unit vectors
        d = self.direction_encoding(directions.reshape(-1, 3))  # [N, sh_levels^2]
        parts = [d, density_embedding.reshape(-1, self.geo_feat_dim)]
        code = self._appearance(ray_samples, outputs_shape)
        if code is not None:
            parts.append(code.reshape(-1, self.appearance_embedding_dim))
        rgb = self.mlp_head(torch.cat(parts, dim=-1)).view(*outputs_shape, 3).to(directions)
        return {FieldHeadNames.RGB: rgb}


class HumanSyncDensityField(Field):
    """Single-level K-Planes proposal field: density of (x, y, z, t), no colour.

    Args:
        aabb: scene box (2, 3), used when ``spatial_distortion`` is None.
        resolution: (x, y, z, t) grid resolution.
        num_components: features per plane.
        hidden_dim: width of the density MLP.
        num_layers: layers of the density MLP.
        spatial_distortion: contraction of unbounded scenes, or None to use the AABB.
        dynamic_region: where the density may change over time (as for ``HumanSyncField``).
        time_to_grid: normalised time to the grid's time axis (as for ``HumanSyncField``).
        implementation: "tcnn" when available (falls back to "torch"), or "torch".
    """

    def __init__(
        self,
        aabb: Float[Tensor, "2 3"],
        resolution: Sequence[int] = (64, 64, 64, 25),
        num_components: int = 8,
        hidden_dim: int = 64,
        num_layers: int = 2,
        spatial_distortion: Optional[SpatialDistortion] = None,
        dynamic_region: DynamicRegion = "everywhere",
        time_to_grid: TimeToGrid = TimeToGrid(),
        implementation: str = "tcnn",
    ) -> None:
        super().__init__()
        if len(resolution) != 4:
            raise ValueError(f"resolution must be (x, y, z, t), got {tuple(resolution)}")
        self.register_buffer("aabb", aabb)
        self.spatial_distortion = spatial_distortion
        self.dynamic_region = dynamic_region
        self.time_to_grid = time_to_grid
        self.grid = KPlanesEncoding(resolution=list(resolution), num_components=num_components, reduce="product")
        self.mlp = MLP(
            in_dim=num_components,
            num_layers=num_layers,
            layer_width=hidden_dim,
            out_dim=1,
            activation=nn.ReLU(),
            out_activation=None,
            implementation=implementation,  # type: ignore[arg-type]
        )

    def spatial_planes(self) -> List[nn.Parameter]:
        """The space-only planes (xy, xz, yz)."""
        return _split_planes(self.grid)[0]

    def temporal_planes(self) -> List[nn.Parameter]:
        """The space-time planes (xt, yt, zt)."""
        return _split_planes(self.grid)[1]

    def density_fn(
        self, positions: Float[Tensor, "*bs 3"], times: Optional[Float[Tensor, "*bs 1"]] = None
    ) -> Float[Tensor, "*bs 1"]:
        """Density at positions and times (the base class drops ``times``; here they are kept).

        The proposal sampler calls this with positions only, so the model binds the (offset)
        ray times with ``functools.partial(field.density_fn, times=...)``."""
        if times is not None and times.dim() == positions.dim() - 1:
            times = times[..., None, :]  # per-ray times [R, 1] -> [R, 1, 1], broadcast over samples
        ray_samples = RaySamples(
            frustums=Frustums(
                origins=positions,
                directions=torch.ones_like(positions),
                starts=torch.zeros_like(positions[..., :1]),
                ends=torch.zeros_like(positions[..., :1]),
                pixel_area=torch.ones_like(positions[..., :1]),
            ),
            times=times,
        )
        density, _ = self.get_density(ray_samples)
        return density

    def get_density(self, ray_samples: RaySamples) -> Tuple[Float[Tensor, "*bs 1"], None]:
        positions = ray_samples.frustums.get_positions()
        coords, inside = spacetime_grid_coords(positions, ray_samples.times, self.aabb, self.spatial_distortion, self.time_to_grid)
        dynamic = _dynamic_mask(positions, self.aabb, self.dynamic_region)
        features = kplanes_features(self.grid, coords.view(-1, 4), dynamic)  # [N, C]
        density_before_activation = self.mlp(features).view(*positions.shape[:-1], 1)
        density = trunc_exp(density_before_activation.to(positions) - 1.0)
        return torch.where(inside[..., None], density, torch.zeros_like(density)), None

    def get_outputs(self, ray_samples: RaySamples, density_embedding: Optional[Tensor] = None) -> dict:
        return {}
