"""humansync-calibrate: time offsets and camera poses from per-video human motion.

    humansync-calibrate --motion-dir capture/motion --output capture/calibration.json
    humansync-calibrate --motion-dir capture/motion --output calib.json --report-dir calib_report \\
        --calib.time-method paper --calib.pose-method procrustes --calib.no-subframe

Reads the neutral motion files (`docs/formats.md` §1; it says which files of the folder it reads
and which it skips), writes `calibration.json` (§3), prints a summary table, a warning per video
whose offset or pose is only weakly determined and the reason for each video left out
(docs/checks.md §6) and, with `--report-dir`, plots and a markdown report. `--strict`
fails instead when any video cannot be calibrated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from rich.markup import escape
from rich.table import Table

from humansync_ns.calibration.calibrate import CalibrationConfig, CalibrationError
from humansync_ns.calibration.calibration_io import Calibration
from humansync_ns.tools.cli_errors import run_cli


class CalibrateCliError(ValueError):
    """An option of humansync-calibrate is unusable (e.g. the output would overwrite an input)."""


@dataclass
class Calibrate:
    """Calibrate unsynchronized, unposed videos from the human motion in each of them."""

    motion_dir: Path
    """Folder of `<video>.npz` neutral motion files (one per video)."""
    output: Path
    """calibration.json to write (never one of the inputs)."""
    body_model: Optional[Path] = None
    """SMPL/SMPL-H/SMPL-X model file or folder (smplx); the built-in skeleton when not given."""
    body_model_type: Literal["smpl", "smplh", "smplx"] = "smpl"
    """Kind of body model at --body-model."""
    report_dir: Optional[Path] = None
    """Also write plots and report.md here."""
    ground_truth: Optional[Path] = None
    """Optional ground_truth.json (synthetic captures): adds Table-1 errors to the summary and report."""
    strict: bool = False
    """Fail (exit code ≠ 0, nothing written) unless every video's offset and pose could be determined.
    Without it, videos that cannot be calibrated are left out of calibration.json, each named with
    the reason, as are videos without usable motion."""
    calib: CalibrationConfig = field(default_factory=lambda: CalibrationConfig(show_progress=True))
    """Method options."""

    def main(self) -> Path:
        from rich.console import Console

        from humansync_ns.calibration.calibrate import calibrate
        from humansync_ns.calibration.calibration_io import load_calibration, save_calibration
        from humansync_ns.calibration.errors import calibration_errors
        from humansync_ns.motion.format import load_motion_dir, scan_motion_dir

        console = Console()
        listing = scan_motion_dir(self.motion_dir)
        self._check_output(listing.files)
        console.print(f"reading {len(listing.files)} motion files from {listing.directory}: {', '.join(p.name for p in listing.files)}")
        for message in listing.messages():
            console.print(f"[yellow]{escape(message)}")
        tracks = load_motion_dir(self.motion_dir, listing)
        truth = load_calibration(self.ground_truth) if self.ground_truth else None
        body_model = None
        if self.body_model is not None:
            from humansync_ns.body.smpl import SmplBodyModel

            body_model = SmplBodyModel(self.body_model, self.body_model_type)
        start = time.perf_counter()
        calibration = calibrate(tracks, self.calib, body_model=body_model)
        seconds = time.perf_counter() - start
        console.print(summary_table(calibration, f"calibration of {len(tracks)} videos in {seconds:.1f} s → {self.output}"))
        for line in observability_lines(calibration):
            console.print(line, highlight=False)
        if self.strict and calibration.excluded:
            names = ", ".join(e["name"] for e in calibration.excluded)
            raise CalibrationError(f"--strict: {len(calibration.excluded)} video(s) could not be calibrated ({names}; reasons above); "
                                   f"nothing written to {self.output}")
        save_calibration(calibration, self.output)
        errors = calibration_errors(calibration, truth) if truth is not None else None
        if errors is not None:
            console.print(
                f"vs ground truth: rotation {errors.mean_rotation_deg:.3f}°, translation {errors.mean_translation_m:.4f} m "
                f"({100 * errors.mean_translation_frac:.2f} %), time {errors.mean_time_frames:.3f} frames"
            )
        if self.report_dir is not None:
            from humansync_ns.calibration.report import write_report

            console.print(f"report: {write_report(calibration, self.report_dir, tracks, errors)}")
        return self.output

    def _check_output(self, motion_files: list[Path]) -> None:
        """The output must not be an input, a folder, or a file the next run would read as motion."""
        output = self.output.resolve()
        inputs = [p.resolve() for p in motion_files] + [p.resolve() for p in (self.ground_truth, self.body_model) if p is not None]
        if output in inputs:
            raise CalibrateCliError(f"--output {self.output}: is one of the inputs; choose another file (e.g. calibration.json)")
        if output.is_dir():
            raise CalibrateCliError(f"--output {self.output}: is a folder; give the calibration.json file to write")
        if output.parent == self.motion_dir.resolve() and output.suffix.lower() == ".npz":
            raise CalibrateCliError(f"--output {self.output}: would be read as a motion file by the next run; write calibration.json elsewhere")


def summary_table(calibration: Calibration, title: str) -> Table:
    """One row per calibrated video (offset, confidence, time/pose observability, centre) and per excluded one."""
    table = Table(title=title)
    for column in ("video", "fps", "frames", "time_offset_s", "confidence", "time", "pose", "camera centre (m)", "note"):
        table.add_column(column)
    for video in calibration.videos:
        centre = ", ".join(f"{x:+.2f}" for x in video.camera_to_world_at(0)[:3, 3])
        note = "reference" if video.name == calibration.reference else ("moving" if video.is_moving else "")
        record = video.observability
        time_status, pose_status = (record.time, record.pose) if record is not None else ("", "")
        table.add_row(video.name, f"{video.fps:g}", str(video.num_frames), f"{video.time_offset_s:+.4f}", f"{video.confidence:.2f}",
                      time_status, pose_status, centre, note)
    for entry in calibration.excluded:
        table.add_row(entry["name"], "", "", "", "", "", "", "", f"[red]excluded ({entry.get('check', '?')})")
    return table


def observability_lines(calibration: Calibration) -> list[str]:
    """`warning: <video>: <reason>` for each warning and `excluded: <video>: <reason>` for each excluded video."""
    lines = [f"[yellow]warning[/yellow]: {escape(video.name)}: {escape(message)}"
             for video in calibration.videos if video.observability is not None for message in video.observability.warnings]
    return lines + [f"[red]excluded[/red]: {escape(entry['name'])}: {escape(entry['reason'])}" for entry in calibration.excluded]


def entrypoint() -> None:
    """Console script `humansync-calibrate`."""
    run_cli("humansync-calibrate", Calibrate)


if __name__ == "__main__":
    entrypoint()
