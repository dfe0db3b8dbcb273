"""Novel-view synthesis, the paper's Table 3 protocol on a synthetic capture: four variants trained
on the same capture, scored on a held-out camera over the training videos' common time span after
test-time optimisation, plus their refined calibration errors against the ground truth.

    .venv/bin/python benchmarks/bench_nvs.py --threads 1 --jobs 2   # CPU default, 3 seeds (~30 min on 2 cores): results/nvs.json + nvs.png
    .venv/bin/python benchmarks/bench_nvs.py --paper-scale   # `humansync` preset, bigger capture, 30k steps; GPU
    .venv/bin/python benchmarks/bench_nvs.py --tiny          # a minute or two: checks the harness only

Variants (all from one preset, `humansync-small` or `humansync` with `--paper-scale`, via dotted
overrides; no copied configs):
- oracle: ground-truth poses and offsets in the data folder, no refinement, no coarse-to-fine (K-Planes);
- syncnerf: ground-truth poses, every offset initialised to 0 and learned from step 0 (Sync-NeRF-like;
  no pose refinement, no coarse-to-fine). Starting at 0 is a handicap only when the true offsets are
  large, so the default capture's videos start up to 1.5 s (45 frames) apart, as unsynchronised as the
  paper's (30.6 frames off on average); the common span stays 2 s;
- ours_no_progressive: calibrated init (`calibrate` on the motion files; `--init paper` uses the
  paper's plain variant, whose errors are closer to the paper's Table 1 init), poses and offsets learned
  from step 0, no coarse-to-fine;
- ours: calibrated init, the preset's progressive schedule (field only, poses from s0, offsets from
  s0 + s1, Eq. 14 coarse-to-fine) fitted to `--steps` (`method_configs.fit_schedule`: s0, s1, the
  coarse-to-fine end, warm-ups and decays keep their fraction of the preset's run).

Held-out camera: the capture's last video (the dataparser default), one of 10 by default: with only
4 training cameras the held-out view is covered so sparsely that even the oracle renders it poorly
and test-time optimisation turns it, from its true pose, by degrees. Evaluation:
`HumanSyncPipeline.get_average_eval_image_metrics` (test-time optimisation of the held-out video's
pose and time offset, the field frozen; PSNR, SSIM; LPIPS only when its backbone weights are on
disk, else marked unavailable), on every `--eval-frame-stride`-th held-out frame in the common span.
Calibration errors (`humansync_ns.model.calibration_state.calibration_errors`, training videos,
Sim(3)-aligned camera centres, offsets in frames after removing the common offset) at step 0 ("init")
and after training ("refined"). Each variant trains in its own subprocess, once per `--seeds` entry
(`--jobs` of them at once): at this size retraining with another seed moves a variant's PSNR by up to
about a dB, as much as the differences between variants, so each comparison is made seed by seed
(same seed, same capture) and called measurable only when it stands out of that noise
(`make_results_md.measurably_better`).
`--degraded` applies per-video gamma 0.35…2.1 and pixel noise to the videos (Table 2's degraded
setting; the calibration is unchanged by it, see bench_calibration.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    RESULTS_DIR,
    machine_info,
    paired_by_seed,
    peak_rss_mb,
    resolve_device,
    seed_std,
    small_capture_changes,
    synthetic_data_folder,
    write_results,
)

VARIANTS = ("oracle", "syncnerf", "ours_no_progressive", "ours")
LABELS = {
    "oracle": "Oracle (GT poses & time)",
    "syncnerf": "Sync-NeRF-like (GT poses, offsets 0 → learned)",
    "ours_no_progressive": "Ours w/o progressive training",
    "ours": "Ours",
}
DATA_SOURCE = {"oracle": "ground_truth", "syncnerf": "ground_truth_zero_offsets", "ours_no_progressive": "calibrated", "ours": "calibrated"}


def data_source(variant: str, args: argparse.Namespace) -> str:
    """Where a variant's data folder gets its poses and offsets (`common.synthetic_data_folder`)."""
    source = DATA_SOURCE[variant]
    return args.init if source == "calibrated" else source
DEGRADED = {"gamma_range": (0.35, 2.1), "image_noise_sigma": 0.05}

SIZES: dict[str, dict[str, Any]] = {
    # cameras include the held-out one; steps per variant; videos start up to start_spread seconds apart
    # and share at least duration - start_spread seconds
    "tiny": dict(cameras=4, width=48, height=36, duration=1.5, start_spread=0.5, steps=40, rays=256, tto_steps=10, eval_frame_stride=8, seeds=[0]),
    "default": dict(cameras=10, width=64, height=48, duration=3.5, start_spread=1.5, steps=1000, rays=512, tto_steps=40, eval_frame_stride=4, seeds=[0, 1, 2]),
    "paper": dict(cameras=8, width=320, height=240, duration=6.0, start_spread=2.0, steps=30000, rays=4096, tto_steps=300, eval_frame_stride=1, seeds=[0]),
}
SEED_SPREAD_KEYS = ("psnr", "ssim", "psnr_dynamic", "psnr_before_tto")
"""Metrics whose spread over training seeds is reported (the noise a variant comparison must beat)."""


def time_offset_prior_override(preset_config: Any, weight: float) -> dict[str, Any]:
    """Override of the weight of the L1 pull of the time offsets toward their starting values
    (``time_offset_l1``; 0 asks what the photometric gradient alone does to them)."""
    coefficients = {**preset_config.pipeline.model.loss_coefficients, "time_offset_l1": float(weight)}
    return {"pipeline.model.loss_coefficients": coefficients}


def variant_overrides(variant: str, preset_config: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Dotted-path overrides of the preset for one variant, applied after its schedule is fitted to
    the run's length (`humansync_trainer_config(..., steps=...)`; "ours" keeps that schedule)."""
    common: dict[str, Any] = {
        "pipeline.datamanager.train_num_rays_per_batch": args.rays,
        "pipeline.datamanager.eval_num_rays_per_batch": args.rays,
        "pipeline.datamanager.dataparser.eval_frame_stride": args.eval_frame_stride,
        "pipeline.test_time_optimization.steps": args.tto_steps,
        "pipeline.test_time_optimization.rays_per_batch": args.rays,
        "pipeline.datamanager.importance_sampling": args.importance_sampling,
    }
    no_refinement = {"pipeline.model.camera_optimizer.mode": "off", "pipeline.model.time_offsets.enabled": False}
    from_step_zero = {
        "pipeline.model.pose_start_step": 0,
        "pipeline.model.time_offset_delay": 0,
    }
    if variant == "oracle":
        return {**common, **no_refinement, "pipeline.model.coarse_to_fine_end_step": 0}
    if variant == "syncnerf":
        # Sync-NeRF has no prior on its offsets, which start at zero here
        return {
            **common, **from_step_zero, **time_offset_prior_override(preset_config, 0.0),
            "pipeline.model.camera_optimizer.mode": "off", "pipeline.model.coarse_to_fine_end_step": 0,
        }
    if variant == "ours_no_progressive":
        return {**common, **from_step_zero, "pipeline.model.coarse_to_fine_end_step": 0}
    if variant == "ours":
        return common
    raise ValueError(f"unknown variant {variant!r}; choose from {VARIANTS}")


def _preset(paper_scale: bool):
    from humansync_ns import method_configs

    return (method_configs.humansync_method if paper_scale else method_configs.humansync_small_method).config


def worker(args: argparse.Namespace) -> dict:
    """Train and evaluate one variant in this (fresh) process."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from common import TrainingRun, humansync_trainer_config, training_view_psnr
    from humansync_ns.model.calibration_state import calibration_errors

    variant = args.worker
    overrides = variant_overrides(variant, _preset(args.paper_scale), args)
    config = humansync_trainer_config(
        args.data_dir, args.work_dir / f"outputs_{variant}_seed{args.seed}", paper_scale=args.paper_scale, device=args.device,
        steps=args.steps, overrides=overrides,
    )
    run = TrainingRun(config, seed=args.seed)
    cameras = run.pipeline.datamanager.train_dataset.cameras
    init_errors = calibration_errors(run.model, cameras)
    curve = []
    every = max(1, args.steps // 10)
    while run.step < args.steps:
        run.train(min(every, args.steps - run.step))
        errors = calibration_errors(run.model, cameras)
        curve.append({"step": run.step, "train_s": run.train_s, **errors})
        print(f"{variant} seed {args.seed} step {run.step}: {errors} ({run.train_s:.0f} s)", file=sys.stderr, flush=True)
    refined_errors = calibration_errors(run.model, cameras)
    n = len(run.pipeline.datamanager.train_dataset)
    train_psnr = training_view_psnr(run, [int(i * n / 4 + n / 8) for i in range(4)])
    start = time.perf_counter()
    metrics = run.pipeline.get_average_eval_image_metrics(get_std=True)
    eval_s = time.perf_counter() - start
    corrections = {
        name: {"rotation_deg": c.rotation_rad * 57.29577951308232, "translation_scene": c.translation, "time_delta_norm": c.time_delta}
        for name, c in run.pipeline.test_time_corrections.items()
    }
    lpips_available = bool(run.pipeline.image_metrics.lpips_available)
    return {
        "variant": variant,
        "seed": args.seed,
        "label": LABELS[variant],
        "data_source": data_source(variant, args),
        "overrides": {k: v for k, v in overrides.items()},
        "steps": run.step,
        "train_s": run.train_s,
        "seconds_per_step": run.train_s / max(run.step, 1),
        "eval_s": eval_s,
        "metrics": metrics,
        "lpips": "available" if lpips_available else "unavailable (no backbone weights on disk)",
        "train_view_psnr": train_psnr,
        "calibration_init": init_errors,
        "calibration_refined": refined_errors,
        "calibration_curve": curve,
        "test_time_corrections": corrections,
        "refines_calibration": variant != "oracle",
        "peak_rss_mb": peak_rss_mb(),
        "cuda_max_allocated_mb": torch.cuda.max_memory_allocated() / 2**20 if args.device.startswith("cuda") else None,
    }


def run_worker(variant: str, seed: int, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__] + args.passthrough + [
        "--worker", variant, "--seed", str(seed), "--data-dir", str(args.data_dirs[data_source(variant, args)])]
    print(f"[bench_nvs] {variant} seed {seed} ...", flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=None if args.verbose else subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"variant {variant} (seed {seed}) failed:\n{(result.stderr or '')[-4000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - start
    m = out["metrics"]
    print(f"[bench_nvs] {variant} seed {seed}: PSNR {m.get('psnr', float('nan')):.2f} SSIM {m.get('ssim', float('nan')):.3f} "
          f"refined {out['calibration_refined']} ({out['wall_s']:.0f} s)", flush=True)
    return out


PER_SEED_KEYS = ("seed", "metrics", "train_view_psnr", "calibration_refined", "calibration_curve", "test_time_corrections",
                 "train_s", "eval_s", "wall_s", "peak_rss_mb")


def aggregate(runs: list[dict]) -> dict:
    """One variant's entry from its runs (one per seed, same data and start): metrics, refined
    errors, training-view PSNR and test-time corrections averaged over the seeds, the metrics' spread
    over the seeds in `metrics_seed_std`, and every run's own numbers under `per_seed`."""
    runs = sorted(runs, key=lambda r: r["seed"])
    entry = {k: v for k, v in runs[0].items() if k not in PER_SEED_KEYS}
    entry["seeds"] = [r["seed"] for r in runs]
    entry["per_seed"] = [{k: r[k] for k in PER_SEED_KEYS if k in r} for r in runs]
    entry["metrics"] = {k: statistics.fmean([r["metrics"][k] for r in runs]) for k in runs[0]["metrics"]}
    entry["metrics_seed_std"] = {k: seed_std([r["metrics"][k] for r in runs]) for k in SEED_SPREAD_KEYS if k in runs[0]["metrics"]}
    entry["calibration_refined"] = {k: statistics.fmean([r["calibration_refined"][k] for r in runs]) for k in runs[0]["calibration_refined"]}
    entry["train_view_psnr"] = statistics.fmean([r["train_view_psnr"] for r in runs])
    entry["test_time_corrections"] = {
        video: {k: statistics.fmean([r["test_time_corrections"][video][k] for r in runs]) for k in correction}
        for video, correction in runs[0]["test_time_corrections"].items()
    }
    for key in ("train_s", "eval_s", "wall_s"):
        entry[key] = statistics.fmean([r[key] for r in runs])
    return entry


def compare(variants: dict[str, dict]) -> dict[str, Any]:
    """Ours minus each other variant, seed by seed (same seed, same capture): the mean difference and
    its spread, for whole-frame and moving-region PSNR, and the 1 dB target against the oracle."""
    if "ours" not in variants:
        return {}
    comparison: dict[str, Any] = {}
    for other in ("oracle", "syncnerf", "ours_no_progressive"):
        if other not in variants:
            continue
        for key in ("psnr", "psnr_dynamic"):
            difference = paired_by_seed(variants["ours"]["per_seed"], variants[other]["per_seed"], key)
            if difference is not None:
                comparison[f"ours_minus_{other}_{key}"] = difference["mean"]
                comparison[f"ours_minus_{other}_{key}_seed_std"] = difference["seed_std"]
                comparison[f"ours_minus_{other}_{key}_seeds"] = difference["seeds"]
    if "ours_minus_oracle_psnr" in comparison:
        comparison["target_ours_within_1db_of_oracle"] = comparison["ours_minus_oracle_psnr"] >= -1.0
    return comparison


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = [v for v in VARIANTS if v in results["variants"]]
    keys = [("psnr", "PSNR (dB)"), ("ssim", "SSIM")]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    colours = {"oracle": "tab:gray", "syncnerf": "tab:orange", "ours_no_progressive": "tab:red", "ours": "tab:blue"}
    for ax, (key, label) in zip(axes[:2], keys):
        values = [results["variants"][v]["metrics"].get(key, float("nan")) for v in variants]
        # error bars: spread over training seeds when there are several, else over the held-out frames
        errors = [results["variants"][v].get("metrics_seed_std", {}).get(key) or results["variants"][v]["metrics"].get(f"{key}_std", 0.0)
                  for v in variants]
        ax.bar(range(len(variants)), values, yerr=errors, color=[colours[v] for v in variants], capsize=3)
        ax.set_xticks(range(len(variants)), [LABELS[v].split(" (")[0] for v in variants], rotation=15, fontsize=8)
        ax.set_title(f"held-out camera, after test-time opt.: {label}")
        if key == "psnr":
            ax.set_ylim(min(values) - 3, max(values) + 1.5)
        for i, value in enumerate(values):
            ax.text(i, value, f"{value:.2f}" if key == "psnr" else f"{value:.3f}", ha="center", va="bottom", fontsize=8)
    ax = axes[2]
    for v in variants:
        entry = results["variants"][v]
        for i, run in enumerate(entry["per_seed"]):
            curve = run["calibration_curve"]
            if curve and "time_offset_error_frames" in curve[0] and entry["refines_calibration"]:
                steps = [0] + [c["step"] for c in curve]
                ax.plot(steps, [entry["calibration_init"].get("time_offset_error_frames")] + [c["time_offset_error_frames"] for c in curve],
                        "o-", ms=3, color=colours[v], label=LABELS[v].split(" (")[0] if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("time offset error (frames)")
    ax.set_title("training videos' offset error (a line per seed)")
    ax.legend(fontsize=7)
    fig.suptitle(f"synthetic capture {results['settings']['cameras']} cameras, {results['settings']['width']}x{results['settings']['height']}, "
                 f"{results['settings']['steps']} steps/variant, seeds {results['settings']['seeds']} ({results['machine']['device']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--paper-scale", action="store_true", help="`humansync` preset, 8 cameras 320x240, 30k steps (GPU)")
    size.add_argument("--tiny", action="store_true", help="minimal sizes, to check the harness")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads per process (default: torch's); 1 avoids oversubscription on a shared machine")
    parser.add_argument("--device", default="auto")
    for name in ("cameras", "width", "height", "steps", "rays", "tto_steps", "eval_frame_stride"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None, help=f"default: see SIZES ({SIZES['default'][name]})")
    parser.add_argument("--duration", type=float, default=None, help=f"seconds of video (default {SIZES['default']['duration']})")
    parser.add_argument("--start-spread", type=float, default=None,
                        help=f"videos start up to this many seconds apart (default {SIZES['default']['start_spread']}); the "
                             "paper's Panoptic videos are 30.6 frames (1 s) off on average, and a Sync-NeRF-like start at "
                             "offset 0 is only a handicap when the true offsets are that large")
    parser.add_argument("--capture-seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help=f"torch seeds: each variant trains once per seed and the comparisons are paired by seed "
                             f"(default {SIZES['default']['seeds']}; one seed for --tiny and --paper-scale)")
    parser.add_argument("--jobs", type=int, default=1, help="trainings at once, each in its own process (2 with --threads 1 on 2 cores)")
    parser.add_argument("--degraded", action="store_true", help="gamma 0.35-2.1 and pixel noise on the videos")
    parser.add_argument("--init", choices=["improved", "paper"], default="improved",
                        help="calibration of the 'ours' variants: our default, or CalibrationConfig.paper() (the "
                             "paper's plain Sec. 3.2, a few degrees off like the paper's Table 1 init)")
    parser.add_argument("--importance-sampling", action="store_true",
                        help="sample the pixels that change over time (the people) more often, every variant alike")
    parser.add_argument("--verbose", action="store_true", help="show the variants' progress")
    parser.add_argument("--work-dir", type=Path, default=None, help="default /tmp/humansync_bench_nvs[_tiny|_paper][_degraded]")
    parser.add_argument("--output", type=Path, default=None,
                        help="default results/nvs.json (nvs_paper.json, *_degraded.json); --tiny: inside --work-dir")
    parser.add_argument("--worker", choices=VARIANTS, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)  # the worker's seed
    parser.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size_name = "paper" if args.paper_scale else "tiny" if args.tiny else "default"
    for name, value in SIZES[size_name].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    suffix = ("" if size_name == "default" else f"_{size_name}") + ("_degraded" if args.degraded else "") + ("_paperinit" if args.init == "paper" else "")
    args.size = size_name
    args.work_dir = args.work_dir or Path(f"/tmp/humansync_bench_nvs{suffix}")
    # --tiny only checks the harness: its numbers mean nothing, so they stay out of results/
    args.output = args.output or (args.work_dir if size_name == "tiny" else RESULTS_DIR) / f"nvs{suffix}.json"
    args.device = resolve_device(args.device)
    return args


def main() -> None:
    args = parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args)))
        return
    start = time.perf_counter()
    changes = {
        **small_capture_changes(args.capture_seed, args.cameras, args.width, args.height, args.duration),
        "start_spread_s": args.start_spread,
        **(DEGRADED if args.degraded else {}),
    }
    sources = sorted({data_source(v, args) for v in args.variants})
    data = {source: synthetic_data_folder(args.work_dir / "capture", changes, calibration=source) for source in sources}
    args.data_dirs = {source: d["data_dir"] for source, d in data.items()}
    args.passthrough = [a for a in sys.argv[1:]]
    import torch  # noqa: F401  (machine_info records its version)

    results: dict = {
        "benchmark": "novel-view synthesis, Table 3 protocol (synthetic capture)",
        "machine": machine_info(args.device),
        "settings": {k: v for k, v in vars(args).items() if k not in ("passthrough", "worker", "data_dir")},
        "capture": {"synth_config": next(iter(data.values()))["synth_config"],
                    "held_out": "last video (dataparser default)",
                    "calibration_process_s": {s: d["process_s"] for s, d in data.items()}},
        "variants": {},
    }
    runs: dict[str, list[dict]] = {variant: [] for variant in args.variants}
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [(variant, pool.submit(run_worker, variant, seed, args)) for variant in args.variants for seed in args.seeds]
        for variant, future in futures:
            runs[variant].append(future.result())
            if len(runs[variant]) == len(args.seeds):
                results["variants"][variant] = aggregate(runs[variant])
                write_results(args.output, results)  # partial results survive an interruption
    v = results["variants"]
    results["comparison"] = compare(v)
    results["benchmark_seconds"] = time.perf_counter() - start
    write_results(args.output, results)
    plot(results, args.output.with_suffix(".png"))
    print(f"means over seeds {args.seeds}")
    print(f"{'variant':22s} {'PSNR':>6s} {'SSIM':>6s} {'rot °':>7s} {'trans m':>8s} {'time fr':>8s}")
    for name, entry in v.items():
        m, c = entry["metrics"], entry["calibration_refined"]
        print(f"{name:22s} {m.get('psnr', float('nan')):6.2f} {m.get('ssim', float('nan')):6.3f} {c.get('rotation_error_deg', float('nan')):7.3f} "
              f"{c.get('translation_error', float('nan')):8.4f} {c.get('time_offset_error_frames', float('nan')):8.3f}")
    print(f"wrote {args.output} and {args.output.with_suffix('.png')} ({results['benchmark_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
