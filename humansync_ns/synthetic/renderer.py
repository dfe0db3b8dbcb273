"""Renders a synthetic video: the static room once per static camera, then the people per frame.

People are capsules along the 23 bones plus a sphere for the head. Each person is ray cast only
inside the screen box of its bounding sphere (per-frame culling), and frames are batched so the
torch kernels run on large tensors. Colours are linear in [0, 1]; person and surface ids and ray
distances come back too, for tests.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Literal, Optional

from typing_extensions import assert_never

import numpy as np
import torch

from humansync_ns.motion.joints import JOINT_INDEX, SMPL_PARENTS
from humansync_ns.synthetic.raycast import INF, capsule_normals, intersect_boxes, intersect_capsule_pairs, intersect_capsules, intersect_room, pixel_rays
from humansync_ns.synthetic.scene import CEILING_ID, FIRST_BOX_ID, FLOOR_ID, WALL_ID, Scene, background_albedo, shade

BACKGROUND_ID = -1
"""`person_id` of pixels that show the room."""
# Capsule radius of the bone ending at each joint (index = child joint; 0 is unused), metres.
_BONE_RADII = np.array(
    [0.0, 0.09, 0.09, 0.12, 0.075, 0.075, 0.13, 0.055, 0.055, 0.13, 0.045, 0.045,
     0.06, 0.07, 0.07, 0.055, 0.06, 0.06, 0.045, 0.045, 0.04, 0.04, 0.035, 0.035]
)  # fmt: skip
HEAD_RADIUS_M = 0.1
_MAX_RAYS_PER_BATCH = 60_000


@contextlib.contextmanager
def single_thread_torch() -> Iterator[None]:
    """Runs torch on one thread: the renderer's many small kernels are many times slower with two
    OpenMP threads on a busy 2-core machine (measured: background pass 43 ms vs 1.2 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class RenderedFrames:
    """A batch of F rendered frames of one video."""

    color: torch.Tensor
    """(F, H, W, 3) float in [0, 1]."""
    depth: torch.Tensor
    """(F, H, W) distance along each pixel's ray, metres."""
    person_id: torch.Tensor
    """(F, H, W) int: person index, or BACKGROUND_ID."""
    surface_id: torch.Tensor
    """(F, H, W) int: background surface (FLOOR_ID, WALL_ID, FIRST_BOX_ID + box), -1 under people."""


def body_capsules(joints: np.ndarray, size: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capsules of bodies with joints (..., 24, 3): starts, ends (..., 24, 3) and radii (24,).

    Capsule j < 23 is the bone from parent(j+1) to joint j+1; capsule 23 is the head sphere (start ==
    end), set a little above the head joint along the neck→head direction.
    """
    parents = np.array(SMPL_PARENTS[1:])
    starts = joints[..., parents, :]
    ends = joints[..., 1:, :]
    neck, head = joints[..., JOINT_INDEX["neck"], :], joints[..., JOINT_INDEX["head"], :]
    up = head - neck
    up = up / np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-9)
    head_center = head + 0.07 * size * up
    starts = np.concatenate([starts, head_center[..., None, :]], axis=-2)
    ends = np.concatenate([ends, head_center[..., None, :]], axis=-2)
    radii = size * np.append(_BONE_RADII[1:], HEAD_RADIUS_M)
    return starts, ends, radii


def _shade_variation(num_capsules: int) -> np.ndarray:
    """A fixed ±10 % brightness per body part, so limbs are told apart in the images."""
    return 1.0 + 0.1 * np.sin(1.7 * np.arange(num_capsules) + 0.3)


class FrameRenderer:
    """Renders frames of one scene with given people colours and sizes at a fixed resolution.

    `culling="capsule"` (fast) tests each capsule only against the pixels of its own screen box;
    `"person"` tests every capsule against the pixels of the whole body's box (simple; the
    reference the fast path is tested against).

    The background's colour is the mean of `background_samples`² rays spread over each pixel, as a
    real sensor integrates light over its area: a texture finer than a pixel then blurs the same way
    in every view instead of aliasing into view-dependent noise that no radiance field can fit (and
    that drowns the photometric signal pose refinement relies on). Depth and surface ids come from
    the pixel centre.
    """

    def __init__(
        self,
        scene: Scene,
        width: int,
        height: int,
        person_colors: np.ndarray,
        person_sizes: Optional[np.ndarray] = None,
        culling: Literal["capsule", "person"] = "capsule",
        background_samples: int = 3,
    ) -> None:
        if background_samples < 1:
            raise ValueError(f"background_samples must be >= 1, got {background_samples}")
        self.scene = scene
        self.culling = culling
        self.background_samples = background_samples
        self.width, self.height = width, height
        self.colors = np.asarray(person_colors, dtype=np.float64)
        self.sizes = np.ones(len(self.colors)) if person_sizes is None else np.asarray(person_sizes, dtype=np.float64)
        self._box_min = torch.as_tensor(scene.box_min, dtype=torch.float32)
        self._box_max = torch.as_tensor(scene.box_max, dtype=torch.float32)

    def background(self, K: np.ndarray, camera_to_world: np.ndarray) -> RenderedFrames:
        """Room and props seen by F cameras (F, 4, 4) sharing K."""
        with single_thread_torch():
            return self._background(K, camera_to_world)

    def _background(self, K: np.ndarray, camera_to_world: np.ndarray) -> RenderedFrames:
        H, W = self.height, self.width
        F = camera_to_world.shape[0]
        centre = self._hit_background(K, camera_to_world, (0.0, 0.0))
        t, _, _, surface = centre
        color = self._pixel_area_color(K, camera_to_world, centre)
        return RenderedFrames(
            color=color.reshape(F, H, W, 3),
            depth=t.reshape(F, H, W),
            person_id=torch.full((F, H, W), BACKGROUND_ID, dtype=torch.int64),
            surface_id=surface.reshape(F, H, W),
        )

    def _hit_background(
        self, K: np.ndarray, camera_to_world: np.ndarray, shift: tuple[float, float]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Distance, point, normal and surface id where each pixel's ray hits the room or a prop;
        the rays pass `shift` = (du, dv) pixels from the pixel centres."""
        H, W = self.height, self.width
        F = camera_to_world.shape[0]
        v, u = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
        u, v = u.reshape(1, -1).expand(F, -1), v.reshape(1, -1).expand(F, -1)
        origins, dirs = pixel_rays(_t(K), _t(camera_to_world), u + shift[0], v + shift[1])
        origins, dirs = origins.reshape(-1, 3), dirs.reshape(-1, 3)
        t_room, axis, sign = intersect_room(origins, dirs, self.scene.room_half_size, self.scene.room_height)
        surface = torch.where(axis == 2, torch.where(sign < 0, FLOOR_ID, CEILING_ID), WALL_ID)
        normals = torch.nn.functional.one_hot(axis, 3).to(torch.float32) * -sign[:, None]
        t = t_room
        if self.scene.num_boxes:
            t_box, box, face = intersect_boxes(origins, dirs, self._box_min, self._box_max)
            on_box = t_box < t_room
            t = torch.where(on_box, t_box, t_room)
            surface = torch.where(on_box, FIRST_BOX_ID + box, surface)
            box_normal = torch.nn.functional.one_hot(face, 3).to(torch.float32) * -torch.sign(torch.gather(dirs, 1, face[:, None]))
            normals = torch.where(on_box[:, None], box_normal, normals)
        return t, origins + t[:, None] * dirs, normals, surface

    def _shade(self, points: torch.Tensor, normals: torch.Tensor, surface: torch.Tensor) -> torch.Tensor:
        return shade(background_albedo(points, normals, surface, self.scene), normals)

    def _pixel_area_color(self, K: np.ndarray, camera_to_world: np.ndarray, centre: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Mean colour of `background_samples`² rays on a regular grid inside each pixel; `centre`
        (the pixel-centre hits) is that grid's middle ray when `background_samples` is odd."""
        n = self.background_samples
        offsets = (np.arange(n) + 0.5) / n - 0.5  # exactly 0.0 in the middle for odd n
        hits = (
            centre if du == dv == 0.0 else self._hit_background(K, camera_to_world, (float(du), float(dv)))
            for du in offsets
            for dv in offsets
        )
        return torch.stack([self._shade(*hit[1:]) for hit in hits]).mean(dim=0)

    def render(self, K: np.ndarray, camera_to_world: np.ndarray, joints: np.ndarray, background: Optional[RenderedFrames] = None) -> RenderedFrames:
        """Frames (F, ...) of people with world joints (F, P, 24, 3) (NaN rows: person absent).

        Args:
            camera_to_world: (F, 4, 4) per frame (static cameras repeat one pose).
            background: a single-frame background to reuse (static cameras); computed when None.
        """
        with single_thread_torch():
            return self._render(K, camera_to_world, joints, background)

    def _render(self, K: np.ndarray, camera_to_world: np.ndarray, joints: np.ndarray, background: Optional[RenderedFrames]) -> RenderedFrames:
        F = joints.shape[0]
        if background is None:
            frames = self._background(K, camera_to_world)
        else:
            frames = RenderedFrames(*(x.expand((F,) + x.shape[1:]).clone() for x in (background.color, background.depth, background.person_id, background.surface_id)))
        for p in range(joints.shape[1]):
            if self.culling == "capsule":
                self._draw_person(frames, p, K, camera_to_world, joints[:, p])
            elif self.culling == "person":
                self._draw_person_reference(frames, p, K, camera_to_world, joints[:, p])
            else:
                assert_never(self.culling)
        return frames

    def _draw_person(self, frames: RenderedFrames, p: int, K: np.ndarray, camera_to_world: np.ndarray, joints: np.ndarray) -> None:
        """Ray casts each capsule of person p inside its own screen box; depth-composites into `frames`."""
        H, W = self.height, self.width
        present = np.all(np.isfinite(joints.reshape(len(joints), -1)), axis=1)
        starts, ends, radii = body_capsules(np.where(present[:, None, None], joints, 0.0), self.sizes[p])
        F, C = starts.shape[:2]
        boxes = screen_boxes(starts.reshape(F * C, 1, 3), ends.reshape(F * C, 1, 3), np.tile(radii, F)[:, None], K, np.repeat(camera_to_world, C, axis=0), W, H)
        boxes[np.repeat(~present, C)] = 0
        widths = boxes[:, 2] - boxes[:, 0]
        areas = widths * (boxes[:, 3] - boxes[:, 1])
        rows = np.flatnonzero(areas > 0)  # row = frame * C + capsule
        if len(rows) == 0:
            return
        # One (pixel, capsule) pair per pixel of each capsule's box, enumerated without Python loops.
        counts = areas[rows]
        pair_row = np.repeat(rows, counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        u = torch.as_tensor(boxes[pair_row, 0] + offset % widths[pair_row])
        v = torch.as_tensor(boxes[pair_row, 1] + offset // widths[pair_row])
        pair_row = torch.as_tensor(pair_row)
        frame = pair_row // C
        c2w = _t(camera_to_world)
        origins, dirs = pixel_rays(_t(K), c2w[frame], u[:, None], v[:, None])  # one ray per pair
        origins, dirs = origins[:, 0], dirs[:, 0]
        s, e = _t(starts.reshape(F * C, 3)), _t(ends.reshape(F * C, 3))
        t = intersect_capsule_pairs(origins, dirs, s[pair_row], e[pair_row], _t(np.tile(radii, F))[pair_row])
        flat = (frame * H + v) * W + u
        nearest = torch.full((F * H * W,), INF)
        nearest.scatter_reduce_(0, flat, t, reduce="amin")
        depth = frames.depth.view(-1)
        win = torch.isfinite(t) & (t == nearest[flat]) & (t < depth[flat])
        if not win.any():
            return
        flat, t, row = flat[win], t[win], pair_row[win]
        points = origins[win] + dirs[win] * t[:, None]
        normals = capsule_normals(points, s[row], e[row])
        color = shade(_t(self.colors[p]) * _t(_shade_variation(C))[row % C, None], normals)
        depth[flat] = t
        frames.color.view(-1, 3)[flat] = color
        frames.person_id.view(-1)[flat] = p
        frames.surface_id.view(-1)[flat] = -1

    def _draw_person_reference(self, frames: RenderedFrames, p: int, K: np.ndarray, camera_to_world: np.ndarray, joints: np.ndarray) -> None:
        """Ray casts all capsules of person p inside each frame's body box; depth-composites into `frames`."""
        H, W = self.height, self.width
        present = np.all(np.isfinite(joints.reshape(len(joints), -1)), axis=1)
        safe_joints = np.where(present[:, None, None], joints, 0.0)
        starts, ends, radii = body_capsules(safe_joints, self.sizes[p])
        boxes = screen_boxes(starts, ends, radii, K, camera_to_world, W, H)
        boxes[~present] = 0
        widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        frame_ids = np.flatnonzero((widths > 0) & (heights > 0))
        if len(frame_ids) == 0:
            return
        wc, hc = int(widths[frame_ids].max()), int(heights[frame_ids].max())
        du, dv = torch.meshgrid(torch.arange(wc), torch.arange(hc), indexing="xy")
        du, dv = du.reshape(1, -1), dv.reshape(1, -1)
        rows_per_batch = max(1, _MAX_RAYS_PER_BATCH // (wc * hc))
        radii_t = _t(radii)
        variation = _t(_shade_variation(len(radii)))
        base_color = _t(self.colors[p])
        for lo in range(0, len(frame_ids), rows_per_batch):
            ids = frame_ids[lo : lo + rows_per_batch]
            box = torch.as_tensor(boxes[ids])
            u = box[:, 0:1] + du
            v = box[:, 1:2] + dv
            inside = (u < box[:, 2:3]) & (v < box[:, 3:4])
            u, v = u.clamp(max=W - 1), v.clamp(max=H - 1)
            c2w = _t(camera_to_world[ids])
            _, dirs = pixel_rays(_t(K), c2w, u, v)
            origin = c2w[:, :3, 3]
            s, e = _t(starts[ids]), _t(ends[ids])
            t_all = intersect_capsules(origin, dirs, s, e, radii_t.expand(len(ids), -1))
            t, capsule = torch.min(t_all, dim=-1)  # (B, N)
            flat = (torch.as_tensor(ids)[:, None] * H + v) * W + u
            depth = frames.depth.view(-1)
            hit = inside & (t < depth[flat])
            if not hit.any():
                continue
            flat_hit, t_hit, cap_hit = flat[hit], t[hit], capsule[hit]
            batch_index = torch.arange(len(ids))[:, None].expand_as(t)[hit]
            points = origin[batch_index] + dirs[hit] * t_hit[:, None]
            normals = capsule_normals(points, s[batch_index, cap_hit], e[batch_index, cap_hit])
            color = shade(base_color * variation[cap_hit, None], normals)
            depth[flat_hit] = t_hit
            frames.color.view(-1, 3)[flat_hit] = color
            frames.person_id.view(-1)[flat_hit] = p
            frames.surface_id.view(-1)[flat_hit] = -1


def screen_boxes(
    starts: np.ndarray, ends: np.ndarray, radii: np.ndarray, K: np.ndarray, camera_to_world: np.ndarray, width: int, height: int
) -> np.ndarray:
    """(F, 4) int pixel boxes [u0, v0, u1, v1) that hold all C capsules (F, C, 3) of radii (C,) or (F, C).

    Each capsule end is padded by its projected radius (with slack for the perspective widening of
    spheres away from the image centre); a body reaching behind the camera gets the whole image,
    one entirely behind it an empty box.
    """
    points = np.concatenate([starts, ends], axis=1)  # (F, 2C, 3)
    radii = np.broadcast_to(radii, starts.shape[:2])
    pad = np.concatenate([radii, radii], axis=1)
    R_w2c = np.swapaxes(camera_to_world[:, :3, :3], 1, 2)
    cam = np.einsum("fij,fnj->fni", R_w2c, points - camera_to_world[:, None, :3, 3])
    z = cam[..., 2]
    near = z - pad < 0.05
    safe_z = np.where(near, 1.0, z - pad)
    u, v = K[0, 0] * cam[..., 0] / safe_z + K[0, 2], K[1, 1] * cam[..., 1] / safe_z + K[1, 2]
    pad_u, pad_v = 1.3 * K[0, 0] * pad / safe_z + 1.0, 1.3 * K[1, 1] * pad / safe_z + 1.0
    boxes = np.stack(
        [np.floor((u - pad_u).min(1)), np.floor((v - pad_v).min(1)), np.ceil((u + pad_u).max(1)) + 1, np.ceil((v + pad_v).max(1)) + 1],
        axis=1,
    )
    boxes[np.any(near, axis=1)] = [0, 0, width, height]
    boxes = np.clip(boxes, 0, [width, height, width, height]).astype(np.int64)
    boxes[np.all(z + pad < 0.05, axis=1)] = 0
    return boxes


def _t(array: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32)


def render_video(
    renderer: FrameRenderer, K: np.ndarray, camera_to_world: np.ndarray, joints: np.ndarray, frames_per_batch: int = 32
) -> Iterator[RenderedFrames]:
    """Yields batches of frames of one video: world joints (T, P, 24, 3), pose (4, 4) or (T, 4, 4)."""
    T = joints.shape[0]
    static = camera_to_world.ndim == 2
    background = renderer.background(K, camera_to_world[None]) if static else None
    for lo in range(0, T, frames_per_batch):
        hi = min(lo + frames_per_batch, T)
        poses = np.broadcast_to(camera_to_world, (hi - lo, 4, 4)) if static else camera_to_world[lo:hi]
        yield renderer.render(K, np.ascontiguousarray(poses), joints[lo:hi], background)


