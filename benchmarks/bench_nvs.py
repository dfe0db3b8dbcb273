"""Novel-view synthesis, the paper's Table 3 protocol on a synthetic capture: four variants trained
on the same capture, scored on a held-out camera over the training videos' common time span after
test-time optimisation, plus their refined calibration errors against the ground truth.

    .venv/bin/python benchmarks/bench_nvs.py --threads 1 --jobs 2   # dome, 3 seeds: results/nvs.json + nvs.png + nvs_frames.png
    .venv/bin/python benchmarks/bench_nvs.py --threads 1 --jobs 2 --rig ring   # sparse 8-camera ring: results/nvs_sparse.json
    .venv/bin/python benchmarks/bench_nvs.py --paper-scale   # `humansync` preset, 320x240, 30k steps; GPU
    .venv/bin/python benchmarks/bench_nvs.py --tiny          # a few minutes: checks the harness only (output under /tmp)

Rigs (`--rig`, `SynthConfig`'s presets): dome (default; `SynthConfig.panoptic_like()`, 30 cameras
like the paper's CMU Panoptic runs: 29 training + the last held out), stage
(`mobile_stage_like()`, 20 cameras) and ring (`sparse_ring()`, 8 cameras: the sparse case where
the method stops working; results in `nvs_sparse.json` beside the dome's). The default size is
the demo's run (`field_eval.demo_run`: its 160x120 capture trained at half resolution through the
dataparser's `downscale_factor`, its step count, test-time optimisation and eval stride; the demo's
capture seed), so the table speaks for what `make demo` shows.

Variants (all from one preset, `humansync-small` or `humansync` with `--paper-scale`, via dotted
overrides; no copied configs):
- oracle: ground-truth poses and offsets in the data folder, no refinement, no coarse-to-fine (K-Planes);
- syncnerf: ground-truth poses, every offset initialised to 0 and learned from step 0 (Sync-NeRF-like;
  no pose refinement, no coarse-to-fine). Starting at 0 is a handicap only when the true offsets are
  large, so the capture's videos start up to 1.5 s (45 frames) apart, as unsynchronised as the
  paper's (30.6 frames off on average);
- ours_no_progressive: calibrated init (`calibrate` on the motion files; `--init paper` uses the
  paper's plain variant, whose errors are closer to the paper's Table 1 init), poses and offsets learned
  from step 0, no coarse-to-fine;
- ours: calibrated init, the preset's progressive schedule (field only, poses from s0, offsets from
  s0 + s1, Eq. 14 coarse-to-fine) fitted to `--steps` (`method_configs.fit_schedule`: s0, s1, the
  coarse-to-fine end, warm-ups and decays keep their fraction of the preset's run).
`--set DOTTED.KEY=VALUE` (repeatable) changes every variant alike (e.g. the field options the demo
uses), after the shared sizes and before the variant's own overrides, which it may not touch.

Held-out camera: the capture's last video (the dataparser default). Evaluation
(`field_eval.train_and_evaluate`): `HumanSyncPipeline.get_average_eval_image_metrics` (test-time
optimisation of the held-out video's pose and time offset, the field frozen; PSNR, SSIM, PSNR over
the moving region; LPIPS only when its backbone weights are on disk, else marked unavailable), on
every `--eval-frame-stride`-th held-out frame in the common span. Calibration errors
(`humansync_ns.model.calibration_state.calibration_errors`, training videos, Sim(3)-aligned camera
centres, offsets in frames after removing the common offset) at step 0 ("init") and after training
("refined"). Each variant trains in its own subprocess, once per `--seeds` entry (`--jobs` of them
at once): retraining with another seed moves a variant's PSNR by up to about a dB on small
captures, so each comparison is made seed by seed (same seed, same capture) and called measurable
only when it stands out of that noise (`make_results_md.measurably_better`). The first seed's runs
save their held-out frames; `<results>_frames.png` shows them side by side with the ground truth.
`--degraded` applies per-video gamma 0.35…2.1 and pixel noise to the videos (Table 2's degraded
setting; the calibration is unchanged by it, see bench_calibration.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS_DIR, machine_info, paired_by_seed, resolve_device, synthetic_data_folder, write_results  # noqa: E402
import field_eval  # noqa: E402

VARIANTS = ("oracle", "syncnerf", "ours_no_progressive", "ours")
LABELS = {
    "oracle": "Oracle (GT poses & time)",
    "syncnerf": "Sync-NeRF-like (GT poses, offsets 0 → learned)",
    "ours_no_progressive": "Ours w/o progressive training",
    "ours": "Ours",
}
FRAME_ROWS = {"oracle": "oracle", "syncnerf": "Sync-NeRF-like", "ours": "ours", "ours_no_progressive": "ours w/o progressive"}
"""Rows of the frames PNG, in this order, under the ground truth."""
DATA_SOURCE = {"oracle": "ground_truth", "syncnerf": "ground_truth_zero_offsets", "ours_no_progressive": "calibrated", "ours": "calibrated"}
RIGS = {"dome": ("panoptic_like", ""), "stage": ("mobile_stage_like", "_stage"), "ring": ("sparse_ring", "_sparse")}
"""--rig → the `SynthConfig` preset giving its camera count, and the results file's suffix."""
DEGRADED = {"gamma_range": (0.35, 2.1), "image_noise_sigma": 0.05}
PAPER_RUN: dict[str, Any] = dict(cameras=None, capture_seed=0, width=320, height=240, downscale=1, duration=6.0, start_spread=2.0, steps=30000,
                                 rays=4096, tto_steps=300, eval_frame_stride=1, seeds=[0])


def data_source(variant: str, args: argparse.Namespace) -> str:
    """Where a variant's data folder gets its poses and offsets (`common.synthetic_data_folder`)."""
    source = DATA_SOURCE[variant]
    return args.init if source == "calibrated" else source


def time_offset_prior_override(preset_config: Any, weight: float) -> dict[str, Any]:
    """Override of the weight of the L1 pull of the time offsets toward their starting values
    (``time_offset_l1``; 0 asks what the photometric gradient alone does to them)."""
    coefficients = {**preset_config.pipeline.model.loss_coefficients, "time_offset_l1": float(weight)}
    return {"pipeline.model.loss_coefficients": coefficients}


def own_overrides(variant: str, preset_config: Any) -> dict[str, Any]:
    """The overrides that make a variant what it is (`--set` may not change them)."""
    no_refinement = {"pipeline.model.camera_optimizer.mode": "off", "pipeline.model.time_offsets.enabled": False}
    from_step_zero = {"pipeline.model.pose_start_step": 0, "pipeline.model.time_offset_delay": 0}
    if variant == "oracle":
        return {**no_refinement, "pipeline.model.coarse_to_fine_end_step": 0}
    if variant == "syncnerf":
        # Sync-NeRF has no prior on its offsets, which start at zero here
        return {**from_step_zero, **time_offset_prior_override(preset_config, 0.0),
                "pipeline.model.camera_optimizer.mode": "off", "pipeline.model.coarse_to_fine_end_step": 0}
    if variant == "ours_no_progressive":
        return {**from_step_zero, "pipeline.model.coarse_to_fine_end_step": 0}
    if variant == "ours":
        return {}
    raise ValueError(f"unknown variant {variant!r}; choose from {VARIANTS}")


def variant_overrides(variant: str, preset_config: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Dotted-path overrides of the preset for one variant, applied after its schedule is fitted to
    the run's length (`humansync_trainer_config(..., steps=...)`; "ours" keeps that schedule): the
    shared sizes, then `--set`, then the variant's own."""
    shared = {**field_eval.run_overrides(args), **({} if args.paper_field else field_eval.demo_field_overrides())}
    return {**shared, **field_eval.parse_overrides(args.overrides), **own_overrides(variant, preset_config)}


def _preset(paper_scale: bool):
    from humansync_ns import method_configs

    return (method_configs.humansync_method if paper_scale else method_configs.humansync_small_method).config


def worker(args: argparse.Namespace) -> dict:
    """Train and evaluate one variant in this (fresh) process."""
    from common import humansync_trainer_config

    variant = args.worker
    overrides = variant_overrides(variant, _preset(args.paper_scale), args)
    config = humansync_trainer_config(
        args.data_dir, args.work_dir / f"outputs_{variant}_seed{args.seed}", paper_scale=args.paper_scale, device=args.device,
        steps=args.steps, overrides=overrides,
    )
    eval_images = args.work_dir / "eval_images" / variant if args.seed == args.seeds[0] else None
    result = field_eval.train_and_evaluate(config, seed=args.seed, steps=args.steps, threads=args.threads, name=variant, eval_images=eval_images)
    return {"variant": variant, "seed": args.seed, "label": LABELS[variant], "data_source": data_source(variant, args),
            "overrides": overrides, "refines_calibration": variant != "oracle", "eval_images": None if eval_images is None else str(eval_images), **result}


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
    keys = [("psnr", "PSNR (dB)"), ("psnr_dynamic", "moving-region PSNR (dB)"), ("ssim", "SSIM")]
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.2))
    colours = {"oracle": "tab:gray", "syncnerf": "tab:orange", "ours_no_progressive": "tab:red", "ours": "tab:blue"}
    for ax, (key, label) in zip(axes[:3], keys):
        values = [results["variants"][v]["metrics"].get(key, float("nan")) for v in variants]
        # error bars: spread over training seeds when there are several, else over the held-out frames
        errors = [results["variants"][v].get("metrics_seed_std", {}).get(key) or results["variants"][v]["metrics"].get(f"{key}_std", 0.0)
                  for v in variants]
        ax.bar(range(len(variants)), values, yerr=errors, color=[colours[v] for v in variants], capsize=3)
        ax.set_xticks(range(len(variants)), [LABELS[v].split(" (")[0] for v in variants], rotation=15, fontsize=8)
        ax.set_title(f"held-out camera, after test-time opt.: {label}")
        if key != "ssim":
            ax.set_ylim(min(values) - 3, max(values) + 1.5)
        for i, value in enumerate(values):
            ax.text(i, value, f"{value:.3f}" if key == "ssim" else f"{value:.2f}", ha="center", va="bottom", fontsize=8)
    ax = axes[3]
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
    s = results["settings"]
    fig.suptitle(f"synthetic capture: {s['rig']} of {s['cameras']} cameras, {s['width']}x{s['height']} trained at 1/{s['downscale']}, "
                 f"{s['steps']} steps/variant, seeds {s['seeds']} ({results['machine']['device']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--paper-scale", action="store_true", help="`humansync` preset, 320x240 at full resolution, 30k steps (GPU)")
    size.add_argument("--tiny", action="store_true", help="minimal sizes (a 6-camera rig), to check the harness")
    parser.add_argument("--rig", choices=list(RIGS), default="dome",
                        help="camera layout and its preset count: dome 30 (CMU Panoptic-like), stage 20 (Mobile-Stage-like), "
                             "ring 8 (sparse; results in nvs_sparse.json)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    field_eval.add_size_arguments(parser)
    field_eval.add_run_arguments(parser, VARIANTS)
    parser.add_argument("--degraded", action="store_true", help="gamma 0.35-2.1 and pixel noise on the videos")
    parser.add_argument("--init", choices=["improved", "paper"], default="improved",
                        help="calibration of the 'ours' variants: our default, or CalibrationConfig.paper() (the "
                             "paper's plain Sec. 3.2, a few degrees off like the paper's Table 1 init)")
    parser.add_argument("--paper-field", action="store_true",
                        help="train the paper's K-Planes field alone, without the demo's people focus "
                             "(method_configs.PEOPLE_FOCUS, which every variant gets by default); results in nvs*_paperfield.json")
    args = parser.parse_args(argv)
    size_name = "paper" if args.paper_scale else "tiny" if args.tiny else "default"
    field_eval.fill_sizes(args, {"tiny": field_eval.TINY_RUN, "default": {**field_eval.demo_run(), "seeds": [0, 1, 2]}, "paper": PAPER_RUN}[size_name])
    if args.cameras is None:
        from humansync_ns.synthetic.config import SynthConfig

        args.cameras = getattr(SynthConfig, RIGS[args.rig][0])().num_cameras
    owned = {key for variant in VARIANTS for key in own_overrides(variant, _preset(args.paper_scale))}
    clashes = sorted(owned & set(field_eval.checked_overrides(parser, args)))
    if clashes:
        parser.error(f"--set {', '.join(clashes)}: the variants set these themselves (own_overrides)")
    suffix = (RIGS[args.rig][1] + ("" if size_name == "default" else f"_{size_name}") + ("_degraded" if args.degraded else "")
              + ("_paperinit" if args.init == "paper" else "") + ("_paperfield" if args.paper_field else ""))
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
    changes = {**field_eval.capture_changes(args, args.rig), **(DEGRADED if args.degraded else {})}
    sources = sorted({data_source(v, args) for v in args.variants})
    data = {source: synthetic_data_folder(args.work_dir / "capture", changes, calibration=source,
                                          num_downscales=field_eval.num_downscales_for(args.downscale)) for source in sources}
    args.data_dirs = {source: d["data_dir"] for source, d in data.items()}
    import torch  # noqa: F401  (machine_info records its version)

    results: dict = {
        "benchmark": "novel-view synthesis, Table 3 protocol (synthetic capture)",
        "machine": machine_info(args.device),
        "settings": field_eval.recorded_settings(args),
        "capture": {"synth_config": next(iter(data.values()))["synth_config"],
                    "held_out": "last video (dataparser default)",
                    "calibration_process_s": {s: d["process_s"] for s, d in data.items()}},
    }
    field_eval.train_all(__file__, args, args.variants, lambda variant: args.data_dirs[data_source(variant, args)], results, "variants")
    v = results["variants"]
    results["comparison"] = compare(v)
    results["benchmark_seconds"] = time.perf_counter() - start
    write_results(args.output, results)
    plot(results, args.output.with_suffix(".png"))
    frames = field_eval.held_out_frames_sheet([(FRAME_ROWS[name], Path(v[name]["eval_images"])) for name in FRAME_ROWS if name in v],
                                              args.output.with_name(f"{args.output.stem}_frames.png"))
    print(f"means over seeds {args.seeds}")
    print(f"{'variant':22s} {'PSNR':>6s} {'moving':>6s} {'SSIM':>6s} {'rot °':>7s} {'trans m':>8s} {'time fr':>8s}")
    for name, entry in v.items():
        m, c = entry["metrics"], entry["calibration_refined"]
        print(f"{name:22s} {m.get('psnr', float('nan')):6.2f} {m.get('psnr_dynamic', float('nan')):6.2f} "
              f"{m.get('ssim', float('nan')):6.3f} {c.get('rotation_error_deg', float('nan')):7.3f} "
              f"{c.get('translation_error', float('nan')):8.4f} {c.get('time_offset_error_frames', float('nan')):8.3f}")
    print(f"wrote {args.output}, {args.output.with_suffix('.png')} and {frames} ({results['benchmark_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
