"""Motion tracks in, `Calibration` out: the paper's initialization stage (Sec. 3.2) end to end.

0. Inputs that would explode (a clock far faster than a video, long gaps, more memory than
   `max_memory_gib`) are refused before anything is allocated, naming the file and key.
1. Per video: canonical joints (Eq. 3) or SMPL parameters (Eq. 15) for timing, global joints
   (Eq. 6) for poses; rows that are invalid or non-finite are masked; the body's size is checked.
2. Time: features on one clock (the highest frame rate), DTW on all pairs or a sparse graph of
   pairs (`time_alignment.align_times`), each pair's observability checked, global offsets.
3. Poses: global joints sampled at common global instants, then Procrustes or bearings; the
   spread of the bodies each pose rests on is measured.
4. Videos that cannot be calibrated (no valid frames, a body of the wrong size, a wrong fps label,
   an unobservable offset or pose) are listed in `Calibration.excluded` with the check that failed
   and the reason; they never get a made-up pose or offset. The others carry their
   `VideoObservability` and any warnings (`observability.py`, docs/checks.md §6).

The reference video gets offset 0 and, for a static camera, the identity pose: the world is its
camera frame (OpenCV axes, metres).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import numpy as np

from humansync_ns.body.canonical import canonical_joints, global_joints
from humansync_ns.calibration.calibration_io import Calibration, VideoCalibration, VideoObservability
from humansync_ns.calibration.observability import ObservabilityChecks, body_scale, principal_spread, speed_factors, time_warning
from humansync_ns.calibration.pose_alignment import PoseOptions, align_poses
from humansync_ns.calibration.resample import interpolate_rows, resample_to_clock
from humansync_ns.calibration.sim3 import Sim3
from humansync_ns.calibration.time_alignment import ClockedSequence, GlobalTiming, PairwiseTiming, TimingOptions, align_times
from humansync_ns.calibration.workers import thread_map
from humansync_ns.motion.format import MotionTrack
from humansync_ns.motion.joints import JOINT_INDEX


_BEARING_JOINTS = {
    "pelvis": (JOINT_INDEX["pelvis"],),
    "torso": tuple(JOINT_INDEX[n] for n in ("pelvis", "left_hip", "right_hip", "spine1")),
    "all": tuple(range(24)),
}
_PELVIS = JOINT_INDEX["pelvis"]
_MAX_CLOCK_RATIO = 16.0
"""The common clock may run at most this many times faster than the slowest video."""
_MAX_SPAN_RATIO = 4.0
"""A video's time span may be at most this many times its frame count / fps (the rest is gaps)."""
_MAX_WORKERS = 8
_BYTES_PER_JOINT_SAMPLE = 8 * 24 * 3 * 4
"""float64 joints, times the copies the pose step holds at once (joints, root-relative, aligned, sums)."""


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
    The "paper" preset uses 1. Long videos get a larger stride (see `max_dtw_samples`)."""
    max_dtw_samples: int = 450
    """The coarse DTW sees at most this many samples per video (bounds its time and memory)."""
    all_pairs_up_to: int = 25
    """DTW on every pair of videos for captures of up to this many videos; beyond, on a sparse graph
    (`pairs_per_video`): all pairs grow as N², and 100 videos would take minutes."""
    pairs_per_video: int = 8
    """Sparse graph: pairs per video aligned with DTW (more for videos whose pairs fail)."""
    refine_pairs_per_video: int = 48
    """Sparse graph, robust time method: further pairs per video aligned without DTW, around the
    lag the first global solve predicts (cheap), so the final solve averages over about as many
    pairs as the all-pairs one would for a capture of that size."""
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
    max_memory_gib: float = 16.0
    """Refuse inputs whose resampled motion would need more memory than this (e.g. a wrong fps or
    time unit), before allocating it."""
    checks: ObservabilityChecks = field(default_factory=ObservabilityChecks)
    """Thresholds of the observability and sanity checks (docs/checks.md §6)."""
    workers: int = 0
    """Threads for the per-video and per-pair work (0: one per CPU core, at most 8); results do not depend on it."""
    show_progress: bool = False
    """Progress bars (rich) on the long loops."""

    @staticmethod
    def paper() -> "CalibrationConfig":
        """The paper's variant: plain DTW + greedy Eq. 5, integer frames, plain Procrustes."""
        return CalibrationConfig(time_method="paper", pose_method="procrustes", subframe=False, robust_pose=False, dtw_stride=1)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raises `CalibrationConfigError` naming the option of any impossible setting."""
        finite_positive = lambda x: np.isfinite(x) and x > 0  # noqa: E731
        rules = [
            ("clock_fps", self.clock_fps is None or finite_positive(self.clock_fps), "must be a positive frame rate"),
            ("min_valid_frames", self.min_valid_frames >= 2, "must be at least 2"),
            ("min_overlap_frames", self.min_overlap_frames >= 3, "must be at least 3 (a lag-cost minimum needs neighbours)"),
            ("cap_factor", finite_positive(self.cap_factor), "must be positive"),
            ("dtw_stride", self.dtw_stride >= 1, "must be at least 1"),
            ("max_dtw_samples", self.max_dtw_samples >= 16, "must be at least 16"),
            ("all_pairs_up_to", self.all_pairs_up_to >= 2, "must be at least 2"),
            ("pairs_per_video", self.pairs_per_video >= 2, "must be at least 2 (a cycle needs two pairs per video)"),
            ("refine_pairs_per_video", self.refine_pairs_per_video >= 0, "must be >= 0"),
            ("search_radius_frames", self.search_radius_frames >= 0, "must be >= 0"),
            ("outlier_pair_frames", finite_positive(self.outlier_pair_frames), "must be positive"),
            ("trim_fraction", 0.0 <= self.trim_fraction < 0.5, "must be in [0, 0.5): the fraction of worst bodies dropped"),
            ("min_pose_samples", self.min_pose_samples >= 3, "must be at least 3"),
            ("depth_prior_weight", finite_positive(self.depth_prior_weight), "must be positive"),
            ("max_points", self.max_points >= 10, "must be at least 10"),
            ("max_memory_gib", finite_positive(self.max_memory_gib), "must be positive"),
            ("workers", self.workers >= 0, "must be >= 0 (0: one per CPU core)"),
        ]
        for name, ok, message in rules:
            if not ok:
                raise CalibrationConfigError(f"--calib.{name.replace('_', '-')} {getattr(self, name)}: {message}")
        try:
            self.checks.validate()
        except ValueError as err:
            raise CalibrationConfigError(str(err)) from err


class CalibrationConfigError(CalibrationError):
    """An option of `CalibrationConfig` is out of range."""


@dataclass
class _Prepared:
    """One usable video's arrays. The big ones are handed over once and dropped (memory at scale)."""

    track: MotionTrack
    valid: np.ndarray
    """(T, P) rows with a valid, finite body."""
    body_scale: float
    sequence: Optional[ClockedSequence]
    """Timing features on the common clock, until the time alignment takes them (`take`)."""
    joints: Optional[np.ndarray]
    """(T, P, 24, 3) global joints in the track's frame (anything where `valid` is False), until the
    pose step takes them."""

    def take(self, name: str) -> Any:
        """The array `name`, no longer held here."""
        value = getattr(self, name)
        setattr(self, name, None)
        return value


class _Excluded(dict):
    """Video name → {"check", "reason"}: why a video is left out (checks: `EXCLUSION_CHECKS`)."""

    def add(self, name: str, check: str, reason: str) -> None:
        self[name] = {"name": name, "check": check, "reason": reason}


EXCLUSION_CHECKS = ("no_data", "body_size", "fps", "time", "pose")
"""Why a video can be excluded: too few valid frames, a body outside the human size range (units),
a fps label that disagrees with the motion's speed, an unobservable time offset, an unobservable pose."""


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


def _check_clock(tracks: list[MotionTrack], clock_fps: float, config: CalibrationConfig) -> None:
    """Refuses, before allocating anything, a clock or a time span that would resample a video into far
    more samples than it has frames (a wrong fps or time unit, a long gap), and inputs too big for
    `max_memory_gib`; the error names the option, or the video's file and key."""
    slowest = min(tracks, key=lambda t: t.fps)
    if clock_fps > _MAX_CLOCK_RATIO * slowest.fps:
        if config.clock_fps is not None:
            where = f"--calib.clock-fps {clock_fps:g}"
        else:
            fastest = max(tracks, key=lambda t: t.fps)
            where = f"{fastest.source}: key 'fps' ({fastest.fps:g}, the highest frame rate, sets the common clock)"
        raise CalibrationError(
            f"{where}: the common clock would run {clock_fps / slowest.fps:.3g}× faster than video '{slowest.name}' "
            f"({slowest.fps:g} fps; at most {_MAX_CLOCK_RATIO:g}× allowed): check the frame rates"
        )
    longest = 0.0
    for track in tracks:
        span = float(track.times[-1] - track.times[0])
        if span * track.fps > _MAX_SPAN_RATIO * track.num_frames + 10:
            gaps = np.diff(track.times)
            raise CalibrationError(
                f"{track.source}: key 'frame_times': {track.num_frames} frames at {track.fps:g} fps span {span:.4g} s "
                f"(largest gap {gaps.max():.4g} s after row {int(np.argmax(gaps))}); the calibration resamples each video onto one "
                f"clock and would need {span * clock_fps:.3g} samples: split the video at long gaps"
            )
        longest = max(longest, span * clock_fps * track.num_people)
    _check_memory(longest * len(tracks), f"the synchronized joints of {len(tracks)} videos", config)


def _check_memory(joint_samples: float, what: str, config: CalibrationConfig) -> None:
    needed = joint_samples * _BYTES_PER_JOINT_SAMPLE / 2**30
    if needed > config.max_memory_gib:
        raise CalibrationError(f"{what} would need about {needed:.3g} GiB (limit --calib.max-memory-gib {config.max_memory_gib:g})")


def _prepare_one(track: MotionTrack, config: CalibrationConfig, body_model: Any, clock_fps: float, source: str) -> tuple[Optional[_Prepared], Optional[tuple[str, str]]]:
    """One video's timing features on the clock and global joints, or why it is excluded (check, reason)."""
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
        return None, ("no_data", f"only {frames} frames with a valid, finite body (need {config.min_valid_frames}); is the person ever visible?")
    scale = body_scale(joints, valid)
    low, high = config.checks.body_size_range
    if not low <= scale <= high:
        hint = " (millimetres give 1000×)" if 300 < scale < 3000 else ""
        return None, ("body_size", f"its bodies are {scale:.3g}× the size of an adult (bone lengths; allowed {low:g}–{high:g}×): "
                                   f"joints not in metres?{hint} ({track.source})")
    _, clocked, clocked_valid = resample_to_clock(track.times, features, valid, clock_fps)
    sequence = ClockedSequence.of(track.name, float(track.times[0]), clocked, clocked_valid, groups)
    # The estimator's own joints need no second copy: rows outside `valid` are never read.
    return _Prepared(track, valid, scale, sequence, joints if track.joints is None else track.joints), None


def _prepare(tracks: list[MotionTrack], config: CalibrationConfig, body_model: Any, clock_fps: float) -> tuple[list[Optional[_Prepared]], _Excluded]:
    source = "params" if all(t.has_smpl for t in tracks) else "joints"
    prepared: list[Optional[_Prepared]] = []
    excluded = _Excluded()
    outcomes = thread_map(lambda track: _prepare_one(track, config, body_model, clock_fps, source), tracks, _workers(config))
    for track, (video, failure) in zip(tracks, outcomes):
        prepared.append(video)
        if failure is not None:
            excluded.add(track.name, *failure)
    return prepared, excluded


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


def _synchronized_joints(
    prepared: list[_Prepared], offsets_s: np.ndarray, clock_fps: float, config: CalibrationConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global joints of every video at common global instants: (N, S, P, 24, 3) (zero where invalid),
    validity (N, S, P), camera centres (N, S, 3)."""
    starts = [p.track.times[0] + o for p, o in zip(prepared, offsets_s)]
    ends = [p.track.times[-1] + o for p, o in zip(prepared, offsets_s)]
    count = int(np.floor((max(ends) - min(starts)) * clock_fps + 0.5)) + 1
    people = prepared[0].valid.shape[1]
    _check_memory(float(count) * len(prepared) * people, f"the synchronized joints of {len(prepared)} videos over {count / clock_fps:.4g} s", config)
    instants = min(starts) + np.arange(count) / clock_fps
    joints = np.empty((len(prepared), count, people, 24, 3))
    valid = np.empty((len(prepared), count, people), dtype=bool)
    centers = np.empty((len(prepared), count, 3))
    for k, (p, offset) in enumerate(zip(prepared, offsets_s)):
        local = instants - offset
        joints[k], valid[k] = interpolate_rows(p.track.times, p.take("joints"), p.valid, local)
        joints[k][~valid[k]] = 0.0  # instead of NaN, so that the pose step needs no cleaned copy
        centers[k] = _camera_centers_at(p.track, local)
    return joints, valid, centers


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
    """Time offsets and camera poses of every video from its human motion, and what of it is observable.

    Args:
        tracks: one `MotionTrack` per video, the same people in the same order in each.
        config: the method choices; `CalibrationConfig()` (improved variant) when None.
        body_model: optional `SmplBodyModel` for the canonical and global joints.

    Returns:
        The calibration of every video whose offset and pose could be determined; the others are in
        `Calibration.excluded` with the check that failed and why. Each calibrated video carries its
        `VideoObservability` (numbers and warnings).

    Raises:
        CalibrationError: fewer than two videos can be calibrated, or inconsistent inputs.
    """
    config = config or CalibrationConfig()
    config.validate()
    _check_inputs(tracks, config)
    names = [t.name for t in tracks]
    clock_fps = float(config.clock_fps or max(t.fps for t in tracks))
    _check_clock(tracks, clock_fps, config)
    prepared, excluded = _prepare(tracks, config, body_model, clock_fps)
    usable = [i for i, p in enumerate(prepared) if p is not None]
    if len(usable) < 2:
        raise CalibrationError(f"fewer than two usable videos: {_reasons(excluded)}")
    alignment = align_times([prepared[i].take("sequence") for i in usable], _timing_options(config, clock_fps, len(usable)))
    pairwise, timing = alignment
    speeds = speed_factors(list(pairwise.evidence), np.array([e.rate for e in pairwise.evidence.values()]), len(usable))
    for k in _time_failures(pairwise, timing, config.time_method):
        track = tracks[usable[k]]
        fps_reason = _fps_reason(track, speeds[k], len(usable), config.checks)
        excluded.add(track.name, "fps" if fps_reason else "time", fps_reason or _time_reason(k, pairwise, timing))
    placed = [k for k in range(len(usable)) if names[usable[k]] not in excluded]
    if len(placed) < 2:
        raise CalibrationError(f"fewer than two videos could be synchronized: {_reasons(excluded)}")
    if config.reference is not None and config.reference in excluded:
        raise CalibrationError(f"reference video '{config.reference}' is excluded: {excluded[config.reference]['reason']}")
    usable_names = [names[i] for i in usable]
    offsets_all = np.where([names[usable[k]] in excluded for k in range(len(usable))], np.nan, timing.offsets_s)
    ref_k = _choose_reference(usable_names, offsets_all, np.where(timing.inlier, pairwise.weight, 0.0), config.reference)
    offsets = timing.offsets_s - timing.offsets_s[ref_k]

    placed_prepared = [prepared[usable[k]] for k in placed]
    joints, valid, centers = _synchronized_joints(placed_prepared, offsets[placed], clock_fps, config)
    spreads = _pose_spreads(joints, valid, centers)
    for slot, k in enumerate(placed):
        if spreads[slot, 1] < config.checks.min_rotation_spread_m:
            excluded.add(names[usable[k]], "pose", f"pose unobservable: its root-relative joints span only {spreads[slot, 1]:.3f} m in their thinnest "
                         f"direction (need {config.checks.min_rotation_spread_m:g} m): a flat or collapsed body does not fix a rotation")
            valid[slot] = False
    if usable_names[ref_k] in excluded:
        raise CalibrationError(f"reference video '{usable_names[ref_k]}' is excluded: {excluded[usable_names[ref_k]]['reason']}")
    poses = align_poses(joints, valid, placed.index(ref_k), _pose_options(config), centers)
    videos = []
    for slot, k in enumerate(placed):
        track, transform = tracks[usable[k]], poses.transforms[slot]
        if track.name in excluded:
            continue
        if transform is None:
            excluded.add(track.name, "pose", poses.reasons.get(slot, "camera pose could not be estimated"))
            continue
        record = _observability(k, pairwise, timing, float(speeds[k]), prepared[usable[k]].body_scale, spreads[slot], config.checks)
        videos.append(_video_calibration(track, transform, float(offsets[k]), float(timing.confidence[k]), record))
    if len(videos) < 2:
        raise CalibrationError(f"fewer than two videos could be posed: {_reasons(excluded)}")
    return _assemble(names, usable, pairwise, videos, excluded, usable_names[ref_k], config)


def _timing_options(config: CalibrationConfig, clock_fps: float, len_videos: int) -> TimingOptions:
    return TimingOptions(
        method=config.time_method,
        subframe=config.subframe,
        clock_fps=clock_fps,
        min_overlap=config.min_overlap_frames,
        cap_factor=config.cap_factor,
        search_radius=config.search_radius_frames,
        dtw_stride=config.dtw_stride,
        max_dtw_samples=config.max_dtw_samples,
        pairs_per_video=None if len_videos <= config.all_pairs_up_to else config.pairs_per_video,
        refine_pairs_per_video=config.refine_pairs_per_video,
        outlier_pair_frames=config.outlier_pair_frames,
        checks=config.checks,
        workers=_workers(config),
        show_progress=config.show_progress,
    )


def _workers(config: CalibrationConfig) -> int:
    return config.workers or min(os.cpu_count() or 1, _MAX_WORKERS)


def _pose_options(config: CalibrationConfig) -> PoseOptions:
    return PoseOptions(
        method=config.pose_method,
        robust=config.robust_pose,
        trim_fraction=config.trim_fraction,
        min_samples=config.min_pose_samples,
        depth_prior_weight=config.depth_prior_weight,
        max_points=config.max_points,
        bearing_joints=_BEARING_JOINTS[config.bearing_joints],
        bundle_adjust=config.bundle_adjust,
    )


def _reasons(excluded: _Excluded) -> str:
    return "; ".join(f"{name}: {entry['reason']}" for name, entry in excluded.items()) or "none"


def _pair_name(pairwise: PairwiseTiming, pair: tuple[int, int], video: int) -> str:
    return pairwise.names[pair[1] if pair[0] == video else pair[0]]


def _cycle_disagreement(v: int, pairwise: PairwiseTiming, timing: GlobalTiming) -> Optional[str]:
    """A placed video most of whose usable pairs (three or more) contradict the global offsets."""
    used = np.flatnonzero((pairwise.weight[v] > 0) & (np.arange(len(pairwise.names)) != v))
    agreeing = int(np.count_nonzero(timing.inlier[v, used]))
    if len(used) < 3 or agreeing >= len(used) / 2:
        return None
    return f"only {agreeing} of its {len(used)} usable pairs agree with the global offsets (cycle check)"


def _time_failures(pairwise: PairwiseTiming, timing: GlobalTiming, method: str) -> list[int]:
    """Videos whose offset is unobservable: not placed (no pair passed the checks), or, with the robust
    (cycle-consistent) global solve, placed while most of its pairs contradict it. The paper's greedy
    solve ignores cycles by design, so there a disagreement is a warning (`_observability`)."""
    return [v for v in range(len(pairwise.names))
            if not np.isfinite(timing.offsets_s[v]) or (method == "robust" and _cycle_disagreement(v, pairwise, timing))]


def _time_reason(v: int, pairwise: PairwiseTiming, timing: GlobalTiming) -> str:
    """Why video v's offset is unobservable: its own verdict, its pairs' disagreement, its best failed
    pair, or no overlap."""
    if v in pairwise.unobservable:
        return f"time offset unobservable: {pairwise.unobservable[v]}"
    disagreement = _cycle_disagreement(v, pairwise, timing) if np.isfinite(timing.offsets_s[v]) else None
    if disagreement is not None:
        return f"time offset unobservable: {disagreement}: its motion does not fit the other videos'"
    failed = sorted((p for p in pairwise.problems if v in p), key=lambda p: -pairwise.evidence[p].quality)
    if not failed:
        return "time offset unobservable: no valid time overlap with the other videos (no pair shares enough frames with a visible person)"
    more = f" ({len(failed) - 1} more pair(s) failed too)" if len(failed) > 1 else ""
    return f"time offset unobservable: with {_pair_name(pairwise, failed[0], v)}, {pairwise.problems[failed[0]]}{more}"


def _fps_reason(track: MotionTrack, speed: float, num_videos: int, checks: ObservabilityChecks) -> Optional[str]:
    """A video whose motion runs at another speed than in all the others: its fps label is wrong
    (with two videos the pair's own problem says that one of the two is)."""
    if num_videos < 3 or not np.isfinite(speed) or abs(np.log(speed)) <= np.log1p(checks.max_rate_mismatch):
        return None
    return (f"fps label looks wrong: its motion runs {speed:.2f}× as fast as in the other videos (DTW path slopes); "
            f"'fps' {track.fps:g} in {track.source}, {track.fps / speed:.4g} fps would match")


def _pose_spreads(joints: np.ndarray, valid: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """(N, 2) per video, over the bodies another video also sees: the lateral spread (m) of the
    pelvises across its view (angular spread of their bearings × their median distance: a depth
    error moves a pelvis along its ray, which fixes nothing), and the thickness (smallest principal
    spread) of the root-relative joints."""
    seen_twice = valid.sum(0) >= 2
    out = np.zeros((len(joints), 2))
    for v in range(len(joints)):
        mask = valid[v] & seen_twice
        bodies = joints[v][mask]  # (n, 24, 3)
        rays = bodies[:, _PELVIS] - np.broadcast_to(centers[v][:, None], mask.shape + (3,))[mask]
        distance = np.linalg.norm(rays, axis=-1)
        if len(rays):
            out[v, 0] = principal_spread(rays / np.maximum(distance, 1e-9)[:, None])[0] * np.median(distance)
        out[v, 1] = principal_spread((bodies - bodies[:, _PELVIS : _PELVIS + 1]).reshape(-1, 3))[2]
    return out


def _observability(v: int, pairwise: PairwiseTiming, timing: GlobalTiming, speed: float, scale: float, spread: np.ndarray,
                   checks: ObservabilityChecks) -> VideoObservability:
    """The record of a calibrated video: its best DTW pair's evidence, its spreads and warnings."""
    used = np.flatnonzero((pairwise.weight[v] > 0) & (np.arange(len(pairwise.names)) != v))
    agreeing = used[timing.inlier[v, used]]
    pair, best = pairwise.best_pair(v)
    warnings_, time, pose = [], "ok", "ok"
    weak = time_warning(best, checks)
    if weak is not None:
        time = "weak"
        warnings_.append(f"{weak} (best pair: with {_pair_name(pairwise, pair, v)})")
    if np.count_nonzero(np.isfinite(timing.offsets_s)) >= 3 and len(agreeing) < 2:
        time = "weak"
        warnings_.append(f"time offset rests on a single pair (with {_pair_name(pairwise, pair, v)}): not cross-checked by a cycle")
    disagreement = _cycle_disagreement(v, pairwise, timing)
    if disagreement is not None:  # only reached with the paper's greedy solve (robust: excluded)
        time = "weak"
        warnings_.append(f"time offset doubtful: {disagreement} (the paper's greedy Eq. 5 follows one tree of pairs)")
    if spread[0] < checks.min_position_spread_m:
        pose = "weak"
        warnings_.append(f"camera position weakly determined: across its view the people's pelvises spread only {spread[0]:.3f} m "
                         f"(need {checks.min_position_spread_m:g} m), so its distance rests on the monocular depth estimate")
    return VideoObservability(
        time=time, pose=pose, warnings=warnings_, time_pairs=int(len(agreeing)), time_contrast=best.contrast,
        time_separation=best.separation, motion_rms=best.motion_rms, overlap_s=best.overlap_s, speed=speed,
        body_scale=scale, position_spread_m=float(spread[0]), rotation_spread_m=float(spread[1]),
    )


def _video_calibration(track: MotionTrack, transform: Sim3, time_offset_s: float, confidence: float, record: VideoObservability) -> VideoCalibration:
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
        observability=record,
    )


def _assemble(
    names: list[str],
    usable: list[int],
    pairwise: PairwiseTiming,
    videos: list[VideoCalibration],
    excluded: _Excluded,
    reference: str,
    config: CalibrationConfig,
) -> Calibration:
    """The `Calibration`, with the pairwise matrices spread back over all input videos (NaN: unusable)."""
    N = len(names)
    cost, offset = np.full((N, N), np.nan), np.full((N, N), np.nan)
    index = np.array(usable)
    cost[np.ix_(index, index)] = pairwise.cost
    offset[np.ix_(index, index)] = pairwise.offset_s
    problems = [{"videos": [pairwise.names[i], pairwise.names[j]], "reason": reason} for (i, j), reason in sorted(pairwise.problems.items())]
    return Calibration(
        reference=reference,
        videos=videos,
        pairwise_names=list(names),
        pairwise_cost=cost,
        pairwise_offset_s=offset,
        pairwise_problems=problems,
        excluded=list(excluded.values()),
        method=dataclasses.asdict(config),
    )
