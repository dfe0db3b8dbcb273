"""`humansync-process` logic: videos + motion (+ calibration) → a nerfstudio data folder.

Output layout:
    OUTPUT/images/<video>/frame_%06d.png   every frame at native rate (+ images_2/, images_4/, ...)
    OUTPUT/calibration.json                 the calibration used (computed here unless given)
    OUTPUT/ground_truth.json                a copy of the ground truth, when given
    OUTPUT/transforms.json                  docs/formats.md section 4

A video is left out, with the reason in the report and in `transforms.json["excluded"]`, when its
motion file is missing, the calibration excluded it or does not know it, its frames cannot be read,
or its frame size does not match the calibration's intrinsics. It is never given a made-up pose.

User data is safe: every input and option is checked before the first frame is written; the
output may not overlap an input; a non-empty output folder is written into only with `overwrite`,
and then only the files listed above are replaced. Nothing is ever deleted.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from humansync_ns.calibration.calibration_io import Calibration, VideoCalibration, load_calibration, save_calibration
from humansync_ns.motion.format import MotionTrack, load_motion_dir
from humansync_ns.processing.frames import (
    FRAME_NAME,
    ExtractedVideo,
    FrameExtractionError,
    extract_frames,
    find_video_sources,
    frame_folders,
    frame_size,
)
from humansync_ns.processing.people_region import people_points
from humansync_ns.processing.transforms_writer import VideoFrames, build_transforms, local_times


class ProcessError(ValueError):
    """The inputs cannot give a usable data folder."""


@dataclass
class ProcessReport:
    """What `process_capture` wrote and what it left out."""

    output_dir: Path
    included: list[str] = field(default_factory=list)
    excluded: list[dict[str, str]] = field(default_factory=list)
    """Each {"name", "reason"}."""
    notes: list[str] = field(default_factory=list)
    """Things worth knowing that did not exclude a video (dropped frames, rate mismatches)."""
    num_frames: dict[str, int] = field(default_factory=dict)

    @property
    def transforms_path(self) -> Path:
        return self.output_dir / "transforms.json"


OUTPUT_FILES = ("calibration.json", "transforms.json", "ground_truth.json")
"""The files `process_capture` writes at the top of the output folder (besides the frame folders)."""


def _check_output_folder(output_dir: Path, inputs: dict[str, Optional[Path]], names: list[str], num_downscales: int,
                         overwrite: bool) -> None:
    """Refuses an output that overlaps an input, or a non-empty output folder unless `overwrite`.

    Args:
        inputs: every input path by the option that gave it (None: not given).
        names: the videos whose frame folders may be written.
    """
    if output_dir.exists() and not output_dir.is_dir():
        raise ProcessError(f"--output {output_dir}: is a file, not a folder")
    targets = [output_dir / name for name in OUTPUT_FILES]
    targets += [folder for name in names for folder in frame_folders(output_dir, name, num_downscales)]
    given = {option: (Path(path), Path(path).resolve()) for option, path in inputs.items() if path is not None}
    for target in targets:
        written = target.resolve()
        for option, (path, resolved) in given.items():
            if written == resolved or written.is_relative_to(resolved) or resolved.is_relative_to(written):
                raise ProcessError(
                    f"--output {output_dir}: humansync-process would write {target}, which overlaps its input "
                    f"{option} {path}; choose an output folder apart from the inputs"
                )
    held = sorted(p.name for p in output_dir.iterdir()) if output_dir.is_dir() else []
    if held and not overwrite:
        shown = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
        raise ProcessError(
            f"--output {output_dir}: folder is not empty ({shown}); choose a new or empty folder, or give --overwrite "
            f"to replace the frames and the {', '.join(OUTPUT_FILES)} that humansync-process writes (nothing else is touched)"
        )


def _check_downscales(sources: dict[str, Path], names: list[str], num_downscales: int) -> None:
    """Every downscaled copy must keep at least one pixel per side."""
    if num_downscales < 0:
        raise ProcessError(f"--num-downscales must be >= 0, got {num_downscales}")
    if num_downscales == 0:
        return
    factor = 2**num_downscales
    for name in names:
        try:
            width, height = frame_size(sources[name])
        except FrameExtractionError:
            continue  # left out at extraction, with the reason
        if min(width, height) < factor:
            most = min(width, height).bit_length() - 1
            raise ProcessError(
                f"--num-downscales {num_downscales}: images_{factor} of {sources[name]} ({width}x{height}) would be "
                f"{width // factor}x{height // factor} pixels; at most {most} for this video"
            )


def _note_leftover_files(output_dir: Path, extracted: ExtractedVideo, num_downscales: int, report: ProcessReport) -> None:
    """Files of an earlier run (or the user's) in a frame folder are kept, and said to be kept."""
    written = {FRAME_NAME.format(i) for i in range(extracted.num_frames)}
    folders = frame_folders(output_dir, extracted.name, num_downscales)
    others = sorted(p for folder in folders for p in folder.iterdir() if p.name not in written)
    if others:
        report.notes.append(f"{extracted.name}: {len(others)} file(s) in its frame folders not written by this run, "
                            f"e.g. {others[0]}: left in place, not listed in transforms.json")


def _calibration(tracks: dict[str, MotionTrack], calibration: Optional[Calibration], calibration_config) -> Calibration:
    if calibration is not None:
        return calibration
    from humansync_ns.calibration.calibrate import CalibrationConfig, calibrate

    if len(tracks) < 2:
        raise ProcessError(f"calibration needs motion for at least two videos, have {sorted(tracks)}")
    return calibrate(list(tracks.values()), calibration_config or CalibrationConfig())


def _fit_to_frames(calib: VideoCalibration, extracted: ExtractedVideo) -> tuple[Optional[VideoCalibration], str]:
    """The calibration with intrinsics at the extracted frames' size, or None and the reason."""
    if (extracted.width, extracted.height) == (calib.width, calib.height):
        return calib, ""
    scale_x, scale_y = extracted.width / calib.width, extracted.height / calib.height
    if abs(scale_x - scale_y) > 1e-6:
        return None, (f"frames are {extracted.width}x{extracted.height} but the calibration's intrinsics are for "
                      f"{calib.width}x{calib.height} (different aspect ratio)")
    K = calib.K.copy()
    K[:2, :] *= scale_x
    return dataclasses.replace(calib, K=K, width=extracted.width, height=extracted.height), (
        f"{calib.name}: intrinsics scaled by {scale_x:g} from {calib.width}x{calib.height} to the frames' size")


def _video_frames(calib: VideoCalibration, extracted: ExtractedVideo, track: Optional[MotionTrack],
                  report: ProcessReport) -> Optional[VideoFrames]:
    fitted, message = _fit_to_frames(calib, extracted)
    if fitted is None:
        report.excluded.append({"name": calib.name, "reason": message})
        return None
    if message:
        report.notes.append(message)
    count = extracted.num_frames
    if calib.is_moving and count > calib.camera_to_world.shape[0]:
        report.notes.append(f"{calib.name}: {count - calib.camera_to_world.shape[0]} frames past the last calibrated pose left out")
        count = calib.camera_to_world.shape[0]
    if calib.num_frames and count != calib.num_frames:
        report.notes.append(f"{calib.name}: {extracted.num_frames} frames in the video, {calib.num_frames} in the calibration")
    if extracted.container_fps and abs(extracted.container_fps - calib.fps) > 0.01 * calib.fps:
        report.notes.append(f"{calib.name}: container says {extracted.container_fps:g} fps, calibration {calib.fps:g} fps (used)")
    frame_times = track.frame_times if track is not None else None
    return VideoFrames(fitted, count, local_times(count, calib.fps, frame_times))


def process_capture(
    videos_dir: Path,
    output_dir: Path,
    motion_dir: Optional[Path] = None,
    calibration_path: Optional[Path] = None,
    ground_truth_path: Optional[Path] = None,
    num_downscales: int = 2,
    calibration_config=None,
    max_frames: Optional[int] = None,
    overwrite: bool = False,
) -> ProcessReport:
    """Writes the data folder (see module docstring) and returns what was included and left out.

    Args:
        videos_dir: Video files and/or frame folders, one per video, named like the motion files.
        output_dir: The data folder to write.
        motion_dir: Neutral motion files `<video>.npz`; needed unless `calibration_path` is given.
        calibration_path: Use this `calibration.json` instead of calibrating.
        ground_truth_path: A ground-truth calibration to copy next to the data (synthetic captures).
        num_downscales: Downscaled copies images_2, images_4, ... images_{2^n}.
        calibration_config: `CalibrationConfig` of the calibration (default settings when None).
        max_frames: Extract at most this many frames per video (tests, previews).
        overwrite: Write into a non-empty `output_dir` (replacing only the files listed in the module docstring).
    """
    if motion_dir is None and calibration_path is None:
        raise ProcessError("give --motion-dir (to calibrate) or --calibration (a calibration.json)")
    if max_frames is not None and max_frames < 1:
        raise ProcessError(f"--max-frames must be >= 1, got {max_frames}")
    output_dir = Path(output_dir)
    report = ProcessReport(output_dir=output_dir)
    sources = find_video_sources(Path(videos_dir))
    inputs = {"--videos": Path(videos_dir), "--motion-dir": motion_dir, "--calibration": calibration_path,
              "--ground-truth": ground_truth_path, **{f"--videos ({name})": path for name, path in sources.items()}}
    _check_output_folder(output_dir, inputs, list(sources), num_downscales, overwrite)
    # Read every input file before the long work (calibration, frame extraction) starts.
    if ground_truth_path is not None:
        load_calibration(ground_truth_path)  # validates, naming the file; copied once the frames are written
    given_calibration = load_calibration(calibration_path) if calibration_path is not None else None
    tracks: dict[str, MotionTrack] = {}
    if motion_dir is not None:
        all_tracks = {t.name: t for t in load_motion_dir(Path(motion_dir))}
        report.notes += [f"{name}: motion file without a video, ignored" for name in sorted(set(all_tracks) - set(sources))]
        report.excluded += [{"name": n, "reason": f"no motion file {n}.npz in {motion_dir}"} for n in sources if n not in all_tracks]
        tracks = {n: all_tracks[n] for n in sources if n in all_tracks}
    candidates = [n for n in sources if motion_dir is None or n in tracks]
    _check_downscales(sources, candidates, num_downscales)

    calibration = _calibration(tracks, given_calibration, calibration_config)
    output_dir.mkdir(parents=True, exist_ok=True)
    save_calibration(calibration, output_dir / "calibration.json")
    excluded_by_calibration = {e["name"]: e.get("reason", "excluded by the calibration") for e in calibration.excluded}
    known = {v.name for v in calibration.videos}
    videos: list[VideoFrames] = []
    for name in candidates:
        if name in excluded_by_calibration:
            report.excluded.append({"name": name, "reason": f"calibration: {excluded_by_calibration[name]}"})
            continue
        if name not in known:
            report.excluded.append({"name": name, "reason": "not in the calibration"})
            continue
        try:
            extracted = extract_frames(sources[name], output_dir, name, num_downscales, max_frames)
        except FrameExtractionError as err:
            report.excluded.append({"name": name, "reason": str(err)})
            continue
        _note_leftover_files(output_dir, extracted, num_downscales, report)
        video = _video_frames(calibration.video(name), extracted, tracks.get(name), report)
        if video is not None:
            videos.append(video)
            report.included.append(name)
            report.num_frames[name] = video.num_frames
    if not videos:
        raise ProcessError(f"no usable video: {report.excluded}")

    ground_truth_file = None
    if ground_truth_path is not None:
        shutil.copyfile(ground_truth_path, output_dir / "ground_truth.json")
        ground_truth_file = "ground_truth.json"
    people = people_points(calibration, {name: tracks[name] for name in report.included if name in tracks})
    transforms = build_transforms(videos, "calibration.json", ground_truth_file, report.excluded, people)
    report.transforms_path.write_text(json.dumps(transforms, indent=1))
    return report
