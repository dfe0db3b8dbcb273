"""humansync-calibrate: time offsets and camera poses from per-video human motion.

    humansync-calibrate --motion-dir capture/motion --output capture/calibration.json
    humansync-calibrate --motion-dir capture/motion --output calib.json --report-dir calib_report \\
        --calib.time-method paper --calib.pose-method procrustes --calib.no-subframe

Reads the neutral motion files (`docs/formats.md` §1), writes `calibration.json` (§3), prints a
summary table and, with `--report-dir`, plots and a markdown report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from humansync_ns.calibration.calibrate import CalibrationConfig
from humansync_ns.tools.cli_errors import run_cli


@dataclass
class Calibrate:
    """Calibrate unsynchronized, unposed videos from the human motion in each of them."""

    motion_dir: Path
    """Folder of `<video>.npz` neutral motion files (one per video)."""
    output: Path
    """calibration.json to write."""
    body_model: Optional[Path] = None
    """SMPL/SMPL-H/SMPL-X model file or folder (smplx); the built-in skeleton when not given."""
    body_model_type: Literal["smpl", "smplh", "smplx"] = "smpl"
    """Kind of body model at --body-model."""
    report_dir: Optional[Path] = None
    """Also write plots and report.md here."""
    ground_truth: Optional[Path] = None
    """Optional ground_truth.json (synthetic captures): adds Table-1 errors to the summary and report."""
    calib: CalibrationConfig = field(default_factory=lambda: CalibrationConfig(show_progress=True))
    """Method options."""

    def main(self) -> Path:
        from rich.console import Console
        from rich.table import Table

        from humansync_ns.calibration.calibrate import calibrate
        from humansync_ns.calibration.calibration_io import load_calibration, save_calibration
        from humansync_ns.calibration.errors import calibration_errors
        from humansync_ns.motion.format import load_motion_dir

        console = Console()
        tracks = load_motion_dir(self.motion_dir)
        body_model = None
        if self.body_model is not None:
            from humansync_ns.body.smpl import SmplBodyModel

            body_model = SmplBodyModel(self.body_model, self.body_model_type)
        start = time.perf_counter()
        calibration = calibrate(tracks, self.calib, body_model=body_model)
        seconds = time.perf_counter() - start
        save_calibration(calibration, self.output)
        errors = calibration_errors(calibration, load_calibration(self.ground_truth)) if self.ground_truth else None
        table = Table(title=f"calibration of {len(tracks)} videos in {seconds:.1f} s → {self.output}")
        for column in ("video", "fps", "frames", "time_offset_s", "confidence", "camera centre (m)", "note"):
            table.add_column(column)
        for video in calibration.videos:
            centre = ", ".join(f"{x:+.2f}" for x in video.camera_to_world_at(0)[:3, 3])
            note = "reference" if video.name == calibration.reference else ("moving" if video.is_moving else "")
            table.add_row(video.name, f"{video.fps:g}", str(video.num_frames), f"{video.time_offset_s:+.4f}", f"{video.confidence:.2f}", centre, note)
        for entry in calibration.excluded:
            table.add_row(entry["name"], "", "", "", "", "", f"[red]excluded: {entry['reason']}")
        console.print(table)
        if errors is not None:
            console.print(
                f"vs ground truth: rotation {errors.mean_rotation_deg:.3f}°, translation {errors.mean_translation_m:.4f} m "
                f"({100 * errors.mean_translation_frac:.2f} %), time {errors.mean_time_frames:.3f} frames"
            )
        if self.report_dir is not None:
            from humansync_ns.calibration.report import write_report

            console.print(f"report: {write_report(calibration, self.report_dir, tracks, errors)}")
        return self.output


def entrypoint() -> None:
    """Console script `humansync-calibrate`."""
    run_cli("humansync-calibrate", Calibrate)


if __name__ == "__main__":
    entrypoint()
