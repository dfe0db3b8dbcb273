"""humansync-process: videos + per-video human motion → a nerfstudio data folder.

    humansync-process --videos capture/videos --motion-dir capture/motion --output data/
    humansync-process --videos capture/frames --calibration calib.json --output data/ \\
        --ground-truth capture/ground_truth/ground_truth.json

Extracts every frame (PyAV; or copies frame folders) into images/ (+ images_2/, images_4/, ...),
calibrates from the motion files unless --calibration is given, and writes calibration.json and
transforms.json (docs/formats.md section 4). Videos that cannot be used are listed with the reason.
It checks every input first, never writes into its inputs, deletes nothing, and writes into a
non-empty --output only with --overwrite (docs/checks.md section 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.table import Table

from humansync_ns.calibration.calibrate import CalibrationConfig
from humansync_ns.processing.process import ProcessReport, process_capture
from humansync_ns.tools.cli_errors import run_cli

CONSOLE = Console()


@dataclass
class Process:
    """Build a humansync-data folder from videos and their human motion."""

    videos: Path
    """Folder of video files (mp4, ...) and/or frame folders (PNG/JPG), one per video."""
    output: Path
    """Data folder to write (images/, calibration.json, transforms.json)."""
    motion_dir: Optional[Path] = None
    """Folder of neutral motion files <video>.npz; videos without one are left out."""
    calibration: Optional[Path] = None
    """Use this calibration.json instead of calibrating from the motion."""
    ground_truth: Optional[Path] = None
    """Ground-truth calibration (synthetic captures) to copy next to the data for evaluation."""
    num_downscales: int = 2
    """Downscaled copies images_2, images_4, ... up to 2^N."""
    max_frames: Optional[int] = None
    """Extract at most this many frames per video (previews)."""
    overwrite: bool = False
    """Write into a non-empty --output folder, replacing only the frames, calibration.json, transforms.json and
    ground_truth.json this command writes (it never deletes anything, and never writes into its inputs)."""
    calib: CalibrationConfig = field(default_factory=CalibrationConfig)
    """Calibration options (used when --calibration is not given)."""

    def main(self) -> ProcessReport:
        report = process_capture(
            self.videos, self.output, motion_dir=self.motion_dir, calibration_path=self.calibration,
            ground_truth_path=self.ground_truth, num_downscales=self.num_downscales,
            calibration_config=self.calib, max_frames=self.max_frames, overwrite=self.overwrite,
        )
        print_report(report)
        return report


def print_report(report: ProcessReport) -> None:
    table = Table(title=f"humansync-process → {report.output_dir}")
    table.add_column("video")
    table.add_column("status")
    for name in report.included:
        table.add_row(name, f"[green]{report.num_frames[name]} frames")
    for entry in report.excluded:
        table.add_row(entry["name"], f"[red]left out: {entry['reason']}")
    CONSOLE.print(table)
    for note in report.notes:
        CONSOLE.print(f"[yellow]note: {note}")
    CONSOLE.print(f"wrote {report.transforms_path}")


def entrypoint() -> None:
    """Console script `humansync-process`."""
    run_cli("humansync-process", Process)


if __name__ == "__main__":
    entrypoint()
