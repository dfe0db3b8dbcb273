import numpy as np
import pytest

from humansync_ns.motion.joints import JOINT_INDEX
from humansync_ns.synthetic.people import BODY_HEIGHT_LIMIT_M, MIN_SEPARATION_M, simulate_people, walking_area_radius_m


@pytest.fixture(scope="module")
def three_people():
    return simulate_people(np.random.default_rng(7), 3, 0.0, 12.0)


def test_bodies_stand_on_the_floor_and_stay_in_the_scene(three_people):
    states = three_people.evaluate(np.linspace(0.0, 12.0, 600))
    feet = states.joints[:, :, [JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"]], 2]
    assert -0.05 < feet.min() < 0.08, feet.min()
    head = states.joints[:, :, JOINT_INDEX["head"], 2]
    assert 1.35 < head.mean() < 1.8, head.mean()
    assert np.linalg.norm(states.transl[..., :2], axis=-1).max() < 2.2


def test_people_keep_apart(three_people):
    xy = three_people.grid_xy
    dist = np.linalg.norm(xy[:, :, None] - xy[:, None], axis=-1) + np.eye(3) * 1e9
    assert dist.min() >= MIN_SEPARATION_M


def test_motion_is_smooth_and_walks(three_people):
    times = np.arange(0.0, 12.0, 1 / 120)
    joints = three_people.evaluate(times).joints
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1) * 120
    assert speed.max() < 6.0, f"joint speed {speed.max():.1f} m/s"
    pelvis_speed = np.linalg.norm(np.diff(joints[:, :, 0, :2], axis=0), axis=-1).mean() * 120
    assert 0.4 < pelvis_speed < 1.1, pelvis_speed
    # Legs alternate: the ankles' forward offsets are anti-correlated along the walk.
    swing = joints[:, 0, JOINT_INDEX["left_ankle"]] - joints[:, 0, JOINT_INDEX["right_ankle"]]
    assert np.ptp(np.linalg.norm(swing[:, :2], axis=-1)) > 0.3


def test_motion_never_repeats(three_people):
    """Root-relative pose over 2 s never reappears at a lag of 0.5..10 s (time alignment is well posed)."""
    joints = three_people.evaluate(np.arange(0.0, 12.0, 1 / 30)).joints[:, 0]
    shape = joints - joints[:, :1]
    window = 60
    errors = [np.linalg.norm(shape[lag : lag + window] - shape[:window], axis=-1).mean() for lag in range(15, 300)]
    assert min(errors) > 0.02, f"pose repeats within {min(errors):.3f} m at lag {(15 + int(np.argmin(errors))) / 30:.2f} s"


def test_evaluate_refuses_times_outside_the_simulation(three_people):
    with pytest.raises(ValueError, match="outside the simulated range"):
        three_people.evaluate(np.array([13.0]))


def test_same_seed_same_people():
    a = simulate_people(np.random.default_rng(3), 2, 0.0, 3.0).evaluate(np.linspace(0, 3, 20)).joints
    b = simulate_people(np.random.default_rng(3), 2, 0.0, 3.0).evaluate(np.linspace(0, 3, 20)).joints
    c = simulate_people(np.random.default_rng(4), 2, 0.0, 3.0).evaluate(np.linspace(0, 3, 20)).joints
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.1


@pytest.mark.parametrize("num_people", [1, 2, 3])
def test_people_stay_inside_the_walking_area(num_people):
    """The dense rigs frame the cylinder of `walking_area_radius_m` up to `BODY_HEIGHT_LIMIT_M`: every
    joint of every person stays inside it, over many seeds."""
    radius = walking_area_radius_m(num_people)
    for seed in range(12):
        joints = simulate_people(np.random.default_rng(100 + seed), num_people, 0.0, 12.0).evaluate(np.linspace(0, 12, 300)).joints
        assert np.linalg.norm(joints[..., :2], axis=-1).max() < radius, (seed, num_people)
        assert joints[..., 2].max() < BODY_HEIGHT_LIMIT_M, (seed, num_people)
