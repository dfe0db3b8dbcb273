"""How much calibration signal a trained humansync field carries, and how the time grid's resolution
decides whether time offsets can be refined at all.

    .venv/bin/python benchmarks/bench_refinement_signal.py      # CPU, ~8 min: results/refinement_signal.json

For each `--time-resolutions` entry, `humansync-small` trains for `--steps` steps on a noise-free
capture at its *true* calibration (poses and offsets frozen). Then, with that field frozen, the
pipeline's test-time optimisation (pose and time of one video, as for a held-out camera) runs on each
of `--videos` (training videos) twice: once displaced by `--turn-deg` degrees, once pushed by
`--push-frames` frames. What is left of each displacement is reported. Both displacements are
undone when the signal is there; what remains measures how informative the field's gradient is.

This isolates the signal from the joint optimisation: in joint refinement the field also fits the
displaced videos while it trains (tests/e2e/test_refinement.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    RESULTS_DIR,
    TrainingRun,
    add_refinement_capture_arguments,
    humansync_trainer_config,
    machine_info,
    refinement_capture_changes,
    synthetic_data_folder,
    write_results,
)

TURN_AXIS = np.array([0.3, 0.9, 0.3]) / np.linalg.norm([0.3, 0.9, 0.3])


def residuals(model: Any, dataset: Any, video: int, push: Any, frame: float, steps: int) -> dict[str, float]:
    """Test-time optimisation of `video` displaced by `push`; what is left, in degrees and frames."""
    import torch

    from humansync_ns.body.rotations import rotation_angle_deg
    from humansync_ns.pipeline.test_time_optimization import TestTimeOptimizationConfig, corrected_cameras, optimize_video

    frames = torch.nonzero(model.image_to_video.cpu() == video).flatten()
    cameras = dataset.cameras[frames]
    images = torch.stack([dataset.get_image_float32(int(i))[..., :3] for i in frames])
    correction = optimize_video(model, corrected_cameras(cameras, push), images, TestTimeOptimizationConfig(steps=steps))
    rotation = correction.matrix()[:, :3] @ push.matrix()[:, :3]
    angle = float(rotation_angle_deg(np.eye(3), rotation.double().numpy()))  # correction after push vs identity
    return {
        "rotation_left_deg": angle,
        "time_left_frames": abs(correction.time_delta + push.time_delta) / frame,
        "loss_before": correction.loss_before,
        "loss_after": correction.loss_after,
    }


def measure(args: argparse.Namespace, data_dir: Path, time_resolution: int) -> dict[str, Any]:
    import torch

    from humansync_ns.pipeline.test_time_optimization import VideoCorrection

    config = humansync_trainer_config(
        data_dir,
        args.work / f"outputs_t{time_resolution}",
        steps=args.steps,
        overrides={
            "pipeline.model.time_resolution": time_resolution,
            "pipeline.model.pose_start_step": 10**9,  # the field learns; the calibration stays true
            "pipeline.model.time_offset_delay": 0,
            "pipeline.model.coarse_to_fine_end_step": args.steps // 4,
            "pipeline.datamanager.dataparser.eval_videos": (f"cam{args.cameras - 1:02d}",),
        },
    )
    run = TrainingRun(config, seed=args.seed)
    train_s = run.train(args.steps)
    model = run.model
    model.eval()
    frame = float(model.time_offsets.units_per_parameter[args.videos[0]])  # one frame in normalised time
    turn = VideoCorrection(tangent=torch.cat([torch.zeros(3), torch.as_tensor(TURN_AXIS * np.radians(args.turn_deg)).float()]), time_delta=0.0)
    push = VideoCorrection(tangent=torch.zeros(6), time_delta=args.push_frames * frame)
    per_video = []
    for video in args.videos:
        turned = residuals(model, run.pipeline.datamanager.train_dataset, video, turn, frame, args.tto_steps)
        pushed = residuals(model, run.pipeline.datamanager.train_dataset, video, push, frame, args.tto_steps)
        per_video.append({"video": video, "turned": turned, "pushed": pushed})
        print(
            f"time cells {time_resolution:4d} | video {video}: {args.turn_deg:.1f} deg -> {turned['rotation_left_deg']:.3f} deg left,"
            f" {args.push_frames:.1f} frames -> {pushed['time_left_frames']:.3f} frames left",
            flush=True,
        )
    return {
        "time_resolution": time_resolution,
        "time_cells_per_frame": time_resolution * frame,
        "train_s": train_s,
        "per_video": per_video,
        "mean_rotation_left_deg": float(np.mean([v["turned"]["rotation_left_deg"] for v in per_video])),
        "mean_time_left_frames": float(np.mean([v["pushed"]["time_left_frames"] for v in per_video])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-resolutions", type=int, nargs="+", default=[96, 24])
    parser.add_argument("--steps", type=int, default=400, help="training steps of each field")
    parser.add_argument("--tto-steps", type=int, default=150, help="test-time optimisation steps")
    parser.add_argument("--videos", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--cameras", type=int, default=6)
    add_refinement_capture_arguments(parser)
    parser.add_argument("--work", type=Path, default=Path("/tmp/humansync-bench/refinement_signal"))
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "refinement_signal.json")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    folder = synthetic_data_folder(args.work, refinement_capture_changes(args, args.cameras), calibration="ground_truth")
    results = [measure(args, folder["data_dir"], t) for t in args.time_resolutions]
    write_results(
        args.output,
        {
            "machine": machine_info("cpu"),
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "synth_config": folder["synth_config"],
            "results": results,
        },
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
