"""Data-path benchmark of humansync-data: peak RSS and rays/s for a 30 videos × 300 frames capture,
and the effect of dynamic-pixel importance sampling.

    .venv/bin/python benchmarks/bench_data.py            # writes benchmarks/results/data.json

The capture is procedural (`humansync_ns.processing.procedural`: a static background per camera and
a disc moving with global time), written straight into a data folder (images/ + transforms.json).
Each measurement runs `HumanSyncDataManager.next_train` in a fresh subprocess so its peak RSS
(`ru_maxrss`) is its own. Targets (issue 4): peak RSS < 4 GB; data loading never the bottleneck of
a CPU training step (≈ 1.7 s per 1024 rays for nerfacto on this machine, shared/notes).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, machine_info, write_results  # noqa: E402

CPU_TRAIN_STEP_S_PER_1024_RAYS = 1.7
"""nerfacto (torch implementation) on this 2-core machine, 1024 rays/step (shared/notes)."""
RSS_TARGET_MB = 4096


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def generate(args: argparse.Namespace) -> dict:
    """Writes the procedural data folder once (a stamp file records the parameters)."""
    from humansync_ns.processing.procedural import procedural_calibration, write_procedural_transforms_folder

    stamp = {"videos": args.videos, "frames": args.frames, "width": args.width, "height": args.height, "version": 1}
    stamp_path = args.data_dir / "bench_stamp.json"
    if stamp_path.is_file() and json.loads(stamp_path.read_text()) == stamp:
        return {"generated": False, "seconds": 0.0}
    shutil.rmtree(args.data_dir, ignore_errors=True)
    start = time.perf_counter()
    calibration = procedural_calibration(args.videos, args.frames, fps=30.0, width=args.width, height=args.height, seed=0)
    write_procedural_transforms_folder(args.data_dir, calibration)
    stamp_path.write_text(json.dumps(stamp))
    return {"generated": True, "seconds": time.perf_counter() - start}


def worker(args: argparse.Namespace) -> dict:
    """One measurement in this (fresh) process; prints its JSON result."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    rss_start = _peak_rss_mb()
    from humansync_ns.dataparser.humansync_datamanager import HumanSyncDataManagerConfig
    from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig
    from humansync_ns.processing.procedural import procedural_disc_mask, procedural_dynamic_mask

    rss_imports = _peak_rss_mb()
    importance = args.worker == "importance"
    if importance:
        shutil.rmtree(args.data_dir / "pixel_weights", ignore_errors=True)  # time the one-off computation
    start = time.perf_counter()
    config = HumanSyncDataManagerConfig(
        dataparser=HumanSyncDataParserConfig(data=args.data_dir),
        train_num_rays_per_batch=args.rays,
        train_num_images_to_sample_from=args.subset,
        train_num_times_to_repeat_images=args.repeat,
        cache_max_bytes=args.cache_mb << 20,
        importance_sampling=importance,
    )
    manager = config.setup(device="cpu", test_mode="val")
    setup_s = time.perf_counter() - start
    rss_setup = _peak_rss_mb()

    batch_times, rotation_times, kept = [], [], []
    for step in range(args.steps):
        misses = manager.frame_cache.stats.misses
        tic = time.perf_counter()
        _, batch = manager.next_train(step)
        elapsed = time.perf_counter() - tic
        (rotation_times if manager.frame_cache.stats.misses > misses else batch_times).append(elapsed)
        if step % 5 == 0:
            kept.append(batch["indices"].clone())
    total_s = sum(batch_times) + sum(rotation_times)
    rss_peak = _peak_rss_mb()

    dataset = manager.train_dataset
    meta = dataset.metadata
    names = meta["video_names"]
    indices = torch.cat(kept)
    hits = 0
    video_of_ray = meta["video_index"][indices[:, 0]].numpy()
    for v in np.unique(video_of_ray):
        rows = np.flatnonzero(meta["video_index"].numpy() == v)
        offset = float(meta["time_offset_init_s"][v])
        times = meta["local_time_s"][rows].numpy() + offset
        width, height = int(dataset.cameras.width[rows[0]]), int(dataset.cameras.height[rows[0]])
        mask = torch.from_numpy(procedural_dynamic_mask(int(v), times, width, height))
        mine = indices[torch.from_numpy(video_of_ray == v)]
        hits += int(mask[mine[:, 1], mine[:, 2]].sum())
    on_disc = 0  # rays on the disc in their own frame (what is moving at that instant)
    global_time = meta["local_time_s"].numpy() + meta["time_offset_init_s"].numpy()[meta["video_index"].numpy()]
    for camera in indices[:, 0].unique().tolist():
        mine = indices[indices[:, 0] == camera]
        width, height = int(dataset.cameras.width[camera]), int(dataset.cameras.height[camera])
        disc = torch.from_numpy(procedural_disc_mask(int(meta["video_index"][camera]), float(global_time[camera]), width, height))
        on_disc += int(disc[mine[:, 1], mine[:, 2]].sum())
    frame_bytes = int(dataset.cameras.width[0]) * int(dataset.cameras.height[0]) * 3
    return {
        "mode": args.worker,
        "train_images": len(dataset),
        "videos": len(names),
        "setup_s": setup_s,
        "steps": args.steps,
        "rays_per_batch": args.rays,
        "rays_per_s": args.steps * args.rays / total_s,
        "batch_ms_without_rotation": 1000 * float(np.mean(batch_times)) if batch_times else None,
        "rotations": len(rotation_times),
        "rotation_ms_mean": 1000 * float(np.mean(rotation_times)) if rotation_times else None,
        "frames_decoded": manager.frame_cache.stats.misses,
        "cache_peak_mb": manager.frame_cache.stats.peak_bytes / 2**20,
        "cache_bound_mb": args.cache_mb,
        "rss_mb": {"after_torch_import": rss_start, "after_imports": rss_imports, "after_setup": rss_setup, "peak": rss_peak},
        "all_frames_uint8_gb": len(dataset) * frame_bytes / 2**30,
        "all_frames_float32_gb": 4 * len(dataset) * frame_bytes / 2**30,
        "dynamic_ray_fraction": hits / len(indices),
        "on_moving_disc_fraction": on_disc / len(indices),
        "dynamic_ray_sample_size": len(indices),
    }


def run_worker(mode: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", mode, "--data-dir", str(args.data_dir), "--steps", str(args.steps),
               "--rays", str(args.rays), "--subset", str(args.subset), "--repeat", str(args.repeat),
               "--cache-mb", str(args.cache_mb)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"worker {mode} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=30)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--height", type=int, default=270)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/humansync_bench_data"))
    parser.add_argument("--steps", type=int, default=300, help="training batches per measurement")
    parser.add_argument("--rays", type=int, default=4096)
    parser.add_argument("--subset", type=int, default=64, help="frames per rotating subset")
    parser.add_argument("--repeat", type=int, default=5, help="batches per subset (low: stresses decoding)")
    parser.add_argument("--cache-mb", type=int, default=1024)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "data.json")
    parser.add_argument("--worker", choices=["uniform", "importance"], default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args)))
        return

    machine = machine_info()
    generation = generate(args)
    uniform = run_worker("uniform", args)
    importance = run_worker("importance", args)
    data_s_per_1024 = 1024 / uniform["rays_per_s"]
    results = {
        "machine": machine,
        "capture": {"videos": args.videos, "frames_per_video": args.frames, "width": args.width, "height": args.height,
                    "generation": generation, "data_dir": str(args.data_dir)},
        "settings": {"rays_per_batch": args.rays, "subset_frames": args.subset, "batches_per_subset": args.repeat,
                     "cache_mb": args.cache_mb, "steps": args.steps},
        "uniform": uniform,
        "importance": importance,
        "targets": {
            "peak_rss_mb": max(uniform["rss_mb"]["peak"], importance["rss_mb"]["peak"]),
            "peak_rss_target_mb": RSS_TARGET_MB,
            "data_s_per_1024_rays": data_s_per_1024,
            "cpu_train_step_s_per_1024_rays": CPU_TRAIN_STEP_S_PER_1024_RAYS,
            "data_fraction_of_cpu_step": data_s_per_1024 / (data_s_per_1024 + CPU_TRAIN_STEP_S_PER_1024_RAYS),
        },
        "importance_effect": {
            "dynamic_fraction_uniform": uniform["dynamic_ray_fraction"],
            "dynamic_fraction_importance": importance["dynamic_ray_fraction"],
            "ratio": importance["dynamic_ray_fraction"] / max(uniform["dynamic_ray_fraction"], 1e-12),
            "on_moving_disc_fraction_uniform": uniform["on_moving_disc_fraction"],
            "on_moving_disc_fraction_importance": importance["on_moving_disc_fraction"],
            "definitions": "dynamic: pixel covered by the moving disc at some frame of its video (the weights' "
                           "target); on_moving_disc: covered in the ray's own frame",
        },
    }
    write_results(args.output, results)
    print(json.dumps({"targets": results["targets"], "importance_effect": results["importance_effect"]}, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
