"""A whole synthetic capture: `simulate_capture` builds it in memory (fast, no images);
`generate_capture` writes it to disk in the layout of `docs/formats.md` section 2.

Timelines: the generator works on a "simulation" timeline where video v's frame i is at
`start_s[v] + i / fps[v]`. Everything it hands out uses the project's convention instead:
`global_time = local_time + time_offset_s`, with the reference video (the first) at offset 0, so
`time_offset_s[v] = start_s[v] − start_s[0]` and `global = simulation − start_s[0]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from humansync_ns.body.rotations import random_rotation
from humansync_ns.calibration.calibration_io import Calibration, VideoCalibration, calibration_to_dict
from humansync_ns.motion.format import MotionTrack
from humansync_ns.motion.joints import NUM_JOINTS
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.synthetic.estimator_noise import CameraBodies, apply_estimator_noise, bodies_from_params, transform_bodies
from humansync_ns.synthetic.people import BodyStates, PeopleMotion, simulate_people
from humansync_ns.synthetic.rig import (
    SCENE_CENTER,
    SCENE_RADIUS_M,
    VideoRig,
    invert_rigid,
    moving_camera_poses,
    random_intrinsics,
    static_cameras,
    video_timing,
)
from humansync_ns.synthetic.scene import Scene, make_scene

GENERATOR_VERSION = 1
WORLD_JOINTS_RATE_HZ = 120.0
"""Sampling rate of `world_joints.npz` (a multiple of 24 and 30 fps)."""
MIN_VISIBLE_JOINTS = 12
"""A person counts as estimated (valid) in a frame when at least this many joints project inside it."""

# Independent random streams, so that e.g. adding the moving camera or changing a noise knob
# leaves everything else of the capture unchanged.
_STREAM_PEOPLE, _STREAM_RIG, _STREAM_MOVING, _STREAM_TIMING, _STREAM_SCENE, _STREAM_NOISE, _STREAM_APPEARANCE, _STREAM_ESTIMATOR_WORLD = range(8)


def stream_rng(seed: int, stream: int, *keys: int) -> np.random.Generator:
    """The generator of one named random stream (plus per-video keys) of a seed."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), stream, *map(int, keys)]))


@dataclass
class SyntheticCapture:
    """Everything about one synthetic capture, in memory."""

    config: SynthConfig
    videos: list[VideoRig]
    """True cameras and timing, one per video (static cameras first, then the moving one)."""
    people: PeopleMotion
    scene: Scene
    video_bodies: list[BodyStates]
    """True world bodies at each video's frames."""
    tracks: list[MotionTrack]
    """What the motion files hold: estimator noise applied, invalid rows NaN."""
    clean_tracks: list[MotionTrack]
    """The same rows without estimator noise (same validity)."""
    outliers: list[np.ndarray]
    """Per video (T, P) bool: the garbage frames in `tracks`."""
    ground_truth: Calibration
    """True calibration, world +Z up, reference = first video, offsets as in the files."""
    world_times: np.ndarray
    """(S,) global seconds (the ground truth's timeline) of `world_joints`."""
    world_joints: np.ndarray
    """(S, P, 24, 3) true world joints."""
    timeline_origin_s: float
    """Simulation time of global time 0 (the reference video's first frame)."""

    @property
    def video_names(self) -> list[str]:
        return [v.name for v in self.videos]

    @property
    def scene_center(self) -> np.ndarray:
        return SCENE_CENTER.copy()

    @property
    def scene_radius(self) -> float:
        return SCENE_RADIUS_M

    @property
    def time_offsets_s(self) -> np.ndarray:
        """(V,) true `time_offset_s` of every video."""
        return np.array([v.time_offset_s for v in self.ground_truth.videos])

    def bodies_at(self, global_times_s: np.ndarray) -> BodyStates:
        """True world SMPL parameters and joints of everyone at global times (the ground truth's timeline)."""
        return self.people.evaluate(np.asarray(global_times_s, dtype=np.float64) + self.timeline_origin_s)

    def ground_truth_dict(self) -> dict[str, Any]:
        """`ground_truth.json`: the calibration schema plus world_up, scene centre/radius, moving."""
        data = calibration_to_dict(self.ground_truth)
        data["world_up"] = [0.0, 0.0, 1.0]
        data["scene_center"] = self.scene_center.tolist()
        data["scene_radius"] = self.scene_radius
        for entry, video in zip(data["videos"], self.videos):
            entry["moving"] = video.moving
        return data


def simulate_capture(config: Optional[SynthConfig] = None) -> SyntheticCapture:
    """Builds the capture in memory: rig, people, motion tracks with noise, ground truth. No images."""
    config = SynthConfig() if config is None else config
    config.validate()
    videos = _make_rig(config)
    start = min(v.start_s for v in videos) - 0.5
    end = max(v.end_s for v in videos) + 0.5
    people = simulate_people(stream_rng(config.seed, _STREAM_PEOPLE), config.num_people, start, end, config.walk_speed_mps)
    scene = make_scene(stream_rng(config.seed, _STREAM_SCENE))
    origin = videos[0].start_s
    video_bodies, tracks, clean_tracks, outliers = [], [], [], []
    for index, video in enumerate(videos):
        bodies = people.evaluate(video.frame_times_s)
        noisy, clean, valid, estimator_world = _estimate(config, index, video, bodies, people.betas)
        tracks.append(_to_track(video, noisy, valid, estimator_world))
        clean_tracks.append(_to_track(video, clean, valid, estimator_world))
        video_bodies.append(bodies)
        outliers.append(noisy.outliers & valid)
    ground_truth = Calibration(
        reference=videos[0].name,
        videos=[
            VideoCalibration(v.name, v.fps, v.num_frames, v.start_s - origin, v.camera_to_world.copy(), v.K.copy(), v.width, v.height)
            for v in videos
        ],
        method={"generator": "humansync-synth", "generator_version": GENERATOR_VERSION, "seed": config.seed},
    )
    # A grid of global times k / rate that covers every frame of every video.
    first = np.floor((start + 0.5 - origin) * WORLD_JOINTS_RATE_HZ)
    last = np.ceil((end - 0.5 - origin) * WORLD_JOINTS_RATE_HZ)
    world_times = np.arange(first, last + 1) / WORLD_JOINTS_RATE_HZ
    world_joints = people.evaluate(world_times + origin).joints
    return SyntheticCapture(
        config=config,
        videos=videos,
        people=people,
        scene=scene,
        video_bodies=video_bodies,
        tracks=tracks,
        clean_tracks=clean_tracks,
        outliers=outliers,
        ground_truth=ground_truth,
        world_times=world_times,
        world_joints=world_joints,
        timeline_origin_s=origin,
    )


def _make_rig(config: SynthConfig) -> list[VideoRig]:
    """Static cameras, then the optional moving one; timing and intrinsics per video index."""
    def intrinsics_rng(index: int) -> np.random.Generator:
        return stream_rng(config.seed, _STREAM_RIG, 1, index)

    poses, intrinsics = static_cameras(stream_rng(config.seed, _STREAM_RIG), config, intrinsics_rng)
    videos = []
    num_videos = config.num_cameras + int(config.moving_camera)
    for index in range(num_videos):
        fps = config.video_fps(index)
        start, num_frames = video_timing(stream_rng(config.seed, _STREAM_TIMING, index), config, fps)
        if index < config.num_cameras:
            K, c2w = intrinsics[index], poses[index]
        else:
            K = random_intrinsics(intrinsics_rng(index), config)
            c2w = moving_camera_poses(stream_rng(config.seed, _STREAM_MOVING), start + np.arange(num_frames) / fps)
        videos.append(VideoRig(f"cam{index:02d}", fps, num_frames, start, K, config.width, config.height, c2w))
    return videos


def visible_people(joints_cam: np.ndarray, K: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, P) bool: at least MIN_VISIBLE_JOINTS camera-frame joints (T, P, 24, 3) project into the image."""
    z = joints_cam[..., 2]
    safe_z = np.where(z > 1e-6, z, 1.0)
    u = K[0, 0] * joints_cam[..., 0] / safe_z + K[0, 2]
    v = K[1, 1] * joints_cam[..., 1] / safe_z + K[1, 2]
    inside = (z > 0.1) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
    return inside.sum(axis=-1) >= MIN_VISIBLE_JOINTS


def _estimate(
    config: SynthConfig, index: int, video: VideoRig, bodies: BodyStates, betas: np.ndarray
) -> tuple[CameraBodies, CameraBodies, np.ndarray, Optional[np.ndarray]]:
    """(noisy, clean, valid, estimator world_to_camera or None) for one video."""
    w2c = video.world_to_camera_per_frame()
    orient_c, transl_c = transform_bodies(bodies.global_orient, bodies.transl, w2c)
    clean_joints = bodies_from_params(orient_c, bodies.body_pose, betas, transl_c)
    valid = visible_people(clean_joints, video.K, video.width, video.height)
    clean = CameraBodies(orient_c, bodies.body_pose.copy(), betas.copy(), transl_c, clean_joints, np.zeros(valid.shape, bool))
    noisy = apply_estimator_noise(
        stream_rng(config.seed, _STREAM_NOISE, index), config, orient_c, bodies.body_pose, betas, transl_c, video.frame_times_s
    )
    if not video.moving:
        return noisy, clean, valid, None
    # SLAHMR-style: bodies in the estimator's own world (a random rigid transform of the true one).
    rng = stream_rng(config.seed, _STREAM_ESTIMATOR_WORLD, index)
    world_to_estimator = np.eye(4)
    world_to_estimator[:3, :3] = random_rotation(rng)
    world_to_estimator[:3, 3] = rng.uniform(-3, 3, size=3)
    camera_to_estimator = world_to_estimator @ video.camera_to_world_per_frame()
    moved = [_move(b, camera_to_estimator) for b in (noisy, clean)]
    return moved[0], moved[1], valid, invert_rigid(camera_to_estimator)


def _move(bodies: CameraBodies, transform: np.ndarray) -> CameraBodies:
    orient, transl = transform_bodies(bodies.global_orient, bodies.transl, transform)
    joints = bodies_from_params(orient, bodies.body_pose, bodies.betas, transl)
    return CameraBodies(orient, bodies.body_pose, bodies.betas, transl, joints, bodies.outliers)


def _to_track(video: VideoRig, bodies: CameraBodies, valid: np.ndarray, world_to_camera: Optional[np.ndarray]) -> MotionTrack:
    """A neutral motion track; rows of people not estimated are NaN (the format allows anything)."""
    def masked(array: np.ndarray) -> np.ndarray:
        out = array.astype(np.float64, copy=True)
        out[~valid] = np.nan
        return out

    return MotionTrack(
        name=video.name,
        fps=video.fps,
        valid=valid.copy(),
        joints=masked(bodies.joints),
        global_orient=masked(bodies.global_orient),
        body_pose=masked(bodies.body_pose),
        betas=bodies.betas.copy(),
        transl=masked(bodies.transl),
        K=video.K.copy(),
        width=video.width,
        height=video.height,
        world_to_camera=world_to_camera,
    )


def capture_summary(capture: SyntheticCapture) -> dict[str, Any]:
    """`capture.json`: the config and what was generated (sizes, rates, frame counts)."""
    return {
        "generator": "humansync-synth",
        "generator_version": GENERATOR_VERSION,
        "config": capture.config.to_dict(),
        "num_people": capture.people.num_people,
        "joints_per_person": NUM_JOINTS,
        "videos": [
            {
                "name": v.name,
                "fps": v.fps,
                "num_frames": v.num_frames,
                "width": v.width,
                "height": v.height,
                "moving": v.moving,
                "video": f"videos/{v.name}.mp4",
                "motion": f"motion/{v.name}.npz",
            }
            for v in capture.videos
        ],
        "ground_truth": "ground_truth/ground_truth.json",
        "world_joints": "ground_truth/world_joints.npz",
        "body_model": "body_model/smpl/SMPL_NEUTRAL.npz",
    }


def write_json(data: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def generate_capture(config: Optional[SynthConfig] = None, output_dir: str | Path = "synthetic_capture") -> Path:
    """Simulates the capture and writes it to `output_dir` (layout: `docs/formats.md` section 2).

    Videos are rendered only when `config.render_videos` (and PNG frames with `write_frames`).
    Returns `output_dir`.
    """
    from humansync_ns.motion.format import save_motion
    from humansync_ns.synthetic.body_model_file import write_synthetic_smpl_model

    config = SynthConfig() if config is None else config
    output_dir = Path(output_dir)
    capture = simulate_capture(config)
    output_dir.mkdir(parents=True, exist_ok=True)
    for track in capture.tracks:
        save_motion(track, output_dir / "motion" / f"{track.name}.npz")
    write_synthetic_smpl_model(output_dir / "body_model" / "smpl" / "SMPL_NEUTRAL.npz")
    write_json(capture.ground_truth_dict(), output_dir / "ground_truth" / "ground_truth.json")
    world = capture.bodies_at(capture.world_times)
    np.savez_compressed(
        output_dir / "ground_truth" / "world_joints.npz",
        times=capture.world_times,
        joints=capture.world_joints.astype(np.float32),
        global_orient=world.global_orient.astype(np.float32),
        body_pose=world.body_pose.astype(np.float32),
        transl=world.transl.astype(np.float32),
        betas=capture.people.betas,
        colors=capture.people.colors,
    )
    if config.render_videos or config.write_frames:
        from humansync_ns.synthetic.video_writer import write_videos

        write_videos(capture, output_dir, mp4=config.render_videos, png=config.write_frames)
    write_json(capture_summary(capture), output_dir / "capture.json")
    return output_dir
