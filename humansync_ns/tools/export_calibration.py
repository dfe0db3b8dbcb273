"""`humansync-export-calibration`: the trained model's refined time offsets and camera poses as a
`calibration.json` (the calibration stage's format) and a `transforms.json` with synchronized
times, both in the calibration's world (the dataparser's scene normalisation undone)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro

from nerfstudio.utils.rich_utils import CONSOLE

from humansync_ns.tools.cli_errors import UsageError, run_cli


@dataclass
class ExportCalibration:
    """Write the refined calibration of a trained humansync model."""

    load_config: Path
    """The trained model's config.yml."""
    output_dir: Path = Path("refined_calibration")
    """Folder for calibration.json and transforms.json."""
    refine_held_out: bool = False
    """Also refine the held-out video(s) by test-time optimisation (as ns-eval does) and export
    their refined pose and offset; otherwise they keep the calibration's."""

    def main(self) -> tuple[Path, Path]:
        from humansync_ns.export.calibration_export import export_refined_calibration
        from humansync_ns.tools.trained_model import load_trained_model

        config, pipeline, checkpoint, step = load_trained_model(self.load_config, test_mode="test")
        corrections = {}
        if self.refine_held_out:
            if not hasattr(pipeline, "evaluate_held_out_videos"):
                raise UsageError("--refine-held-out needs a humansync pipeline (HumanSyncPipeline)")
            pipeline.evaluate_held_out_videos()
            corrections = dict(pipeline.test_time_corrections)
        method = {"refined_by": config.method_name, "checkpoint": str(checkpoint), "step": int(step),
                  "held_out_refined": sorted(corrections)}
        paths = export_refined_calibration(pipeline, self.output_dir, corrections, method)
        for path in paths:
            CONSOLE.print(f"[bold green]wrote {path}")
        return paths


def entrypoint() -> None:
    """Entry point of `humansync-export-calibration`."""
    tyro.extras.set_accent_color("bright_yellow")
    run_cli("humansync-export-calibration", ExportCalibration)


if __name__ == "__main__":
    entrypoint()
