"""Sim(3) estimation: draw a known transform, apply it, recover it (pytorch3d-style)."""

import numpy as np
import pytest

from humansync_ns.body.rotations import random_rotation, rotation_angle_deg
from humansync_ns.calibration.sim3 import DegenerateAlignmentError, Sim3, fit_rotation, robust_umeyama, umeyama


def _random_sim3(rng: np.random.Generator) -> Sim3:
    return Sim3(random_rotation(rng), rng.normal(size=3) * 3.0, float(rng.uniform(0.3, 3.0)))


@pytest.mark.parametrize("n_points", [3, 10, 100])
@pytest.mark.parametrize("with_scale", [True, False])
def test_umeyama_recovers_known_transform(n_points: int, with_scale: bool) -> None:
    rng = np.random.default_rng(n_points + 7 * with_scale)
    truth = _random_sim3(rng)
    if not with_scale:
        truth = truth._replace(s=1.0)
    src = rng.normal(size=(n_points, 3))
    estimate = umeyama(src, truth.apply(src), with_scale=with_scale)
    case = f"n={n_points} scale={with_scale}"
    assert np.allclose(estimate.R, truth.R, atol=1e-10), case
    assert np.allclose(estimate.t, truth.t, atol=1e-8), case
    assert estimate.s == pytest.approx(truth.s, rel=1e-10), case
    assert np.linalg.det(estimate.R) == pytest.approx(1.0), case


def test_sim3_inverse_and_compose_round_trip() -> None:
    rng = np.random.default_rng(1)
    a, b = _random_sim3(rng), _random_sim3(rng)
    x = rng.normal(size=(5, 3))
    assert np.allclose(a.inverse().apply(a.apply(x)), x)
    assert np.allclose(a.compose(b).apply(x), a.apply(b.apply(x)))
    assert np.allclose(a.matrix() @ np.append(x[0], 1.0), np.append(a.apply(x[0]), 1.0))


def test_weights_lower_the_error_of_corrupted_points() -> None:
    rng = np.random.default_rng(2)
    truth = _random_sim3(rng)
    src = rng.normal(size=(50, 3))
    dst = truth.apply(src)
    dst[:5] += rng.normal(size=(5, 3)) * 2.0
    weights = np.ones(50)
    weights[:5] = 1e-6
    plain = rotation_angle_deg(umeyama(src, dst).R, truth.R)
    weighted = rotation_angle_deg(umeyama(src, dst, weights).R, truth.R)
    assert weighted < 1e-3 < plain, (plain, weighted)


def test_reflection_guard_returns_a_rotation() -> None:
    rng = np.random.default_rng(3)
    src = rng.normal(size=(20, 3))
    dst = src * np.array([1.0, 1.0, -1.0])  # a mirror image: no rotation fits exactly
    assert np.linalg.det(umeyama(src, dst).R) == pytest.approx(1.0)
    assert np.linalg.det(umeyama(src, dst, allow_reflection=True).R) == pytest.approx(-1.0)


@pytest.mark.parametrize(
    "points",
    [np.zeros((2, 3)) + [[0, 0, 0], [1, 0, 0]], np.outer(np.arange(6.0), [1.0, 2.0, 3.0]), np.ones((5, 3))],
    ids=["two-points", "collinear", "coincident"],
)
def test_degenerate_inputs_raise(points: np.ndarray) -> None:
    with pytest.raises(DegenerateAlignmentError):
        umeyama(points, points + 1.0)


def test_nan_input_raises() -> None:
    points = np.random.default_rng(4).normal(size=(5, 3))
    points[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        umeyama(points, points)


def test_robust_refit_drops_garbage_groups() -> None:
    rng = np.random.default_rng(5)
    truth = _random_sim3(rng)
    bodies = rng.normal(size=(40, 24, 3)) * 0.3 + rng.normal(size=(40, 1, 3))
    dst = truth.apply(bodies) + rng.normal(size=bodies.shape) * 0.005
    dst[:4] += rng.normal(size=(4, 1, 3)) * 1.0  # four whole garbage bodies
    groups = np.repeat(np.arange(40), 24)
    plain = umeyama(bodies.reshape(-1, 3), dst.reshape(-1, 3))
    robust, inliers = robust_umeyama(bodies.reshape(-1, 3), dst.reshape(-1, 3), groups=groups)
    assert not inliers.reshape(40, 24)[:4].any(), "garbage bodies must be dropped"
    assert rotation_angle_deg(robust.R, truth.R) < 0.2 < rotation_angle_deg(plain.R, truth.R)
    assert robust.s == pytest.approx(truth.s, rel=5e-3)


def test_fit_rotation_about_origin() -> None:
    rng = np.random.default_rng(6)
    R = random_rotation(rng)
    src = rng.normal(size=(30, 3))
    assert np.allclose(fit_rotation(src, src @ R.T), R, atol=1e-10)
