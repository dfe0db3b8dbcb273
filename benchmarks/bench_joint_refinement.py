"""Joint refinement from a known wrong start, by number of cameras: does training undo the errors?

    .venv/bin/python benchmarks/bench_joint_refinement.py --threads 1   # CPU, ~25 min: results/joint_refinement.{json,png}

For each `--cameras` entry: a noise-free synthetic capture with that many static cameras, processed
with its *true* calibration displaced by `humansync_ns.calibration.displace` (two cameras turned by
±`--turn-deg`, two videos pushed by ±`--push-frames`; the last camera is held out). `humansync-small`
then trains `--steps` steps with its progressive schedule fitted to the run (bench_nvs' "ours"), and
every `--log-every` steps the per-video errors against the ground truth are recorded
(`model.calibration_state.per_video_calibration_errors`). The offsets train without the preset's
pull toward their starting values unless `--time-offset-l1` sets its weight, so by default the
question is what the photometric gradient alone does.

Reported per camera count: each displaced video's error at the start and the end, and how far the
videos that started correct drifted. This is issue 5's acceptance question at benchmark size; the
e2e test asks it at CI size (6 cameras, 400 steps), and `bench_refinement_signal.py` shows that a
field trained at the true calibration, frozen, undoes the same turns (its time signal is weaker and
fragile).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_nvs import time_offset_prior_override, variant_overrides  # noqa: E402
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

TURNED = ("cam02", "cam04")
PUSHED = ("cam01", "cam03")


def displaced_data_folder(args: argparse.Namespace, cameras: int) -> dict[str, Any]:
    """The capture's data folder with the displaced calibration (cached under `--work`)."""
    from humansync_ns.calibration.calibration_io import load_calibration, save_calibration
    from humansync_ns.calibration.displace import displace_calibration
    from humansync_ns.processing.process import process_capture

    folder = synthetic_data_folder(args.work / f"cameras{cameras}", refinement_capture_changes(args, cameras), calibration="ground_truth")
    turns = {TURNED[0]: args.turn_deg, TURNED[1]: -args.turn_deg}
    pushes = {PUSHED[0]: args.push_frames, PUSHED[1]: -args.push_frames}
    start = displace_calibration(load_calibration(folder["ground_truth"]), turns, pushes)
    data_dir = args.work / f"cameras{cameras}" / f"data_displaced_{args.turn_deg:g}deg_{args.push_frames:g}frames"
    if not (data_dir / "transforms.json").is_file():
        calibration_path = save_calibration(start, data_dir.parent / f"{data_dir.name}_calibration.json")
        process_capture(
            folder["capture_dir"] / "videos", data_dir, calibration_path=calibration_path,
            ground_truth_path=folder["ground_truth"], num_downscales=0,
        )
    return {**folder, "data_dir": data_dir, "turns_deg": turns, "pushes_frames": pushes}


def run_one(args: argparse.Namespace, cameras: int) -> dict[str, Any]:
    from humansync_ns import method_configs
    from humansync_ns.model.calibration_state import per_video_calibration_errors

    preset = method_configs.humansync_small_method.config
    folder = displaced_data_folder(args, cameras)
    config = humansync_trainer_config(
        folder["data_dir"],
        args.work / f"cameras{cameras}" / "outputs",
        steps=args.steps,
        overrides={
            **variant_overrides("ours", preset, SimpleNamespace(rays=args.rays, eval_frame_stride=4, tto_steps=0, importance_sampling=False)),
            **time_offset_prior_override(preset, args.time_offset_l1),
            "pipeline.model.time_resolution": args.time_resolution,
            "pipeline.datamanager.dataparser.eval_videos": (f"cam{cameras - 1:02d}",),
        },
    )
    run = TrainingRun(config, seed=args.seed)
    train_cameras = run.pipeline.datamanager.train_dataset.cameras
    trajectory = [{"step": 0, "per_video": per_video_calibration_errors(run.model, train_cameras)}]
    while run.step < args.steps:
        run.train(min(args.log_every, args.steps - run.step))
        trajectory.append({"step": run.step, "per_video": per_video_calibration_errors(run.model, train_cameras)})
        print(f"{cameras} cameras | {summary_line(trajectory[-1])}", flush=True)
    return {
        "cameras": cameras,
        "train_s": run.train_s,
        "turns_deg": folder["turns_deg"],
        "pushes_frames": folder["pushes_frames"],
        "schedule": {k: getattr(config.pipeline.model, k) for k in ("pose_start_step", "time_offset_delay", "coarse_to_fine_end_step")},
        "trajectory": trajectory,
        "summary": summarize(trajectory),
    }


def summarize(trajectory: list[dict[str, Any]]) -> dict[str, Any]:
    """Start and end error of each displaced video; mean end error of the others (their drift)."""
    start, end = trajectory[0]["per_video"], trajectory[-1]["per_video"]
    others = [name for name in end if name not in TURNED + PUSHED]
    return {
        "turned_rotation_deg": {n: {"start": start[n]["rotation_error_deg"], "end": end[n]["rotation_error_deg"]} for n in TURNED},
        "pushed_time_frames": {n: {"start": start[n]["time_offset_error_frames"], "end": end[n]["time_offset_error_frames"]} for n in PUSHED},
        "others_rotation_end_deg": float(np.mean([end[n]["rotation_error_deg"] for n in others])),
        "others_time_end_frames": float(np.mean([end[n]["time_offset_error_frames"] for n in others])),
    }


def summary_line(entry: dict[str, Any]) -> str:
    errors = entry["per_video"]
    turned = " ".join(f"{n} {errors[n]['rotation_error_deg']:.2f}°" for n in TURNED)
    pushed = " ".join(f"{n} {errors[n]['time_offset_error_frames']:.2f} fr" for n in PUSHED)
    return f"step {entry['step']:5d} | turned: {turned} | pushed: {pushed}"


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 2, figsize=(10, 3.2 * len(results)), squeeze=False)
    for row, result in zip(axes, results):
        steps = [entry["step"] for entry in result["trajectory"]]
        names = list(result["trajectory"][-1]["per_video"])
        for ax, key, displaced, unit in (
            (row[0], "rotation_error_deg", TURNED, "rotation error (°)"),
            (row[1], "time_offset_error_frames", PUSHED, "time error (frames)"),
        ):
            for name in names:
                values = [entry["per_video"][name][key] for entry in result["trajectory"]]
                if name in displaced:
                    ax.plot(steps, values, lw=2, label=f"{name} (displaced)")
                else:
                    ax.plot(steps, values, lw=0.8, color="0.6")
            ax.set_title(f"{result['cameras']} cameras: {unit}")
            ax.set_xlabel("training step")
            ax.axhline(0, color="k", lw=0.5)
            ax.legend(fontsize=8)
    fig.suptitle("Joint refinement from a displaced start (grey: videos that started correct)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, nargs="+", default=[6, 16, 24])
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--rays", type=int, default=1024)
    parser.add_argument("--time-resolution", type=int, default=24, help="time cells (<= 1 per frame: refinement_signal)")
    parser.add_argument(
        "--time-offset-l1", type=float, default=0.0,
        help="weight of the offsets' pull toward their start: 0 leaves the pushed videos free to move; "
        "humansync-small's preset uses 1e-4 (e.g. with --output results/joint_refinement_prior.json)",
    )
    add_refinement_capture_arguments(parser)
    parser.add_argument("--work", type=Path, default=Path("/tmp/humansync-bench/joint_refinement"))
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "joint_refinement.json")
    args = parser.parse_args()
    if min(args.cameras) < 6:
        parser.error("--cameras: at least 6 (cam01-cam04 are displaced, the last camera is held out)")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    results = [run_one(args, cameras) for cameras in args.cameras]
    plot(results, args.output.with_suffix(".png"))
    write_results(
        args.output,
        {
            "machine": machine_info("cpu"),
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "results": results,
        },
    )
    print(f"wrote {args.output} and {args.output.with_suffix('.png')}")


if __name__ == "__main__":
    main()
