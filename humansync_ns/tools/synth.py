"""humansync-synth: write a synthetic unsynchronized multi-view capture of people with ground truth.

    humansync-synth --output data/synth                      # the default capture
    humansync-synth --output data/synth3 --num-people 3 --moving-camera --mixed-fps --noise-free

Layout of the output: `docs/formats.md`, section 2.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import tyro

from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.tools.cli_errors import run_cli


@dataclass
class Synth:
    """Generate a synthetic capture: videos, per-video motion files, body model and ground truth."""

    output: Path
    """Folder to write the capture into (created if needed)."""
    capture: Annotated[SynthConfig, tyro.conf.arg(name="")] = field(default_factory=SynthConfig)
    noise_free: bool = False
    """Write motion files without any estimator error (and no appearance degradation)."""

    def main(self) -> Path:
        from rich.console import Console
        from rich.table import Table

        from humansync_ns.synthetic.capture import generate_capture
        from humansync_ns.calibration.calibration_io import load_calibration

        config = self.capture.noise_free() if self.noise_free else self.capture
        console = Console()
        start = time.perf_counter()
        output = generate_capture(config, self.output)
        seconds = time.perf_counter() - start
        truth = load_calibration(output / "ground_truth" / "ground_truth.json")
        table = Table(title=f"synthetic capture → {output}")
        for column in ("video", "fps", "frames", "time_offset_s", "moving", "files"):
            table.add_column(column)
        for video in truth.videos:
            files = [f"motion/{video.name}.npz"]
            if config.render_videos:
                files.append(f"videos/{video.name}.mp4")
            if config.write_frames:
                files.append(f"frames/{video.name}/")
            table.add_row(video.name, f"{video.fps:g}", str(video.num_frames), f"{video.time_offset_s:+.3f}", str(video.is_moving), ", ".join(files))
        console.print(table)
        console.print(
            f"{config.num_people} person(s); ground truth in {output / 'ground_truth'}; body model in "
            f"{output / 'body_model' / 'smpl'}; written in {seconds:.1f} s"
        )
        return output


def entrypoint() -> None:
    """Console script `humansync-synth`."""
    run_cli("humansync-synth", Synth)


if __name__ == "__main__":
    entrypoint()
