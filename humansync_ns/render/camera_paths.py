"""Time-aware camera paths (pure torch): pose *and* time interpolation between keyframes, bullet
time (fixed time, moving camera) and a fixed camera with moving time.

All poses are nerfstudio camera-to-world matrices `(..., 3, 4)` in the normalised scene (OpenGL
camera axes: x right, y up, z backward; column vectors, `x_world = R @ x_cam + t`). Times are
nerfstudio's normalised times (`docs/conventions.md`: 0..1 over the training videos' common span,
what `Cameras.times` and the viewer's slider hold). Quaternions are `(..., 4)`, real part first
`(w, x, y, z)`.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, Optional

import torch
from jaxtyping import Float
from torch import Tensor
from typing_extensions import assert_never

from nerfstudio.cameras.cameras import Cameras

PositionInterpolation = Literal["linear", "catmull_rom"]


class CameraPath(NamedTuple):
    """A sequence of poses with one normalised time each."""

    camera_to_worlds: Float[Tensor, "N 3 4"]
    times: Float[Tensor, "N"]


def _require_poses(c2w: Tensor, name: str) -> Tensor:
    if c2w.ndim != 3 or c2w.shape[-2:] not in ((3, 4), (4, 4)):
        raise ValueError(f"{name}: expected camera-to-world poses of shape (N, 3, 4) or (N, 4, 4), got {tuple(c2w.shape)}")
    return c2w[:, :3, :4]


def matrix_to_quaternion(R: Float[Tensor, "*bs 3 3"]) -> Float[Tensor, "*bs 4"]:
    """Rotation matrices to unit quaternions `(w, x, y, z)` with `w ≥ 0` (Shepperd's method: the
    largest of the four candidate denominators is used, so no branch divides by ~0)."""
    m = R
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    # 4·q_i² for i = w, x, y, z; pick the biggest to divide by.
    four_sq = torch.stack(
        [1 + trace, 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
         1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]],
        dim=-1,
    )
    candidates = torch.stack(
        [
            torch.stack([four_sq[..., 0], m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1),
            torch.stack([m[..., 2, 1] - m[..., 1, 2], four_sq[..., 1], m[..., 1, 0] + m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0]], -1),
            torch.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] + m[..., 0, 1], four_sq[..., 2], m[..., 2, 1] + m[..., 1, 2]], -1),
            torch.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 2, 1] + m[..., 1, 2], four_sq[..., 3]], -1),
        ],
        dim=-2,
    )  # (..., 4 candidates, 4): candidate i equals 4 q_i · q
    best = four_sq.argmax(dim=-1)
    q = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def quaternion_to_matrix(q: Float[Tensor, "*bs 4"]) -> Float[Tensor, "*bs 3 3"]:
    """Unit quaternions `(w, x, y, z)` to rotation matrices (normalises first)."""
    w, x, y, z = (q / q.norm(dim=-1, keepdim=True)).unbind(-1)
    return torch.stack(
        [
            torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        dim=-2,
    )


def slerp(q0: Float[Tensor, "*bs 4"], q1: Float[Tensor, "*bs 4"], w: Float[Tensor, "*bs"]) -> Float[Tensor, "*bs 4"]:
    """Spherical linear interpolation along the shorter arc: `w = 0` gives `q0`, `w = 1` gives ±`q1`."""
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)
    dot = dot.abs().clamp(max=1.0)
    theta = torch.acos(dot)
    sin_theta = torch.sin(theta)
    w = w[..., None]
    near = sin_theta < 1e-6  # (almost) the same rotation: linear blend is exact enough
    safe = torch.where(near, torch.ones_like(sin_theta), sin_theta)
    a = torch.where(near, 1 - w, torch.sin((1 - w) * theta) / safe)
    b = torch.where(near, w, torch.sin(w * theta) / safe)
    q = a * q0 + b * q1
    return q / q.norm(dim=-1, keepdim=True)


def _catmull_rom(p0: Tensor, p1: Tensor, p2: Tensor, p3: Tensor, w: Tensor) -> Tensor:
    """Uniform Catmull-Rom segment from `p1` (w=0) to `p2` (w=1); passes through both."""
    w = w[..., None]
    return 0.5 * (
        2 * p1 + (p2 - p0) * w + (2 * p0 - 5 * p1 + 4 * p2 - p3) * w**2 + (3 * p1 - p0 - 3 * p2 + p3) * w**3
    )


def interpolate_path(
    key_camera_to_worlds: Float[Tensor, "K 3 4"],
    key_times: Float[Tensor, "K"],
    steps_per_segment: int,
    position: PositionInterpolation = "catmull_rom",
    closed: bool = False,
) -> CameraPath:
    """Interpolates poses (slerp rotations, linear or Catmull-Rom positions) and times (linear)
    between consecutive keyframes.

    Frame `i · steps_per_segment` is keyframe `i` exactly; an open path ends on the last keyframe
    (`(K − 1)·steps + 1` frames), a closed one returns to the first (`K·steps` frames, the first
    keyframe not repeated). Linear time interpolation keeps monotone keyframe times monotone.
    """
    c2w = _require_poses(key_camera_to_worlds, "key_camera_to_worlds")
    num_keys = c2w.shape[0]
    key_times = torch.as_tensor(key_times, dtype=c2w.dtype, device=c2w.device).reshape(-1)
    if key_times.shape[0] != num_keys:
        raise ValueError(f"{num_keys} keyframe poses but {key_times.shape[0]} keyframe times")
    if steps_per_segment < 1:
        raise ValueError(f"steps_per_segment must be ≥ 1, got {steps_per_segment}")
    if num_keys == 1:
        return CameraPath(c2w.clone(), key_times.clone())
    num_segments = num_keys if closed else num_keys - 1
    index = lambda i: i % num_keys if closed else min(max(i, 0), num_keys - 1)  # noqa: E731
    quats = matrix_to_quaternion(c2w[:, :3, :3])
    positions = c2w[:, :3, 3]

    w = torch.arange(steps_per_segment, dtype=c2w.dtype, device=c2w.device) / steps_per_segment
    out_R, out_t, out_time = [], [], []
    for s in range(num_segments):
        i0, i1 = index(s), index(s + 1)
        out_R.append(quaternion_to_matrix(slerp(quats[i0].expand(len(w), 4), quats[i1].expand(len(w), 4), w)))
        if position == "linear":
            out_t.append(positions[i0] + w[:, None] * (positions[i1] - positions[i0]))
        elif position == "catmull_rom":
            p = [positions[index(s + k)] for k in (-1, 0, 1, 2)]
            out_t.append(_catmull_rom(*p, w))
        else:
            assert_never(position)
        t1 = key_times[i1]
        out_time.append(key_times[i0] + w * (t1 - key_times[i0]))
    R = torch.cat(out_R)
    t = torch.cat(out_t)
    times = torch.cat(out_time)
    if not closed:
        R = torch.cat([R, c2w[-1:, :3, :3]])
        t = torch.cat([t, positions[-1:]])
        times = torch.cat([times, key_times[-1:]])
    # Keyframes are returned bit-exact (slerp/spline round-off would otherwise perturb them).
    key_rows = torch.arange(0, num_keys if not closed else num_keys) * steps_per_segment
    R[key_rows] = c2w[:, :3, :3]
    t[key_rows] = positions
    times[key_rows] = key_times
    return CameraPath(torch.cat([R, t[..., None]], dim=-1), times)


def look_at(eye: Float[Tensor, "*bs 3"], target: Float[Tensor, "*bs 3"], up: Float[Tensor, "3"]) -> Float[Tensor, "*bs 3 4"]:
    """OpenGL camera-to-world looking from `eye` at `target` (camera −z towards the target, camera
    +y as close to `up` as possible)."""
    z = eye - target
    z = z / z.norm(dim=-1, keepdim=True)
    x = torch.linalg.cross(up.expand_as(z), z)
    if bool((x.norm(dim=-1) < 1e-8).any()):
        raise ValueError("look_at: viewing direction is parallel to the up vector")
    x = x / x.norm(dim=-1, keepdim=True)
    y = torch.linalg.cross(z, x)
    return torch.stack([x, y, z, eye], dim=-1)


def scene_focus(camera_to_worlds: Float[Tensor, "N 3 4"]) -> Float[Tensor, "3"]:
    """The point closest (least squares) to every camera's optical axis: what the rig looks at.

    With one camera, or all axes parallel, the system is singular and `ValueError` is raised."""
    c2w = _require_poses(camera_to_worlds, "camera_to_worlds").double()
    forward = -c2w[:, :3, 2]  # OpenGL: the camera looks along −z
    forward = forward / forward.norm(dim=-1, keepdim=True)
    projector = torch.eye(3, dtype=c2w.dtype) - forward[:, :, None] * forward[:, None, :]  # (N, 3, 3)
    A = projector.sum(0)
    b = (projector @ c2w[:, :3, 3, None]).sum(0)
    if torch.linalg.matrix_rank(A) < 3:
        raise ValueError("scene_focus: the cameras' optical axes do not intersect (one camera or parallel axes)")
    return torch.linalg.solve(A, b)[:, 0].to(camera_to_worlds.dtype)


def rig_up(camera_to_worlds: Float[Tensor, "N 3 4"]) -> Float[Tensor, "3"]:
    """Mean camera up axis (+y of OpenGL cameras), normalised: the rig's notion of up."""
    up = _require_poses(camera_to_worlds, "camera_to_worlds")[:, :3, 1].mean(0)
    return up / up.norm()


def _azimuth_frame(up: Tensor) -> tuple[Tensor, Tensor]:
    """Two unit vectors spanning the plane orthogonal to `up`."""
    helper = torch.tensor([1.0, 0.0, 0.0], dtype=up.dtype) if up[0].abs() < 0.9 else torch.tensor([0.0, 1.0, 0.0], dtype=up.dtype)
    e1 = torch.linalg.cross(up, helper)
    e1 = e1 / e1.norm()
    return e1, torch.linalg.cross(up, e1)


def order_by_azimuth(camera_to_worlds: Float[Tensor, "N 3 4"], center: Tensor, up: Tensor) -> Tensor:
    """Indices sorting the cameras by their angle around `up` through `center`."""
    offsets = _require_poses(camera_to_worlds, "camera_to_worlds")[:, :3, 3] - center
    e1, e2 = _azimuth_frame(up)
    return torch.argsort(torch.atan2(offsets @ e2, offsets @ e1))


def orbit_path(
    camera_to_worlds: Float[Tensor, "N 3 4"], num_frames: int, time: float, up: Optional[Tensor] = None
) -> CameraPath:
    """A full circle around the rig's focus at the cameras' mean distance and height, starting at
    the first camera's azimuth, looking at the focus; every frame at normalised `time`."""
    c2w = _require_poses(camera_to_worlds, "camera_to_worlds")
    center = scene_focus(c2w)
    up = rig_up(c2w) if up is None else up / up.norm()
    offsets = c2w[:, :3, 3] - center
    height = (offsets @ up).mean()
    radial = offsets - (offsets @ up)[:, None] * up
    radius = radial.norm(dim=-1).mean()
    e1, e2 = _azimuth_frame(up)
    start = torch.atan2(radial[0] @ e2, radial[0] @ e1)
    angles = start + torch.arange(num_frames, dtype=c2w.dtype) / num_frames * 2 * torch.pi
    eyes = center + height * up + radius * (torch.cos(angles)[:, None] * e1 + torch.sin(angles)[:, None] * e2)
    poses = look_at(eyes, center.expand_as(eyes), up)
    return CameraPath(poses, torch.full((num_frames,), float(time), dtype=c2w.dtype))


def bullet_time_path(
    camera_to_worlds: Float[Tensor, "N 3 4"],
    time: float,
    num_frames: int,
    trajectory: Literal["orbit", "through_cameras"] = "through_cameras",
) -> CameraPath:
    """Fixed time, moving camera. `through_cameras` passes through every given camera in azimuth
    order and closes the loop; `orbit` is a circle around the rig's focus."""
    c2w = _require_poses(camera_to_worlds, "camera_to_worlds")
    if trajectory == "orbit":
        return orbit_path(c2w, num_frames, time)
    if trajectory == "through_cameras":
        order = order_by_azimuth(c2w, scene_focus(c2w), rig_up(c2w))
        steps = max(1, round(num_frames / len(order)))
        keys = c2w[order]
        path = interpolate_path(keys, torch.full((len(order),), float(time)), steps, "catmull_rom", closed=True)
        return path
    assert_never(trajectory)


def fixed_camera_path(
    camera_to_world: Float[Tensor, "3 4"], time_start: float, time_end: float, num_frames: int
) -> CameraPath:
    """One pose for every frame; times linear from `time_start` to `time_end` (both included)."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be ≥ 1, got {num_frames}")
    pose = camera_to_world[:3, :4]
    times = torch.linspace(float(time_start), float(time_end), num_frames, dtype=pose.dtype)
    return CameraPath(pose.expand(num_frames, 3, 4).clone(), times)


def path_to_cameras(path: CameraPath, template: Cameras) -> Cameras:
    """nerfstudio `Cameras` along `path`, with the intrinsics and image size of the single
    camera `template` and `times` of shape `(N, 1)`."""
    if template.shape not in ((), (1,)):
        raise ValueError(f"template must be a single camera, got shape {tuple(template.shape)}")
    template = template.flatten()[0] if template.shape == (1,) else template
    n = path.camera_to_worlds.shape[0]
    expand = lambda v: v.reshape(1, 1).expand(n, 1).clone()  # noqa: E731
    return Cameras(
        camera_to_worlds=path.camera_to_worlds.float(),
        fx=expand(template.fx),
        fy=expand(template.fy),
        cx=expand(template.cx),
        cy=expand(template.cy),
        width=expand(template.width),
        height=expand(template.height),
        camera_type=expand(template.camera_type),
        distortion_params=None
        if template.distortion_params is None
        else template.distortion_params.reshape(1, -1).expand(n, -1).clone(),
        times=path.times.float().reshape(n, 1),
    )
