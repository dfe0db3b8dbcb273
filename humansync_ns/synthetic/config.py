"""Every knob of the synthetic capture generator, in one dataclass (tyro turns it into the CLI).

The defaults model what a real capture gives the calibration: eight unsynchronized static cameras
on an irregular ring (the sparse, hard case) and a monocular estimator whose errors match the "all of the above" row of
`/work/shared/notes/calibration-accuracy.md` (3° per-frame root jitter, joint noise, 3 % garbage
frames, a slowly drifting 5 % error of the root depth). `noise_free()` gives the clean truth.

Rigs like the paper's data sets (Sec. 4: 29-31 cameras on CMU Panoptic, 20 on Mobile-Stage) are
presets: `SynthConfig.panoptic_like()` (``--rig dome --num-cameras 30``) and
`SynthConfig.mobile_stage_like()` (``--rig stage --num-cameras 20``); `SynthConfig.sparse_ring()`
is the default's layout.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Optional


class SynthConfigError(ValueError):
    """A `SynthConfig` asks for something the generator cannot produce."""


@dataclass
class SynthConfig:
    """The synthetic capture: scene, people, cameras, videos and estimator noise."""

    seed: int = 0
    """Random seed; the same seed and settings give the same capture, bit for bit."""

    # --- people -------------------------------------------------------------------------------
    num_people: int = 1
    """Number of people walking in the scene (1 to 3), each with its own colour."""
    walk_speed_mps: float = 0.7
    """Mean walking speed in m/s; the actual speed drifts smoothly around it."""

    # --- timeline -----------------------------------------------------------------------------
    duration_s: float = 10.0
    """Length of each video in seconds (before `length_jitter_s`)."""
    start_spread_s: float = 1.5
    """Video start times are drawn uniformly in [0, start_spread_s] on the common timeline."""
    length_jitter_s: float = 0.5
    """Each video runs up to this many seconds longer than `duration_s` (uniformly drawn)."""

    # --- cameras ------------------------------------------------------------------------------
    rig: Literal["ring", "dome", "stage"] = "ring"
    """Layout of the static cameras. ring: random distances, heights and fields of view around the
    scene (camera_distance_m, camera_height_m, horizontal_fov_deg); dome: CMU-Panoptic-like rows at
    three heights all the way round; stage: Mobile-Stage-like rows on a frontal 200° arc. Dome and
    stage cameras frame the walking area (synthetic/rig.py)."""
    num_cameras: int = 8
    """Number of static cameras around the scene."""
    moving_camera: bool = False
    """Add one hand-held camera (after the static ones) that walks slowly around the scene."""
    fps: float = 30.0
    """Frame rate of the videos."""
    mixed_fps: bool = False
    """Run every second camera (cam01, cam03, ...) at `secondary_fps` instead of `fps`."""
    secondary_fps: float = 24.0
    """Frame rate of the odd cameras when `mixed_fps` is set."""
    width: int = 160
    """Image width in pixels (even, for H.264 yuv420p)."""
    height: int = 120
    """Image height in pixels (even, for H.264 yuv420p)."""
    camera_distance_m: tuple[float, float] = (3.0, 5.0)
    """Ring rig: range of the static cameras' horizontal distances to the scene centre, metres."""
    camera_height_m: tuple[float, float] = (1.0, 3.0)
    """Ring rig: range of the static cameras' heights above the floor, metres."""
    horizontal_fov_deg: tuple[float, float] = (55.0, 75.0)
    """Ring rig and moving camera: range of the horizontal field of view; each camera draws its own
    focal length from it."""

    # --- outputs ------------------------------------------------------------------------------
    render_videos: bool = True
    """Render the videos (mp4). Without it only motion files and ground truth are written."""
    write_frames: bool = False
    """Also write every rendered frame as PNG under frames/<video>/."""
    video_crf: int = 18
    """H.264 constant rate factor of the mp4 files (lower is better quality)."""

    # --- estimator noise in the motion files ---------------------------------------------------
    rotation_jitter_deg: float = 3.0
    """Std of an independent per-frame random rotation of each body's root orientation, degrees."""
    pose_noise_sigma: float = 0.02
    """Std of independent Gaussian noise on every body-pose parameter, radians (paper Table 2 σ)."""
    depth_error: float = 0.05
    """Std of the relative error of the root depth along its viewing ray; smooth, drifts slowly."""
    depth_error_period_s: float = 4.0
    """Typical time scale of the depth error's drift, seconds."""
    outlier_rate: float = 0.03
    """Fraction of frames per video and person with garbage bodies (still marked valid)."""
    outlier_offset_m: float = 0.5
    """Typical displacement of a garbage frame's body, metres."""
    betas_noise: float = 0.1
    """Std of a per-video constant error on the shape coefficients."""

    # --- appearance degradation of the videos (benchmarks; off by default) ---------------------
    gamma_range: tuple[float, float] = (1.0, 1.0)
    """Each video's colours go through x**gamma with gamma drawn log-uniformly in this range
    (the paper uses 0.35 to 2.1); (1, 1) leaves colours untouched."""
    image_noise_sigma: float = 0.0
    """Std of Gaussian pixel noise added to the rendered frames (colour range 0..1)."""

    def __post_init__(self) -> None:
        self.validate()

    @property
    def overlap_s(self) -> float:
        """Time span that every video is guaranteed to cover."""
        return self.duration_s - self.start_spread_s

    def video_fps(self, index: int) -> float:
        """Frame rate of video `index` (static cameras first, then the moving one)."""
        return self.secondary_fps if (self.mixed_fps and index % 2 == 1) else self.fps

    def noise_free(self) -> "SynthConfig":
        """A copy with every estimator error and appearance degradation turned off."""
        return dataclasses.replace(
            self,
            rotation_jitter_deg=0.0,
            pose_noise_sigma=0.0,
            depth_error=0.0,
            outlier_rate=0.0,
            betas_noise=0.0,
            gamma_range=(1.0, 1.0),
            image_noise_sigma=0.0,
        )

    @classmethod
    def panoptic_like(cls, **changes: Any) -> "SynthConfig":
        """30 static cameras on a dome (CMU Panoptic's HD cameras; the paper trains on 29-30)."""
        return cls(**{"rig": "dome", "num_cameras": 30, **changes})

    @classmethod
    def mobile_stage_like(cls, **changes: Any) -> "SynthConfig":
        """20 static cameras on a frontal arc (Mobile-Stage; the paper trains on 20)."""
        return cls(**{"rig": "stage", "num_cameras": 20, **changes})

    @classmethod
    def sparse_ring(cls, **changes: Any) -> "SynthConfig":
        """The default: 8 cameras on an irregular ring, where the field has few views (the hard case)."""
        return cls(**{"rig": "ring", "num_cameras": 8, **changes})

    def replace(self, **changes: Any) -> "SynthConfig":
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Raises `SynthConfigError` naming the field of any impossible setting."""
        _check(1 <= self.num_people <= 3, "num_people", f"must be 1, 2 or 3, got {self.num_people}")
        _check(self.num_cameras >= 1 or self.moving_camera, "num_cameras", f"needs at least one camera, got {self.num_cameras}")
        _check(self.num_cameras >= 0, "num_cameras", f"must be >= 0, got {self.num_cameras}")
        _check(self.rig in ("ring", "dome", "stage"), "rig", f"must be ring, dome or stage, got {self.rig!r}")
        _check(self.duration_s > 0, "duration_s", f"must be positive, got {self.duration_s}")
        _check(self.start_spread_s >= 0, "start_spread_s", f"must be >= 0, got {self.start_spread_s}")
        _check(
            self.overlap_s > 0,
            "start_spread_s",
            f"({self.start_spread_s}) must be smaller than duration_s ({self.duration_s}) so all videos overlap",
        )
        _check(self.length_jitter_s >= 0, "length_jitter_s", f"must be >= 0, got {self.length_jitter_s}")
        for name in ("fps", "secondary_fps", "walk_speed_mps"):
            _check(getattr(self, name) > 0, name, f"must be positive, got {getattr(self, name)}")
        for name in ("width", "height"):
            value = getattr(self, name)
            _check(value >= 16 and value % 2 == 0, name, f"must be an even number >= 16 (H.264 yuv420p), got {value}")
        for name in ("camera_distance_m", "camera_height_m", "horizontal_fov_deg", "gamma_range"):
            low, high = getattr(self, name)
            _check(0 < low <= high, name, f"must be a range 0 < low <= high, got {(low, high)}")
        _check(self.horizontal_fov_deg[1] < 170, "horizontal_fov_deg", f"must stay below 170°, got {self.horizontal_fov_deg}")
        _check(0 <= self.outlier_rate <= 1, "outlier_rate", f"must be in [0, 1], got {self.outlier_rate}")
        _check(self.depth_error < 0.5, "depth_error", f"must be below 0.5 (relative), got {self.depth_error}")
        _check(self.depth_error_period_s > 0, "depth_error_period_s", f"must be positive, got {self.depth_error_period_s}")
        for name in ("rotation_jitter_deg", "pose_noise_sigma", "depth_error", "outlier_offset_m", "betas_noise", "image_noise_sigma"):
            _check(getattr(self, name) >= 0, name, f"must be >= 0, got {getattr(self, name)}")
        _check(0 <= self.video_crf <= 51, "video_crf", f"must be in [0, 51], got {self.video_crf}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> "SynthConfig":
        """Rebuilds a config from `capture.json`'s "config" entry; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SynthConfigError(f"{source}: unknown SynthConfig field(s) {unknown}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


def _check(ok: bool, field_name: str, message: str) -> None:
    if not ok:
        raise SynthConfigError(f"SynthConfig.{field_name}: {message}")


def default_config(seed: Optional[int] = None) -> SynthConfig:
    """The default capture (realistic estimator noise), optionally with another seed."""
    return SynthConfig() if seed is None else SynthConfig(seed=seed)
