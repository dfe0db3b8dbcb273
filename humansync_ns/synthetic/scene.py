"""The static background: a textured room (floor and four walls) with box-shaped props.

Surfaces carry procedural texture (multi-octave value noise plus tile seams) so a photometric
refinement has image gradients everywhere, at scales a camera resolves. Colours are muted greys and
browns, far from the people's saturated red, blue and green. Props stand near the walls, beyond the cameras
(which are at most `camera_distance_m[1]` from the centre), so they never hide the people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ROOM_HALF_SIZE_M = 7.5
ROOM_HEIGHT_M = 4.0
FLOOR_ID, CEILING_ID, WALL_ID, FIRST_BOX_ID = 0, 1, 2, 3
"""Surface ids in the background id buffer (boxes are FIRST_BOX_ID + box index)."""
LIGHT_DIRECTION = np.array([0.35, 0.25, 0.9]) / np.linalg.norm([0.35, 0.25, 0.9])
"""Unit vector towards the (directional) light, world frame."""

_SURFACE_COLORS = np.array([[0.55, 0.50, 0.44], [0.80, 0.80, 0.78], [0.62, 0.60, 0.55]])
_BOX_COLORS = np.array([[0.52, 0.42, 0.33], [0.45, 0.47, 0.50], [0.60, 0.55, 0.62], [0.42, 0.52, 0.52], [0.66, 0.58, 0.44], [0.38, 0.36, 0.34]])


@dataclass
class Scene:
    """Room + props, in world metres (+Z up, floor at z = 0)."""

    room_half_size: float
    room_height: float
    box_min: np.ndarray
    """(B, 3) lower corners of the axis-aligned props."""
    box_max: np.ndarray
    """(B, 3) upper corners."""
    box_colors: np.ndarray
    """(B, 3) RGB."""
    texture_seed: int

    @property
    def num_boxes(self) -> int:
        return int(self.box_min.shape[0])


def make_scene(rng: np.random.Generator, num_boxes: int = 6, inner_radius_m: float = 5.7) -> Scene:
    """Random props on a ring between `inner_radius_m` and the walls."""
    azimuths = rng.uniform(0, 2 * np.pi) + 2 * np.pi * (np.arange(num_boxes) + rng.uniform(-0.25, 0.25, num_boxes)) / num_boxes
    radius = rng.uniform(inner_radius_m, ROOM_HALF_SIZE_M - 0.9, num_boxes)
    half = np.stack([rng.uniform(0.25, 0.5, num_boxes), rng.uniform(0.25, 0.5, num_boxes), rng.uniform(0.3, 1.1, num_boxes)], axis=1)
    centers = np.stack([radius * np.cos(azimuths), radius * np.sin(azimuths), half[:, 2]], axis=1)
    return Scene(
        room_half_size=ROOM_HALF_SIZE_M,
        room_height=ROOM_HEIGHT_M,
        box_min=centers - half,
        box_max=centers + half,
        box_colors=_BOX_COLORS[np.arange(num_boxes) % len(_BOX_COLORS)],
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )


def _hash01(ix: torch.Tensor, iy: torch.Tensor, seed: int) -> torch.Tensor:
    """Integer lattice → pseudo-random values in [0, 1) (wrapping int64 arithmetic)."""
    h = ix * 73856093 + iy * 19349663 + seed * 83492791
    h = h ^ (h >> 13)
    h = h * 1274126177
    h = h ^ (h >> 16)
    return (h & 0xFFFF).to(torch.float32) / 65536.0


def value_noise(u: torch.Tensor, v: torch.Tensor, seed: int) -> torch.Tensor:
    """Smooth 2D value noise in [0, 1) with unit lattice spacing (smoothstep interpolation)."""
    fu, fv = torch.floor(u), torch.floor(v)
    iu, iv = fu.to(torch.int64), fv.to(torch.int64)
    su, sv = u - fu, v - fv
    su, sv = su * su * (3 - 2 * su), sv * sv * (3 - 2 * sv)
    n00, n10 = _hash01(iu, iv, seed), _hash01(iu + 1, iv, seed)
    n01, n11 = _hash01(iu, iv + 1, seed), _hash01(iu + 1, iv + 1, seed)
    return (n00 * (1 - su) + n10 * su) * (1 - sv) + (n01 * (1 - su) + n11 * su) * sv


def surface_texture(u: torch.Tensor, v: torch.Tensor, seed: int) -> torch.Tensor:
    """Brightness multiplier in about [0.4, 1.2] from surface coordinates (metres)."""
    # Octaves from 0.15 m to 2 m: a small capture's pixel covers about 0.1 m of a wall, so finer
    # detail would only average out to grey, while metre-scale variation is what a coarse radiance
    # field (early coarse-to-fine levels) can fit and align cameras against.
    detail = (
        0.3 * value_noise(u / 0.15, v / 0.15, seed)
        + 0.35 * value_noise(u / 0.6, v / 0.6, seed + 1)
        + 0.35 * value_noise(u / 2.0, v / 2.0, seed + 2)
    )
    # Tile seams every metre, 8 cm wide: sharp lines that photometric alignment can lock on to.
    seam_u = torch.abs(torch.remainder(u, 1.0) - 0.5) > 0.46
    seam_v = torch.abs(torch.remainder(v, 1.0) - 0.5) > 0.46
    seam = (seam_u | seam_v).to(torch.float32)
    return 0.2 + 1.2 * detail - 0.25 * seam


def background_albedo(points: torch.Tensor, normals: torch.Tensor, surface_id: torch.Tensor, scene: Scene) -> torch.Tensor:
    """(N, 3) textured colour of background hits (before lighting)."""
    n_abs = torch.abs(normals)
    # Surface coordinates: drop the axis the surface faces.
    along_z = n_abs[:, 2] > 0.5
    along_x = n_abs[:, 0] > 0.5
    u = torch.where(along_z, points[:, 0], torch.where(along_x, points[:, 1], points[:, 0]))
    v = torch.where(along_z, points[:, 1], points[:, 2])
    seed = scene.texture_seed % 100000
    texture = surface_texture(u, v, seed + 17 * surface_id.clamp(max=FIRST_BOX_ID))
    palette = torch.as_tensor(np.concatenate([_SURFACE_COLORS, scene.box_colors]), dtype=torch.float32)
    return palette[surface_id] * texture[:, None]


def shade(albedo: torch.Tensor, normals: torch.Tensor, ambient: float = 0.45) -> torch.Tensor:
    """Lambert shading under one directional light plus ambient; two-sided normals."""
    light = torch.as_tensor(LIGHT_DIRECTION, dtype=torch.float32)
    diffuse = torch.abs(normals @ light)
    return (albedo * (ambient + (1.0 - ambient) * diffuse)[:, None]).clamp(0.0, 1.0)
