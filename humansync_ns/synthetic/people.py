"""People walking in the synthetic scene: smooth, non-periodic motion on the SMPL 24-joint tree.

Each person walks along a curved random path (smoothly drifting speed and turn rate, steered back
towards their home area and away from the others), with a walking gait whose cadence follows the
speed and whose arm/leg amplitudes drift, plus small smooth perturbations of every joint. All
drivers are sums of sinusoids with random incommensurate periods, so no stretch of motion repeats
and time alignment between videos is well posed. World frame: +Z up, floor at z = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from humansync_ns.body.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from humansync_ns.body.skeleton import forward_kinematics
from humansync_ns.motion.joints import JOINT_INDEX, NUM_BODY_JOINTS, NUM_JOINTS
from humansync_ns.synthetic.body_model_file import NUM_BETAS, SCALE_PER_BETA, rest_joints_for_betas
from humansync_ns.synthetic.smooth_noise import SmoothSignal, smooth_signal

PERSON_COLORS = np.array([[0.85, 0.15, 0.12], [0.12, 0.30, 0.90], [0.10, 0.75, 0.20]])
"""Saturated red, blue, green: distinct from each other and from the grey/beige background."""
BODY_TO_WORLD = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
"""SMPL body frame (+Y up, +Z forward, +X left) → world (+Z up) facing +X (heading 0)."""
PATH_STEP_S = 1.0 / 200.0
MIN_SEPARATION_M = 0.7
"""Closest two people's pelvises may come (bodies are ~0.25 m in radius plus swinging arms)."""
_HOME_RADIUS_M = 0.9
_ANKLE_HEIGHT_M = 0.07
BODY_HEIGHT_LIMIT_M = 1.9
"""No joint of any person rises above this height (the head reaches about 1.75 m)."""


def walking_area_radius_m(num_people: int) -> float:
    """Radius around the origin that every joint of `num_people` people stays inside, at all times.

    One person wanders around the scene centre; two or three have home areas on a ring 1 m out
    (`_home_positions`); tests/synthetic/test_people.py checks the bound over many seeds. The dense
    rigs (synthetic/rig.py) frame the cylinder of this radius and `BODY_HEIGHT_LIMIT_M`.
    """
    return 1.6 if num_people == 1 else 2.3



@dataclass
class BodyStates:
    """Everyone's SMPL parameters and joints at `times` (world frame, metres, radians)."""

    times: np.ndarray
    """(S,) seconds on the simulation timeline."""
    global_orient: np.ndarray
    """(S, P, 3) world axis-angle of the root."""
    body_pose: np.ndarray
    """(S, P, 69)."""
    transl: np.ndarray
    """(S, P, 3) = world pelvis position (the rest pelvis is at the origin)."""
    joints: np.ndarray
    """(S, P, 24, 3) world joints."""


@dataclass
class PeopleMotion:
    """The people of one capture; `evaluate(times)` gives their bodies at any time in range."""

    betas: np.ndarray
    """(P, 10) true shape."""
    colors: np.ndarray
    """(P, 3) RGB in [0, 1]."""
    grid_times: np.ndarray
    """(G,) simulation seconds of the integrated path."""
    grid_xy: np.ndarray
    """(G, P, 2) floor position of the pelvis."""
    grid_heading: np.ndarray
    """(G, P) walking direction, radians from +X towards +Y (unwrapped)."""
    grid_phase: np.ndarray
    """(G, P) gait phase, radians (unwrapped)."""
    grid_speed: np.ndarray
    """(G, P) m/s."""
    pose_wobble: list[SmoothSignal]
    """Per person: small smooth perturbations of the 69 body-pose parameters."""
    style: list[SmoothSignal]
    """Per person: 6 slow channels driving leg/arm amplitude, lean, head yaw, elbow bend, sway."""

    @property
    def num_people(self) -> int:
        return int(self.betas.shape[0])

    @property
    def sizes(self) -> np.ndarray:
        """(P,) overall body scale from beta 0 (the synthetic model's uniform-scale direction)."""
        return 1.0 + SCALE_PER_BETA * self.betas[:, 0]

    @property
    def time_range(self) -> tuple[float, float]:
        return float(self.grid_times[0]), float(self.grid_times[-1])

    def evaluate(self, times: np.ndarray) -> BodyStates:
        """Everyone's bodies at simulation times (S,); the path is interpolated from its 200 Hz grid,
        the pose is evaluated in closed form, so any frame rate samples the same motion."""
        times = np.asarray(times, dtype=np.float64)
        lo, hi = self.time_range
        if times.size and (times.min() < lo - 1e-9 or times.max() > hi + 1e-9):
            raise ValueError(f"PeopleMotion.evaluate: times [{times.min():.3f}, {times.max():.3f}] s outside the simulated range [{lo:.3f}, {hi:.3f}]")
        S, P = len(times), self.num_people
        rest = rest_joints_for_betas(self.betas)  # (P, 24, 3)
        # Stand on the floor: the ankles of the straight rest legs sit _ANKLE_HEIGHT_M above it.
        pelvis_height = -rest[:, JOINT_INDEX["left_ankle"], 1] + _ANKLE_HEIGHT_M
        global_orient = np.empty((S, P, 3))
        body_pose = np.empty((S, P, NUM_BODY_JOINTS * 3))
        transl = np.empty((S, P, 3))
        for p in range(P):
            xy = np.stack([np.interp(times, self.grid_times, self.grid_xy[:, p, k]) for k in range(2)], axis=1)
            phase, speed, heading = (np.interp(times, self.grid_times, grid[:, p]) for grid in (self.grid_phase, self.grid_speed, self.grid_heading))
            style = self.style[p](times)
            body_pose[:, p] = _gait_pose(phase, speed, style) + 0.04 * self.pose_wobble[p](times)
            global_orient[:, p] = _root_orientation(heading, phase, style)
            transl[:, p, :2] = xy
            transl[:, p, 2] = pelvis_height[p] + 0.02 * np.cos(2.0 * phase)
        joints = forward_kinematics(global_orient, body_pose, transl, rest=rest[None])
        return BodyStates(times=times, global_orient=global_orient, body_pose=body_pose, transl=transl, joints=joints)


def simulate_people(rng: np.random.Generator, num_people: int, start_s: float, end_s: float, walk_speed_mps: float = 0.7) -> PeopleMotion:
    """Random people moving over [start_s, end_s] of the simulation timeline.

    Raises `RuntimeError` if no collision-free paths were found (does not happen for 1..3 people
    with the built-in home areas; the check guards later changes).
    """
    grid_times = np.arange(start_s, end_s + PATH_STEP_S, PATH_STEP_S)
    homes = _home_positions(num_people, rng)
    for _attempt in range(20):
        drivers = [smooth_signal(rng, 2, 2.0, 9.0) for _ in range(num_people)]
        start_xy = homes + rng.uniform(-0.3, 0.3, size=homes.shape)
        start_heading = rng.uniform(-np.pi, np.pi, size=num_people)
        xy, heading, speed = _integrate_paths(grid_times, drivers, homes, start_xy, start_heading, walk_speed_mps)
        if num_people == 1 or _min_separation(xy) >= MIN_SEPARATION_M:
            break
    else:
        raise RuntimeError(f"simulate_people: no collision-free paths for {num_people} people after 20 attempts")
    # Cadence grows with speed (~0.9 strides/s at 0.7 m/s); integrate it into a gait phase.
    stride_hz = 0.55 + 0.5 * speed
    phase = rng.uniform(0, 2 * np.pi, size=num_people) + np.cumsum(2.0 * np.pi * stride_hz * PATH_STEP_S, axis=0)
    betas = np.zeros((num_people, NUM_BETAS))
    betas[:, :3] = rng.normal(0.0, 0.8, size=(num_people, 3))
    betas[:, 3:] = rng.normal(0.0, 0.5, size=(num_people, NUM_BETAS - 3))
    return PeopleMotion(
        betas=betas,
        colors=PERSON_COLORS[:num_people].copy(),
        grid_times=grid_times,
        grid_xy=xy,
        grid_heading=heading,
        grid_phase=phase,
        grid_speed=speed,
        pose_wobble=[smooth_signal(rng, NUM_BODY_JOINTS * 3, 1.0, 6.0) for _ in range(num_people)],
        style=[smooth_signal(rng, 6, 3.0, 12.0) for _ in range(num_people)],
    )


def _home_positions(num_people: int, rng: np.random.Generator) -> np.ndarray:
    """(P, 2) centres of each person's walking area: the scene centre for one, a ring for more."""
    if num_people == 1:
        return np.zeros((1, 2))
    angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(num_people) / num_people
    return 1.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _integrate_paths(
    grid_times: np.ndarray,
    drivers: list[SmoothSignal],
    homes: np.ndarray,
    start_xy: np.ndarray,
    start_heading: np.ndarray,
    walk_speed_mps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Euler-integrates heading and position; steering needs the current position, so no closed form."""
    P = len(drivers)
    G = len(grid_times)
    signals = np.stack([d(grid_times) for d in drivers], axis=1)  # (G, P, 2): speed, turn rate
    speed = walk_speed_mps * np.clip(1.0 + 0.25 * signals[..., 0], 0.4, 1.6)
    turn = 0.5 * signals[..., 1]
    home_radius = _HOME_RADIUS_M if P == 1 else 0.55
    xy = np.empty((G, P, 2))
    heading = np.empty((G, P))
    # Plain floats: a handful of people over a few thousand steps is faster without numpy overhead.
    pos = [list(map(float, p)) for p in start_xy]
    psi = list(map(float, start_heading))
    speed_list, turn_list, homes_list = speed.tolist(), turn.tolist(), homes.tolist()
    for g in range(G):
        xy[g], heading[g] = pos, psi
        new_psi = []
        for q in range(P):
            dx, dy = homes_list[q][0] - pos[q][0], homes_list[q][1] - pos[q][1]
            pull = min(max((math.hypot(dx, dy) - 0.5 * home_radius) / (0.5 * home_radius), 0.0), 2.0)
            steer = 1.5 * pull * _wrap_float(math.atan2(dy, dx) - psi[q])
            for r in range(P):  # turn away from anyone close
                if r != q:
                    ax, ay = pos[q][0] - pos[r][0], pos[q][1] - pos[r][1]
                    d = math.hypot(ax, ay)
                    if d < 1.4:
                        steer += 2.0 * (1.4 - d) * _wrap_float(math.atan2(ay, ax) - psi[q])
            new_psi.append(psi[q] + (turn_list[g][q] + steer) * PATH_STEP_S)
        psi = new_psi
        pos = [[pos[q][0] + speed_list[g][q] * math.cos(psi[q]) * PATH_STEP_S, pos[q][1] + speed_list[g][q] * math.sin(psi[q]) * PATH_STEP_S] for q in range(P)]
    return xy, heading, speed


def _wrap_float(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _min_separation(xy: np.ndarray) -> float:
    diff = xy[:, :, None, :] - xy[:, None, :, :]
    dist = np.linalg.norm(diff, axis=-1)
    P = xy.shape[1]
    dist[:, np.arange(P), np.arange(P)] = np.inf
    return float(dist.min())


def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """(S,) angles → (S, 3, 3) rotations about a coordinate axis."""
    vec = np.zeros(np.shape(angle) + (3,))
    vec[..., axis] = angle
    return axis_angle_to_matrix(vec)


def _gait_pose(phase: np.ndarray, speed: np.ndarray, style: np.ndarray) -> np.ndarray:
    """(S,) gait phase, speed, (S, 6) style → (S, 69) body pose of a walk in SMPL's body frame.

    Hip flexion forward is a negative rotation about the body's X (left) axis, knee flexion a
    positive one; arms hang by rotating the shoulders about Z and swing against the legs.
    """
    S = len(phase)
    pose = np.zeros((S, NUM_JOINTS, 3))  # index 0 (pelvis) is dropped at the end
    sin, cos = np.sin(phase), np.cos(phase)
    leg = (0.25 + 0.35 * np.clip(speed, 0.0, 1.5)) * (1.0 + 0.15 * style[:, 0])
    arm = (0.15 + 0.25 * np.clip(speed, 0.0, 1.5)) * (1.0 + 0.25 * style[:, 1])
    pose[:, JOINT_INDEX["left_hip"], 0] = -leg * sin
    pose[:, JOINT_INDEX["right_hip"], 0] = leg * sin
    # Knee bends most while the leg swings forward; never hyper-extends.
    knee_l = 0.1 + 0.9 * leg * (0.5 + 0.5 * np.sin(phase + 1.0)) ** 2
    knee_r = 0.1 + 0.9 * leg * (0.5 - 0.5 * np.sin(phase + 1.0)) ** 2
    pose[:, JOINT_INDEX["left_knee"], 0] = knee_l
    pose[:, JOINT_INDEX["right_knee"], 0] = knee_r
    pose[:, JOINT_INDEX["left_ankle"], 0] = -0.15 * cos
    pose[:, JOINT_INDEX["right_ankle"], 0] = 0.15 * cos
    for name, share in (("spine1", 0.4), ("spine2", 0.3), ("spine3", 0.3)):
        pose[:, JOINT_INDEX[name], 1] = -0.12 * share * sin  # torso counter-rotates the pelvis
        pose[:, JOINT_INDEX[name], 0] = share * 0.06 * (1.0 + style[:, 2])  # forward lean
    pose[:, JOINT_INDEX["neck"], 1] = 0.15 * style[:, 3]
    pose[:, JOINT_INDEX["head"], 1] = 0.25 * style[:, 3]
    pose[:, JOINT_INDEX["head"], 0] = 0.05 * style[:, 5]
    # Shoulders: lower the T-pose arm (rotation about Z), then swing it about the body's X axis.
    for side, sign in (("left", 1.0), ("right", -1.0)):
        down = _rot(2, -sign * (1.25 + 0.05 * style[:, 5]))
        swing = _rot(0, sign * arm * sin)
        pose[:, JOINT_INDEX[f"{side}_shoulder"]] = matrix_to_axis_angle(swing @ down)
        pose[:, JOINT_INDEX[f"{side}_elbow"], 1] = -sign * (0.35 + 0.15 * style[:, 4] + 0.2 * arm * (1.0 + sign * sin))
    return pose[:, 1:].reshape(S, NUM_BODY_JOINTS * 3)


def _root_orientation(heading: np.ndarray, phase: np.ndarray, style: np.ndarray) -> np.ndarray:
    """(S,) heading → (S, 3) world axis-angle: face the walking direction, with pelvis twist and sway."""
    twist = _rot(1, 0.08 * np.sin(phase))  # about the body's up axis
    sway = _rot(2, 0.03 * np.sin(phase) + 0.02 * style[:, 5])  # side to side
    return matrix_to_axis_angle(_rot(2, heading) @ BODY_TO_WORLD @ twist @ sway)
