"""`humansync-demo`: the whole method on the built-in synthetic scene, in one command.

    synthesize → calibrate (from the noisy motion files) → process → train humansync-small
    → evaluate the held-out camera (test-time optimisation) → export the refined calibration
    → render a novel-view video → print calibration errors before/after refinement and NVS metrics

Every stage is the same code the individual commands run (`humansync-synth`, `humansync-calibrate`,
`humansync-process`, `ns-train`, `ns-eval`, `humansync-export-calibration`, `humansync-render`), so
the demo doubles as an end-to-end check of the product.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from humansync_ns.calibration.calibrate import CalibrationConfig
from humansync_ns.calibration.calibration_io import load_calibration
from humansync_ns.synthetic.config import SynthConfig
from humansync_ns.tools.cli_errors import run_cli


def _demo_capture() -> SynthConfig:
    """A Panoptic-like dome of 30 cameras (the paper's regime: 29-30 training views), shortened so
    the demo runs in minutes on two CPU cores. ``--capture.rig ring --capture.num-cameras 8`` is the
    sparse case, where the novel views lose the person."""
    return SynthConfig.panoptic_like(duration_s=6.0)


@dataclass
class Demo:
    """Run humansync end to end on a synthetic capture with known ground truth."""

    output: Path = Path("demo_output")
    """Folder for everything the demo writes (capture, data, training run, renders, summary)."""
    capture: SynthConfig = field(default_factory=_demo_capture)
    """The synthetic capture (every humansync-synth option)."""
    calib: CalibrationConfig = field(default_factory=lambda: CalibrationConfig(show_progress=True))
    """Calibration options."""
    max_num_iterations: int = 1500
    """Training steps of humansync-small (its schedule is fitted to them: ``method_configs.fit_schedule``)."""
    downscale_factor: int = 2
    """Train on frames downscaled by this factor (the capture is 160×120)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where to train: a CUDA GPU when there is one (auto), else the CPU."""
    eval_frame_stride: int = 4
    """Score every N-th frame of the held-out camera's common time span."""
    test_time_steps: int = 100
    """Test-time optimisation steps of the held-out camera before scoring it."""
    render_frames: int = 36
    """Frames of the novel-view (bullet-time) video."""
    people_focus: bool = True
    """Train with the options that spend the short run on the people (`method_configs.PEOPLE_FOCUS`:
    rays where each frame differs from its background, the scene box fitted to the people, static
    elsewhere); False trains humansync-small's K-Planes as the paper's (benchmarks/results/
    field_levers.json measures both)."""

    @property
    def field_overrides(self) -> dict[str, Any]:
        """Dotted overrides of the trainer config that `people_focus` adds."""
        from humansync_ns.method_configs import PEOPLE_FOCUS

        return dict(PEOPLE_FOCUS) if self.people_focus else {}

    def main(self) -> dict[str, Any]:
        from rich.console import Console

        console = Console()
        output = self.output.resolve()
        output.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        stage_seconds: dict[str, float] = {}

        def stage(name: str) -> None:
            stage_seconds[name] = time.perf_counter()
            console.rule(f"[bold]{name}")

        def done(name: str) -> None:
            stage_seconds[name] = time.perf_counter() - stage_seconds[name]

        stage("1/6 synthesize")
        capture_dir = _synthesize(self.capture, output / "capture")
        done("1/6 synthesize")

        stage("2/6 calibrate")
        truth_path = capture_dir / "ground_truth" / "ground_truth.json"
        calibration_path = _calibrate(capture_dir, output / "calibration", self.calib, truth_path)
        # The last camera is held out for novel-view synthesis (the paper's protocol); calibration
        # errors before and after refinement are compared on the cameras that were trained on.
        held_out = load_calibration(truth_path).videos[-1].name
        initial_errors = _errors(calibration_path, truth_path, exclude=held_out)
        done("2/6 calibrate")

        stage("3/6 process")
        data_dir = _process(capture_dir, output / "data", calibration_path, truth_path)
        done("3/6 process")

        stage("4/6 train humansync-small")
        config_path = _train(self, data_dir, output / "outputs", held_out)
        done("4/6 train humansync-small")

        stage("5/6 evaluate and export")
        nvs, refined_path = _evaluate_and_export(config_path, output / "refined")
        refined_errors = _errors(refined_path, truth_path, exclude=held_out)
        done("5/6 evaluate and export")

        stage("6/6 render")
        video_path = _render(config_path, output / "renders" / "bullet_time.mp4", self.render_frames)
        sheets = _contact_sheets(video_path, output / "refined" / "eval_images", output / "renders")
        done("6/6 render")

        summary = {
            "calibration_errors": {"initialization": initial_errors, "refined": refined_errors},
            "held_out_camera": held_out,
            "novel_view_synthesis": nvs,
            "paths": {
                "capture": str(capture_dir),
                "calibration": str(calibration_path),
                "calibration_report": str(output / "calibration" / "report" / "report.md"),
                "trained_config": str(config_path),
                "refined_calibration": str(refined_path),
                "novel_view_video": str(video_path),
                **{name: str(path) for name, path in sheets.items()},
            },
            "seconds": {**stage_seconds, "total": time.perf_counter() - start},
        }
        summary_path = output / "summary.json"
        summary_path.write_text(json.dumps(summary, indent=2))
        _print_summary(console, summary, summary_path)
        return summary


def _synthesize(config: SynthConfig, capture_dir: Path) -> Path:
    from humansync_ns.tools.synth import Synth

    return Synth(output=capture_dir, capture=config).main()


def _errors(calibration_path: Path, truth_path: Path, exclude: str) -> dict[str, float]:
    """Mean Table-1 errors over the videos other than `exclude`."""
    from humansync_ns.calibration.errors import calibration_errors

    truth = load_calibration(truth_path)
    truth = dataclasses.replace(truth, videos=[v for v in truth.videos if v.name != exclude])
    errors = calibration_errors(load_calibration(calibration_path), truth)
    return {
        "rotation_deg": errors.mean_rotation_deg,
        "translation_m": errors.mean_translation_m,
        "translation_frac": errors.mean_translation_frac,
        "time_frames": errors.mean_time_frames,
    }


def _calibrate(capture_dir: Path, out_dir: Path, calib: CalibrationConfig, truth_path: Path) -> Path:
    from humansync_ns.tools.calibrate import Calibrate

    return Calibrate(
        motion_dir=capture_dir / "motion",
        output=out_dir / "calibration.json",
        report_dir=out_dir / "report",
        ground_truth=truth_path,
        calib=calib,
    ).main()


def _process(capture_dir: Path, data_dir: Path, calibration_path: Path, truth_path: Path) -> Path:
    from humansync_ns.tools.process import Process

    Process(
        videos=capture_dir / "videos",
        output=data_dir,
        motion_dir=capture_dir / "motion",
        calibration=calibration_path,
        ground_truth=truth_path,
        num_downscales=1,
        overwrite=True,  # the demo's own folder: a second run replaces the first one's data
    ).main()
    return data_dir


def _train(demo: Demo, data_dir: Path, outputs_dir: Path, held_out: str) -> Path:
    import torch
    from nerfstudio.scripts.train import main as train_main

    from humansync_ns.method_configs import fit_schedule, humansync_small_method, set_dotted

    config = copy.deepcopy(humansync_small_method.config)
    config.pipeline.datamanager.data = data_dir
    config.pipeline.datamanager.dataparser.data = data_dir
    dataparser = config.pipeline.datamanager.dataparser
    dataparser.downscale_factor = demo.downscale_factor
    dataparser.eval_videos = (held_out,)
    dataparser.eval_frame_stride = demo.eval_frame_stride
    config.pipeline.test_time_optimization.steps = demo.test_time_steps
    config.output_dir = outputs_dir
    config.experiment_name = "demo"
    config.timestamp = "run"
    fit_schedule(config, demo.max_num_iterations)
    for dotted, value in demo.field_overrides.items():
        set_dotted(config, dotted, value)
    # A batch demo has no browser attached: log to tensorboard files instead of serving the viewer.
    config.vis = "tensorboard"
    use_cuda = demo.device == "cuda" or (demo.device == "auto" and torch.cuda.is_available())
    config.machine.device_type = "cuda" if use_cuda else "cpu"
    if config.machine.device_type == "cpu":
        config.mixed_precision = False
    train_main(config)
    return config.get_base_dir() / "config.yml"


def _evaluate_and_export(config_path: Path, refined_dir: Path) -> tuple[dict[str, Any], Path]:
    from nerfstudio.utils.eval_utils import eval_setup

    from humansync_ns.export.calibration_export import export_refined_calibration

    _, pipeline, checkpoint, step = eval_setup(config_path, test_mode="test")
    metrics = pipeline.get_average_eval_image_metrics(output_path=refined_dir / "eval_images")
    method = {"refined_by": "humansync-small", "checkpoint": str(checkpoint), "step": int(step)}
    calibration_path, _ = export_refined_calibration(pipeline, refined_dir, dict(pipeline.test_time_corrections), method)
    return metrics, calibration_path


def _render(config_path: Path, video_path: Path, num_frames: int) -> Path:
    from humansync_ns.tools.render import BulletTime

    return BulletTime(load_config=config_path, output_path=video_path, num_frames=num_frames).main()


def _contact_sheets(video_path: Path, eval_images: Path, out_dir: Path) -> dict[str, Path]:
    """PNGs to look at: frames of the novel-view video, and the held-out camera's ground truth
    (top row) above the field's renders (bottom row) at evenly spaced scored frames."""
    import numpy as np
    from PIL import Image

    from humansync_ns.render.contact_sheet import grid, video_contact_sheet

    sheets = {"novel_view_contact_sheet": video_contact_sheet(video_path, video_path.with_name(video_path.stem + "_sheet.png"))}
    pairs = sorted(eval_images.glob("eval_*.png"))
    if pairs:
        picks = np.unique(np.linspace(0, len(pairs) - 1, min(6, len(pairs))).round().astype(int))
        images = [np.asarray(Image.open(pairs[i]).convert("RGB")) for i in picks]
        half = images[0].shape[1] // 2  # each eval image is ground truth | render, side by side
        rows = [[image[:, :half] for image in images], [image[:, half:] for image in images]]
        path = out_dir / "held_out_sheet.png"
        Image.fromarray(grid(rows, labels=["ground truth", "rendered"], scale=3)).save(path)
        sheets["held_out_contact_sheet"] = path
    return sheets


def _print_summary(console: Any, summary: dict[str, Any], summary_path: Path) -> None:
    from rich.table import Table

    table = Table(title=f"calibration error vs ground truth (mean over the training cameras; {summary['held_out_camera']} held out)")
    table.add_column("stage", no_wrap=True)  # never truncated: it says which row is which
    for column in ("rotation (°)", "translation (m)", "translation (% scene)", "time (frames)"):
        table.add_column(column, justify="right")
    for stage, errors in summary["calibration_errors"].items():
        table.add_row(
            stage,
            f"{errors['rotation_deg']:.3f}",
            f"{errors['translation_m']:.4f}",
            f"{100 * errors['translation_frac']:.2f}",
            f"{errors['time_frames']:.3f}",
        )
    console.print(table)
    nvs = summary["novel_view_synthesis"]
    metrics = Table(title=f"novel-view synthesis on the held-out camera ({int(nvs.get('num_eval_frames', 0))} frames)")
    for column in ("", "PSNR", "SSIM", "LPIPS", "PSNR moving region"):
        metrics.add_column(column, justify="right")
    for label, suffix in (("before test-time optimisation", "_before_tto"), ("after", "")):
        if f"psnr{suffix}" in nvs:
            lpips, moving = nvs.get(f"lpips{suffix}"), nvs.get(f"psnr_dynamic{suffix}")
            metrics.add_row(
                label,
                f"{nvs[f'psnr{suffix}']:.2f}",
                f"{nvs[f'ssim{suffix}']:.3f}",
                "unavailable" if lpips is None else f"{lpips:.3f}",
                "–" if moving is None else f"{moving:.2f}",
            )
    console.print(metrics)
    for name, path in summary["paths"].items():
        console.print(f"{name}: {path}")
    console.print(f"summary: {summary_path}  (total {summary['seconds']['total'] / 60:.1f} min)")


def entrypoint() -> None:
    """Entry point of `humansync-demo`."""
    run_cli("humansync-demo", Demo)


if __name__ == "__main__":
    entrypoint()
