"""Motion tracks in, `Calibration` out: the paper's initialization stage (Sec. 3.2) end to end.

1. Per video: canonical joints (Eq. 3) or SMPL parameters (Eq. 15) for timing, global joints
   (Eq. 6) for poses; rows that are invalid or non-finite are masked.
2. Time: features on one clock (the highest frame rate), all-pairs DTW, global offsets.
3. Poses: global joints sampled at common global instants, then Procrustes or bearings.
4. Videos that cannot be placed (no valid frames, no overlap in time, too few shared bodies) are
   listed in `Calibration.excluded` with the reason; they never get a made-up pose or offset.

The reference video gets offset 0 and, for a static camera, the identity pose: the world is its
camera frame (OpenCV axes, metres).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any, Literal, Optional

import numpy as np

from humansync_ns.body.canonical import canonical_joints, global_joints
from humansync_ns.calibration.calibration_io import Calibration, VideoCalibration
from humansync_ns.calibration.pose_alignment import PoseOptions, align_poses
from humansync_ns.calibration.resample import interpolate_rows, resample_to_clock
from humansync_ns.calibration.sim3 import Sim3
from humansync_ns.calibration.time_alignment import (
    ClockedSequence,
    PairwiseTiming,
    TimingOptions,
    global_time_alignment,
    pairwise_time_alignment,
)
from humansync_ns.motion.format import MotionTrack
from humansync_ns.motion.joints import JOINT_INDEX


_BEARING_JOINTS = {
    "pelvis": (JOINT_INDEX["pelvis"],),
    "torso": tuple(JOINT_INDEX[n] for n in ("pelvis", "left_hip", "right_hip", "spine1")),
    "all": tuple(range(24)),
}


class CalibrationError(ValueError):
    """The tracks cannot be calibrated at all (e.g. fewer than two usable videos)."""


@dataclass
class CalibrationConfig:
    """Every choice of the human-motion calibration; the defaults are the improved variant."""

    time_method: Literal["paper", "robust"] = "robust"
    """"paper": plain DTW lag + greedy Eq. 5. "robust": masked, truncated cost, lag re-checked on the
    lag-cost curve, cycle-consistent least squares over all pairs with outlier pairs rejected."""
    pose_method: Literal["procrustes", "bearings"] = "bearings"
    """"procrustes": the paper's Sim(3) on global joints. "bearings": rotations from root-relative
    joints, camera centres from viewing rays with depth as a weak prior."""
    distance: Literal["joints", "params"] = "joints"
    """Frame distance for DTW: Eq. 2 on canonical joints, or Eq. 15 on SMPL pose and shape parameters."""
    subframe: bool = True
    """Refine each pairwise lag below one frame (parabola through the lag-cost curve)."""
    robust_pose: bool = True
    """Trimmed re-fits in the pose step (drops garbage bodies / outlier observations)."""
    reference: Optional[str] = None
    """Name of the reference video (offset 0, world frame); the best-connected video when None."""
    clock_fps: Optional[float] = None
    """Common clock for the time alignment; the highest frame rate of the videos when None."""
    min_valid_frames: int = 10
    """Videos with fewer valid frames are excluded."""
    min_overlap_frames: int = 15
    """Clock samples a pair of videos must share to give a time offset."""
    cap_factor: float = 1.0
    """Robust time cost: per-frame squared distances are clipped at this × their median."""
    dtw_stride: int = 2
    """DTW on every n-th clock sample (coarse), the lag refined at full rate; 1 = full-rate DTW.
    The "paper" preset uses 1."""
    search_radius_frames: int = 3
    """Robust time: frames around the DTW lag searched on the lag-cost curve."""
    outlier_pair_frames: float = 2.0
    """Robust time: pairs disagreeing with the global offsets by more than this are rejected."""
    trim_fraction: float = 0.1
    """Robust pose: fraction of worst bodies dropped in each re-fit."""
    min_pose_samples: int = 10
    """Synchronized bodies a video must share with the others to get a pose."""
    depth_prior_weight: float = 0.0005
    """Bearings: weight of the estimated depth relative to the perpendicular ray distance."""
    bundle_adjust: bool = False
    """Bearings: jointly refine rotations, centres and points on the bearings afterwards
    (measured: mixed results on the synthetic captures, so off by default)."""
    bearing_joints: Literal["pelvis", "torso", "all"] = "pelvis"
    """Bearings: whose viewing rays are used (pelvis: the one ray a depth error slides along)."""
    max_points: int = 6000
    """Bearings: joints used in the linear solve (subsampled in time beyond this)."""
    show_progress: bool = False
    """Progress bars (rich) on the long loops."""

    @staticmethod
    def paper() -> "CalibrationConfig":
        """The paper's variant: plain DTW + greedy Eq. 5, integer frames, plain Procrustes."""
        return CalibrationConfig(time_method="paper", pose_method="procrustes", subframe=False, robust_pose=False, dtw_stride=1)


@dataclass
class _Prepared:
    """One usable video's arrays."""

    track: MotionTrack
    features: np.ndarray  # (T, P, F)
    feature_groups: int
    joints: np.ndarray  # (T, P, 24, 3) global joints in the track's frame
    valid: np.ndarray  # (T, P)


def _check_inputs(tracks: list[MotionTrack], config: CalibrationConfig) -> None:
    if len(tracks) < 2:
        raise CalibrationError(f"calibration needs at least two videos, got {len(tracks)}")
    names = [t.name for t in tracks]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise CalibrationError(f"video names must be unique, duplicated: {duplicated}")
    people = {t.name: t.num_people for t in tracks}
    if len(set(people.values())) > 1:
        raise CalibrationError(f"videos disagree on the number of people {people}; person p must be the same person in every video")
    if config.distance == "params":
        missing = [t.name for t in tracks if not t.has_smpl]
        if missing:
            raise CalibrationError(f"distance='params' (Eq. 15) needs SMPL parameters, missing in video(s) {missing}")
    if config.reference is not None and config.reference not in names:
        raise CalibrationError(f"reference video '{config.reference}' is not among the videos {names}")


def _prepare(tracks: list[MotionTrack], config: CalibrationConfig, body_model: Any) -> tuple[list[Optional[_Prepared]], dict[str, str]]:
    source = "params" if all(t.has_smpl for t in tracks) else "joints"
    prepared: list[Optional[_Prepared]] = []
    excluded: dict[str, str] = {}
    for track in tracks:
        joints = global_joints(track, body_model)
        if config.distance == "params":
            pose = np.nan_to_num(np.asarray(track.body_pose, dtype=np.float64))
            betas = np.broadcast_to(track.betas[None], (track.num_frames,) + track.betas.shape)
            features, groups = np.concatenate([pose, betas], axis=-1), 1
        else:
            features, groups = canonical_joints(track, body_model, source=source).reshape(track.valid.shape + (-1,)), 24
        valid = track.valid & np.all(np.isfinite(features), -1) & np.all(np.isfinite(joints), (-2, -1))
        frames = int(np.count_nonzero(valid.any(1)))
        if frames < config.min_valid_frames:
            excluded[track.name] = f"only {frames} frames with a valid, finite body (need {config.min_valid_frames}); is the person ever visible?"
            prepared.append(None)
            continue
        prepared.append(_Prepared(track, features, groups, joints, valid))
    return prepared, excluded


def _clocked(prepared: _Prepared, clock_fps: float) -> ClockedSequence:
    times = prepared.track.times
    _, features, valid = resample_to_clock(times, prepared.features, prepared.valid, clock_fps)
    return ClockedSequence(prepared.track.name, float(times[0]), features, valid, prepared.feature_groups)


def _choose_reference(names: list[str], offsets: np.ndarray, inlier_weight: np.ndarray, requested: Optional[str]) -> int:
    if requested is not None:
        index = names.index(requested)
        if not np.isfinite(offsets[index]):
            raise CalibrationError(f"reference video '{requested}' could not be synchronized with the others")
        return index
    score = np.where(np.isfinite(offsets), inlier_weight.sum(1), -np.inf)
    return int(np.argmax(score))


def _camera_centers_at(track: MotionTrack, local_times: np.ndarray) -> np.ndarray:
    """(S, 3) camera centre in the track's frame at local times (zeros for a static camera)."""
    if track.world_to_camera is None:
        return np.zeros((len(local_times), 3))
    centers = np.linalg.inv(track.world_to_camera)[:, :3, 3]
    ok = np.ones(track.num_frames, dtype=bool)
    out, _ = interpolate_rows(track.times, centers, ok, np.clip(local_times, track.times[0], track.times[-1]))
    return out


def _synchronized_joints(prepared: list[_Prepared], offsets_s: np.ndarray, clock_fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global joints of every video at common global instants: (N, S, P, 24, 3), (N, S, P), centres (N, S, 3)."""
    starts = [p.track.times[0] + o for p, o in zip(prepared, offsets_s)]
    ends = [p.track.times[-1] + o for p, o in zip(prepared, offsets_s)]
    instants = np.arange(min(starts), max(ends) + 0.5 / clock_fps, 1.0 / clock_fps)
    joints, valid, centers = [], [], []
    for p, offset in zip(prepared, offsets_s):
        local = instants - offset
        j, v = interpolate_rows(p.track.times, p.joints, p.valid, local)
        joints.append(j)
        valid.append(v)
        centers.append(_camera_centers_at(p.track, local))
    return np.stack(joints), np.stack(valid), np.stack(centers)


def _camera_to_world(track: MotionTrack, transform: Sim3) -> np.ndarray:
    """(4, 4) or (T, 4, 4) OpenCV camera-to-world in the reference world."""
    if track.world_to_camera is None:
        c2w = np.eye(4)
        c2w[:3, :3], c2w[:3, 3] = transform.R, transform.t
        return c2w
    c2w_est = np.linalg.inv(track.world_to_camera)
    out = np.tile(np.eye(4), (track.num_frames, 1, 1))
    out[:, :3, :3] = transform.R @ c2w_est[:, :3, :3]
    out[:, :3, 3] = transform.apply(c2w_est[:, :3, 3])
    return out


def _intrinsics(track: MotionTrack) -> tuple[np.ndarray, int, int]:
    width, height = int(track.width or 0), int(track.height or 0)
    if track.K is not None:
        return np.asarray(track.K, dtype=np.float64), width, height
    warnings.warn(f"video '{track.name}': no intrinsics in the motion file; writing a guessed K (focal = 1.2 × image width)", stacklevel=3)
    focal = 1.2 * max(width, 1000 if width == 0 else width)
    return np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1.0]]), width, height


def calibrate(tracks: list[MotionTrack], config: Optional[CalibrationConfig] = None, body_model: Any = None) -> Calibration:
    """Time offsets and camera poses of every video from its human motion.

    Args:
        tracks: one `MotionTrack` per video, the same people in the same order in each.
        config: the method choices; `CalibrationConfig()` (improved variant) when None.
        body_model: optional `SmplBodyModel` for the canonical and global joints.

    Raises:
        CalibrationError: fewer than two videos can be calibrated, or inconsistent inputs.
    """
    config = config or CalibrationConfig()
    _check_inputs(tracks, config)
    names = [t.name for t in tracks]
    prepared, excluded = _prepare(tracks, config, body_model)
    clock_fps = float(config.clock_fps or max(t.fps for t in tracks))
    usable = [i for i, p in enumerate(prepared) if p is not None]
    if len(usable) < 2:
        raise CalibrationError(f"fewer than two usable videos: {excluded}")
    timing_options = TimingOptions(
        method=config.time_method,
        subframe=config.subframe,
        clock_fps=clock_fps,
        min_overlap=config.min_overlap_frames,
        cap_factor=config.cap_factor,
        search_radius=config.search_radius_frames,
        dtw_stride=config.dtw_stride,
        show_progress=config.show_progress,
    )
    pairwise = pairwise_time_alignment([_clocked(prepared[i], clock_fps) for i in usable], timing_options)
    timing = global_time_alignment(pairwise, config.time_method, clock_fps, config.outlier_pair_frames)
    for k, i in enumerate(usable):
        if not np.isfinite(timing.offsets_s[k]):
            excluded[names[i]] = "no valid time overlap with the other videos (no pair with enough shared frames)"
    placed = [k for k in range(len(usable)) if np.isfinite(timing.offsets_s[k])]
    if len(placed) < 2:
        raise CalibrationError(f"fewer than two videos could be synchronized: {excluded}")
    if config.reference is not None and config.reference in excluded:
        raise CalibrationError(f"reference video '{config.reference}' is excluded: {excluded[config.reference]}")
    inlier_weight = np.where(timing.inlier, pairwise.weight, 0.0)
    usable_names = [names[i] for i in usable]
    ref_k = _choose_reference(usable_names, timing.offsets_s, inlier_weight, config.reference)
    offsets = timing.offsets_s - timing.offsets_s[ref_k]

    placed_prepared = [prepared[usable[k]] for k in placed]
    joints, valid, centers = _synchronized_joints(placed_prepared, offsets[placed], clock_fps)
    pose_options = PoseOptions(
        method=config.pose_method,
        robust=config.robust_pose,
        trim_fraction=config.trim_fraction,
        min_samples=config.min_pose_samples,
        depth_prior_weight=config.depth_prior_weight,
        max_points=config.max_points,
        bearing_joints=_BEARING_JOINTS[config.bearing_joints],
        bundle_adjust=config.bundle_adjust,
    )
    poses = align_poses(joints, valid, placed.index(ref_k), pose_options, centers)

    videos = []
    for slot, k in enumerate(placed):
        track, transform = tracks[usable[k]], poses.transforms[slot]
        if transform is None:
            excluded[track.name] = poses.reasons.get(slot, "camera pose could not be estimated")
        else:
            videos.append(_video_calibration(track, transform, float(offsets[k]), float(timing.confidence[k])))
    return _assemble(names, usable, pairwise, videos, excluded, usable_names[ref_k], config)


def _video_calibration(track: MotionTrack, transform: Sim3, time_offset_s: float, confidence: float) -> VideoCalibration:
    K, width, height = _intrinsics(track)
    return VideoCalibration(
        name=track.name,
        fps=float(track.fps),
        num_frames=track.num_frames,
        time_offset_s=time_offset_s,
        camera_to_world=_camera_to_world(track, transform),
        K=K,
        width=width,
        height=height,
        confidence=confidence,
    )


def _assemble(
    names: list[str],
    usable: list[int],
    pairwise: PairwiseTiming,
    videos: list[VideoCalibration],
    excluded: dict[str, str],
    reference: str,
    config: CalibrationConfig,
) -> Calibration:
    """The `Calibration`, with the pairwise matrices spread back over all input videos (NaN: unusable)."""
    N = len(names)
    cost, offset = np.full((N, N), np.nan), np.full((N, N), np.nan)
    index = np.array(usable)
    cost[np.ix_(index, index)] = pairwise.cost
    offset[np.ix_(index, index)] = pairwise.offset_s
    return Calibration(
        reference=reference,
        videos=videos,
        pairwise_names=list(names),
        pairwise_cost=cost,
        pairwise_offset_s=offset,
        excluded=[{"name": n, "reason": r} for n, r in excluded.items()],
        method=dataclasses.asdict(config),
    )
