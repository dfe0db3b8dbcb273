"""Vectorised ray casting of simple primitives in torch (CPU): pixel rays, the room, boxes, capsules.

Conventions: OpenCV cameras (x right, y down, z forward), pixel (u, v) covers [u, u+1) × [v, v+1)
so its ray goes through (u + 0.5, v + 0.5). Ray directions are unit vectors and every `t` is a
distance along the ray in metres; misses are `inf`. Shapes broadcast over leading batch dims.
"""

from __future__ import annotations

import torch

INF = float("inf")


def pixel_rays(K: torch.Tensor, camera_to_world: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World rays through pixel positions (integers: pixel centres).

    Args:
        K: (..., 3, 3) intrinsics.
        camera_to_world: (..., 4, 4) OpenCV camera-to-world.
        u, v: (..., N) pixel column and row (integers hit the centres; fractions move within a pixel).
    Returns:
        origins (..., N, 3) and unit directions (..., N, 3).
    """
    fx, fy = K[..., 0, 0, None], K[..., 1, 1, None]
    cx, cy = K[..., 0, 2, None], K[..., 1, 2, None]
    x = (u.to(K.dtype) + 0.5 - cx) / fx
    y = (v.to(K.dtype) + 0.5 - cy) / fy
    d_cam = torch.stack([x, y, torch.ones_like(x)], dim=-1)
    d_world = d_cam @ camera_to_world[..., :3, :3].transpose(-1, -2)
    d_world = d_world / torch.linalg.norm(d_world, dim=-1, keepdim=True)
    origins = camera_to_world[..., None, :3, 3].expand_as(d_world)
    return origins, d_world


def _safe_inverse(d: torch.Tensor) -> torch.Tensor:
    """1/d with zeros replaced by a tiny signed value (slab tests need finite, signed infinities)."""
    tiny = torch.full_like(d, 1e-12)
    return 1.0 / torch.where(torch.abs(d) < 1e-12, torch.where(d < 0, -tiny, tiny), d)


def intersect_room(
    origins: torch.Tensor, directions: torch.Tensor, half_size: float, height: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Exit point of rays starting inside the box [−h, h]² × [0, height].

    Returns:
        t (N,), outward-facing axis index (N,) in {0, 1, 2}, and the sign of the direction along it (N,).
    """
    inv = _safe_inverse(directions)
    upper = torch.tensor([half_size, half_size, height], dtype=origins.dtype)
    lower = torch.tensor([-half_size, -half_size, 0.0], dtype=origins.dtype)
    bound = torch.where(inv > 0, upper, lower)  # a zero component counts as +0, like its inverse
    t_axes = (bound - origins) * inv
    t, axis = torch.min(t_axes, dim=-1)
    sign = torch.sign(torch.gather(directions, -1, axis[..., None]))[..., 0]
    return t, axis, sign


def intersect_boxes(
    origins: torch.Tensor, directions: torch.Tensor, box_min: torch.Tensor, box_max: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Slab test of N rays against B axis-aligned boxes (rays start outside the boxes).

    Returns:
        t (N,) nearest entry distance (inf on a miss), box index (N,), entry face axis (N,).
    """
    inv = _safe_inverse(directions)[:, None, :]  # (N, 1, 3)
    t1 = (box_min[None] - origins[:, None, :]) * inv  # (N, B, 3)
    t2 = (box_max[None] - origins[:, None, :]) * inv
    t_near_axes = torch.minimum(t1, t2)
    t_near, face_axis = torch.max(t_near_axes, dim=-1)  # (N, B)
    t_far = torch.min(torch.maximum(t1, t2), dim=-1).values
    hit = (t_near <= t_far) & (t_near > 0)
    t_near = torch.where(hit, t_near, torch.full_like(t_near, INF))
    t, box = torch.min(t_near, dim=-1)
    return t, box, torch.gather(face_axis, 1, box[:, None])[:, 0]


def intersect_spheres(origins: torch.Tensor, directions: torch.Tensor, centers: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """Entry distances (..., N, S) of rays (..., N, 3) with spheres (..., S, 3), radii (..., S)."""
    oc = origins[..., :, None, :] - centers[..., None, :, :]
    b = torch.sum(directions[..., :, None, :] * oc, dim=-1)
    c = torch.sum(oc * oc, dim=-1) - radii[..., None, :] ** 2
    disc = b * b - c
    t = -b - torch.sqrt(torch.clamp(disc, min=0.0))
    return torch.where((disc >= 0) & (t > 0), t, torch.full_like(t, INF))


def intersect_capsules(
    origin: torch.Tensor, directions: torch.Tensor, start: torch.Tensor, end: torch.Tensor, radii: torch.Tensor
) -> torch.Tensor:
    """Entry distances (..., N, C) of rays from one origin per batch (..., 3) (a pinhole camera) along
    unit `directions` (..., N, 3) with capsules: segments start→end (..., C, 3) of radius (..., C).

    Nearest hit of the clipped cylinder and the two end spheres; a degenerate segment (start == end)
    is a sphere. Everything per (ray, capsule) pair reduces to two dot products, d·u and d·w, so the
    cost is two batched matrix products plus ~30 elementwise operations.
    """
    w = start - origin[..., None, :]  # (..., C, 3) camera → capsule start
    axis = end - start
    length = torch.linalg.norm(axis, dim=-1)  # (..., C)
    unit = axis / length.clamp(min=1e-9)[..., None]
    d_u = directions @ unit.transpose(-1, -2)  # (..., N, C)
    d_w = directions @ w.transpose(-1, -2)
    w_u = torch.sum(w * unit, dim=-1)[..., None, :]  # (..., 1, C)
    w_w = torch.sum(w * w, dim=-1)[..., None, :]
    return capsule_entry(d_u, d_w, w_u, w_w, length[..., None, :], (radii**2)[..., None, :])


def intersect_capsule_pairs(
    origins: torch.Tensor, directions: torch.Tensor, start: torch.Tensor, end: torch.Tensor, radii: torch.Tensor
) -> torch.Tensor:
    """Entry distances (M,) of M (ray, capsule) pairs: origins, unit directions, starts, ends (M, 3), radii (M,)."""
    w = start - origins
    axis = end - start
    length = torch.linalg.norm(axis, dim=-1)
    unit = axis / length.clamp(min=1e-9)[:, None]
    d_u = torch.sum(directions * unit, dim=-1)
    d_w = torch.sum(directions * w, dim=-1)
    return capsule_entry(d_u, d_w, torch.sum(w * unit, dim=-1), torch.sum(w * w, dim=-1), length, radii**2)


def capsule_entry(d_u: torch.Tensor, d_w: torch.Tensor, w_u: torch.Tensor, w_w: torch.Tensor, L: torch.Tensor, r2: torch.Tensor) -> torch.Tensor:
    """Ray–capsule entry distance from dot products (broadcasting): d the unit ray direction, w the
    vector from the ray origin to the capsule start, u the unit axis, L its length, r2 the squared radius."""
    # Cylinder: the ray point t·d is at distance r from the axis: |(t·d − w)⊥|² = r².
    a = 1.0 - d_u * d_u
    half_b = w_u * d_u - d_w
    c = w_w - w_u * w_u - r2
    disc = half_b * half_b - a * c
    t_cyl = (-half_b - torch.sqrt(torch.clamp(disc, min=0.0))) / a.clamp(min=1e-12)
    s = t_cyl * d_u - w_u  # axial coordinate of the hit
    t = torch.where((disc >= 0) & (a > 1e-12) & (s >= 0) & (s <= L) & (t_cyl > 0), t_cyl, INF)

    # End spheres at start (centre w) and end (centre w + L·u): t = d·c − sqrt((d·c)² − |c|² + r²).
    for d_c, c_c in ((d_w, w_w - r2), (d_w + L * d_u, w_w + 2.0 * L * w_u + L * L - r2)):
        disc = d_c * d_c - c_c
        t_s = d_c - torch.sqrt(torch.clamp(disc, min=0.0))
        t = torch.where((disc >= 0) & (t_s > 0) & (t_s < t), t_s, t)
    return t


def capsule_normals(points: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Unit surface normals (..., 3) at `points` on capsules with axes start→end (..., 3)."""
    axis = end - start
    length2 = torch.sum(axis * axis, dim=-1, keepdim=True).clamp(min=1e-18)
    s = torch.clamp(torch.sum((points - start) * axis, dim=-1, keepdim=True) / length2, 0.0, 1.0)
    normal = points - (start + s * axis)
    return normal / torch.linalg.norm(normal, dim=-1, keepdim=True).clamp(min=1e-12)
