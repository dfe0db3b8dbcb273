"""humansync-eval-calib: a calibration.json against ground truth, the paper's Table 1 way.

    humansync-eval-calib --calibration calib.json --ground-truth capture/ground_truth/ground_truth.json
    humansync-eval-calib --calibration calib.json --ground-truth gt.json --json > errors.json

Camera centres are Sim(3)-aligned to the true ones first; rotation error in degrees, translation in
metres and as a fraction of the scene size (mean camera distance to the centroid), time-offset error
in frames of each video's rate after removing the common offset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from humansync_ns.tools.cli_errors import run_cli


@dataclass
class EvalCalib:
    """Compare a calibration with ground truth (Table 1 protocol)."""

    calibration: Path
    """calibration.json to evaluate."""
    ground_truth: Path
    """ground_truth.json (or any calibration.json taken as truth)."""
    json: bool = False
    """Print the errors as JSON instead of a table."""

    def main(self) -> dict:
        from humansync_ns.calibration.calibration_io import load_calibration
        from humansync_ns.calibration.errors import calibration_errors

        errors = calibration_errors(load_calibration(self.calibration), load_calibration(self.ground_truth),
                                    str(self.calibration), str(self.ground_truth))
        result = errors.to_dict()
        if self.json:
            print(json.dumps(result, indent=2))
            return result
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{self.calibration} vs {self.ground_truth} (scene size {errors.scene_size_m:.2f} m)")
        for column in ("video", "rotation (°)", "translation (m)", "translation (%)", "time (frames)"):
            table.add_column(column, justify="right")
        for i, name in enumerate(errors.names):
            table.add_row(
                name,
                f"{errors.rotation_deg[i]:.3f}",
                f"{errors.translation_m[i]:.4f}",
                f"{100 * errors.translation_frac[i]:.2f}",
                f"{errors.time_frames[i]:.3f}",
            )
        table.add_row(
            "[bold]mean",
            f"[bold]{errors.mean_rotation_deg:.3f}",
            f"[bold]{errors.mean_translation_m:.4f}",
            f"[bold]{100 * errors.mean_translation_frac:.2f}",
            f"[bold]{errors.mean_time_frames:.3f}",
        )
        console = Console()
        console.print(table)
        if errors.missing:
            console.print(f"[red]not in the calibration (excluded): {', '.join(errors.missing)}")
        return result


def entrypoint() -> None:
    """Console script `humansync-eval-calib`."""
    run_cli("humansync-eval-calib", EvalCalib)


if __name__ == "__main__":
    entrypoint()
