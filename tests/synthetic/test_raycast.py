import numpy as np
import torch

from humansync_ns.synthetic.raycast import intersect_boxes, intersect_capsules, intersect_room, intersect_spheres, pixel_rays


def _image_rays(K, c2w, width, height):
    v, u = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return pixel_rays(torch.as_tensor(K), torch.as_tensor(c2w), u.reshape(-1), v.reshape(-1))


def test_sphere_lands_where_the_projection_says():
    """A sphere at a known camera-frame point: its pixel mask is centred on K @ X and has the
    analytic size (pixel centres at +0.5, OpenCV axes)."""
    width, height, f = 200, 150, 160.0
    K = np.array([[f, 0, 93.3], [0, f, 71.8], [0, 0, 1]])
    c2w = np.eye(4)
    center, radius = np.array([0.31, -0.22, 4.0]), 0.25
    origins, dirs = _image_rays(K, c2w, width, height)
    t = intersect_spheres(origins[:1], dirs, torch.tensor(center)[None], torch.tensor([radius]))
    mask = torch.isfinite(t[:, 0]).reshape(height, width).numpy()
    v, u = np.nonzero(mask)
    expected = K @ center / center[2]
    # The mask's centroid sits at the projected centre, shifted slightly outwards by perspective.
    assert abs(u.mean() + 0.5 - expected[0]) < 0.25 and abs(v.mean() + 0.5 - expected[1]) < 0.25
    # Area of the projected ellipse: π f² r² / (z² − r²) · (|X|² − r²)^(1/2) z / (z² − r²) …; for a
    # near-axis sphere the circle of radius f·r/sqrt(|X|² − r²) is within 1 %.
    expected_area = np.pi * (f * radius / np.sqrt(center @ center - radius**2)) ** 2
    assert abs(mask.sum() / expected_area - 1) < 0.04, (mask.sum(), expected_area)
    # Depth: the ray through the centre pixel hits at |X| − r.
    centre_pixel = int(np.floor(expected[1])) * width + int(np.floor(expected[0]))
    assert abs(t[centre_pixel, 0].item() - (np.linalg.norm(center) - radius)) < 0.01


def _reference_capsule(origin, direction, a, b, r, t_min=2.0, t_max=8.0, steps=60_001):
    """Brute force: first t where the ray point is within r of the segment."""
    t = np.linspace(t_min, t_max, steps)
    p = origin + t[:, None] * direction
    ab = b - a
    s = np.clip(((p - a) @ ab) / max(ab @ ab, 1e-18), 0, 1)
    dist = np.linalg.norm(p - (a + s[:, None] * ab), axis=1)
    inside = np.nonzero(dist <= r)[0]
    return t[inside[0]] if len(inside) else np.inf


def test_capsules_match_brute_force_marching():
    rng = np.random.default_rng(0)
    origin = np.array([0.2, -0.1, 0.3])
    starts = rng.normal(scale=0.5, size=(6, 3)) + [0, 0, 5]
    ends = starts + rng.normal(scale=0.4, size=(6, 3))
    ends[5] = starts[5]  # degenerate: a sphere
    radii = rng.uniform(0.05, 0.3, size=6)
    targets = starts + rng.uniform(0, 1, size=(6, 1)) * (ends - starts) + rng.normal(scale=0.05, size=(6, 3))
    dirs = targets - origin
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    t = intersect_capsules(torch.tensor(origin), torch.tensor(dirs), torch.tensor(starts), torch.tensor(ends), torch.tensor(radii)).numpy()
    hits = 0
    for i in range(6):
        for c in range(6):
            ref = _reference_capsule(origin, dirs[i], starts[c], ends[c], radii[c])
            if np.isinf(ref):
                assert np.isinf(t[i, c]), (i, c, t[i, c])
            else:
                hits += 1
                assert abs(t[i, c] - ref) < 2e-4, (i, c, t[i, c], ref)
    assert hits >= 6


def test_room_and_boxes():
    origins = torch.tensor([[0.0, 0.0, 1.5]] * 3)
    dirs = torch.tensor([[0.0, 0.6, -0.8], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    t, axis, sign = intersect_room(origins, dirs, 7.5, 4.0)
    np.testing.assert_allclose(t.numpy(), [1.5 / 0.8, 7.5, 2.5], rtol=1e-6)
    assert axis.tolist() == [2, 0, 2] and sign.tolist() == [-1, 1, 1]
    box_min, box_max = torch.tensor([[3.0, -0.5, 0.0]]), torch.tensor([[4.0, 0.5, 2.0]])
    t, box, face = intersect_boxes(origins, dirs, box_min, box_max)
    assert t[1].item() == 3.0 and face[1].item() == 0 and box[1].item() == 0
    assert torch.isinf(t[0]) and torch.isinf(t[2])
